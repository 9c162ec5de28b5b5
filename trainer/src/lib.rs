//! xcodec's trainer: the data pipeline, losses, discriminators, the GAN training loop and its checkpoints.

pub mod checkpoint;
pub mod config;
pub mod curves;
pub mod data;
pub mod grads;
pub mod metrics;

pub use config::TrainConfig;
