//! The error type of xcodec-builtin: resolving a model (directories, hub ids, checkpoint layouts) and loading
//! its weights. Messages are one line that names the file and the fix, like the core's.

use thiserror::Error;
use xcodec_core::XcodecError;

/// Result with [`BuiltinError`].
pub type Result<T, E = BuiltinError> = std::result::Result<T, E>;

/// What can go wrong while resolving, building or loading a model of built-in parts.
#[derive(Debug, Error)]
pub enum BuiltinError {
    /// An error of the codec itself: its config, parts, formats or files.
    #[error(transparent)]
    Core(#[from] XcodecError),
    /// A weights file that cannot be read or does not fit the model.
    #[error("{path}: {message}")]
    Weights {
        /// The weights file.
        path: String,
        /// What does not fit, and how to fix it.
        message: String,
    },
    /// A model that is neither a local directory nor to be had from the Hugging Face hub or its cache.
    #[error("{spec}: {message}")]
    Hub {
        /// The model as given (`org/name[@revision]`).
        spec: String,
        /// What went wrong and what to do instead.
        message: String,
        /// The hub client's error, when it gave one.
        #[source]
        source: Option<hf_hub::api::sync::ApiError>,
    },
}

impl BuiltinError {
    /// A [`BuiltinError::Weights`] for `path`.
    pub fn weights(path: impl AsRef<std::path::Path>, message: impl Into<String>) -> Self {
        Self::Weights { path: path.as_ref().display().to_string(), message: message.into() }
    }

    /// The core error behind this one, if it is one (e.g. to tell an unknown part name, a usage error).
    pub fn as_core(&self) -> Option<&XcodecError> {
        match self {
            Self::Core(e) => Some(e),
            _ => None,
        }
    }
}
