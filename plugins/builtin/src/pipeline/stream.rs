//! Streaming encode and decode over byte streams (stdin/stdout, pipes, files) in constant memory, for codecs
//! that can stream (no semantic teacher, causal backbone): audio is read a chunk of whole frames at a time and
//! its codes written as soon as [`crate::Codec::encode_step`] gives them; codes are read a chunk at a time and
//! their audio written as soon as [`crate::Codec::decode_step`] gives it.
//!
//! Wire formats:
//! - audio in: raw mono PCM at the model's rate, [`PcmFormat::S16le`] (`i16 / 32768`) or [`PcmFormat::F32le`];
//!   or a WAV at the model's rate (channels mixed down to their mean; 8/16/24/32-bit integer or 32-bit float).
//!   A WAV from a pipe may declare an unknown data length (`0xFFFFFFFF`, as ffmpeg writes to a pipe): it then
//!   runs to the end of the input.
//! - codes: raw little-endian `u16`, frame after frame, each frame `n_q` values (codebook 0 first), no header.
//!   `n_q` follows from the bandwidth, which encoder and decoder must agree on.
//! - audio out: raw mono PCM (`s16le`, `f32le`), or a WAV ([`PcmSink::wav`] for pipes, with an unknown length
//!   in its header; a file is better written with [`xcodec_core::audio::WavStream`], whose header is completed
//!   at the end).
//!
//! The codes of a stream are exactly those `encode` gives for the whole audio, its last partial frame
//! included; the decoded stream is the whole frames (`frames * hop` samples), as raw codes carry no length.

use super::values;
use crate::{Codec, ExtraParts};
use burn::tensor::{Int, Tensor, TensorData};
use std::io::{ErrorKind, Read, Write};
use xcodec_core::audio::{WavStream, to_i16};
use xcodec_core::{CodecStream, Quantizer, Result, XcodecError};

/// Raw PCM sample encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcmFormat {
    /// Signed 16-bit little-endian; `x = i16 / 32768`, written as `round(x * 32768)` clipped.
    S16le,
    /// 32-bit IEEE float little-endian.
    F32le,
}

impl PcmFormat {
    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        match self {
            Self::S16le => 2,
            Self::F32le => 4,
        }
    }
}

/// What a streamed audio input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioInput {
    /// Raw mono PCM at the model's rate.
    Raw(PcmFormat),
    /// A WAV at the model's rate.
    Wav,
}

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

/// Where decoded audio goes.
pub trait AudioSink {
    /// Appends mono samples.
    fn write(&mut self, samples: &[f32]) -> Result<()>;
}

impl AudioSink for WavStream {
    fn write(&mut self, samples: &[f32]) -> Result<()> {
        WavStream::write(self, samples)
    }
}

/// Raw PCM (optionally behind a WAV header of unknown length) to any writer, flushed after every write.
pub struct PcmSink<W: Write> {
    out: W,
    format: PcmFormat,
    clipped: usize,
    bytes: Vec<u8>,
}

impl<W: Write> PcmSink<W> {
    /// Raw samples.
    pub fn raw(out: W, format: PcmFormat) -> Self {
        Self { out, format, clipped: 0, bytes: Vec::new() }
    }

    /// A WAV for a pipe: a header whose sizes say "unknown" (`0xFFFFFFFF`), then the samples.
    pub fn wav(mut out: W, format: PcmFormat, rate_hz: u32) -> Result<Self> {
        out.write_all(&wav_header(format, rate_hz)).map_err(|e| io_error("writing the audio", e))?;
        Ok(Self::raw(out, format))
    }

    /// Samples outside [-1, 1] clipped so far (16-bit only).
    pub fn clipped(&self) -> usize {
        self.clipped
    }
}

impl<W: Write> AudioSink for PcmSink<W> {
    fn write(&mut self, samples: &[f32]) -> Result<()> {
        self.bytes.clear();
        for &x in samples {
            match self.format {
                PcmFormat::S16le => {
                    self.clipped += usize::from(x.abs() > 1.0);
                    self.bytes.extend(to_i16(x).to_le_bytes());
                }
                PcmFormat::F32le => self.bytes.extend(x.to_le_bytes()),
            }
        }
        self.out.write_all(&self.bytes).and_then(|()| self.out.flush()).map_err(|e| io_error("writing the audio", e))
    }
}

/// The 44-byte header of a mono PCM or float WAV whose length is not known yet.
fn wav_header(format: PcmFormat, rate_hz: u32) -> [u8; 44] {
    let (tag, bytes) = match format {
        PcmFormat::S16le => (1u16, 2u16),
        PcmFormat::F32le => (3u16, 4u16),
    };
    let mut h = [0u8; 44];
    let fields: [&[u8]; 13] = [
        b"RIFF",
        &u32::MAX.to_le_bytes(),
        b"WAVEfmt ",
        &16u32.to_le_bytes(),
        &tag.to_le_bytes(),
        &1u16.to_le_bytes(),
        &rate_hz.to_le_bytes(),
        &(rate_hz * u32::from(bytes)).to_le_bytes(),
        &bytes.to_le_bytes(),
        &(bytes * 8).to_le_bytes(),
        b"data",
        &u32::MAX.to_le_bytes(),
        &[],
    ];
    let mut at = 0;
    for f in fields {
        h[at..at + f.len()].copy_from_slice(f);
        at += f.len();
    }
    h
}

fn io_error(doing: &str, e: std::io::Error) -> XcodecError {
    XcodecError::Input(format!("{doing}: {e}"))
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// How the samples of an input are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    U8,
    I16,
    I24,
    I32,
    F32,
}

impl Encoding {
    fn bytes(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::I16 => 2,
            Self::I24 => 3,
            Self::I32 | Self::F32 => 4,
        }
    }

    /// One sample, scaled as soundfile scales it (`i16 / 32768`, `(u8 - 128) / 128`, ...).
    fn decode(self, b: &[u8]) -> f32 {
        match self {
            Self::U8 => (f32::from(b[0]) - 128.0) / 128.0,
            Self::I16 => f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0,
            Self::I24 => (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0,
            Self::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0,
            Self::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        }
    }
}

/// Mono samples from a raw or WAV input: interleaved frames of `channels` samples, mixed down to their mean.
struct Samples<R: Read> {
    input: R,
    encoding: Encoding,
    channels: usize,
    /// Bytes left in a WAV's data chunk; `None` = to the end of the input (raw, or a WAV of unknown length).
    remaining: Option<u64>,
    bytes: Vec<u8>,
}

impl<R: Read> Samples<R> {
    fn open(mut input: R, kind: AudioInput, rate_hz: u32) -> Result<Self> {
        let (encoding, channels, remaining) = match kind {
            AudioInput::Raw(PcmFormat::S16le) => (Encoding::I16, 1, None),
            AudioInput::Raw(PcmFormat::F32le) => (Encoding::F32, 1, None),
            AudioInput::Wav => {
                let wav = read_wav_header(&mut input)?;
                if wav.rate_hz != rate_hz {
                    return Err(XcodecError::Input(format!(
                        "the WAV is at {} Hz but the model runs at {rate_hz} Hz; resample it first (e.g. ffmpeg -ar {rate_hz})",
                        wav.rate_hz
                    )));
                }
                (wav.encoding, wav.channels, wav.data_bytes)
            }
        };
        Ok(Self { input, encoding, channels, remaining, bytes: Vec::new() })
    }

    /// Up to `n` samples into `out` (cleared first); fewer only at the end of the input.
    fn read(&mut self, n: usize, out: &mut Vec<f32>) -> Result<()> {
        out.clear();
        let frame = self.encoding.bytes() * self.channels;
        let want = match self.remaining {
            Some(left) => (n * frame).min(left as usize),
            None => n * frame,
        };
        self.bytes.resize(want, 0);
        let got = read_full(&mut self.input, &mut self.bytes).map_err(|e| io_error("reading the audio", e))?;
        if let Some(left) = &mut self.remaining {
            if got < want {
                return Err(XcodecError::Input(format!(
                    "the WAV ends {} bytes before the length its header declares (truncated?)",
                    *left - got as u64
                )));
            }
            *left -= got as u64;
        }
        if got % frame != 0 {
            return Err(XcodecError::Input(format!(
                "the audio input ends inside a sample frame ({} stray bytes after whole {frame}-byte frames)",
                got % frame
            )));
        }
        let size = self.encoding.bytes();
        out.extend(self.bytes[..got].chunks_exact(frame).map(|f| {
            f.chunks_exact(size).map(|b| self.encoding.decode(b)).sum::<f32>() / self.channels as f32
        }));
        Ok(())
    }
}

/// What a WAV header says.
struct WavHeader {
    encoding: Encoding,
    channels: usize,
    rate_hz: u32,
    /// `None` when the header says `0xFFFFFFFF` (a pipe's WAV: the data runs to the end of the input).
    data_bytes: Option<u64>,
}

/// Reads a WAV header up to the start of its data (RIFF chunks walked in order, unknown ones skipped).
fn read_wav_header(input: &mut impl Read) -> Result<WavHeader> {
    let bad = |why: &str| XcodecError::Input(format!("the input is not a WAV we can stream ({why}); for raw samples pass --input-format s16le or f32le"));
    let mut riff = [0u8; 12];
    if read_full(input, &mut riff).map_err(|e| io_error("reading the WAV header", e))? < 12 || &riff[..4] != b"RIFF" || &riff[8..] != b"WAVE" {
        return Err(bad("no RIFF/WAVE header"));
    }
    let mut format = None;
    loop {
        let mut head = [0u8; 8];
        if read_full(input, &mut head).map_err(|e| io_error("reading the WAV header", e))? < 8 {
            return Err(bad("no data chunk"));
        }
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        match &head[..4] {
            b"fmt " => {
                let mut fmt = vec![0u8; size as usize + (size as usize & 1)];
                if read_full(input, &mut fmt).map_err(|e| io_error("reading the WAV header", e))? < fmt.len() || size < 16 {
                    return Err(bad("short fmt chunk"));
                }
                let u16_at = |i: usize| u16::from_le_bytes([fmt[i], fmt[i + 1]]);
                // WAVE_FORMAT_EXTENSIBLE keeps the real tag at the start of its sub-format GUID.
                let tag = if u16_at(0) == 0xFFFE && size >= 26 { u16_at(24) } else { u16_at(0) };
                let encoding = match (tag, u16_at(14)) {
                    (1, 8) => Encoding::U8,
                    (1, 16) => Encoding::I16,
                    (1, 24) => Encoding::I24,
                    (1, 32) => Encoding::I32,
                    (3, 32) => Encoding::F32,
                    (tag, bits) => return Err(bad(&format!("format tag {tag} with {bits}-bit samples"))),
                };
                let rate_hz = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
                format = Some((encoding, usize::from(u16_at(2)), rate_hz));
            }
            b"data" => {
                let Some((encoding, channels, rate_hz)) = format else { return Err(bad("data before fmt")) };
                if channels == 0 {
                    return Err(bad("0 channels"));
                }
                let data_bytes = (size != u32::MAX).then_some(u64::from(size));
                return Ok(WavHeader { encoding, channels, rate_hz, data_bytes });
            }
            _ => {
                let skip = u64::from(size) + u64::from(size & 1);
                std::io::copy(&mut input.by_ref().take(skip), &mut std::io::sink()).map_err(|e| io_error("reading the WAV header", e))?;
            }
        }
    }
}

/// The bandwidth asked for (or the highest) and its codebooks; an error for codebooks that do not fit `u16`.
fn stream_codebooks<P: ExtraParts>(codec: &Codec<P>, opts: &StreamOptions) -> Result<(f64, usize)> {
    let bandwidth = opts.bandwidth_kbps.unwrap_or_else(|| codec.target_bandwidths_kbps.last().copied().unwrap_or(0.0));
    let n_q = codec.checked_codebooks(bandwidth)?;
    if codec.quantizer.codebook_size() > 1 << 16 {
        return Err(XcodecError::Config(format!(
            "codebooks of {} entries do not fit the u16 codes stream",
            codec.quantizer.codebook_size()
        )));
    }
    if opts.chunk_frames == 0 {
        return Err(XcodecError::Input("a chunk must hold at least one frame".into()));
    }
    Ok((bandwidth, n_q))
}

/// Whether `codec` can stream-encode with `opts`: one silent frame through a throwaway stream, so that a codec
/// that cannot says why (in one line) before any input is read or output created. Returns the bandwidth and
/// its codebooks.
pub fn check_encode_stream<P: ExtraParts>(codec: &Codec<P>, opts: &StreamOptions) -> Result<(f64, usize)> {
    let (bandwidth, n_q) = stream_codebooks(codec, opts)?;
    let device = codec.fc_prior.weight.device();
    codec.encode_step(Tensor::zeros([1, 1, codec.hop_length()], &device), bandwidth, &mut CodecStream::default())?;
    Ok((bandwidth, n_q))
}

/// Whether `codec` can stream-decode with `opts` (one frame of code 0 through a throwaway stream); returns the
/// codebooks per frame.
pub fn check_decode_stream<P: ExtraParts>(codec: &Codec<P>, opts: &StreamOptions) -> Result<usize> {
    let (_, n_q) = stream_codebooks(codec, opts)?;
    codec.decode_step(Tensor::zeros([1, n_q, 1], &codec.fc_post2.weight.device()), &mut CodecStream::default())?;
    Ok(n_q)
}

/// Encodes an audio stream into a codes stream (see the module doc for the formats). Refuses, before reading
/// anything, a codec that cannot stream-encode, with the reason.
pub fn encode_stream<P: ExtraParts>(codec: &Codec<P>, input: impl Read, kind: AudioInput, output: &mut impl Write, opts: &StreamOptions) -> Result<StreamReport> {
    let (bandwidth, n_q) = check_encode_stream(codec, opts)?;
    let hop = codec.hop_length();
    let device = codec.fc_prior.weight.device();
    let mut source = Samples::open(input, kind, codec.sample_rate_hz)?;
    let chunk = opts.chunk_frames * hop;
    let (mut stream, mut samples, mut bytes) = (CodecStream::default(), Vec::with_capacity(chunk), Vec::new());
    let mut total = 0u64;
    loop {
        source.read(chunk, &mut samples)?;
        let len = samples.len();
        if len == 0 {
            break;
        }
        let audio = Tensor::<3>::from_data(TensorData::new(samples.clone(), [1, 1, len]), &device);
        let codes = codec.encode_step(audio, bandwidth, &mut stream)?;
        let frames = codes.dims()[2];
        let codes = values::<i64>(codes.into_data())?;
        bytes.clear();
        for f in 0..frames {
            bytes.extend((0..n_q).flat_map(|q| (codes[q * frames + f] as u16).to_le_bytes()));
        }
        output.write_all(&bytes).and_then(|()| output.flush()).map_err(|e| io_error("writing the codes", e))?;
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
pub fn decode_stream<P: ExtraParts>(codec: &Codec<P>, mut input: impl Read, sink: &mut dyn AudioSink, opts: &StreamOptions) -> Result<StreamReport> {
    let n_q = check_decode_stream(codec, opts)?;
    let device = codec.fc_post2.weight.device();
    let frame_bytes = 2 * n_q;
    let mut bytes = vec![0u8; opts.chunk_frames * frame_bytes];
    let mut stream = CodecStream::default();
    let mut total = 0u64;
    loop {
        let got = read_full(&mut input, &mut bytes).map_err(|e| io_error("reading the codes", e))?;
        if got % frame_bytes != 0 {
            return Err(XcodecError::Input(format!(
                "the codes input ends inside a frame ({} bytes after the last whole frame of {n_q} x u16); check --bandwidth matches the encoder's",
                got % frame_bytes
            )));
        }
        let frames = got / frame_bytes;
        if frames == 0 {
            break;
        }
        let codes: Vec<i64> = (0..n_q)
            .flat_map(|q| (0..frames).map(move |f| (f * n_q + q) * 2))
            .map(|at| i64::from(u16::from_le_bytes([bytes[at], bytes[at + 1]])))
            .collect();
        let codes = Tensor::<3, Int>::from_data(TensorData::new(codes, [1, n_q, frames]), &device);
        let audio = values::<f32>(codec.decode_step(codes, &mut stream)?.into_data())?;
        sink.write(&audio)?;
        total += audio.len() as u64;
        if got < bytes.len() {
            break;
        }
    }
    Ok(StreamReport { frames: stream.frames_decoded, samples: total, n_q })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipe_wav_header_reads_back_with_hound_and_streams_to_the_end() {
        let mut bytes = Vec::new();
        let mut sink = PcmSink::wav(&mut bytes, PcmFormat::S16le, 16_000).unwrap();
        sink.write(&[0.5, -0.25, 2.0]).unwrap();
        assert_eq!(sink.clipped(), 1);
        let reader = hound::WavReader::new(std::io::Cursor::new(&bytes[..44]));
        // hound refuses the unknown length (odd byte count) but the header is otherwise what it expects.
        assert!(reader.is_err());
        let mut out = Vec::new();
        let mut samples = Samples::open(&bytes[..], AudioInput::Wav, 16_000).unwrap();
        samples.read(10, &mut out).unwrap();
        assert_eq!(out, vec![0.5, -0.25, 32767.0 / 32768.0]);
    }

    #[test]
    fn wav_files_stream_like_the_file_reader() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stereo24.wav");
        let spec = hound::WavSpec { channels: 2, sample_rate: 16_000, bits_per_sample: 24, sample_format: hound::SampleFormat::Int };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        let values = [4_000_000i32, -8_388_608, 1, 8_388_607, -5, 0, 100, 200];
        values.iter().for_each(|&v| w.write_sample(v).unwrap());
        w.finalize().unwrap();
        let whole = xcodec_core::audio::read_audio(&path, 16_000).unwrap();
        let mut samples = Samples::open(std::fs::File::open(&path).unwrap(), AudioInput::Wav, 16_000).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        samples.read(3, &mut a).unwrap();
        samples.read(3, &mut b).unwrap();
        a.extend(b);
        assert_eq!(a, whole);
        // Truncated: the header promises more than there is.
        let bytes = std::fs::read(&path).unwrap();
        let mut samples = Samples::open(&bytes[..bytes.len() - 6], AudioInput::Wav, 16_000).unwrap();
        let err = samples.read(10, &mut Vec::new()).unwrap_err().to_string();
        assert!(err.contains("6 bytes before the length its header declares"), "{err}");
    }

    #[test]
    fn raw_input_ending_inside_a_sample_is_an_error() {
        let mut samples = Samples::open(&[0u8, 64, 7][..], AudioInput::Raw(PcmFormat::S16le), 16_000).unwrap();
        let err = samples.read(4, &mut Vec::new()).unwrap_err().to_string();
        assert!(err.contains("1 stray bytes"), "{err}");
        let mut wrong_rate = Vec::new();
        PcmSink::wav(&mut wrong_rate, PcmFormat::F32le, 8_000).unwrap();
        let err = Samples::open(&wrong_rate[..], AudioInput::Wav, 16_000).err().unwrap().to_string();
        assert!(err.contains("8000 Hz but the model runs at 16000 Hz"), "{err}");
        let err = Samples::open(&b"not a wav at all"[..], AudioInput::Wav, 16_000).err().unwrap().to_string();
        assert!(err.contains("--input-format s16le"), "{err}");
    }
}
