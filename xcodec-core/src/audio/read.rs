//! Streaming reads: decode, mix down, resample, hand out chunks.

use std::collections::VecDeque;
use std::path::Path;

use super::resample::StreamResampler;
use super::source::Source;
use super::{AudioInfo, check_rate, resampled_len};
use crate::{Result, XcodecError};

/// A streaming reader: decodes any supported file, mixes down to mono (mean of channels), resamples to
/// `target_rate_hz` with a high-quality sinc resampler (rubato), and yields chunks, holding only O(chunk)
/// memory however long the file is.
///
/// The total yielded is exactly `round(N * target / rate)` samples for a file of `N` frames at `rate`,
/// aligned with the file (no resampler delay); at equal rates the samples pass through bit-exactly.
/// Errors found while decoding (corrupt data, NaN samples, a truncated file) come from [`read`](Self::read)
/// at the point where they are met.
pub struct AudioReader {
    source: Source,
    target_rate_hz: u32,
    /// `None` when the file is already at the target rate.
    resampler: Option<StreamResampler>,
    /// Output decoded and resampled but not yet handed out.
    ready: VecDeque<f32>,
    /// The source is exhausted and the resampler flushed.
    done: bool,
}

impl AudioReader {
    /// Opens `path` (WAV via hound or symphonia; FLAC, MP3, Ogg Vorbis, AIFF, M4A/AAC/ALAC via symphonia).
    ///
    /// All formats are decoded by symphonia and recognised by content, so a file with a wrong or
    /// unknown extension still opens. The first packet is decoded here: a file that is not audio,
    /// missing, empty or without samples fails now, with a one-line error naming the path.
    pub fn open(path: &Path, target_rate_hz: u32) -> Result<Self> {
        check_rate(target_rate_hz, "target sample rate")?;
        let source = Source::open(path)?;
        let rate = source.info().sample_rate_hz;
        let resampler = (rate != target_rate_hz)
            .then(|| StreamResampler::new(rate, target_rate_hz))
            .transpose()
            .map_err(|reason| {
                XcodecError::file(path, format!("cannot be resampled from {rate} Hz to {target_rate_hz} Hz: {reason}"))
            })?;
        Ok(Self { source, target_rate_hz, resampler, ready: VecDeque::new(), done: false })
    }

    /// Facts about the file: its own sample rate and channel count, and its frame count if known.
    pub fn info(&self) -> &AudioInfo {
        self.source.info()
    }

    /// Up to `max` mono samples at the target rate; `Ok(None)` at the end. Checks every decoded sample is
    /// finite (error "... contains NaN or infinite samples at HH:MM:SS.mmm; ..." with position).
    ///
    /// Returns fewer than `max` samples only at the end of the audio. `max` must be at least 1.
    pub fn read(&mut self, max: usize) -> Result<Option<Vec<f32>>> {
        if max == 0 {
            return Err(XcodecError::Input("AudioReader::read needs max >= 1 samples".into()));
        }
        while self.ready.len() < max && !self.done {
            self.decode_more()?;
        }
        if self.ready.is_empty() {
            return Ok(None);
        }
        let n = max.min(self.ready.len());
        Ok(Some(self.ready.drain(..n).collect()))
    }

    /// Samples at the target rate expected in total (from the container's frame count), if known.
    pub fn expected_len(&self) -> Option<u64> {
        let info = self.info();
        info.frames.map(|n| resampled_len(n, info.sample_rate_hz, self.target_rate_hz))
    }

    /// Decodes one block into `ready`, or flushes the resampler at the end.
    fn decode_more(&mut self) -> Result<()> {
        match (self.source.next_block()?, &mut self.resampler) {
            (Some(block), Some(resampler)) => resampler.push(&block, &mut self.ready),
            (Some(block), None) => {
                self.ready.extend(block);
                Ok(())
            }
            (None, resampler) => {
                self.done = true;
                resampler.as_mut().map_or(Ok(()), |r| r.finish(&mut self.ready))
            }
        }
    }
}

/// Whole file as mono f32 at `target_rate_hz` (convenience over AudioReader). Empty audio (0 samples) is an error.
pub fn read_audio(path: &Path, target_rate_hz: u32) -> Result<Vec<f32>> {
    const CHUNK: usize = 1 << 16;
    let mut reader = AudioReader::open(path, target_rate_hz)?;
    let mut all = Vec::with_capacity(reader.expected_len().map_or(0, |n| n.min(1 << 24) as usize));
    while let Some(chunk) = reader.read(CHUNK)? {
        all.extend(chunk);
    }
    if all.is_empty() {
        let frames = reader.source.decoded_frames();
        return Err(XcodecError::file(
            reader.source.path(),
            format!(
                "gives no audio samples at {target_rate_hz} Hz ({frames} frames are too short to resample); \
                 pass a longer file"
            ),
        ));
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::test_util::*;

    /// Reads `path` at `rate` in chunks of `chunk` samples, concatenated.
    fn read_chunked(path: &Path, rate: u32, chunk: usize) -> Vec<f32> {
        let mut reader = AudioReader::open(path, rate).unwrap();
        let mut all = Vec::new();
        while let Some(c) = reader.read(chunk).unwrap() {
            assert!(c.len() == chunk || reader.read(1).unwrap().is_none(), "short chunk before the end");
            all.extend(c);
        }
        all
    }

    #[test]
    fn bundled_clips_have_the_expected_length_at_16k() {
        for (name, rate, channels) in [
            ("speech_en_16k.wav", 16_000, 1),
            ("music_chords_16k.wav", 16_000, 1),
            ("speech_en_44k_stereo.flac", 44_100, 2),
            ("speech_fr_8k.ogg", 8_000, 1),
            ("speech_de_22k.mp3", 22_050, 1),
        ] {
            let path = data(name);
            let reader = AudioReader::open(&path, 16_000).unwrap();
            let info = reader.info().clone();
            assert_eq!((info.sample_rate_hz, info.channels), (rate, channels), "{name}");
            let frames = info.frames.unwrap_or_else(|| panic!("{name}: no frame count"));
            let out = read_audio(&path, 16_000).unwrap();
            let expected = resampled_len(frames, rate, 16_000);
            eprintln!(
                "{name}: {frames} frames at {rate} Hz ({:.3} s) -> {} samples at 16 kHz, expected {expected}",
                frames as f64 / rate as f64,
                out.len()
            );
            assert_eq!(reader.expected_len(), Some(expected), "{name}");
            assert_eq!(out.len() as u64, expected, "{name}");
            assert!(
                out.iter().all(|x| x.abs() <= 1.5) && out.iter().any(|x| x.abs() > 0.01),
                "{name}: implausible audio"
            );
        }
    }

    #[test]
    fn mp3_duration_is_within_50ms_of_the_frame_count() {
        // The bundled MP3 (LAME 3.100, CBR) has no Xing/LAME info header, so symphonia estimates the
        // frame count from the file size and cannot trim the encoder's delay and padding: it decodes
        // 72 MPEG frames x 1152 = 82944 samples, 3.7616 s, which is what soxi's frame scan reports too.
        let path = data("speech_de_22k.mp3");
        let reader = AudioReader::open(&path, 16_000).unwrap();
        assert_eq!(reader.info().frames, Some(72 * 1152));
        let out = read_audio(&path, 16_000).unwrap();
        let decoded_secs = out.len() as f64 / 16_000.0;
        let soxi_secs = 82_944.0 / 22_050.0;
        eprintln!("mp3: decoded {decoded_secs:.4} s, frame count {soxi_secs:.4} s");
        assert!((decoded_secs - soxi_secs).abs() < 0.05, "{decoded_secs} s");
    }

    #[test]
    fn wav_at_its_own_rate_is_the_raw_int16_over_32768() {
        let path = data("speech_en_16k.wav");
        let raw: Vec<f32> =
            hound::WavReader::open(&path).unwrap().samples::<i16>().map(|s| s.unwrap() as f32 / 32768.0).collect();
        assert_eq!(read_audio(&path, 16_000).unwrap(), raw);
    }

    #[test]
    fn chunked_reads_equal_the_whole_read() {
        for name in ["speech_en_44k_stereo.flac", "speech_en_16k.wav", "speech_de_22k.mp3"] {
            let whole = read_audio(&data(name), 16_000).unwrap();
            for chunk in [1000, 4096] {
                assert_eq!(read_chunked(&data(name), 16_000, chunk), whole, "{name} in chunks of {chunk}");
            }
        }
    }

    #[test]
    fn integer_formats_scale_like_soundfile() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(u16, &[i32], f32); 4] = [
            (8, &[-128, -1, 0, 127], 128.0),
            (16, &[-32768, -1, 0, 1, 32767], 32768.0),
            (24, &[-8_388_608, -1, 0, 8_388_607], 8_388_608.0),
            (32, &[i32::MIN, -1, 0, i32::MAX], 2_147_483_648.0),
        ];
        for (bits, values, scale) in cases {
            let path = dir.path().join(format!("int{bits}.wav"));
            write_int_wav(&path, 16_000, 1, bits, values);
            let expected: Vec<f32> = values.iter().map(|&v| (v as f64 / scale as f64) as f32).collect();
            assert_eq!(read_audio(&path, 16_000).unwrap(), expected, "{bits}-bit");
        }
    }

    #[test]
    fn channels_are_mixed_to_their_mean() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stereo.wav");
        write_int_wav(&path, 16_000, 2, 16, &[16384, -8192, 0, 32767, -32768, -32768]);
        let out = read_audio(&path, 16_000).unwrap();
        assert_eq!(out, vec![(0.5 - 0.25) / 2.0, (0.0 + 32767.0 / 32768.0) / 2.0, -1.0]);
    }

    #[test]
    fn aiff_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.aiff");
        let values = [-32768i16, -1, 0, 16384, 32767];
        std::fs::write(&path, aiff_bytes(16_000, &values)).unwrap();
        let reader = AudioReader::open(&path, 16_000).unwrap();
        assert_eq!(reader.info(), &AudioInfo { sample_rate_hz: 16_000, channels: 1, frames: Some(5) });
        let expected: Vec<f32> = values.iter().map(|&v| f32::from(v) / 32768.0).collect();
        assert_eq!(read_audio(&path, 16_000).unwrap(), expected);
    }

    #[test]
    fn unknown_extension_is_read_by_content() {
        let dir = tempfile::tempdir().unwrap();
        for (name, alias) in
            [("speech_en_16k.wav", "clip.dat"), ("speech_de_22k.mp3", "clip_mp3.bin"), ("speech_fr_8k.ogg", "noext")]
        {
            let copy = dir.path().join(alias);
            std::fs::copy(data(name), &copy).unwrap();
            assert_eq!(read_audio(&copy, 16_000).unwrap(), read_audio(&data(name), 16_000).unwrap(), "{alias}");
        }
    }

    #[test]
    fn missing_file_is_named() {
        let msg = read_audio(Path::new("/nonexistent/x.wav"), 16_000).unwrap_err().to_string();
        assert_eq!(msg, "/nonexistent/x.wav: no such file; check the path");
    }

    #[test]
    fn empty_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.wav");
        std::fs::write(&path, b"").unwrap();
        assert_one_line_error(&read_audio(&path, 16_000).unwrap_err().to_string(), "is empty (0 bytes)");
    }

    #[test]
    fn directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_one_line_error(&read_audio(dir.path(), 16_000).unwrap_err().to_string(), "is a directory");
    }

    #[test]
    fn wav_without_samples_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("silent.wav");
        write_int_wav(&path, 16_000, 1, 16, &[]);
        assert_one_line_error(&read_audio(&path, 16_000).unwrap_err().to_string(), "contains no audio samples");
        assert!(AudioReader::open(&path, 16_000).is_err());
    }

    #[test]
    fn too_short_to_resample_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one.wav");
        write_int_wav(&path, 48_000, 1, 16, &[100]);
        assert_one_line_error(
            &read_audio(&path, 16_000).unwrap_err().to_string(),
            "gives no audio samples at 16000 Hz",
        );
    }

    #[test]
    fn truncated_wav_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.wav");
        write_int_wav(&path, 16_000, 1, 16, &vec![1000; 16_000]);
        truncate_to_half(&path);
        let msg = read_audio(&path, 16_000).unwrap_err().to_string();
        assert_one_line_error(&msg, "is truncated: the header announces 16000 frames (00:00:01.000)");
    }

    #[test]
    fn truncated_flac_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.flac");
        std::fs::copy(data("speech_en_44k_stereo.flac"), &path).unwrap();
        truncate_to_half(&path);
        let msg = read_audio(&path, 16_000).unwrap_err().to_string();
        eprintln!("{msg}");
        assert_one_line_error(&msg, "is truncated");
    }

    #[test]
    fn text_files_are_not_audio() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["notes.wav", "notes.mp3", "notes.flac"] {
            let path = dir.path().join(name);
            std::fs::write(&path, "just some text, not audio\n".repeat(100)).unwrap();
            let msg = read_audio(&path, 16_000).unwrap_err().to_string();
            assert_one_line_error(&msg, "not an audio file");
            assert!(msg.contains("(unsupported or corrupt"), "{msg}");
        }
    }

    #[test]
    fn nan_samples_are_an_error_with_their_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nan.wav");
        let mut samples = vec![0.1f32; 32_000];
        samples[24_000] = f32::NAN;
        write_float_wav(&path, 16_000, 1, &samples);
        let msg = read_audio(&path, 16_000).unwrap_err().to_string();
        assert_one_line_error(&msg, "contains NaN or infinite samples at 00:00:01.500;");
        samples[24_000] = f32::INFINITY;
        write_float_wav(&path, 16_000, 2, &samples); // stereo: frame 12000 at 16 kHz
        let msg = read_audio(&path, 44_100).unwrap_err().to_string();
        assert_one_line_error(&msg, "contains NaN or infinite samples at 00:00:00.750;");
    }

    #[test]
    fn float_wav_passes_through_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f32.wav");
        let samples = vec![0.1f32, -1.5, 2.0, 1e-8, -0.333];
        write_float_wav(&path, 22_050, 1, &samples);
        assert_eq!(read_audio(&path, 22_050).unwrap(), samples);
    }

    #[test]
    fn zero_channel_wav_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nochannels.wav");
        std::fs::write(&path, wav_bytes_with_channels(0)).unwrap();
        let msg = read_audio(&path, 16_000).unwrap_err().to_string();
        assert_one_line_error(&msg, "not an audio file");
        assert!(msg.contains("channel count"), "{msg}");
        // The same bytes with one channel are fine: the test file itself is well formed.
        std::fs::write(&path, wav_bytes_with_channels(1)).unwrap();
        assert_eq!(read_audio(&path, 16_000).unwrap().len(), 4);
    }

    #[test]
    fn rate_too_far_from_the_target_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slow.wav");
        write_int_wav(&path, 10, 1, 16, &[1, 2, 3]);
        let msg = AudioReader::open(&path, 16_000).err().unwrap().to_string();
        assert_one_line_error(&msg, "slow.wav: cannot be resampled from 10 Hz to 16000 Hz: the rates must be positive");
    }

    #[test]
    fn bad_arguments_are_errors() {
        let path = data("speech_en_16k.wav");
        assert!(AudioReader::open(&path, 0).is_err());
        let mut reader = AudioReader::open(&path, 16_000).unwrap();
        assert!(reader.read(0).is_err());
        assert_eq!(reader.read(3).unwrap().unwrap().len(), 3);
    }
}
