//! The processes of a training job and what they exchange. A job is `size` ranks, each training its own
//! replicas on its own share of every step's batch; per step they sum one flat gradient buffer and a few
//! loss values, and concatenate the codebooks' inputs (see `docs/src/training.md`). One process is
//! [`Alone`]; `mpirun`/`srun` jobs are [`mpi::MpiWorld`] (cargo feature `mpi`).

#[cfg(feature = "mpi")]
pub mod mpi;

use std::ops::Range;

/// The ranks of a job, as a training process sees them. Every rank makes the same calls in the same order
/// (the collectives block until all have).
pub trait World {
    /// This process's rank, `0..size`.
    fn rank(&self) -> usize;
    /// Ranks in the job.
    fn size(&self) -> usize;
    /// Sums `buf` element-wise over all ranks; every rank gets the same sums.
    fn sum_f32(&self, buf: &mut [f32]);
    /// [`Self::sum_f32`] for `f64`.
    fn sum_f64(&self, buf: &mut [f64]);
    /// Every rank's `local` concatenated in rank order (lengths may differ between ranks).
    fn gather_f32(&self, local: &[f32]) -> Vec<f32>;
    /// Rank 0's `value`, on every rank.
    fn broadcast_u64(&self, value: u64) -> u64;

    /// Whether this rank writes the run's files (rank 0).
    fn is_root(&self) -> bool {
        self.rank() == 0
    }
    /// This rank's contiguous share of `n` items (the first `n % size` ranks take one more).
    fn share(&self, n: usize) -> Range<usize> {
        share(n, self.size(), self.rank())
    }
}

/// Part `index` of `n` items split into `parts` contiguous runs, as even as possible, the longer ones first.
pub fn share(n: usize, parts: usize, index: usize) -> Range<usize> {
    let parts = parts.max(1);
    let (base, extra) = (n / parts, n % parts);
    let start = index * base + index.min(extra);
    start..start + base + usize::from(index < extra)
}

/// A job of one process: every collective is the identity.
#[derive(Debug, Default, Clone, Copy)]
pub struct Alone;

impl World for Alone {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn sum_f32(&self, _: &mut [f32]) {}
    fn sum_f64(&self, _: &mut [f64]) {}
    fn gather_f32(&self, local: &[f32]) -> Vec<f32> {
        local.to_vec()
    }
    fn broadcast_u64(&self, value: u64) -> u64 {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_the_items_in_order() {
        let runs: Vec<Range<usize>> = (0..3).map(|i| share(7, 3, i)).collect();
        assert_eq!(runs, [0..3, 3..5, 5..7]);
        assert_eq!(share(1, 2, 1), 1..1);
        assert_eq!(Alone.share(5), 0..5);
    }
}
