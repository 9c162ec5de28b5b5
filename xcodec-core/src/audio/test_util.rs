//! Helpers shared by the audio tests: bundled clips, generated WAV files, signals.

use std::path::{Path, PathBuf};

/// A bundled clip in `tests/data`.
pub(crate) fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data").join(name)
}

/// `n` samples of `amp · sin(2π · freq · t)` at `rate_hz`.
pub(crate) fn sine(freq: f64, amp: f32, rate_hz: u32, n: usize) -> Vec<f32> {
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate_hz);
    (0..n).map(|i| amp * (w * i as f64).sin() as f32).collect()
}

/// Writes interleaved integer `values` as a `bits`-bit PCM WAV with hound.
pub(crate) fn write_int_wav(path: &Path, rate_hz: u32, channels: u16, bits: u16, values: &[i32]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate_hz,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    values.iter().for_each(|&v| writer.write_sample(v).unwrap());
    writer.finalize().unwrap();
}

/// Writes interleaved `samples` as a 32-bit float WAV with hound.
pub(crate) fn write_float_wav(path: &Path, rate_hz: u32, channels: u16, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate_hz,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    samples.iter().for_each(|&v| writer.write_sample(v).unwrap());
    writer.finalize().unwrap();
}

/// A hand-made 16-bit PCM WAV at 16 kHz declaring `channels` channels, with 8 bytes of data.
pub(crate) fn wav_bytes_with_channels(channels: u16) -> Vec<u8> {
    let block_align = channels * 2;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36u32 + 8).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&16_000u32.to_le_bytes());
    b.extend_from_slice(&(16_000 * u32::from(block_align)).to_le_bytes());
    b.extend_from_slice(&block_align.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&8u32.to_le_bytes());
    b.extend_from_slice(&[1, 0, 2, 0, 3, 0, 4, 0]);
    b
}

/// Cuts the file at `path` to half its length.
pub(crate) fn truncate_to_half(path: &Path) {
    let len = std::fs::metadata(path).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(path).unwrap().set_len(len / 2).unwrap();
}

/// Asserts `msg` is one line and contains `needle`.
pub(crate) fn assert_one_line_error(msg: &str, needle: &str) {
    assert!(msg.contains(needle), "expected '{needle}' in: {msg}");
    assert!(!msg.contains('\n'), "error spans lines: {msg}");
}

/// A hand-made mono 16-bit PCM AIFF file holding `values`.
pub(crate) fn aiff_bytes(rate_hz: u32, values: &[i16]) -> Vec<u8> {
    let data_len = 2 * values.len() as u32;
    let mut b = Vec::new();
    b.extend_from_slice(b"FORM");
    b.extend_from_slice(&(4 + 26 + 16 + data_len).to_be_bytes());
    b.extend_from_slice(b"AIFFCOMM");
    b.extend_from_slice(&18u32.to_be_bytes());
    b.extend_from_slice(&1u16.to_be_bytes()); // channels
    b.extend_from_slice(&(values.len() as u32).to_be_bytes());
    b.extend_from_slice(&16u16.to_be_bytes()); // bits
    b.extend_from_slice(&extended_80(rate_hz));
    b.extend_from_slice(b"SSND");
    b.extend_from_slice(&(8 + data_len).to_be_bytes());
    b.extend_from_slice(&[0; 8]); // offset, block size
    values.iter().for_each(|v| b.extend_from_slice(&v.to_be_bytes()));
    b
}

/// `x > 0` as an 80-bit IEEE extended float, big-endian (AIFF's sample rate field).
fn extended_80(x: u32) -> [u8; 10] {
    let e = 31 - x.leading_zeros();
    let mut out = [0; 10];
    out[..2].copy_from_slice(&(16_383 + e as u16).to_be_bytes());
    out[2..].copy_from_slice(&(u64::from(x) << (63 - e)).to_be_bytes());
    out
}
