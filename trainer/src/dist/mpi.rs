//! MPI jobs (`mpirun -np N`, `srun`) through rsmpi over the system's MPI (OpenMPI, MPICH): the ranks and
//! sizes MPI gives, sums with `MPI_Allreduce`, concatenations with `MPI_Allgatherv`, rank 0's word with
//! `MPI_Bcast`. MPI's own error handler ends the job on a failed call (a rank that died, a broken link).

use super::World;
use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;

/// Elements per MPI call: counts are C `int`s, so big buffers go in pieces.
const PIECE: usize = 1 << 28;

/// This process's view of an MPI job. Dropping it finalises MPI.
pub struct MpiWorld {
    world: SimpleCommunicator,
    _universe: Universe,
}

impl MpiWorld {
    /// Initialises MPI (serialized threading: only one thread calls MPI at a time). `None` when MPI was
    /// already initialised in this process.
    pub fn init() -> Option<Self> {
        let (universe, _) = mpi::initialize_with_threading(mpi::Threading::Serialized)?;
        Some(Self { world: universe.world(), _universe: universe })
    }

    /// Ends every rank of the job with `code` (after this rank's failure, so the others do not wait in a
    /// collective for it).
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
}

impl World for MpiWorld {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn sum_f32(&self, buf: &mut [f32]) {
        for piece in buf.chunks_mut(PIECE) {
            let send = piece.to_vec();
            self.world.all_reduce_into(&send[..], piece, SystemOperation::sum());
        }
    }

    fn sum_f64(&self, buf: &mut [f64]) {
        for piece in buf.chunks_mut(PIECE) {
            let send = piece.to_vec();
            self.world.all_reduce_into(&send[..], piece, SystemOperation::sum());
        }
    }

    fn gather_f32(&self, local: &[f32]) -> Vec<f32> {
        let size = self.size();
        let mut lengths = vec![0u64; size];
        self.world.all_gather_into(&(local.len() as u64), &mut lengths[..]);
        let total: u64 = lengths.iter().sum();
        if total as usize <= PIECE {
            let counts: Vec<i32> = lengths.iter().map(|&n| n as i32).collect();
            let displs: Vec<i32> = counts.iter().scan(0, |at, &n| Some(std::mem::replace(at, *at + n))).collect();
            let mut out = vec![0f32; total as usize];
            let mut partition = PartitionMut::new(&mut out[..], counts, &displs[..]);
            self.world.all_gather_varcount_into(local, &mut partition);
            return out;
        }
        // Too big for one call: each rank's part in turn, broadcast from its owner.
        let mut out = Vec::with_capacity(total as usize);
        for (rank, &n) in lengths.iter().enumerate() {
            let mut part = if rank == self.rank() { local.to_vec() } else { vec![0f32; n as usize] };
            for piece in part.chunks_mut(PIECE) {
                self.world.process_at_rank(rank as i32).broadcast_into(piece);
            }
            out.extend(part);
        }
        out
    }

    fn broadcast_u64(&self, value: u64) -> u64 {
        let mut v = value;
        self.world.process_at_rank(0).broadcast_into(&mut v);
        v
    }
}
