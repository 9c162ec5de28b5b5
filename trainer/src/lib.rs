//! xcodec's trainer: the data pipeline, X-Codec's losses (multi-resolution and sub-band STFT, multi-scale
//! mel, least-squares GAN, feature matching) and discriminators (multi-frequency, multi-period, multi-scale
//! STFT) with the STFT, mel and PQMF front ends they are built on, and the GAN training loop with its
//! checkpoints, metrics and curves; and the evaluation of trained codecs (`eval`: reconstruction and token
//! metrics, reports, pictures).

pub mod checkpoint;
pub mod config;
pub mod curves;
pub mod data;
pub mod discriminators;
pub mod dist;
pub mod error;
pub mod eval;
pub mod grads;
pub mod losses;
pub mod mel;
pub mod metrics;
pub mod objective;
pub mod pqmf;
pub mod replicas;
pub mod stft;
pub mod train;

pub use config::TrainConfig;
pub use error::{Result, TrainError};
