//! The error type of xcodec-trainer: what stops a training run. Messages are one line naming the problem and
//! the fix, like the core's.

use thiserror::Error;
use xcodec_builtin::BuiltinError;
use xcodec_core::XcodecError;

/// Result with [`TrainError`].
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

/// What can stop a training run.
#[derive(Debug, Error)]
pub enum TrainError {
    /// An error of the codec: its config, parts, data files or outputs.
    #[error(transparent)]
    Core(#[from] XcodecError),
    /// A model or checkpoint that cannot be resolved or loaded.
    #[error(transparent)]
    Model(#[from] BuiltinError),
    /// A run directory that cannot be used as asked (already holds a run, has nothing to resume).
    #[error("{path}: {message}")]
    RunDir {
        /// The run directory.
        path: String,
        /// What is wrong with it and what to do.
        message: String,
    },
    /// A loss that became NaN or infinite: training cannot go on from here.
    #[error("step {step}: a loss became non-finite ({losses}); lower train.learning_rate or check the data")]
    NonFinite {
        /// The step whose losses are not finite (1-based, as logged).
        step: u64,
        /// Every loss of that step, `name=value` comma separated.
        losses: String,
    },
    /// The ranks or replicas of a job disagree (different configs, run directories not shared).
    #[error("{0}")]
    Distributed(String),
}

impl TrainError {
    /// The core error behind this one, if it is one (e.g. to tell an unknown part name, a usage error).
    pub fn as_core(&self) -> Option<&XcodecError> {
        match self {
            Self::Core(e) => Some(e),
            Self::Model(e) => e.as_core(),
            _ => None,
        }
    }

    /// A [`TrainError::RunDir`] for `path`.
    pub(crate) fn run_dir(path: &std::path::Path, message: &str) -> Self {
        Self::RunDir { path: path.display().to_string(), message: message.into() }
    }
}
