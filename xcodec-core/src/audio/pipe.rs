//! Audio through pipes (stdin/stdout, sockets, files read front to back) rather than seekable files: raw mono
//! PCM, and WAV whose header may say its length is unknown, read and written a chunk at a time.
//!
//! - in ([`PipeReader`]): raw mono PCM, [`PcmFormat::S16le`] (`i16 / 32768`) or [`PcmFormat::F32le`]; or a WAV
//!   (channels mixed down to their mean; 8/16/24/32-bit integer or 32-bit float, scaled as the file reader
//!   scales them). A WAV from a pipe may declare an unknown data length (`0xFFFFFFFF`, as ffmpeg writes to a
//!   pipe): it then runs to the end of the input.
//! - out ([`PcmSink`]): raw mono PCM, or a WAV for a pipe whose header says "unknown length" (a file is better
//!   written with [`super::WavStream`], whose header is completed at the end).
//!
//! The RIFF reading and writing here is by hand rather than hound's or symphonia's: hound's reader refuses
//! the unknown length a pipe's WAV declares (it checks the data size against the block size, see the first
//! test) and its writer seeks back to finish the header, which a pipe cannot; symphonia reads through a
//! probe and packets of its own choosing and reports truncation and foreign input in its own words. The
//! errors this format promises (a truncated data chunk with its byte count, a stray partial sample, a rate
//! other than the model's, "not a WAV we can stream" with the raw alternative) are asserted by tests, in one
//! line each; the 90 lines of RIFF header code below keep them exact.

use std::io::{Read, Write};

use super::{WavStream, to_i16};
use crate::io::{read_full, stream_error};
use crate::{Result, XcodecError};

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
        out.write_all(&wav_header(format, rate_hz)).map_err(|e| stream_error("writing the audio", e))?;
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
        self.out
            .write_all(&self.bytes)
            .and_then(|()| self.out.flush())
            .map_err(|e| stream_error("writing the audio", e))
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
pub struct PipeReader<R: Read> {
    input: R,
    encoding: Encoding,
    channels: usize,
    /// Bytes left in a WAV's data chunk; `None` = to the end of the input (raw, or a WAV of unknown length).
    remaining: Option<u64>,
    bytes: Vec<u8>,
}

impl<R: Read> PipeReader<R> {
    /// Starts reading `input` (a WAV's header is read here and its rate checked against `rate_hz`).
    pub fn open(mut input: R, kind: AudioInput, rate_hz: u32) -> Result<Self> {
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
    pub fn read(&mut self, n: usize, out: &mut Vec<f32>) -> Result<()> {
        out.clear();
        let frame = self.encoding.bytes() * self.channels;
        let want = match self.remaining {
            Some(left) => (n * frame).min(left as usize),
            None => n * frame,
        };
        self.bytes.resize(want, 0);
        let got = read_full(&mut self.input, &mut self.bytes).map_err(|e| stream_error("reading the audio", e))?;
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
        out.extend(
            self.bytes[..got]
                .chunks_exact(frame)
                .map(|f| f.chunks_exact(size).map(|b| self.encoding.decode(b)).sum::<f32>() / self.channels as f32),
        );
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
    let bad = |why: &str| {
        XcodecError::Input(format!(
            "the input is not a WAV we can stream ({why}); for raw samples pass --input-format s16le or f32le"
        ))
    };
    let mut riff = [0u8; 12];
    if read_full(input, &mut riff).map_err(|e| stream_error("reading the WAV header", e))? < 12
        || &riff[..4] != b"RIFF"
        || &riff[8..] != b"WAVE"
    {
        return Err(bad("no RIFF/WAVE header"));
    }
    let mut format = None;
    loop {
        let mut head = [0u8; 8];
        if read_full(input, &mut head).map_err(|e| stream_error("reading the WAV header", e))? < 8 {
            return Err(bad("no data chunk"));
        }
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        match &head[..4] {
            b"fmt " => {
                let mut fmt = vec![0u8; size as usize + (size as usize & 1)];
                if read_full(input, &mut fmt).map_err(|e| stream_error("reading the WAV header", e))? < fmt.len()
                    || size < 16
                {
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
                std::io::copy(&mut input.by_ref().take(skip), &mut std::io::sink())
                    .map_err(|e| stream_error("reading the WAV header", e))?;
            }
        }
    }
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
        let mut samples = PipeReader::open(&bytes[..], AudioInput::Wav, 16_000).unwrap();
        samples.read(10, &mut out).unwrap();
        assert_eq!(out, vec![0.5, -0.25, 32767.0 / 32768.0]);
    }

    #[test]
    fn wav_files_stream_like_the_file_reader() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stereo24.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 16_000,
            bits_per_sample: 24,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        let values = [4_000_000i32, -8_388_608, 1, 8_388_607, -5, 0, 100, 200];
        values.iter().for_each(|&v| w.write_sample(v).unwrap());
        w.finalize().unwrap();
        let whole = crate::audio::read_audio(&path, 16_000).unwrap();
        let mut samples = PipeReader::open(std::fs::File::open(&path).unwrap(), AudioInput::Wav, 16_000).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        samples.read(3, &mut a).unwrap();
        samples.read(3, &mut b).unwrap();
        a.extend(b);
        assert_eq!(a, whole);
        // Truncated: the header promises more than there is.
        let bytes = std::fs::read(&path).unwrap();
        let mut samples = PipeReader::open(&bytes[..bytes.len() - 6], AudioInput::Wav, 16_000).unwrap();
        let err = samples.read(10, &mut Vec::new()).unwrap_err().to_string();
        assert!(err.contains("6 bytes before the length its header declares"), "{err}");
    }

    #[test]
    fn raw_input_ending_inside_a_sample_is_an_error() {
        let mut samples = PipeReader::open(&[0u8, 64, 7][..], AudioInput::Raw(PcmFormat::S16le), 16_000).unwrap();
        let err = samples.read(4, &mut Vec::new()).unwrap_err().to_string();
        assert!(err.contains("1 stray bytes"), "{err}");
        let mut wrong_rate = Vec::new();
        PcmSink::wav(&mut wrong_rate, PcmFormat::F32le, 8_000).unwrap();
        let err = PipeReader::open(&wrong_rate[..], AudioInput::Wav, 16_000).err().unwrap().to_string();
        assert!(err.contains("8000 Hz but the model runs at 16000 Hz"), "{err}");
        let err = PipeReader::open(&b"not a wav at all"[..], AudioInput::Wav, 16_000).err().unwrap().to_string();
        assert!(err.contains("--input-format s16le"), "{err}");
    }
}
