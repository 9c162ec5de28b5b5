//! The ranks of a training job as its launcher started them: an MPI job under `mpirun`/`srun` (cargo
//! feature `mpi`), else one process. A rank's failure is reported as one line naming the rank, and ends the
//! whole job (the other ranks would otherwise wait for it in the next collective).

use std::rc::Rc;
use xcodec_trainer::dist::{Alone, World};

/// Variables a launcher sets to the job's rank count (Open MPI, MPICH/Intel MPI's PMI, a SLURM job step).
const SIZE_VARS: [&str; 3] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"];
/// Variables a launcher sets to the rank's index on its node.
const LOCAL_RANK_VARS: [&str; 4] = ["OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMI_LOCAL_RANK", "SLURM_LOCALID"];

/// This process's place in its job.
pub struct Ranks {
    world: Rc<dyn World>,
    #[cfg(feature = "mpi")]
    mpi: Option<Rc<xcodec_trainer::dist::mpi::MpiWorld>>,
}

/// The rank count the launcher announced, if it announced one.
fn announced_size() -> Option<(&'static str, usize)> {
    SIZE_VARS.iter().find_map(|&v| Some((v, std::env::var(v).ok()?.trim().parse().ok()?)))
}

impl Ranks {
    /// Joins the job the launcher started: MPI when built with it and launched by `mpirun`/`srun`, else
    /// one process. A job of several ranks without MPI compiled in is refused (each rank would train alone
    /// into the same run directory).
    pub fn start() -> anyhow::Result<Self> {
        let announced = announced_size().filter(|&(_, n)| n > 1);
        #[cfg(feature = "mpi")]
        if let Some((var, n)) = announced {
            let mpi = xcodec_trainer::dist::mpi::MpiWorld::init()
                .ok_or_else(|| anyhow::anyhow!("MPI was already initialised in this process"))?;
            if mpi.size() != n {
                anyhow::bail!(
                    "the launcher started {n} ranks ({var}={n}) but MPI sees {}: under SLURM run `srun --mpi=pmix` (or pmi2), \
                     else check that xcodec was built against the MPI that launched it",
                    mpi.size()
                );
            }
            let mpi = Rc::new(mpi);
            return Ok(Self { world: mpi.clone(), mpi: Some(mpi) });
        }
        if let Some((var, n)) = announced {
            anyhow::bail!(
                "started as one of {n} ranks ({var}={n}) but this xcodec was built without the `mpi` feature, so every \
                 rank would train alone into the same run directory; rebuild with `cargo build --release --features mpi`"
            );
        }
        Ok(Self {
            world: Rc::new(Alone),
            #[cfg(feature = "mpi")]
            mpi: None,
        })
    }

    /// The job's ranks, for the trainer.
    pub fn world(&self) -> Rc<dyn World> {
        self.world.clone()
    }

    /// Whether this is rank 0 (the one that prints and writes).
    pub fn is_root(&self) -> bool {
        self.world.is_root()
    }

    /// `spec` with an index `L` (`cuda:L`) replaced by the rank's local rank on its node (0 alone).
    pub fn local_device(&self, spec: &str) -> String {
        match spec.strip_suffix(":L") {
            Some(kind) => {
                let local = LOCAL_RANK_VARS.iter().find_map(|v| std::env::var(v).ok()).unwrap_or_else(|| "0".into());
                format!("{kind}:{}", local.trim())
            }
            None => spec.to_string(),
        }
    }

    /// The error to return for `err`; in a job of several ranks it is printed here, naming the rank, and
    /// the whole job ends.
    pub fn fail(&self, err: anyhow::Error) -> anyhow::Error {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = self.mpi.as_ref().filter(|m| m.size() > 1) {
            eprintln!("xcodec: rank {} of {}: {err}", mpi.rank(), mpi.size());
            mpi.abort(1);
        }
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_device_index_comes_from_the_launcher() {
        let ranks = Ranks::start().unwrap();
        assert_eq!(ranks.local_device("cuda:1"), "cuda:1");
        assert_eq!(ranks.local_device("cpu"), "cpu");
        let local = ranks.local_device("cuda:L");
        assert!(local.starts_with("cuda:") && local[5..].parse::<usize>().is_ok(), "{local}");
    }
}
