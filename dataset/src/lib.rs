//! Whole datasets into codes (`xcodec tokenize`): inputs from files, directories, lists and manifests; a
//! deterministic 1/N of them per process ([`Shard`]); Parquet parts of a row per file, committed atomically
//! so that a killed run resumes with no duplicate and no missing row; failures listed, not fatal.
//! The codes are exactly `xcodec encode`'s ([`xcodec_core::pipeline::ClipEncoder`]).

pub mod inputs;
pub mod parquet_part;
pub mod shard;
pub mod tokenize;

pub use inputs::{Item, expand, expand_audio};
pub use parquet_part::{Failure, PartSchema, Row};
pub use shard::Shard;
pub use tokenize::{Summary, TokenizeEvent, TokenizeOptions, tokenize};

/// What can go wrong while tokenizing, as one line naming the fix.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The codec or the audio layer refused (bandwidth, model, I/O).
    #[error(transparent)]
    Core(#[from] xcodec_core::XcodecError),
    /// Inputs, lists, manifests or options.
    #[error("{0}")]
    Input(String),
    /// The dataset directory: writing parts, or a resume that does not match.
    #[error("{0}")]
    Output(String),
}

/// A tokenize result.
pub type Result<T> = std::result::Result<T, DatasetError>;
