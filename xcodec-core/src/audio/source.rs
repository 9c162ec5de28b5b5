//! Decoding a file with symphonia into mono blocks at the file's own sample rate, with the checks
//! that turn bad files into one-line errors.

use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as DecodeError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::{AudioInfo, check_finite, check_rate, timestamp};
use crate::{Result, XcodecError};

/// The formats named in errors as the ones that can be read.
const READABLE: &str = "WAV, FLAC, MP3, Ogg Vorbis, AIFF or M4A (AAC/ALAC)";

/// Containers whose frame count is exact: decoding fewer frames than they announce means the file
/// was cut short. (MP3 counts may be estimates, and lossy streams end where their packets end.)
const EXACT_COUNT_FORMATS: &[&str] = &["wave", "aiff", "flac"];

/// A decoding file: yields mono blocks (mean of channels) at the file's rate.
pub(crate) struct Source {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    info: AudioInfo,
    exact_count: bool,
    /// Frames decoded so far.
    decoded: u64,
    /// The block decoded while opening, not yet handed out.
    first: Option<Vec<f32>>,
    /// Scratch for one decoded packet, interleaved.
    interleaved: Vec<f32>,
}

impl Source {
    /// Opens `path`, finds its audio track and decodes the first block, so that a file that is not
    /// audio fails here rather than on the first read.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let format = probe(path)?;
        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| XcodecError::file(path, "has no audio track; pass an audio file"))?;
        let params = track.codec_params.as_ref().and_then(|p| p.audio()).ok_or_else(|| {
            XcodecError::file(path, "has an audio track without codec parameters (corrupt header); re-export the file")
        })?;
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map_err(|e| {
                XcodecError::file(
                    path,
                    format!("uses an audio codec that cannot be decoded ({e}); convert it to {READABLE}"),
                )
            })?;
        let info = AudioInfo {
            sample_rate_hz: params.sample_rate.unwrap_or(0),
            channels: params.channels.as_ref().map_or(0, |c| c.count()),
            frames: track.num_frames,
        };
        let track_id = track.id;
        let exact_count = EXACT_COUNT_FORMATS.contains(&format.format_info().short_name);
        let mut source = Source {
            path: path.to_path_buf(),
            format,
            decoder,
            track_id,
            info,
            exact_count,
            decoded: 0,
            first: None,
            interleaved: Vec::new(),
        };
        if source.info.frames == Some(0) {
            return Err(source.no_samples());
        }
        source.first = source.decode_block()?;
        Ok(source)
    }

    /// What is known about the file. The rate and channel count are those of the decoded audio.
    pub(crate) fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// Frames decoded so far.
    pub(crate) fn decoded_frames(&self) -> u64 {
        self.decoded
    }

    /// The path this source reads.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The next mono block at the file's rate, `None` at the end of the audio.
    pub(crate) fn next_block(&mut self) -> Result<Option<Vec<f32>>> {
        match self.first.take() {
            Some(block) => Ok(Some(block)),
            None => self.decode_block(),
        }
    }

    /// Decodes packets until one yields audio; checks and mixes it down.
    fn decode_block(&mut self) -> Result<Option<Vec<f32>>> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => return self.at_end(),
                Err(DecodeError::IoError(e)) if e.kind() == ErrorKind::UnexpectedEof => return self.at_end(),
                Err(DecodeError::ResetRequired) => {
                    return Err(self.error(
                        "changes its stream layout midway (e.g. chained Ogg streams), which is not supported; \
                         split it into separate files",
                    ));
                }
                Err(e) => return Err(self.corrupt(&e)),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let (rate, channels) = match self.decoder.decode(&packet) {
                Ok(buf) if buf.frames() == 0 => continue,
                Ok(buf) => {
                    buf.copy_to_vec_interleaved(&mut self.interleaved);
                    (buf.spec().rate(), buf.spec().channels().count())
                }
                Err(e) => return Err(self.corrupt(&e)),
            };
            self.check_layout(rate, channels)?;
            check_finite(&self.interleaved, |i| {
                let at = timestamp(self.decoded + (i / channels) as u64, self.info.sample_rate_hz);
                self.error(format!(
                    "contains NaN or infinite samples at {at}; \
                     the file is corrupt or was written by a broken tool: fix or re-export it"
                ))
            })?;
            let block = mix_down(&self.interleaved, channels);
            self.decoded += block.len() as u64;
            return Ok(Some(block));
        }
    }

    /// Checks the rate and channel count of a decoded packet; the first packet sets them.
    fn check_layout(&mut self, rate: u32, channels: usize) -> Result<()> {
        if channels == 0 {
            return Err(self.error("decodes to 0 channels (corrupt header); re-export the file"));
        }
        if self.decoded == 0 {
            check_rate(rate, "sample rate").map_err(|_| {
                self.error(format!("declares a sample rate of {rate} Hz (corrupt header); re-export the file"))
            })?;
            self.info.sample_rate_hz = rate;
            self.info.channels = channels;
        } else if rate != self.info.sample_rate_hz {
            return Err(self.error(format!(
                "changes its sample rate from {} Hz to {rate} Hz midway, which is not supported; \
                 convert it to one rate first",
                self.info.sample_rate_hz
            )));
        }
        Ok(())
    }

    /// End of the packets: fine unless nothing was decoded or an exact container promised more.
    fn at_end(&self) -> Result<Option<Vec<f32>>> {
        if self.decoded == 0 {
            return Err(self.no_samples());
        }
        match self.info.frames {
            Some(promised) if self.exact_count && self.decoded < promised => {
                let rate = self.info.sample_rate_hz;
                Err(self.error(format!(
                    "is truncated: the header announces {promised} frames ({}) but the data ends after {} frames ({}); \
                     re-export or re-download the file",
                    timestamp(promised, rate),
                    self.decoded,
                    timestamp(self.decoded, rate)
                )))
            }
            _ => Ok(None),
        }
    }

    fn no_samples(&self) -> XcodecError {
        self.error("contains no audio samples (0 frames); pass a file with audio in it")
    }

    fn corrupt(&self, e: &DecodeError) -> XcodecError {
        let at = timestamp(self.decoded, self.info.sample_rate_hz);
        self.error(format!("has corrupt audio data at {at} ({e}); re-encode or replace the file"))
    }

    fn error(&self, message: impl Into<String>) -> XcodecError {
        XcodecError::file(&self.path, message)
    }
}

/// Opens `path` and finds its container by content (the extension is only a hint).
fn probe(path: &Path) -> Result<Box<dyn FormatReader>> {
    let file = open_file(path)?;
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    symphonia::default::get_probe().probe(&hint, stream, FormatOptions::default(), MetadataOptions::default()).map_err(
        |e| {
            XcodecError::file(
                path,
                format!("not an audio file that can be read (unsupported or corrupt: {e}); use {READABLE}"),
            )
        },
    )
}

/// Opens `path` for reading, with errors for the usual mistakes: missing, a directory, empty.
fn open_file(path: &Path) -> Result<File> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => XcodecError::file(path, "no such file; check the path"),
        _ => XcodecError::file(path, format!("cannot be read ({e}); check the path and its permissions")),
    })?;
    if meta.is_dir() {
        return Err(XcodecError::file(path, "is a directory, not an audio file; pass a file path"));
    }
    if meta.len() == 0 {
        return Err(XcodecError::file(path, "is empty (0 bytes), so it holds no audio; re-export or re-download it"));
    }
    File::open(path).map_err(|e| XcodecError::file(path, format!("cannot be opened ({e}); check its permissions")))
}

/// Mean of the channels of each interleaved frame (how every input is made mono); one channel passes through
/// unchanged.
pub fn mix_down(interleaved: &[f32], channels: usize) -> Vec<f32> {
    if channels == 1 {
        return interleaved.to_vec();
    }
    let n = channels as f32;
    interleaved.chunks_exact(channels).map(|frame| frame.iter().sum::<f32>() / n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_down_is_the_channel_mean() {
        assert_eq!(mix_down(&[0.5, -0.25, 1.0, 0.0], 2), vec![0.125, 0.5]);
        assert_eq!(mix_down(&[0.25, 0.5, 0.75], 3), vec![0.5]);
        assert_eq!(mix_down(&[0.1, 0.2], 1), vec![0.1, 0.2]);
    }
}
