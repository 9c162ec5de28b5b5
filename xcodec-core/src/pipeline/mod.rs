//! The encode and decode jobs behind `xcodec encode` / `xcodec decode`, usable without the CLI, for any
//! [`crate::XCodec`] (they only call its methods): inputs expanded into jobs, audio streamed in windows with
//! bounded memory, codes and audio written atomically, one outcome per file (a bad file fails alone); and
//! [`live`], the same chunk by chunk over pipes for codecs that can stream.

mod decode;
mod encode;
mod inputs;
pub mod live;
mod windows;

pub use decode::{DecodeOptions, decode_files, decode_windowed};
pub use encode::{ClipEncoder, EncodeOptions, FileCodes, Opened, check_samples, encode_files};
pub use inputs::{Existing, Job, check_outputs, find_files, is_complete, plan};
pub use live::{StreamOptions, StreamReport, check_decode_stream, check_encode_stream, decode_stream, encode_stream};
pub use windows::Windows;

/// Audio extensions searched for in input directories.
pub const AUDIO_EXTENSIONS: &[&str] = &["wav", "wave", "flac", "mp3", "ogg", "oga", "aif", "aiff", "m4a", "mp4", "aac"];
/// Codes extensions searched for in input directories.
pub const CODES_EXTENSIONS: &[&str] = &["npy", "safetensors"];

/// How one file went.
#[derive(Debug)]
pub enum Outcome {
    /// Written; `audio_seconds` of audio (input for encode, output for decode), `clipped` samples (decode, PCM16).
    Done {
        /// Seconds of audio processed.
        audio_seconds: f64,
        /// Samples clipped when writing 16-bit PCM.
        clipped: usize,
    },
    /// `--skip-existing` and the output was there.
    Skipped,
    /// The one-line reason.
    Failed(String),
}

/// Progress events, for a progress bar.
#[derive(Debug)]
pub enum Event<'a> {
    /// A file starts; its duration in seconds when known.
    Started {
        /// The file.
        input: &'a std::path::Path,
        /// Its duration, if the container says.
        seconds: Option<f64>,
    },
    /// Some seconds of audio were processed.
    Progress {
        /// Seconds of audio just done.
        seconds: f64,
    },
    /// A file is finished.
    Finished {
        /// The file.
        input: &'a std::path::Path,
        /// How it went.
        outcome: &'a Outcome,
    },
}

/// A job and its outcome.
pub type Report = Vec<(Job, Outcome)>;

/// Tensor data as a `Vec` (codes as `i64`, audio as `f32`).
pub fn tensor_values<T: burn::tensor::Element>(data: burn::tensor::TensorData) -> crate::Result<Vec<T>> {
    data.convert::<T>()
        .try_into_vec::<T>()
        .map_err(|e| crate::XcodecError::Input(format!("unexpected tensor data: {e:?}")))
}
