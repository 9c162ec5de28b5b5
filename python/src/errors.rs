//! The library crates' errors as Python exceptions, with the one-line message the CLI prints (after its
//! `xcodec: `): bad input, config, bandwidth or device -> `ValueError`; files, streams and the hub -> `OSError`.

use pyo3::PyErr;
use pyo3::exceptions::{PyOSError, PyValueError};
use xcodec_builtin::BuiltinError;
use xcodec_core::XcodecError;
use xcodec_dataset::DatasetError;

/// A core error as the Python exception of its kind.
pub fn core(err: XcodecError) -> PyErr {
    match err {
        XcodecError::Io { .. } | XcodecError::Stream { .. } | XcodecError::File { .. } => {
            PyOSError::new_err(err.to_string())
        }
        _ => PyValueError::new_err(err.to_string()),
    }
}

/// A loader error (model resolution, weights) as a Python exception.
pub fn builtin(err: BuiltinError) -> PyErr {
    match err {
        BuiltinError::Core(e) => core(e),
        other => PyOSError::new_err(other.to_string()),
    }
}

/// A tokenize error as a Python exception.
pub fn dataset(err: DatasetError) -> PyErr {
    match err {
        DatasetError::Core(e) => core(e),
        DatasetError::Input(m) => PyValueError::new_err(m),
        DatasetError::Output(m) => PyOSError::new_err(m),
    }
}

/// A `ValueError` with `message`, for input refused here before it reaches the codec.
pub fn value(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}
