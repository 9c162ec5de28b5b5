//! Arrays in and out: audio and codes from numpy arrays, torch tensors (duck-typed: torch is never imported)
//! or anything with `__array__` / `__dlpack__`; codes and audio back as numpy arrays.

use crate::errors::value;
use numpy::ndarray::{Array2, ArrayViewD, Ix2};
use numpy::prelude::*;
use numpy::{PyArray1, PyArray2, PyArrayDyn, PyReadonlyArrayDyn, PyUntypedArray};
use pyo3::prelude::*;
use xcodec_core::codes::Codes;
use xcodec_core::pipeline::FileCodes;

/// `obj` as a numpy array, a view of its memory where it can be: numpy arrays as they are; torch tensors
/// (anything with `numpy` and `detach`) detached, moved to the CPU and taken through `.numpy()`; anything
/// else through `numpy.asarray` (`__array__`, the buffer protocol) or `numpy.from_dlpack` (`__dlpack__`).
pub fn ndarray<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyUntypedArray>> {
    if let Ok(array) = obj.cast::<PyUntypedArray>() {
        return Ok(array.clone());
    }
    let np = obj.py().import("numpy")?;
    let array = if obj.hasattr("numpy")? && obj.hasattr("detach")? {
        let mut tensor = obj.call_method0("detach")?;
        if tensor.hasattr("cpu")? {
            tensor = tensor.call_method0("cpu")?;
        }
        tensor.call_method0("numpy")?
    } else if obj.hasattr("__array__")? || obj.hasattr("__array_interface__")? {
        np.call_method1("asarray", (obj,))?
    } else if obj.hasattr("__dlpack__")? {
        np.call_method1("from_dlpack", (obj,))?
    } else {
        let kind = obj.get_type().name()?;
        return Err(value(format!(
            "{what} must be a numpy array, a torch tensor or an object with __array__ or __dlpack__; got {kind}"
        )));
    };
    array.cast_into::<PyUntypedArray>().map_err(|e| value(format!("{what} did not convert to a numpy array: {e}")))
}

/// The mono samples of one clip: a view of the caller's memory when it is a contiguous 1-D float32 array,
/// else a mono copy.
pub enum Clip<'py> {
    /// The caller's array, borrowed read-only.
    View(PyReadonlyArrayDyn<'py, f32>),
    /// Converted, mixed down or made contiguous.
    Owned(Vec<f32>),
}

impl Clip<'_> {
    /// The samples.
    pub fn samples(&self) -> &[f32] {
        match self {
            Clip::View(array) => array.as_slice().expect("a contiguous array"),
            Clip::Owned(samples) => samples,
        }
    }
}

/// One clip from `[samples]` or `[channels, samples]` float32 (or float64) audio; channels are mixed down to
/// their mean exactly as `xcodec encode` mixes a file's.
pub fn clip<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Clip<'py>> {
    let array = ndarray(obj, "audio")?;
    let shape = array.shape().to_vec();
    if !matches!(shape.len(), 1 | 2) {
        return Err(value(format!(
            "audio must be [samples] or [channels, samples]; got shape {shape:?} (pass a list of arrays for a batch)"
        )));
    }
    if let Ok(typed) = array.cast::<PyArrayDyn<f32>>() {
        let view = typed.readonly();
        if shape.len() == 1 && view.is_contiguous() {
            return Ok(Clip::View(view));
        }
        return mono(view.as_array());
    }
    if let Ok(typed) = array.cast::<PyArrayDyn<f64>>() {
        let samples = typed.readonly().as_array().mapv(|x| x as f32);
        return mono(samples.view());
    }
    Err(value(format!(
        "audio must be float32 (or float64) samples, nominally in [-1, 1]; got {} (divide integer PCM by its full \
         scale, e.g. 32768 for int16)",
        array.dtype()
    )))
}

/// `[samples]` copied, `[channels, samples]` mixed down to the channel mean of each frame
/// (`xcodec_core::audio::mix_down`).
fn mono(audio: ArrayViewD<'_, f32>) -> PyResult<Clip<'static>> {
    if audio.ndim() == 1 {
        return Ok(Clip::Owned(audio.iter().copied().collect()));
    }
    let audio = audio.into_dimensionality::<Ix2>().expect("a 2-D array");
    let (channels, samples) = audio.dim();
    if channels == 0 {
        return Err(value("audio has 0 channels; pass [samples] or [channels, samples]"));
    }
    if channels > samples && samples > 0 {
        return Err(value(format!(
            "audio of shape [{channels}, {samples}] has more channels than samples: it looks like [samples, \
             channels]; pass its transpose (audio.T)"
        )));
    }
    let interleaved: Vec<f32> = (0..samples).flat_map(|t| (0..channels).map(move |c| audio[[c, t]])).collect();
    Ok(Clip::Owned(xcodec_core::audio::mix_down(&interleaved, channels)))
}

/// Codes `[n_q, frames]` of any integer dtype (int64, uint16, ...).
pub fn codes(obj: &Bound<'_, PyAny>) -> PyResult<Codes> {
    let array = ndarray(obj, "codes")?;
    let dtype = array.dtype();
    if !matches!(dtype.kind(), b'i' | b'u') {
        return Err(value(format!("codes must be integers (int64, uint16, ...); got {dtype}")));
    }
    let shape = array.shape().to_vec();
    let [n_q, frames] = shape[..] else {
        return Err(value(format!("codes must be [n_q, frames]; got shape {shape:?}")));
    };
    let wide = array.call_method1("astype", ("int64",))?;
    let wide = wide.cast::<PyArrayDyn<i64>>().map_err(|e| value(e.to_string()))?;
    let values = wide.readonly().as_array().iter().copied().collect();
    Ok(Codes { n_q, frames, values, meta: None })
}

/// One clip's codes as an int64 `[n_q, frames]` array.
pub fn codes_array(py: Python<'_>, codes: FileCodes) -> Bound<'_, PyArray2<i64>> {
    Array2::from_shape_vec((codes.n_q, codes.frames), codes.values).expect("n_q x frames values").into_pyarray(py)
}

/// Samples as a float32 array.
pub fn audio_array(py: Python<'_>, samples: Vec<f32>) -> Bound<'_, PyArray1<f32>> {
    PyArray1::from_vec(py, samples)
}
