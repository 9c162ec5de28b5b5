//! Short-Time Objective Intelligibility (STOI) and extended STOI (ESTOI).
//!
//! STOI predicts the intelligibility of a degraded (`processed`) speech signal from its clean reference. Both
//! signals are resampled to 10 kHz, frames where the clean speech is more than 40 dB below its loudest frame are
//! dropped from both, and a 256-sample Hann-window STFT (hop 128, 512-point FFT) is grouped into 15 one-third
//! octave bands from 150 Hz. For every band and every run of N = 30 consecutive frames (384 ms), the processed
//! envelope is scaled to the clean envelope's energy, clipped to at most `(1 + 10^(-BETA/20))` times the clean
//! envelope (BETA = -15 dB, a lower bound on the signal-to-distortion ratio), and correlated with the clean
//! envelope. The score is the mean of these correlations over bands and frame runs:
//!
//! ```text
//! d = 1 / (J M) * sum_j sum_m corr(x_{j,m}, clip(y_{j,m}))
//! ```
//!
//! ESTOI skips the scaling and clipping; instead each 15 x 30 segment is normalised to zero mean and unit norm
//! along time (rows), then along frequency (columns), and the score is the mean over segments of
//! `sum(x_n * y_n) / N`, i.e. the mean correlation of the normalised spectral columns.
//!
//! References:
//! - C. H. Taal, R. C. Hendriks, R. Heusdens, J. Jensen, "An Algorithm for Intelligibility Prediction of
//!   Time-Frequency Weighted Noisy Speech", IEEE Trans. Audio, Speech, Lang. Process. 19(7), 2011.
//! - J. Jensen, C. H. Taal, "An Algorithm for Predicting the Intelligibility of Speech Masked by Modulated Noise
//!   Maskers", IEEE/ACM Trans. Audio, Speech, Lang. Process. 24(11), 2016.
//!
//! This is a line-by-line port of `pystoi` 0.4.1 (`stoi.py`, `utils.py`), including its quirks, and matches it
//! to ~1e-16 (see the parity test against `tests/fixtures/stoi_cases.json`, made by
//! `tests/reference/gen_stoi.py`):
//! - resampling is `scipy.signal.resample_poly(x, 10000, fs, window=h)` with pystoi's own Octave-style Kaiser
//!   FIR `h` (60 dB rejection, so Kaiser beta = 0.1102 * (60 - 8.7), half length `ceil(52 / (28.714 * df))`
//!   for a transition width `df = 1 / (20 max(up, down))`), not scipy's default `firwin` design;
//! - frame loops are `range(0, len - 256, hop)`: a final frame ending exactly at the last sample is not used;
//! - when fewer than 30 STFT frames survive silent-frame removal pystoi warns and returns `1e-5`; so does this
//!   module ([`TOO_SHORT_SCORE`], no warning is printed). If not even one 256-sample frame fits into the 10 kHz
//!   signal pystoi raises (numpy error); this module returns [`StoiError::TooShort`];
//! - ESTOI in pystoi adds `EPS * standard_normal` dither (EPS = 2.2e-16) before each normalisation to avoid
//!   0/0. This module adds no dither (deterministic); a constant row or column (only possible for digitally
//!   silent input) is left at zero instead of becoming normalised random noise. Elsewhere the dither changes
//!   the score by ~1e-16.

use realfft::RealFftPlanner;
use std::fmt;

/// Internal sample rate of the measure.
const FS: u32 = 10_000;
/// Frame (window) length in samples at [`FS`].
const N_FRAME: usize = 256;
/// Hop between frames, for both silent-frame removal and the STFT.
const HOP: usize = N_FRAME / 2;
/// FFT size (frames are zero-padded to it).
const NFFT: usize = 512;
/// Number of one-third octave bands.
const NUM_BAND: usize = 15;
/// Centre frequency of the lowest band, in Hz.
const MIN_FREQ: f64 = 150.0;
/// Frames per segment for the intermediate intelligibility measure (384 ms).
const N: usize = 30;
/// Lower signal-to-distortion bound in dB.
const BETA: f64 = -15.0;
/// Frames of the clean signal more than this many dB below its loudest frame are removed.
const DYN_RANGE: f64 = 40.0;
/// numpy's `np.finfo("float").eps`, used by pystoi as a guard in divisions and logs.
const EPS: f64 = f64::EPSILON;

/// Score returned (as pystoi does, with a warning there) when fewer than [`N`] = 30 STFT frames remain after
/// silent-frame removal.
pub const TOO_SHORT_SCORE: f64 = 1e-5;

/// Why a STOI score could not be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum StoiError {
    /// `clean` and `processed` have different lengths.
    LengthMismatch { clean: usize, processed: usize },
    /// The sample rate is 0.
    ZeroSampleRate,
    /// A sample is NaN or infinite.
    NonFinite { signal: &'static str, index: usize },
    /// After resampling to 10 kHz the signals do not hold a single 256-sample frame plus one sample (where
    /// pystoi raises). Fewer than 30 frames is not an error: see [`TOO_SHORT_SCORE`].
    TooShort { samples_at_10k: usize },
}

impl fmt::Display for StoiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoiError::LengthMismatch { clean, processed } => {
                write!(f, "clean and processed signals differ in length ({clean} vs {processed} samples)")
            }
            StoiError::ZeroSampleRate => write!(f, "sample rate must be positive"),
            StoiError::NonFinite { signal, index } => write!(f, "{signal} signal has a non-finite sample at {index}"),
            StoiError::TooShort { samples_at_10k } => {
                write!(f, "signal too short for STOI: {samples_at_10k} samples at 10 kHz, need more than {N_FRAME}")
            }
        }
    }
}

impl std::error::Error for StoiError {}

/// STOI (or ESTOI with `extended`) of `processed` against the clean reference `clean`, both at
/// `sample_rate_hz`. Mirrors `pystoi.stoi(clean, processed, sample_rate_hz, extended)` 0.4.1. Typical range
/// 0..1 (higher is more intelligible); returns [`TOO_SHORT_SCORE`] when fewer than 30 frames remain after
/// silent-frame removal.
pub fn stoi(clean: &[f32], processed: &[f32], sample_rate_hz: u32, extended: bool) -> Result<f64, StoiError> {
    if clean.len() != processed.len() {
        return Err(StoiError::LengthMismatch { clean: clean.len(), processed: processed.len() });
    }
    if sample_rate_hz == 0 {
        return Err(StoiError::ZeroSampleRate);
    }
    for (signal, s) in [("clean", clean), ("processed", processed)] {
        if let Some(index) = s.iter().position(|v| !v.is_finite()) {
            return Err(StoiError::NonFinite { signal, index });
        }
    }
    let to_f64 = |s: &[f32]| s.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>();
    let (mut x, mut y) = (to_f64(clean), to_f64(processed));
    if sample_rate_hz != FS {
        let filter = Resampler::new(sample_rate_hz);
        x = filter.apply(&x);
        y = filter.apply(&y);
    }
    if x.len() <= N_FRAME {
        return Err(StoiError::TooShort { samples_at_10k: x.len() });
    }

    let (x, y) = remove_silent_frames(&x, &y);
    let x_tob = third_octave_envelopes(&x);
    let y_tob = third_octave_envelopes(&y);
    let n_frames = x_tob.len();
    if n_frames < N {
        return Ok(TOO_SHORT_SCORE);
    }

    // Segments of N consecutive frames ending at frame m (exclusive), m = N..=n_frames.
    let n_segments = n_frames - N + 1;
    let mut total = 0.0;
    for start in 0..n_segments {
        let xs = &x_tob[start..start + N];
        let ys = &y_tob[start..start + N];
        total += if extended { estoi_segment(xs, ys) } else { stoi_segment(xs, ys) };
    }
    Ok(if extended { total / n_segments as f64 } else { total / (n_segments * NUM_BAND) as f64 })
}

/// Sum over the 15 bands of the correlation between the clean band envelope and the energy-normalised,
/// clipped processed envelope (Taal et al. 2011, eqs. 3-5). `xs`, `ys`: N frames of band envelopes.
fn stoi_segment(xs: &[[f64; NUM_BAND]], ys: &[[f64; NUM_BAND]]) -> f64 {
    let clip = 10f64.powf(-BETA / 20.0);
    let mut sum = 0.0;
    for band in 0..NUM_BAND {
        let mut x: Vec<f64> = xs.iter().map(|f| f[band]).collect();
        let mut y: Vec<f64> = ys.iter().map(|f| f[band]).collect();
        let scale = norm(&x) / (norm(&y) + EPS);
        for (yv, &xv) in y.iter_mut().zip(&x) {
            *yv = (*yv * scale).min(xv * (1.0 + clip));
        }
        for v in [&mut x, &mut y] {
            subtract_mean(v);
            let n = norm(v) + EPS;
            v.iter_mut().for_each(|e| *e /= n);
        }
        sum += x.iter().zip(&y).map(|(a, b)| a * b).sum::<f64>();
    }
    sum
}

/// `sum(x_n * y_n) / N` for one segment, x_n and y_n being the segments normalised to zero mean and unit norm
/// first along time (each band), then along frequency (each frame) (Jensen & Taal 2016).
fn estoi_segment(xs: &[[f64; NUM_BAND]], ys: &[[f64; NUM_BAND]]) -> f64 {
    let x = row_col_normalize(xs);
    let y = row_col_normalize(ys);
    let mut sum = 0.0;
    for (fx, fy) in x.iter().zip(&y) {
        sum += fx.iter().zip(fy).map(|(a, b)| a * b / N as f64).sum::<f64>();
    }
    sum
}

/// pystoi's `row_col_normalize` without its EPS-sized random dither: a zero-norm row or column stays zero.
fn row_col_normalize(seg: &[[f64; NUM_BAND]]) -> Vec<[f64; NUM_BAND]> {
    let mut s = seg.to_vec();
    // Rows: each band over the N frames.
    for band in 0..NUM_BAND {
        let mut row: Vec<f64> = s.iter().map(|f| f[band]).collect();
        subtract_mean(&mut row);
        let n = norm(&row);
        let inv = if n > 0.0 { 1.0 / n } else { 0.0 };
        for (f, v) in s.iter_mut().zip(&row) {
            f[band] = v * inv;
        }
    }
    // Columns: each frame over the bands.
    for f in s.iter_mut() {
        subtract_mean(f);
        let n = norm(f);
        let inv = if n > 0.0 { 1.0 / n } else { 0.0 };
        f.iter_mut().for_each(|v| *v *= inv);
    }
    s
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|e| e * e).sum::<f64>().sqrt()
}

fn subtract_mean(v: &mut [f64]) {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    v.iter_mut().for_each(|e| *e -= mean);
}

/// `np.hanning(len + 2)[1:-1]` (MATLAB's `hanning(len)`: no zero end points), computed as numpy does.
fn hanning(len: usize) -> Vec<f64> {
    let m = (len + 2) as f64;
    (1..=len).map(|k| 0.5 + 0.5 * (std::f64::consts::PI * (1.0 - m + 2.0 * k as f64) / (m - 1.0)).cos()).collect()
}

/// Frame start indices as pystoi enumerates them: `range(0, len - N_FRAME, HOP)` (strict upper bound).
fn frame_starts(len: usize) -> impl Iterator<Item = usize> {
    (0..len.saturating_sub(N_FRAME)).step_by(HOP)
}

/// pystoi's `remove_silent_frames`: window both signals into 256-sample Hann frames (hop 128), keep the frames
/// whose clean energy is within 40 dB of the loudest clean frame, and overlap-add the kept (windowed) frames
/// back into two signals. Requires `x.len() > N_FRAME` (at least one frame).
fn remove_silent_frames(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let w = hanning(N_FRAME);
    let window = |s: &[f64], start: usize| -> Vec<f64> {
        w.iter().zip(&s[start..start + N_FRAME]).map(|(a, b)| a * b).collect()
    };
    let starts: Vec<usize> = frame_starts(x.len()).collect();
    let energies: Vec<f64> = starts.iter().map(|&i| 20.0 * (norm(&window(x, i)) + EPS).log10()).collect();
    let max_energy = energies.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let kept: Vec<usize> =
        starts.iter().zip(&energies).filter(|&(_, &e)| max_energy - DYN_RANGE - e < 0.0).map(|(&i, _)| i).collect();

    let out_len = (kept.len() - 1) * HOP + N_FRAME;
    let (mut xo, mut yo) = (vec![0.0; out_len], vec![0.0; out_len]);
    for (j, &start) in kept.iter().enumerate() {
        let at = j * HOP;
        for (o, v) in xo[at..at + N_FRAME].iter_mut().zip(window(x, start)) {
            *o += v;
        }
        for (o, v) in yo[at..at + N_FRAME].iter_mut().zip(window(y, start)) {
            *o += v;
        }
    }
    (xo, yo)
}

/// One-third octave band envelopes `sqrt(OBM @ |STFT|^2)`, one `[f64; 15]` per STFT frame (pystoi's `stft` with
/// a 256-sample Hann window, hop 128, 512-point FFT, then `thirdoct` band matrix).
fn third_octave_envelopes(x: &[f64]) -> Vec<[f64; NUM_BAND]> {
    let bands = third_octave_bands();
    let w = hanning(N_FRAME);
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(NFFT);
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();
    frame_starts(x.len())
        .map(|start| {
            input.fill(0.0);
            for ((i, &wv), &xv) in input.iter_mut().zip(&w).zip(&x[start..start + N_FRAME]) {
                *i = wv * xv;
            }
            fft.process_with_scratch(&mut input, &mut spectrum, &mut scratch).expect("buffer sizes match the plan");
            let mut env = [0.0; NUM_BAND];
            for (e, &(lo, hi)) in env.iter_mut().zip(&bands) {
                *e = spectrum[lo..hi].iter().map(|c| c.norm_sqr()).sum::<f64>().sqrt();
            }
            env
        })
        .collect()
}

/// FFT bin ranges `lo..hi` of the 15 one-third octave bands (pystoi's `thirdoct(10000, 512, 15, 150)`): band k
/// spans `150 * 2^((2k-1)/6) .. 150 * 2^((2k+1)/6)` Hz, each edge snapped to the nearest bin (first on ties),
/// the upper edge bin excluded.
fn third_octave_bands() -> [(usize, usize); NUM_BAND] {
    let bin_hz = f64::from(FS) / NFFT as f64;
    let nearest_bin = |hz: f64| {
        let mut best = 0;
        for k in 1..=NFFT / 2 {
            if (k as f64 * bin_hz - hz).powi(2) < (best as f64 * bin_hz - hz).powi(2) {
                best = k;
            }
        }
        best
    };
    let mut bands = [(0, 0); NUM_BAND];
    for (k, band) in bands.iter_mut().enumerate() {
        let k = k as f64;
        let low = MIN_FREQ * 2f64.powf((2.0 * k - 1.0) / 6.0);
        let high = MIN_FREQ * 2f64.powf((2.0 * k + 1.0) / 6.0);
        *band = (nearest_bin(low), nearest_bin(high));
    }
    bands
}

/// pystoi's `resample_oct(x, 10000, fs)`: `scipy.signal.resample_poly(x, 10000, fs, window=h)` where `h` is
/// pystoi's `_resample_window_oct` (a port of Octave's `resample` filter) normalised to unit sum.
struct Resampler {
    up: usize,
    down: usize,
    /// Filter taps, already multiplied by `up` as `resample_poly` does; length `2 * half_len + 1`.
    h: Vec<f64>,
    half_len: usize,
}

impl Resampler {
    fn new(fs: u32) -> Self {
        let g = gcd(FS as usize, fs as usize);
        let (up, down) = (FS as usize / g, fs as usize / g);

        // _resample_window_oct(p = up, q = down), with p and q already reduced by their gcd.
        let log10_rejection = -3.0;
        let stopband_cutoff_f = 1.0 / (2.0 * up.max(down) as f64);
        let roll_off_width = stopband_cutoff_f / 10.0;
        let rejection_db: f64 = -20.0 * log10_rejection; // 60 dB
        let half_len = ((rejection_db - 8.0) / (28.714 * roll_off_width)).ceil() as usize;
        let beta = if (21.0..=50.0).contains(&rejection_db) {
            0.5842 * (rejection_db - 21.0).powf(0.4) + 0.07886 * (rejection_db - 21.0)
        } else if rejection_db > 50.0 {
            0.1102 * (rejection_db - 8.7)
        } else {
            0.0
        };
        let len = 2 * half_len + 1;
        let alpha = (len - 1) as f64 / 2.0; // np.kaiser's centre
        let i0_beta = bessel_i0(beta);
        let mut h: Vec<f64> = (0..len)
            .map(|n| {
                let t = n as f64 - half_len as f64;
                let ideal = 2.0 * up as f64 * stopband_cutoff_f * sinc(2.0 * stopband_cutoff_f * t);
                let r = (n as f64 - alpha) / alpha;
                let kaiser = bessel_i0(beta * (1.0 - r * r).sqrt()) / i0_beta;
                kaiser * ideal
            })
            .collect();
        // pystoi: window = h / sum(h); resample_poly: h *= up.
        let sum: f64 = h.iter().sum();
        h.iter_mut().for_each(|v| *v = *v / sum * up as f64);
        Resampler { up, down, h, half_len }
    }

    /// `resample_poly`'s `upfirdn` with constant-0 padding and its delay compensation: output sample i is the
    /// filter centred on position `i * down` of the zero-stuffed (x `up`) input, i.e.
    /// `y[i] = sum_n x[n] * h[half_len + i * down - n * up]`, for `ceil(len * up / down)` outputs.
    fn apply(&self, x: &[f64]) -> Vec<f64> {
        let n_out = (x.len() * self.up).div_ceil(self.down);
        (0..n_out)
            .map(|i| {
                let c = self.half_len + i * self.down; // index into h for n = 0
                let n_first = c.saturating_sub(self.h.len() - 1).div_ceil(self.up);
                let n_last = (c / self.up).min(x.len().saturating_sub(1));
                (n_first..=n_last).map(|n| x[n] * self.h[c - n * self.up]).sum()
            })
            .collect()
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `np.sinc`: sin(pi x) / (pi x), with numpy's trick of replacing 0 by EPS.
fn sinc(x: f64) -> f64 {
    let y = std::f64::consts::PI * x;
    let y = if y == 0.0 { EPS } else { y };
    y.sin() / y
}

/// Modified Bessel function of the first kind, order 0, by its power series (accurate to a few ulp for the
/// small arguments here, |x| < 6).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let (mut term, mut sum, mut k) = (1.0, 1.0, 1.0);
    while term > sum * 1e-18 {
        term *= q / (k * k);
        sum += term;
        k += 1.0;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Speech-like test signal: harmonics of a gliding f0 with a 4 Hz syllabic envelope.
    fn speech_like(fs: u32, seconds: f64) -> Vec<f32> {
        let n = (f64::from(fs) * seconds) as usize;
        let mut phase = 0.0;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(fs);
                phase += 2.0 * std::f64::consts::PI * (130.0 + 30.0 * (2.0 * std::f64::consts::PI * 0.8 * t).sin())
                    / f64::from(fs);
                let env = (0.5 - 0.5 * (2.0 * std::f64::consts::PI * 4.0 * t).cos()).powi(2);
                let v: f64 = (1..25).map(|k| (k as f64 * phase + k as f64).sin() / k as f64).sum();
                (0.2 * env * v) as f32
            })
            .collect()
    }

    /// Deterministic uniform white noise in [-amp, amp) (64-bit LCG).
    fn noise(n: usize, amp: f32, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * amp
            })
            .collect()
    }

    fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
        a.iter().zip(b).map(|(x, y)| x + y).collect()
    }

    #[test]
    fn identical_signals_score_one() {
        for fs in [10_000, 16_000] {
            let x = speech_like(fs, 2.0);
            let d = stoi(&x, &x, fs, false).unwrap();
            assert!((d - 1.0).abs() < 1e-6, "STOI at {fs} Hz: {d}");
            let e = stoi(&x, &x, fs, true).unwrap();
            assert!((e - 1.0).abs() < 1e-6, "ESTOI at {fs} Hz: {e}");
        }
    }

    #[test]
    fn more_noise_scores_lower() {
        let x = speech_like(16_000, 2.0);
        let mut last = (f64::INFINITY, f64::INFINITY);
        for amp in [0.005, 0.05, 0.2] {
            let y = add(&x, &noise(x.len(), amp, 7));
            let d = (stoi(&x, &y, 16_000, false).unwrap(), stoi(&x, &y, 16_000, true).unwrap());
            assert!(d.0 < last.0 && d.1 < last.1, "noise {amp}: {d:?} not below {last:?}");
            last = d;
        }
    }

    #[test]
    fn errors() {
        let x = speech_like(16_000, 1.0);
        assert_eq!(
            stoi(&x, &x[1..], 16_000, false),
            Err(StoiError::LengthMismatch { clean: x.len(), processed: x.len() - 1 })
        );
        assert_eq!(stoi(&x, &x, 0, false), Err(StoiError::ZeroSampleRate));
        let mut y = x.clone();
        y[5] = f32::NAN;
        assert_eq!(stoi(&x, &y, 16_000, true), Err(StoiError::NonFinite { signal: "processed", index: 5 }));
        assert_eq!(stoi(&x[..256], &x[..256], 10_000, false), Err(StoiError::TooShort { samples_at_10k: 256 }));
        assert!(stoi(&[], &[], 16_000, false).is_err());
        // Fewer than 30 frames (0.2 s) is pystoi's 1e-5, not an error.
        assert_eq!(stoi(&x[..3200], &x[..3200], 16_000, false), Ok(TOO_SHORT_SCORE));
        assert!(!StoiError::ZeroSampleRate.to_string().is_empty());
    }

    /// Standard base64 (with padding) to bytes.
    fn base64_decode(s: &str) -> Vec<u8> {
        let value = |c: u8| match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        };
        let mut out = Vec::with_capacity(s.len() / 4 * 3);
        for chunk in s.as_bytes().chunks(4) {
            let digits: Vec<u8> = chunk.iter().copied().filter(|&c| c != b'=').map(value).collect();
            let bits = digits.iter().fold(0u32, |acc, &d| acc << 6 | u32::from(d)) << (6 * (4 - digits.len()));
            out.extend_from_slice(&bits.to_be_bytes()[1..digits.len()]);
        }
        out
    }

    /// Parity with pystoi 0.4.1 on the fixture written by tests/reference/gen_stoi.py (format described there).
    #[test]
    fn parity_with_pystoi() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/stoi_cases.json");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
        let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
        let noise: Vec<f32> =
            base64_decode(fixture["noise_i8_b64"].as_str().unwrap()).iter().map(|&b| f32::from(b as i8)).collect();
        let (mut max_stoi, mut max_estoi) = (0f64, 0f64);
        let cases = fixture["cases"].as_array().unwrap();
        for case in cases {
            let clip = &fixture["clips"][case["clip"].as_str().unwrap()];
            let fs = clip["sample_rate_hz"].as_u64().unwrap() as u32;
            let clean: Vec<f32> = base64_decode(clip["pcm_i16_b64"].as_str().unwrap())
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
                .collect();
            let gain = case["noise_gain"].as_f64().unwrap() as f32;
            // Exactly the generator's float32 `clean + gain * noise`.
            let processed: Vec<f32> = clean.iter().zip(&noise).map(|(&c, &n)| c + gain * n).collect();
            let name = case["name"].as_str().unwrap();
            for (key, extended, max) in [("stoi", false, &mut max_stoi), ("estoi", true, &mut max_estoi)] {
                let want = case[key].as_f64().unwrap();
                let got = stoi(&clean, &processed, fs, extended).unwrap();
                let diff = (got - want).abs();
                println!("{name:28} {key:5} rust {got:.12} pystoi {want:.12} |diff| {diff:.2e}");
                // The port matches to rounding (~1e-16); 1e-9 leaves room for FFT kernels that differ between CPUs.
                assert!(diff <= 1e-9, "{name} {key}: rust {got} vs pystoi {want}");
                *max = max.max(diff);
            }
        }
        println!("{} cases: max |diff| STOI {max_stoi:.3e}, ESTOI {max_estoi:.3e}", cases.len());
    }
}
