//! The error type of xcodec-core.

use thiserror::Error;

/// Result with [`XcodecError`].
pub type Result<T, E = XcodecError> = std::result::Result<T, E>;

/// Everything that can go wrong while configuring, building or running a codec.
/// Each message is one line that names the problem and, where there is one, the fix.
#[derive(Debug, Error)]
pub enum XcodecError {
    /// A part name that no plugin registered.
    #[error("unknown {role} '{name}': registered {role} parts are {known}{hint}")]
    UnknownPart {
        /// The role looked in (acoustic, semantic, quantizer).
        role: String,
        /// The name asked for.
        name: String,
        /// The registered names, comma separated.
        known: String,
        /// "; did you mean 'x'?" or empty.
        hint: String,
    },
    /// A configuration that cannot be used as written.
    #[error("bad config: {0}")]
    Config(String),
    /// A bandwidth the model does not offer.
    #[error("bandwidth {asked} kbps is not offered by this model; choose one of {valid}")]
    Bandwidth {
        /// The bandwidth asked for.
        asked: f64,
        /// The valid ones, comma separated.
        valid: String,
    },
    /// Tensor data whose shape, range or values do not fit the model.
    #[error("bad input: {0}")]
    Input(String),
    /// Reading or writing model files.
    #[error("{path}: {message}")]
    File {
        /// The file concerned.
        path: String,
        /// What went wrong and how to fix it.
        message: String,
    },
}

impl XcodecError {
    /// A [`XcodecError::File`] for `path`.
    pub fn file(path: impl AsRef<std::path::Path>, message: impl Into<String>) -> Self {
        Self::File { path: path.as_ref().display().to_string(), message: message.into() }
    }
}
