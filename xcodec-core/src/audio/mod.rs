//! Audio files in and out: decode any supported file to mono `f32` at a chosen sample rate,
//! resample buffers, and write WAV files atomically.
//!
//! - [`AudioReader`] streams a file chunk by chunk in O(chunk) memory; [`read_audio`] reads it whole.
//!   Decoding is done by symphonia (WAV, FLAC, MP3, Ogg Vorbis, AIFF, M4A with AAC or ALAC), chosen by
//!   the file's content, not its extension. Channels are mixed down to their mean; integer samples are
//!   scaled as soundfile does (`i16 / 32768`, `i24 / 8388608`, `i32 / 2147483648`, `(u8 - 128) / 128`).
//! - [`resample`] converts a whole mono buffer; the reader uses the same resampler in streaming form.
//!   Both use rubato's band-limited sinc interpolator and return exactly `round(len * to / from)`
//!   samples, aligned with the input (no leading delay). Equal rates pass samples through untouched.
//! - [`write_wav`] writes 16-bit PCM or 32-bit float mono WAV through a temp file and a rename, so
//!   the target is never left half written.
//! - [`PipeReader`] and [`PcmSink`] carry audio through pipes (stdin/stdout) rather than files: raw mono
//!   PCM (`s16le`, `f32le`), or a WAV whose header may say its length is unknown (see `pipe.rs`).
//!
//! Bad input gives a one-line [`XcodecError::File`] naming the path, never a panic: a missing, empty
//! (0 bytes) or directory path; content no decoder recognises ("not an audio file ... (unsupported or
//! corrupt: ...)", which also covers a WAV header declaring 0 channels: symphonia refuses it as an
//! invalid channel count); no samples; NaN or infinite samples (with their position); data the
//! decoder rejects (with its position). A WAV, AIFF or FLAC whose data ends before the frame count in
//! its header is an error naming the truncation. Lossy streams (MP3, Vorbis, AAC) end where their last
//! whole packet ends, as players do, because their frame counts can be estimates: an MP3 without a
//! Xing/LAME header gets a count estimated from the file size, including the encoder's delay and
//! padding, which symphonia can only trim when that header is present.

mod pipe;
mod read;
mod resample;
mod source;
mod write;

#[cfg(test)]
mod test_util;

pub use pipe::{AudioInput, AudioSink, PcmFormat, PcmSink, PipeReader};
pub use read::{AudioReader, read_audio};
pub use resample::resample;
pub use source::mix_down;
pub use write::{SampleFormat, WavStream, WriteReport, to_i16, wav_is_complete, write_wav};

use crate::{Result, XcodecError};

/// Audio file facts known after opening.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioInfo {
    /// Sample rate of the file, in Hz.
    pub sample_rate_hz: u32,
    /// Number of channels in the file (before the mixdown to mono).
    pub channels: usize,
    /// frames per channel if the container says
    pub frames: Option<u64>,
}

/// Highest sample rate accepted anywhere in this module, in Hz.
const MAX_RATE_HZ: u32 = 1_536_000;

/// Checks that `rate_hz` is a usable sample rate; `what` names it in the message.
fn check_rate(rate_hz: u32, what: &str) -> Result<()> {
    if (1..=MAX_RATE_HZ).contains(&rate_hz) {
        Ok(())
    } else {
        Err(XcodecError::Input(format!(
            "{what} {rate_hz} Hz is out of range; use a rate between 1 and {MAX_RATE_HZ} Hz"
        )))
    }
}

/// The position of the first NaN or infinite sample, as the error `at` makes of it; `Ok` when all are finite.
pub fn check_finite(samples: &[f32], at: impl FnOnce(usize) -> XcodecError) -> Result<()> {
    match samples.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(at(i)),
        None => Ok(()),
    }
}

/// Number of samples `frames` samples at `from_hz` become at `to_hz`: `round(frames * to / from)`,
/// halves rounded up.
fn resampled_len(frames: u64, from_hz: u32, to_hz: u32) -> u64 {
    let (from, to) = (u128::from(from_hz), u128::from(to_hz));
    ((u128::from(frames) * to * 2 + from) / (2 * from)) as u64
}

/// Position `frames` at `rate_hz` as `HH:MM:SS.mmm`.
fn timestamp(frames: u64, rate_hz: u32) -> String {
    let ms = u128::from(frames) * 1000 / u128::from(rate_hz.max(1));
    let (h, m, s, ms) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{h:02}:{m:02}:{s:02}.{ms:03}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampled_len_rounds_to_nearest() {
        assert_eq!(resampled_len(44_100, 44_100, 16_000), 16_000);
        assert_eq!(resampled_len(1, 48_000, 16_000), 0); // 1/3 rounds down
        assert_eq!(resampled_len(2, 48_000, 16_000), 1); // 2/3 rounds up
        assert_eq!(resampled_len(3, 2, 1), 2); // 1.5 rounds up
        assert_eq!(resampled_len(u64::MAX / 2, 8_000, 16_000), u64::MAX - 1);
    }

    #[test]
    fn timestamps_read_as_clock_time() {
        assert_eq!(timestamp(0, 16_000), "00:00:00.000");
        assert_eq!(timestamp(24_000, 16_000), "00:00:01.500");
        assert_eq!(timestamp(44_100 * 3_723 + 441, 44_100), "01:02:03.010");
    }

    #[test]
    fn rates_outside_the_range_are_refused() {
        assert!(check_rate(16_000, "target rate").is_ok());
        let msg = check_rate(0, "target rate").unwrap_err().to_string();
        assert!(msg.contains("target rate 0 Hz is out of range"), "{msg}");
        assert!(check_rate(MAX_RATE_HZ + 1, "rate").is_err());
    }
}
