//! Atomic mono WAV files with hound (through [`crate::io::TempFile`]).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::{check_finite, check_rate};
use crate::io::{TempFile, write_error};
use crate::{Result, XcodecError};

/// Sample format of written WAV files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleFormat {
    /// 16-bit signed integer PCM: `round(x · 32768)`, clipped to `[-32768, 32767]`.
    Pcm16,
    /// 32-bit IEEE float, written as given.
    F32,
}

/// What writing reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteReport {
    /// samples outside [-1, 1] that were clipped (always 0 for F32)
    pub clipped: usize,
}

/// Writes mono `samples` at `rate_hz` to `path` atomically: to a temp file in the same directory, then rename
/// (never a half-written file at `path`; the temp file is removed on error). Creates parent directories.
///
/// NaN or infinite samples are refused before anything is written.
pub fn write_wav(path: &Path, samples: &[f32], rate_hz: u32, format: SampleFormat) -> Result<WriteReport> {
    check_rate(rate_hz, "sample rate")?;
    check_samples(path, samples, 0)?;
    let mut wav = WavStream::create(path, rate_hz, format)?;
    wav.write(samples)?;
    wav.finish()
}

/// A mono WAV written piece by piece (so long outputs need no whole buffer): into a temp file in the target's
/// directory, renamed into place by [`WavStream::finish`]. Dropped unfinished, it leaves nothing behind.
pub struct WavStream {
    target: PathBuf,
    temp: TempFile,
    wav: hound::WavWriter<BufWriter<File>>,
    format: SampleFormat,
    written: usize,
    clipped: usize,
}

impl WavStream {
    /// Starts `path` (parent directories are created).
    pub fn create(path: &Path, rate_hz: u32, format: SampleFormat) -> Result<Self> {
        check_rate(rate_hz, "sample rate")?;
        let temp = TempFile::beside(path)?;
        let (bits_per_sample, sample_format) = match format {
            SampleFormat::Pcm16 => (16, hound::SampleFormat::Int),
            SampleFormat::F32 => (32, hound::SampleFormat::Float),
        };
        let spec = hound::WavSpec { channels: 1, sample_rate: rate_hz, bits_per_sample, sample_format };
        let file = temp.file.try_clone().map_err(|e| write_error(path, e))?;
        let wav = hound::WavWriter::new(BufWriter::new(file), spec).map_err(|e| write_error(path, hound_io(e)))?;
        Ok(Self { target: path.to_path_buf(), temp, wav, format, written: 0, clipped: 0 })
    }

    /// Appends `samples`; NaN or infinite ones are an error (the file is then abandoned).
    pub fn write(&mut self, samples: &[f32]) -> Result<()> {
        check_samples(&self.target, samples, self.written)?;
        for &x in samples {
            let result = match self.format {
                SampleFormat::Pcm16 => {
                    self.clipped += usize::from(x.abs() > 1.0);
                    self.wav.write_sample(to_i16(x))
                }
                SampleFormat::F32 => self.wav.write_sample(x),
            };
            result.map_err(|e| write_error(&self.target, hound_io(e)))?;
        }
        self.written += samples.len();
        Ok(())
    }

    /// Completes the header, syncs, and renames the file into place.
    pub fn finish(self) -> Result<WriteReport> {
        let Self { target, temp, wav, clipped, .. } = self;
        wav.finalize().map_err(|e| write_error(&target, hound_io(e)))?;
        temp.file.sync_all().map_err(|e| write_error(&target, e))?;
        temp.persist(&target)?;
        Ok(WriteReport { clipped })
    }
}

/// NaN or infinite samples, at `offset` in the file, are refused.
fn check_samples(path: &Path, samples: &[f32], offset: usize) -> Result<()> {
    check_finite(samples, |i| {
        XcodecError::file(
            path,
            format!("not written: sample {} is NaN or infinite; fix the audio before writing", offset + i),
        )
    })
}

/// Whether the WAV at `path` is whole: its RIFF chunks, walked from the header, end within the file and its
/// `data` chunk holds all the bytes it declares (a write cut short fails this).
pub fn wav_is_complete(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else { return false };
    let Ok(len) = file.metadata().map(|m| m.len()) else { return false };
    let mut head = [0u8; 12];
    if file.read_exact(&mut head).is_err() || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return false;
    }
    let mut at = 12u64;
    while at + 8 <= len {
        let mut chunk = [0u8; 8];
        if file.seek(SeekFrom::Start(at)).is_err() || file.read_exact(&mut chunk).is_err() {
            return false;
        }
        let size = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]) as u64;
        if &chunk[0..4] == b"data" {
            return at + 8 + size <= len;
        }
        at += 8 + size + (size & 1);
    }
    false
}

/// `x · 32768` rounded and clipped to the `i16` range (the inverse of reading's `/ 32768`).
pub fn to_i16(x: f32) -> i16 {
    (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// hound's error as the I/O error it wraps (or one carrying its message).
fn hound_io(e: hound::Error) -> std::io::Error {
    match e {
        hound::Error::IoError(e) => e,
        other => std::io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::read_audio;
    use crate::audio::test_util::{assert_one_line_error, sine};
    use crate::io::names_in;
    use std::fs;

    #[test]
    fn pcm16_round_trip_is_within_one_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.wav");
        let mut samples = sine(440.0, 0.9, 16_000, 16_000);
        samples.extend([1.0, -1.0, 0.0, 1.0 / 65536.0]);
        let report = write_wav(&path, &samples, 16_000, SampleFormat::Pcm16).unwrap();
        assert_eq!(report, WriteReport { clipped: 0 });
        let back = read_audio(&path, 16_000).unwrap();
        assert_eq!(back.len(), samples.len());
        let err = back.iter().zip(&samples).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(err <= 1.0 / 32768.0, "max error {err}");
        let spec = hound::WavReader::open(&path).unwrap().spec();
        assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (1, 16_000, 16));
    }

    #[test]
    fn pcm16_reports_clipping() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loud.wav");
        let report = write_wav(&path, &[0.5, 1.0, 1.5, -1.0, -2.0, 1.0001], 16_000, SampleFormat::Pcm16).unwrap();
        assert_eq!(report.clipped, 3);
        let back = read_audio(&path, 16_000).unwrap();
        assert_eq!(back, vec![0.5, 32767.0 / 32768.0, 32767.0 / 32768.0, -1.0, -1.0, 32767.0 / 32768.0]);
    }

    #[test]
    fn f32_round_trip_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.wav");
        let samples = vec![0.1f32, -0.123_456_79, 1.75, -3.0, 1e-30, 0.0];
        let report = write_wav(&path, &samples, 24_000, SampleFormat::F32).unwrap();
        assert_eq!(report.clipped, 0);
        assert_eq!(read_audio(&path, 24_000).unwrap(), samples);
    }

    #[test]
    fn creates_parent_directories_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/out.wav");
        write_wav(&path, &[0.1; 100], 16_000, SampleFormat::Pcm16).unwrap();
        write_wav(&path, &[0.2; 50], 16_000, SampleFormat::Pcm16).unwrap(); // replaces
        assert_eq!(names_in(&dir.path().join("a/b")), vec!["out.wav"]);
        assert_eq!(read_audio(&path, 16_000).unwrap().len(), 50);
    }

    #[test]
    fn failed_write_leaves_the_target_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keep.wav");
        write_wav(&path, &[0.25; 10], 16_000, SampleFormat::Pcm16).unwrap();
        let before = fs::read(&path).unwrap();
        let msg = write_wav(&path, &[0.5, f32::NAN], 16_000, SampleFormat::F32).unwrap_err().to_string();
        assert_one_line_error(&msg, "sample 1 is NaN or infinite");
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(names_in(dir.path()), vec!["keep.wav"]);
    }

    #[test]
    fn a_cut_wav_is_not_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("whole.wav");
        write_wav(&path, &[0.25; 100], 16_000, SampleFormat::Pcm16).unwrap();
        assert!(wav_is_complete(&path));
        let bytes = fs::read(&path).unwrap();
        for cut in [0, 11, 40, bytes.len() - 1] {
            fs::write(&path, &bytes[..cut]).unwrap();
            assert!(!wav_is_complete(&path), "cut at {cut}");
        }
        assert!(!wav_is_complete(&dir.path().join("missing.wav")));
    }

    #[test]
    fn path_that_is_a_directory_is_an_error_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("taken.wav");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside.txt"), "x").unwrap();
        let msg = write_wav(&target, &[0.1; 10], 16_000, SampleFormat::Pcm16).unwrap_err().to_string();
        assert_one_line_error(&msg, "is a directory");
        assert_eq!(names_in(dir.path()), vec!["taken.wav"]); // no temp file left beside it
        assert_eq!(names_in(&target), vec!["inside.txt"]);
    }

    #[cfg(unix)]
    #[test]
    fn unwritable_directory_is_an_error_and_the_target_is_unchanged() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keep.wav");
        write_wav(&path, &[0.25; 10], 16_000, SampleFormat::Pcm16).unwrap();
        let before = fs::read(&path).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).unwrap();
        let probe = dir.path().join("probe");
        if File::create(&probe).is_ok() {
            // Running as root: directory permissions are not enforced, nothing to test.
            fs::remove_file(&probe).unwrap();
            eprintln!("skipped: permissions are not enforced for this user");
        } else {
            let msg = write_wav(&path, &[0.5; 10], 16_000, SampleFormat::Pcm16).unwrap_err().to_string();
            assert_one_line_error(&msg, "cannot create a file in this directory");
            assert_eq!(fs::read(&path).unwrap(), before);
            assert_eq!(names_in(dir.path()), vec!["keep.wav"]);
        }
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn bad_arguments_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_wav(&dir.path().join("x.wav"), &[0.0], 0, SampleFormat::Pcm16).is_err());
        assert!(write_wav(Path::new("/"), &[0.0], 16_000, SampleFormat::Pcm16).is_err());
        assert!(names_in(dir.path()).is_empty());
    }

    #[test]
    fn to_i16_rounds_and_clips() {
        assert_eq!(to_i16(0.0), 0);
        assert_eq!(to_i16(0.5), 16384);
        assert_eq!(to_i16(-1.0), -32768);
        assert_eq!(to_i16(1.0), 32767);
        assert_eq!(to_i16(1.0 / 65536.0), 1); // 0.5 step rounds away from zero
        assert_eq!(to_i16(-7.0), -32768);
    }
}
