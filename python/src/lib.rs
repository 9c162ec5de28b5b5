//! `xcodec` for Python: the Rust codecs behind a small API (`load`, `Codec.encode`/`decode`, stream
//! encoders and decoders, `tokenize_dataset`). Everything is done by the library crates the `xcodec` CLI
//! uses, with the same loader, batching, windows, resampling and one-line error messages; this crate only
//! converts arrays and errors and releases the GIL while the codec computes.

mod arrays;
mod codec;
mod errors;
mod stream;
mod tokenize;

use pyo3::prelude::*;

/// The `xcodec._xcodec` extension module (re-exported by the `xcodec` package).
#[pymodule]
fn _xcodec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<codec::Codec>()?;
    m.add_class::<stream::StreamEncoder>()?;
    m.add_class::<stream::StreamDecoder>()?;
    m.add_function(wrap_pyfunction!(codec::load, m)?)?;
    m.add_function(wrap_pyfunction!(tokenize::tokenize_dataset, m)?)?;
    Ok(())
}
