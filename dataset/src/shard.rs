//! `--shard I/N`: which 1/N of the inputs this process takes, given or read from a launcher's environment, so
//! N processes on N machines split a corpus with no coordinator.

use crate::{DatasetError, Result};

/// Launcher variables read when no `--shard` is given, (rank, count) pairs in order of preference: a SLURM
/// array, SLURM tasks (`srun -n`), OpenMPI (`mpirun -np`), MPICH/Intel MPI (PMI).
pub const LAUNCHER_VARIABLES: &[(&str, &str)] = &[
    ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"),
    ("SLURM_PROCID", "SLURM_NTASKS"),
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
    ("PMI_RANK", "PMI_SIZE"),
];

/// Shard `index` of `count`: the inputs whose position in the sorted list is `index` modulo `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: usize,
    /// Shards in all.
    pub count: usize,
}

impl Shard {
    /// The whole input.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N`.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || DatasetError::Input(format!("--shard {text}: expected I/N with 0 <= I < N, e.g. 0/4"));
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        Self::new(index, count).ok_or_else(bad)
    }

    /// `index` of `count`, if `index < count`.
    pub fn new(index: usize, count: usize) -> Option<Self> {
        (index < count).then_some(Self { index, count })
    }

    /// The shard a launcher gave this process (see [`LAUNCHER_VARIABLES`]), read through `var`; `None`
    /// when no launcher is seen. A launcher variable that is not a valid rank is an error naming it.
    pub fn from_launcher(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        for (rank, size) in LAUNCHER_VARIABLES {
            let (Some(r), Some(n)) = (var(rank), var(size)) else { continue };
            // An array may start at any id (`--array=1-8`): its first is shard 0.
            let first: usize = if *rank == "SLURM_ARRAY_TASK_ID" {
                var("SLURM_ARRAY_TASK_MIN").and_then(|m| m.parse().ok()).unwrap_or(0)
            } else {
                0
            };
            let shard = r
                .parse::<usize>()
                .ok()
                .and_then(|r| r.checked_sub(first))
                .zip(n.parse().ok())
                .and_then(|(r, n)| Self::new(r, n));
            return shard.map(Some).ok_or_else(|| {
                DatasetError::Input(format!(
                    "{rank}={r} and {size}={n} do not name a shard; unset them or pass --shard I/N"
                ))
            });
        }
        Ok(None)
    }

    /// The shard `given` names (`I/N`), else the launcher's (from the environment), else [`Self::ALL`].
    pub fn resolve(given: Option<&str>) -> Result<Self> {
        match given {
            Some(text) => Self::parse(text),
            None => Ok(Self::from_launcher(|k| std::env::var(k).ok())?.unwrap_or(Self::ALL)),
        }
    }

    /// Whether the `position`-th of the sorted inputs is this shard's.
    pub fn takes(&self, position: usize) -> bool {
        position % self.count == self.index
    }

    /// `00003-of-00008`: the part of file names that says the shard.
    pub fn tag(&self) -> String {
        format!("{:05}-of-{:05}", self.index, self.count)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn parsed_or_read_from_a_launcher_and_disjoint() {
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
        for bad in ["4/4", "1", "a/2", "0/0", "-1/3"] {
            assert!(Shard::parse(bad).unwrap_err().to_string().contains("expected I/N"), "{bad}");
        }
        let env = |pairs: &[(&str, &str)]| {
            let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            move |k: &str| map.get(k).cloned()
        };
        assert_eq!(Shard::from_launcher(env(&[])).unwrap(), None);
        let srun = env(&[("SLURM_PROCID", "3"), ("SLURM_NTASKS", "8"), ("OMPI_COMM_WORLD_RANK", "0")]);
        assert_eq!(Shard::from_launcher(srun).unwrap(), Some(Shard { index: 3, count: 8 }));
        let mpi = env(&[("OMPI_COMM_WORLD_RANK", "1"), ("OMPI_COMM_WORLD_SIZE", "2")]);
        assert_eq!(Shard::from_launcher(mpi).unwrap(), Some(Shard { index: 1, count: 2 }));
        let array =
            env(&[("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_COUNT", "8"), ("SLURM_ARRAY_TASK_MIN", "1")]);
        assert_eq!(Shard::from_launcher(array).unwrap(), Some(Shard { index: 4, count: 8 }));
        let broken = env(&[("SLURM_ARRAY_TASK_ID", "9"), ("SLURM_ARRAY_TASK_COUNT", "4")]);
        assert!(Shard::from_launcher(broken).unwrap_err().to_string().contains("SLURM_ARRAY_TASK_ID=9"));
        // Every position is taken by exactly one of the N shards.
        let shards: Vec<Shard> = (0..3).map(|i| Shard::new(i, 3).unwrap()).collect();
        assert!((0..100).all(|p| shards.iter().filter(|s| s.takes(p)).count() == 1));
    }
}
