//! Live encode and decode over byte streams (stdin/stdout, pipes, files) in constant memory, for codecs that
//! can stream (no semantic teacher, causal backbone): audio is read a chunk of whole frames at a time and its
//! codes written as soon as [`XCodec::encode_step`] gives them; codes are read a chunk at a time and their
//! audio written as soon as [`XCodec::decode_step`] gives it.
//!
//! Wire formats:
//! - audio in: raw mono PCM or a WAV at the model's rate ([`crate::audio::PipeReader`]).
//! - codes: raw little-endian `u16` frames, no header ([`crate::codes::raw`]). `n_q` follows from the
//!   bandwidth, which encoder and decoder must agree on.
//! - audio out: any [`AudioSink`]: raw mono PCM or a WAV of unknown length for pipes
//!   ([`crate::audio::PcmSink`]), or a file through [`crate::audio::WavStream`], whose header is completed at
//!   the end.
//!
//! The codes of a stream are exactly those `encode` gives for the whole audio, its last partial frame
//! included; the decoded stream is the whole frames (`frames * hop` samples), as raw codes carry no length.

use super::tensor_values as values;
use crate::audio::{AudioInput, AudioSink, PipeReader};
use crate::codes::raw::{RawCodesReader, RawCodesWriter, check_codebook_size};
use crate::{AcousticDecoder, AcousticEncoder, CodecStream, Quantizer, Result, SemanticTeacher, XCodec, XcodecError};
use burn::tensor::{Int, Tensor, TensorData};
use std::io::{Read, Write};

/// What [`encode_stream`] and [`decode_stream`] do.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Bandwidth in kbps; `None` = the model's highest. Decides `n_q`.
    pub bandwidth_kbps: Option<f64>,
    /// Frames per chunk (the latency: a chunk is processed once it is whole).
    pub chunk_frames: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self { bandwidth_kbps: None, chunk_frames: 10 }
    }
}

/// What a stream did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamReport {
    /// Frames encoded or decoded.
    pub frames: u64,
    /// Audio samples read (encode) or written (decode).
    pub samples: u64,
    /// Codebooks per frame.
    pub n_q: usize,
}

/// The bandwidth asked for (or the highest) and its codebooks; an error for codebooks that do not fit `u16`.
fn stream_codebooks<A: AcousticEncoder + Sync, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer>(
    codec: &XCodec<A, D, S, Q>,
    opts: &StreamOptions,
) -> Result<(f64, usize)> {
    let bandwidth = opts.bandwidth_kbps.unwrap_or_else(|| codec.target_bandwidths_kbps.last().copied().unwrap_or(0.0));
    let n_q = codec.checked_codebooks(bandwidth)?;
    check_codebook_size(codec.quantizer.codebook_size())?;
    if opts.chunk_frames == 0 {
        return Err(XcodecError::Input("a chunk must hold at least one frame".into()));
    }
    Ok((bandwidth, n_q))
}

/// Whether `codec` can stream-encode with `opts`: one silent frame through a throwaway stream, so that a codec
/// that cannot says why (in one line) before any input is read or output created. Returns the bandwidth and
/// its codebooks.
pub fn check_encode_stream<A: AcousticEncoder + Sync, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer>(
    codec: &XCodec<A, D, S, Q>,
    opts: &StreamOptions,
) -> Result<(f64, usize)> {
    let (bandwidth, n_q) = stream_codebooks(codec, opts)?;
    let device = codec.fc_prior.weight.device();
    codec.encode_step(Tensor::zeros([1, 1, codec.hop_length()], &device), bandwidth, &mut CodecStream::default())?;
    Ok((bandwidth, n_q))
}

/// Whether `codec` can stream-decode with `opts` (one frame of code 0 through a throwaway stream); returns the
/// codebooks per frame.
pub fn check_decode_stream<A: AcousticEncoder + Sync, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer>(
    codec: &XCodec<A, D, S, Q>,
    opts: &StreamOptions,
) -> Result<usize> {
    let (_, n_q) = stream_codebooks(codec, opts)?;
    codec.decode_step(Tensor::zeros([1, n_q, 1], &codec.fc_post2.weight.device()), &mut CodecStream::default())?;
    Ok(n_q)
}

/// Encodes an audio stream into a codes stream (see the module doc for the formats). Refuses, before reading
/// anything, a codec that cannot stream-encode, with the reason.
pub fn encode_stream<A: AcousticEncoder + Sync, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer>(
    codec: &XCodec<A, D, S, Q>,
    input: impl Read,
    kind: AudioInput,
    output: &mut impl Write,
    opts: &StreamOptions,
) -> Result<StreamReport> {
    let (bandwidth, n_q) = check_encode_stream(codec, opts)?;
    let hop = codec.hop_length();
    let device = codec.fc_prior.weight.device();
    let mut source = PipeReader::open(input, kind, codec.sample_rate_hz)?;
    let mut codes_out = RawCodesWriter::new(output, n_q);
    let chunk = opts.chunk_frames * hop;
    let (mut stream, mut samples) = (CodecStream::default(), Vec::with_capacity(chunk));
    let mut total = 0u64;
    loop {
        source.read(chunk, &mut samples)?;
        let len = samples.len();
        if len == 0 {
            break;
        }
        let audio = Tensor::<3>::from_data(TensorData::new(samples.clone(), [1, 1, len]), &device);
        let codes = codec.encode_step(audio, bandwidth, &mut stream)?;
        codes_out.write(&values::<i64>(codes.into_data())?)?;
        total += len as u64;
        if len < chunk {
            break;
        }
    }
    if total == 0 {
        return Err(XcodecError::Input("the audio input is empty (0 samples)".into()));
    }
    Ok(StreamReport { frames: stream.frames_encoded, samples: total, n_q })
}

/// Decodes a codes stream into audio (see the module doc for the formats). Refuses, before reading anything, a
/// codec that cannot stream-decode, with the reason.
pub fn decode_stream<A: AcousticEncoder + Sync, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer>(
    codec: &XCodec<A, D, S, Q>,
    input: impl Read,
    sink: &mut dyn AudioSink,
    opts: &StreamOptions,
) -> Result<StreamReport> {
    let n_q = check_decode_stream(codec, opts)?;
    let device = codec.fc_post2.weight.device();
    let mut codes_in = RawCodesReader::new(input, n_q);
    let mut stream = CodecStream::default();
    let mut total = 0u64;
    loop {
        let codes = codes_in.read(opts.chunk_frames)?;
        let frames = codes.len() / n_q;
        if frames == 0 {
            break;
        }
        let codes = Tensor::<3, Int>::from_data(TensorData::new(codes, [1, n_q, frames]), &device);
        let audio = values::<f32>(codec.decode_step(codes, &mut stream)?.into_data())?;
        sink.write(&audio)?;
        total += audio.len() as u64;
        if frames < opts.chunk_frames {
            break;
        }
    }
    Ok(StreamReport { frames: stream.frames_decoded, samples: total, n_q })
}
