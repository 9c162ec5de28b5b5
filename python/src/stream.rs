//! `Codec.stream_encoder()` / `Codec.stream_decoder()`: chunk-by-chunk encode and decode for causal codecs,
//! through the core's streaming steps (`XCodec::encode_step` / `decode_step`), so that a stream's codes are
//! the whole clip's and its audio the whole decode's.

use crate::arrays;
use crate::codec::Codec;
use crate::errors;
use numpy::{PyArray1, PyArray2};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use std::sync::{Mutex, MutexGuard};
use xcodec_core::burn::tensor::{Int, Tensor, TensorData};
use xcodec_core::codes::validate_codes;
use xcodec_core::pipeline::live::{StreamOptions, check_decode_stream, check_encode_stream};
use xcodec_core::pipeline::{FileCodes, check_samples, tensor_values};
use xcodec_core::{CodecStream, Quantizer, XcodecError};

/// The stream's state, or an error when another thread is using it (waiting would deadlock on the GIL) or it
/// is finished.
fn lock<'a, T>(state: &'a Mutex<State<T>>, what: &str) -> PyResult<MutexGuard<'a, State<T>>> {
    let guard =
        state.try_lock().map_err(|_| PyRuntimeError::new_err(format!("this {what} is in use by another thread")))?;
    if guard.finished {
        return Err(errors::value(format!("this {what} is finished; start another one")));
    }
    Ok(guard)
}

/// What a stream carries between pushes.
struct State<T> {
    stream: CodecStream,
    /// Encoder: samples short of a whole frame. Decoder: the codebooks per frame of the first push.
    carry: T,
    /// Samples (encoder) or frames (decoder) pushed so far.
    pushed: u64,
    finished: bool,
}

impl<T: Default> State<T> {
    fn new() -> Mutex<Self> {
        Mutex::new(Self { stream: CodecStream::default(), carry: T::default(), pushed: 0, finished: false })
    }
}

/// Encodes audio chunk by chunk: `push` returns the codes `[n_q, k]` of the whole frames received so far
/// (k may be 0), `finish` those of the rest (the last frame padded as `encode` pads a clip's end).
#[pyclass(frozen, module = "xcodec", name = "StreamEncoder")]
pub struct StreamEncoder {
    codec: Py<Codec>,
    bandwidth_kbps: f64,
    n_q: usize,
    state: Mutex<State<Vec<f32>>>,
}

impl StreamEncoder {
    /// A stream at `bandwidth_kbps` (default the highest); refuses a codec that cannot stream-encode.
    pub fn new(codec: Py<Codec>, bandwidth_kbps: Option<f64>) -> PyResult<Self> {
        let opts = StreamOptions { bandwidth_kbps, chunk_frames: 1 };
        let (bandwidth_kbps, n_q) = check_encode_stream(&codec.get().model.codec, &opts).map_err(errors::core)?;
        Ok(Self { codec, bandwidth_kbps, n_q, state: State::new() })
    }

    /// Codes of `samples` (whole frames, or the end of the stream) as the next step of the stream.
    fn step(&self, stream: &mut CodecStream, samples: Vec<f32>) -> xcodec_core::Result<FileCodes> {
        let codec = &self.codec.get().model.codec;
        if samples.is_empty() {
            return Ok(FileCodes { n_q: self.n_q, frames: 0, values: Vec::new(), num_samples: 0 });
        }
        let len = samples.len();
        let audio = Tensor::<3>::from_data(TensorData::new(samples, [1, 1, len]), &codec.fc_prior.weight.device());
        let codes = codec.encode_step(audio, self.bandwidth_kbps, stream)?;
        let frames = codes.dims()[2];
        Ok(FileCodes { n_q: self.n_q, frames, values: tensor_values(codes.into_data())?, num_samples: len })
    }
}

#[pymethods]
impl StreamEncoder {
    /// Codebooks per frame.
    #[getter]
    fn num_codebooks(&self) -> usize {
        self.n_q
    }

    /// The next chunk of audio (`[samples]` or `[channels, samples]` float32 at the model's rate, any length);
    /// returns the codes `[n_q, k]` of the whole frames now complete.
    fn push<'py>(&self, py: Python<'py>, audio: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray2<i64>>> {
        let clip = arrays::clip(audio)?;
        let samples = clip.samples();
        check_samples(samples).map_err(errors::core)?;
        let mut guard = lock(&self.state, "stream encoder")?;
        let state = &mut *guard;
        let hop = self.codec.get().model.codec.hop_length();
        let codes = py
            .detach(|| {
                state.carry.extend_from_slice(samples);
                state.pushed += samples.len() as u64;
                let whole: Vec<f32> = state.carry.drain(..state.carry.len() / hop * hop).collect();
                self.step(&mut state.stream, whole)
            })
            .map_err(errors::core)?;
        Ok(arrays::codes_array(py, codes))
    }

    /// Ends the stream: the codes of the samples short of a whole frame, if any (`[n_q, 0]` or `[n_q, 1]`).
    /// A stream that received no audio is a ValueError.
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<i64>>> {
        let mut state = lock(&self.state, "stream encoder")?;
        state.finished = true;
        if state.pushed == 0 {
            return Err(errors::core(XcodecError::Input("the audio input is empty (0 samples)".into())));
        }
        let state = &mut *state;
        let rest = std::mem::take(&mut state.carry);
        let codes = py.detach(|| self.step(&mut state.stream, rest)).map_err(errors::core)?;
        Ok(arrays::codes_array(py, codes))
    }
}

/// Decodes codes chunk by chunk: `push` codes `[n_q, k]` (the same n_q throughout) and get their
/// `k * hop_length` samples, exactly the whole decode's.
#[pyclass(frozen, module = "xcodec", name = "StreamDecoder")]
pub struct StreamDecoder {
    codec: Py<Codec>,
    state: Mutex<State<usize>>,
}

impl StreamDecoder {
    /// A stream; refuses a codec that cannot stream-decode.
    pub fn new(codec: Py<Codec>) -> PyResult<Self> {
        check_decode_stream(&codec.get().model.codec, &StreamOptions::default()).map_err(errors::core)?;
        Ok(Self { codec, state: State::new() })
    }
}

#[pymethods]
impl StreamDecoder {
    /// The next codes `[n_q, k]` (any integer dtype); returns their audio, float32 `[k * hop_length]`.
    fn push<'py>(&self, py: Python<'py>, codes: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let codes = arrays::codes(codes)?;
        let codec = &self.codec.get().model.codec;
        validate_codes(&codes, codec.quantizer.codebook_size(), codec.quantizer.num_quantizers())
            .map_err(errors::core)?;
        let mut guard = lock(&self.state, "stream decoder")?;
        let state = &mut *guard;
        if state.pushed > 0 && state.carry != codes.n_q {
            return Err(errors::value(format!(
                "codes have {} codebooks but this stream started with {}; keep the bandwidth of a stream",
                codes.n_q, state.carry
            )));
        }
        state.carry = codes.n_q;
        state.pushed += codes.frames as u64;
        let audio = py
            .detach(|| {
                let device = codec.fc_post2.weight.device();
                let tensor =
                    Tensor::<3, Int>::from_data(TensorData::new(codes.values, [1, codes.n_q, codes.frames]), &device);
                tensor_values::<f32>(codec.decode_step(tensor, &mut state.stream)?.into_data())
            })
            .map_err(errors::core)?;
        Ok(arrays::audio_array(py, audio))
    }

    /// Ends the stream. The decoder holds nothing back, so this returns an empty array; further pushes are
    /// refused.
    fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f32>>> {
        lock(&self.state, "stream decoder")?.finished = true;
        Ok(arrays::audio_array(py, Vec::new()))
    }
}
