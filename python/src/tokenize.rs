//! `xcodec.tokenize_dataset`: `xcodec tokenize` (Parquet) from Python, through `xcodec_dataset::tokenize`.

use crate::codec::Codec;
use crate::errors;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use std::path::PathBuf;
use xcodec_builtin::{LoadedModel, Parts};
use xcodec_dataset::{Shard, TokenizeOptions};

/// The inputs as strings: one path, `@list` or directory, or a sequence of them (str or `os.PathLike`).
fn input_specs(inputs: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let os = inputs.py().import("os")?;
    let fspath = |item: &Bound<'_, PyAny>| -> PyResult<String> { os.call_method1("fspath", (item,))?.extract() };
    if inputs.is_instance_of::<PyString>() || inputs.hasattr("__fspath__")? {
        return Ok(vec![fspath(inputs)?]);
    }
    inputs.try_iter()?.map(|item| fspath(&item?)).collect()
}

/// Tokenizes a dataset exactly as `xcodec tokenize --format parquet` does (same parts, resume, sharding and
/// errors file). `model` is a `Codec` or a model as `load` takes it (loaded for encoding only). Returns the
/// summary; files that failed are counted in `failed` and listed in `errors_file`, not raised.
#[pyfunction]
#[pyo3(signature = (
    model, inputs, output, *, bandwidth = None, batch_seconds = 60.0, shard = None, workers = 2,
    rows_per_part = 1000, gain = 1.0, window_seconds = 30.0, context_seconds = 2.0, device = "cpu", config = None
))]
#[allow(clippy::too_many_arguments)]
pub fn tokenize_dataset<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyAny>,
    inputs: &Bound<'py, PyAny>,
    output: PathBuf,
    bandwidth: Option<f64>,
    batch_seconds: f64,
    shard: Option<String>,
    workers: usize,
    rows_per_part: usize,
    gain: f32,
    window_seconds: f64,
    context_seconds: f64,
    device: &str,
    config: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let inputs = input_specs(inputs)?;
    let given = model.cast::<Codec>().ok().map(|c| c.get());
    let spec = match given {
        Some(codec) => codec.spec.clone(),
        None => model.extract::<PathBuf>()?.to_string_lossy().into_owned(),
    };
    let summary = py.detach(|| {
        let loaded: LoadedModel;
        let model = match given {
            Some(codec) => &codec.model,
            None => {
                let device = xcodec_core::device::parse(device).map_err(errors::core)?;
                loaded = xcodec_builtin::load_model(&spec, config.as_deref(), Parts::EncoderOnly, &device)
                    .map_err(errors::builtin)?;
                &loaded
            }
        };
        let opts = TokenizeOptions {
            bandwidth_kbps: bandwidth,
            batch_seconds,
            rows_per_part,
            shard: Shard::resolve(shard.as_deref()).map_err(errors::dataset)?,
            workers,
            window_seconds,
            context_seconds,
            gain,
            model_id: spec.clone(),
            config_sha256: xcodec_dataset::tokenize::sha256(model.config.to_toml().as_bytes()),
        };
        let items = xcodec_dataset::expand_audio(&inputs).map_err(errors::dataset)?;
        xcodec_dataset::tokenize(&model.codec, &items, &output, &opts, &mut |_| {}).map_err(errors::dataset)
    })?;
    let out = PyDict::new(py);
    out.set_item("files", summary.files)?;
    out.set_item("encoded", summary.encoded)?;
    out.set_item("resumed", summary.resumed)?;
    out.set_item("failed", summary.failed)?;
    out.set_item("audio_seconds", summary.audio_seconds)?;
    out.set_item("codes", summary.codes)?;
    out.set_item("elapsed_seconds", summary.elapsed_seconds)?;
    out.set_item("errors_file", summary.errors_file)?;
    Ok(out)
}
