//! `xcodec.load` and `Codec`: the CLI's model loader, and encode/decode of arrays exactly as `xcodec encode` /
//! `xcodec decode` code files (the same buckets, windows, resampler and mixdown), the GIL released meanwhile.

use crate::arrays::{self, Clip};
use crate::errors;
use crate::stream::{StreamDecoder, StreamEncoder};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use std::borrow::Cow;
use std::path::PathBuf;
use xcodec_builtin::{LoadedModel, Parts};
use xcodec_core::codes::{Codes, validate_codes};
use xcodec_core::pipeline::{ClipEncoder, DecodeOptions, EncodeOptions, FileCodes, check_samples, decode_windowed};
use xcodec_core::{Quantizer, XcodecError};

/// A loaded codec: `encode` audio to codes, `decode` codes to audio, stream either way for causal codecs.
#[pyclass(frozen, module = "xcodec", name = "Codec")]
pub struct Codec {
    /// The model, its config and where it came from.
    pub(crate) model: LoadedModel,
    /// The model as the caller named it.
    pub(crate) spec: String,
}

/// Loads a model as the CLI's `--model` does: one of our directories, a Hugging Face directory, a hub id
/// `org/name[@revision]` from the Hugging Face cache, an original `.pth` (with `config`, default
/// `config.yaml` beside it) or descript's DAC `.pth`; on `device` (`cpu`, or a GPU where compiled in).
#[pyfunction]
#[pyo3(signature = (model, device = "cpu", config = None))]
pub fn load(py: Python<'_>, model: PathBuf, device: &str, config: Option<PathBuf>) -> PyResult<Codec> {
    let spec = model.to_string_lossy().into_owned();
    py.detach(|| {
        let device = xcodec_core::device::parse(device).map_err(errors::core)?;
        let model =
            xcodec_builtin::load_model(&spec, config.as_deref(), Parts::All, &device).map_err(errors::builtin)?;
        Ok(Codec { model, spec })
    })
}

/// The items of a list or tuple (a batch), or `None` for a single array.
fn batch_items<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<Vec<Bound<'py, PyAny>>>> {
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        return Ok(Some(obj.try_iter()?.collect::<PyResult<_>>()?));
    }
    Ok(None)
}

/// `err` prefixed with the position of the batch item it is about (`audio[3]: ...`).
fn at(what: &str, i: usize, err: PyErr, py: Python<'_>) -> PyErr {
    let kind = err.get_type(py);
    let message = format!("{what}[{i}]: {}", err.value(py));
    PyErr::from_type(kind, message)
}

impl Codec {
    fn codec(&self) -> &xcodec_builtin::Codec {
        &self.model.codec
    }

    /// The codes of mono clips at `sample_rate_hz`, resampled to the model's rate first when allowed.
    fn encode_clips(
        &self,
        clips: &[&[f32]],
        sample_rate_hz: u32,
        bandwidth_kbps: Option<f64>,
        batch_size: usize,
    ) -> xcodec_core::Result<Vec<FileCodes>> {
        let codec = self.codec();
        let defaults = EncodeOptions::default();
        let enc = ClipEncoder::new(codec, bandwidth_kbps, 1.0, defaults.window_seconds, defaults.context_seconds)?;
        let resampled = clips
            .iter()
            .map(|&clip| {
                if sample_rate_hz == codec.sample_rate_hz {
                    Ok(Cow::Borrowed(clip))
                } else {
                    xcodec_core::audio::resample(clip, sample_rate_hz, codec.sample_rate_hz).map(Cow::Owned)
                }
            })
            .collect::<xcodec_core::Result<Vec<_>>>()?;
        let rows: Vec<&[f32]> = resampled.iter().map(|c| c.as_ref()).collect();
        let mut out = Vec::with_capacity(rows.len());
        for batch in rows.chunks(batch_size.max(1)) {
            out.extend(enc.encode_clips(batch)?);
        }
        Ok(out)
    }

    /// The audio of codes (checked against the model), decoded in windows as `xcodec decode` does.
    fn decode_codes(&self, codes: &Codes) -> xcodec_core::Result<Vec<f32>> {
        let codec = self.codec();
        validate_codes(codes, codec.quantizer.codebook_size(), codec.quantizer.num_quantizers())?;
        let mut audio = Vec::with_capacity(codes.frames * codec.hop_length());
        let total = codes.frames * codec.hop_length();
        decode_windowed(codec, codes, total, &DecodeOptions::default(), None, &mut |kept| {
            audio.extend_from_slice(kept);
            Ok(())
        })?;
        Ok(audio)
    }
}

#[pymethods]
impl Codec {
    /// The model's sample rate in Hz.
    #[getter]
    fn sample_rate(&self) -> u32 {
        self.codec().sample_rate_hz
    }

    /// Code frames per second.
    #[getter]
    fn frame_rate(&self) -> f64 {
        self.codec().frame_rate_hz()
    }

    /// Samples per code frame.
    #[getter]
    fn hop_length(&self) -> usize {
        self.codec().hop_length()
    }

    /// The bandwidths offered, in kbps (the last is the default).
    #[getter]
    fn bandwidths(&self) -> Vec<f64> {
        self.codec().target_bandwidths_kbps.clone()
    }

    /// Entries per codebook (codes are `0..codebook_size`).
    #[getter]
    fn codebook_size(&self) -> usize {
        self.codec().quantizer.codebook_size()
    }

    /// Codebooks at the highest bandwidth.
    #[getter]
    fn num_codebooks(&self) -> usize {
        self.codec().quantizer.num_quantizers()
    }

    /// What was loaded ("xcodec directory m", "original checkpoint x.pth", ...).
    #[getter]
    fn source(&self) -> &str {
        &self.model.source
    }

    fn __repr__(&self) -> String {
        format!(
            "Codec('{}': {} Hz, {} frames/s, {} x {} codebooks, {:?} kbps)",
            self.spec,
            self.sample_rate(),
            self.frame_rate(),
            self.num_codebooks(),
            self.codebook_size(),
            self.bandwidths()
        )
    }

    /// Codes of `audio` (`[samples]` or `[channels, samples]` float32 at `sample_rate` Hz; numpy, torch or
    /// anything with `__array__`) as int64 `[n_q, frames]`, exactly `xcodec encode`'s for a file of these
    /// samples. A list of clips (any lengths) gives a list of codes, batched by length bucket `batch_size` clips
    /// at a time, each exactly as alone. `resample=True` resamples to the model's rate as the CLI does; a
    /// different rate without it is a ValueError.
    #[pyo3(signature = (audio, sample_rate, bandwidth = None, resample = false, batch_size = 16))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        audio: &Bound<'py, PyAny>,
        sample_rate: u32,
        bandwidth: Option<f64>,
        resample: bool,
        batch_size: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let model_rate = self.sample_rate();
        if sample_rate != model_rate && !resample {
            return Err(errors::value(format!(
                "audio is at {sample_rate} Hz but the model runs at {model_rate} Hz; pass resample=True to resample \
                 it as `xcodec encode` resamples files, or resample it first"
            )));
        }
        let items = batch_items(audio)?;
        let clips: Vec<Clip> = match &items {
            Some(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| arrays::clip(item).map_err(|e| at("audio", i, e, py)))
                .collect::<PyResult<_>>()?,
            None => vec![arrays::clip(audio)?],
        };
        let slices: Vec<&[f32]> = clips.iter().map(Clip::samples).collect();
        if items.is_some() {
            // Each clip checked alone, so that the message says which one is bad.
            for (i, clip) in slices.iter().enumerate() {
                check_samples(clip).map_err(|e| at("audio", i, errors::core(e), py))?;
            }
        }
        let codes =
            py.detach(|| self.encode_clips(&slices, sample_rate, bandwidth, batch_size)).map_err(errors::core)?;
        let mut arrays = codes.into_iter().map(|c| arrays::codes_array(py, c).into_any());
        match items {
            Some(_) => Ok(PyList::new(py, arrays)?.into_any()),
            None => Ok(arrays.next().expect("one clip")),
        }
    }

    /// Audio (float32 `[frames * hop_length]` at the model's rate) of codes `[n_q, frames]` of any integer
    /// dtype, decoded as `xcodec decode` does; a list of codes gives a list of audio. Codes outside the
    /// codebooks, or more codebooks than the model has, are a ValueError.
    fn decode<'py>(&self, py: Python<'py>, codes: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let items = batch_items(codes)?;
        let all: Vec<Codes> = match &items {
            Some(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| arrays::codes(item).map_err(|e| at("codes", i, e, py)))
                .collect::<PyResult<_>>()?,
            None => vec![arrays::codes(codes)?],
        };
        let batch = items.is_some();
        let audio = py
            .detach(|| {
                all.iter()
                    .enumerate()
                    .map(|(i, c)| self.decode_codes(c).map_err(|e| (i, e)))
                    .collect::<Result<Vec<_>, (usize, XcodecError)>>()
            })
            .map_err(|(i, e)| if batch { at("codes", i, errors::core(e), py) } else { errors::core(e) })?;
        let mut arrays = audio.into_iter().map(|a| arrays::audio_array(py, a).into_any());
        match items {
            Some(_) => Ok(PyList::new(py, arrays)?.into_any()),
            None => Ok(arrays.next().expect("one item")),
        }
    }

    /// A streaming encoder at `bandwidth` (kbps; default the highest): `push` audio chunks at the model's
    /// rate, get the codes of the whole frames so far; `finish` codes the rest. Causal codecs without a
    /// semantic teacher only (others: ValueError with the reason).
    #[pyo3(signature = (bandwidth = None))]
    fn stream_encoder(slf: &Bound<'_, Self>, bandwidth: Option<f64>) -> PyResult<StreamEncoder> {
        StreamEncoder::new(slf.clone().unbind(), bandwidth)
    }

    /// A streaming decoder: `push` codes `[n_q, k]`, get their `k * hop_length` samples at once. Causal
    /// acoustic decoders only (others: ValueError with the reason).
    fn stream_decoder(slf: &Bound<'_, Self>) -> PyResult<StreamDecoder> {
        StreamDecoder::new(slf.clone().unbind())
    }
}
