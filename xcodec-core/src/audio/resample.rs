//! Sample-rate conversion with rubato's sinc resampler, trimmed to the exact, aligned length.
//!
//! rubato's asynchronous sinc resampler (5.1, `asynchro_sinc.rs`) computes its raw output `k` at
//! input position `(k + 1)·T − C`, with `T = from / to`, `C = L/2 − 1/F`, `L` the sinc length and `F`
//! the oversampling factor (the sinc table peaks at tap `L/2 − 1 + (s + 1)/F` for sub-position `s`,
//! and the first output index is `−(L − 1) + T`). Its own `output_delay()` is an integer and so
//! leaves up to one output sample of misalignment. Instead, [`StreamResampler`] prepends `P` zeros
//! and drops the first `m` raw outputs, with integers chosen so that `(m + 1)·T − P` is the multiple
//! of `1/b` nearest to `C` (`T = a/b` in lowest terms): output `j` then lies at input position
//! `j·T + e` with `|e| ≤ 1/(2b)` input samples: 0.0016 samples for 44.1 kHz -> 16 kHz, and `1/F`
//! (1/256 sample) for 8 kHz -> 16 kHz, where `b` = 2 leaves the `1/F` of `C` as it is.
//! The tail is flushed with zeros and cut at `round(len · to / from)`.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Async, FixedAsync, Resampler, SincInterpolationParameters, WindowFunction};

use super::{check_rate, resampled_len};
use crate::{Result, XcodecError};

/// Input frames per resampler call.
const CHUNK: usize = 1024;
/// Sinc filter length in taps (a multiple of 8, so rubato keeps it as is).
const SINC_LEN: usize = 256;
/// Sinc sub-positions per input sample.
const OVERSAMPLING: usize = 256;
/// Largest rate change accepted, up or down (bounds rubato's buffers and the alignment zeros).
const MAX_FACTOR: u64 = 1024;

/// One-shot resample of a whole mono buffer (identity when rates are equal); output length = round(len * to / from).
pub fn resample(samples: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>> {
    check_rate(from_hz, "source rate")?;
    check_rate(to_hz, "target rate")?;
    if from_hz == to_hz {
        return Ok(samples.to_vec());
    }
    let mut resampler = StreamResampler::new(from_hz, to_hz)
        .map_err(|reason| XcodecError::Input(format!("cannot resample {from_hz} Hz -> {to_hz} Hz: {reason}")))?;
    let mut out = Vec::with_capacity(resampled_len(samples.len() as u64, from_hz, to_hz) as usize);
    resampler.push(samples, &mut out)?;
    resampler.finish(&mut out)?;
    Ok(out)
}

/// A mono resampler fed in pieces of any size: output is aligned with the input (no leading delay)
/// and, after [`finish`](Self::finish), exactly `round(fed · to / from)` samples long.
pub(crate) struct StreamResampler {
    inner: Async<f32>,
    from_hz: u32,
    to_hz: u32,
    /// Input not yet handed to rubato (less than one chunk after each push).
    pending: Vec<f32>,
    /// rubato's output for one chunk.
    scratch: Vec<f32>,
    /// Raw outputs still to drop before the aligned output starts.
    to_skip: usize,
    /// Input samples pushed (not counting the alignment zeros).
    fed: u64,
    /// Aligned output samples handed out.
    emitted: u64,
}

impl StreamResampler {
    /// A resampler from `from_hz` to `to_hz` (which must differ); the error is the reason it cannot be.
    pub(crate) fn new(from_hz: u32, to_hz: u32) -> std::result::Result<Self, String> {
        let (from, to) = (u64::from(from_hz), u64::from(to_hz));
        if from == 0 || to == 0 || to > from * MAX_FACTOR || from > to * MAX_FACTOR {
            return Err(format!("the rates must be positive and differ by a factor of at most {MAX_FACTOR}"));
        }
        let ratio = f64::from(to_hz) / f64::from(from_hz);
        let params = SincInterpolationParameters::new(SINC_LEN, WindowFunction::BlackmanHarris2)
            .oversampling_factor(OVERSAMPLING);
        let inner =
            Async::<f32>::new_sinc(ratio, 1.0, &params, CHUNK, 1, FixedAsync::Input).map_err(|e| e.to_string())?;
        let (lead_zeros, to_skip) = alignment(from_hz, to_hz);
        let scratch = vec![0.0; inner.output_frames_max()];
        Ok(Self { inner, from_hz, to_hz, pending: vec![0.0; lead_zeros], scratch, to_skip, fed: 0, emitted: 0 })
    }

    /// Resamples `input`, appending the output that is ready to `out`.
    pub(crate) fn push(&mut self, input: &[f32], out: &mut impl Extend<f32>) -> Result<()> {
        self.fed += input.len() as u64;
        for piece in input.chunks(16 * CHUNK) {
            self.pending.extend_from_slice(piece);
            self.drain_chunks(out, u64::MAX)?;
        }
        Ok(())
    }

    /// Flushes the filter's tail, appending the rest of the output to `out`.
    pub(crate) fn finish(&mut self, out: &mut impl Extend<f32>) -> Result<()> {
        let total = resampled_len(self.fed, self.from_hz, self.to_hz);
        while self.emitted < total {
            self.pending.resize(self.pending.len() + CHUNK, 0.0);
            self.drain_chunks(out, total)?;
        }
        Ok(())
    }

    /// Runs every whole chunk of `pending` through rubato; hands out at most `limit` samples in all.
    fn drain_chunks(&mut self, out: &mut impl Extend<f32>, limit: u64) -> Result<()> {
        let mut start = 0;
        while self.pending.len() - start >= CHUNK {
            let produced = process_chunk(&mut self.inner, &self.pending[start..start + CHUNK], &mut self.scratch)
                .map_err(|e| resample_error(self.from_hz, self.to_hz, &e))?;
            start += CHUNK;
            let skip = self.to_skip.min(produced);
            self.to_skip -= skip;
            let take = (produced - skip).min(usize::try_from(limit - self.emitted).unwrap_or(usize::MAX));
            out.extend(self.scratch[skip..skip + take].iter().copied());
            self.emitted += take as u64;
        }
        self.pending.drain(..start);
        Ok(())
    }
}

/// Resamples one chunk of `CHUNK` samples into `scratch`; returns how many samples came out.
fn process_chunk(inner: &mut Async<f32>, chunk: &[f32], scratch: &mut [f32]) -> std::result::Result<usize, String> {
    let capacity = scratch.len();
    let input = InterleavedSlice::new(chunk, 1, chunk.len()).map_err(|e| e.to_string())?;
    let mut output = InterleavedSlice::new_mut(scratch, 1, capacity).map_err(|e| e.to_string())?;
    let (_, produced) = inner.process_into_buffer(&input, &mut output, None).map_err(|e| e.to_string())?;
    Ok(produced)
}

fn resample_error(from_hz: u32, to_hz: u32, e: &dyn std::fmt::Display) -> XcodecError {
    XcodecError::Input(format!("resampling {from_hz} Hz -> {to_hz} Hz failed: {e}"))
}

/// `(P, m)`: zeros to prepend and raw outputs to drop so that output `j` lands on input `j·from/to`
/// (see the module docs): the smallest `q = m + 1 ≥ 1` with `q·a − P·b = n`, `P ≥ 0`, where
/// `n = round(C·b)` and `from/to = a/b` in lowest terms.
fn alignment(from_hz: u32, to_hz: u32) -> (usize, usize) {
    let g = gcd(u64::from(from_hz), u64::from(to_hz));
    let (a, b) = (u64::from(from_hz) / g, u64::from(to_hz) / g);
    let c = SINC_LEN as f64 / 2.0 - 1.0 / OVERSAMPLING as f64;
    let n = (c * b as f64).round() as u64;
    // q ≡ n · a⁻¹ (mod b), then raised by multiples of b until q·a ≥ n (so that P ≥ 0).
    let q0 = (u128::from(n % b) * u128::from(mod_inverse(a % b, b)) % u128::from(b)) as u64;
    let q_min = n.div_ceil(a).max(1);
    let q = if q0 >= q_min { q0 } else { q0 + (q_min - q0).div_ceil(b) * b };
    (((q * a - n) / b) as usize, (q - 1) as usize)
}

fn gcd(mut x: u64, mut y: u64) -> u64 {
    while y != 0 {
        (x, y) = (y, x % y);
    }
    x
}

/// The inverse of `a` modulo `m` (`a` and `m` coprime); 0 when `m` is 1.
fn mod_inverse(a: u64, m: u64) -> u64 {
    let (mut old_r, mut r) = (i128::from(a), i128::from(m));
    let (mut old_s, mut s) = (1i128, 0i128);
    while r != 0 {
        let q = old_r / r;
        (old_r, r) = (r, old_r - q * r);
        (old_s, s) = (s, old_s - q * s);
    }
    old_s.rem_euclid(i128::from(m)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::test_util::sine;

    /// Largest error against the analytic sine, away from the edges.
    fn max_sine_error(from_hz: u32, to_hz: u32, freq: f64, amp: f32) -> f32 {
        let input = sine(freq, amp, from_hz, from_hz as usize * 2);
        let out = resample(&input, from_hz, to_hz).unwrap();
        let expected = sine(freq, amp, to_hz, out.len());
        let edge = to_hz as usize / 10;
        out[edge..out.len() - edge].iter().zip(&expected[edge..]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn alignment_solves_the_offset_equation() {
        for (from, to) in
            [(44_100, 16_000), (22_050, 16_000), (8_000, 16_000), (48_000, 16_000), (16_000, 44_100), (7, 3)]
        {
            let (p, m) = alignment(from, to);
            let g = gcd(from as u64, to as u64);
            let (a, b) = (from as f64 / g as f64, to as f64 / g as f64);
            let c = SINC_LEN as f64 / 2.0 - 1.0 / OVERSAMPLING as f64;
            let e = (m as f64 + 1.0) * a / b - p as f64 - c;
            assert!(e.abs() <= 0.5 / b + 1e-9, "{from}->{to}: offset {e}");
            assert!(p as f64 <= a + a / b, "{from}->{to}: {p} lead zeros");
        }
    }

    #[test]
    fn mod_inverse_inverts() {
        for (a, m) in [(441u64, 160u64), (3, 7), (1, 2), (160, 441)] {
            assert_eq!(a * mod_inverse(a, m) % m, 1);
        }
        assert_eq!(mod_inverse(5, 1), 0);
    }

    #[test]
    fn equal_rates_pass_through_bit_exactly() {
        let x = vec![0.1, -0.7, f32::MIN_POSITIVE, 1.5];
        assert_eq!(resample(&x, 16_000, 16_000).unwrap(), x);
    }

    #[test]
    fn output_length_is_the_rounded_ratio() {
        for (len, from, to) in [
            (0, 44_100, 16_000),
            (1, 44_100, 16_000),
            (2, 48_000, 16_000),
            (1000, 8_000, 16_000),
            (44_100, 44_100, 16_000),
            (12_345, 22_050, 16_000),
            (9_999, 16_000, 44_100),
            (5_000, 16_000, 8_000),
        ] {
            let out = resample(&vec![0.25; len], from, to).unwrap();
            assert_eq!(out.len() as u64, resampled_len(len as u64, from, to), "{len} samples {from}->{to}");
        }
    }

    #[test]
    fn sine_keeps_amplitude_and_phase() {
        // 1 kHz at 0.5 from 44.1 kHz to 16 kHz: amplitude within 1 %, pointwise error < 1e-2.
        let err = max_sine_error(44_100, 16_000, 1000.0, 0.5);
        eprintln!("1 kHz sine 44100 -> 16000: max error {err:.2e}");
        assert!(err < 1e-2, "max error {err}");
        let out = resample(&sine(1000.0, 0.5, 44_100, 88_200), 44_100, 16_000).unwrap();
        let peak = out[1600..30_400].iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!((peak - 0.5).abs() < 0.005, "peak {peak}");
        for (from, to) in [(8_000, 16_000), (22_050, 16_000), (48_000, 16_000), (16_000, 44_100)] {
            let err = max_sine_error(from, to, 1000.0, 0.5);
            eprintln!("1 kHz sine {from} -> {to}: max error {err:.2e}");
            assert!(err < 1e-2, "{from}->{to}: max error {err}");
        }
    }

    #[test]
    fn streaming_in_pieces_equals_one_shot() {
        let input = sine(440.0, 0.8, 44_100, 30_000);
        let whole = resample(&input, 44_100, 16_000).unwrap();
        let mut r = StreamResampler::new(44_100, 16_000).unwrap();
        let mut pieces = Vec::new();
        for piece in input.chunks(777) {
            r.push(piece, &mut pieces).unwrap();
        }
        r.finish(&mut pieces).unwrap();
        assert_eq!(pieces, whole);
    }

    #[test]
    fn extreme_factors_are_errors() {
        let msg = resample(&[0.0], 8, 16_000).unwrap_err().to_string();
        assert!(
            msg.contains(
                "cannot resample 8 Hz -> 16000 Hz: the rates must be positive and differ by a factor of at most 1024"
            ),
            "{msg}"
        );
        assert!(resample(&[0.0], 16_000, 15).is_err());
        assert_eq!(resample(&[0.5; 1024], 16, 16_000).unwrap().len(), 1_024_000);
    }

    #[test]
    fn zero_rates_are_errors() {
        assert!(resample(&[0.0], 0, 16_000).unwrap_err().to_string().contains("source rate 0 Hz"));
        assert!(resample(&[0.0], 16_000, 0).is_err());
    }
}
