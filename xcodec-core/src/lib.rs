//! Core of xcodec: the four part traits, the X-Codec composite, the part registry, the codec config,
//! bandwidth arithmetic and shared layers; and what every codec does with files, in one place each: audio I/O
//! ([`audio`]: files and pipes), codes formats ([`codes`]: npy, safetensors, raw frames), the atomic writer
//! ([`io`]), and the encode/decode jobs over any [`XCodec`] ([`pipeline`]).
//!
//! The data path the composite implements (X-Codec, arXiv 2408.17175):
//! audio -> [`SemanticTeacher`] + semantic encoder, [`AcousticEncoder`] -> concat -> `fc_prior`
//! -> [`Quantizer`] -> codes; codes -> `fc_post2` -> [`AcousticDecoder`] -> audio
//! (and `fc_post1` -> semantic decoder when training).

pub mod audio;
pub mod bandwidth;
pub mod codes;
pub mod composite;
pub mod config;
pub mod device;
pub mod error;
pub mod finite;
pub mod io;
pub mod nn;
pub mod pipeline;
pub mod registry;
pub mod semantic_adapter;
pub mod stream_state;
pub mod teacher_none;
pub mod traits;

pub use burn;
pub use composite::{TrainOutput, XCodec};
pub use config::{CodecConfig, PartConfig, SemanticAdapterConfig};
pub use error::{Result, XcodecError};
pub use registry::{PartEntry, Role};
pub use stream_state::{CodecStream, StreamCarry, StreamState};
pub use teacher_none::{AbsentTeacher, NO_TEACHER, NoTeacher};
pub use traits::{AcousticDecoder, AcousticEncoder, Quantizer, QuantizerTrainOutput, SemanticTeacher};
