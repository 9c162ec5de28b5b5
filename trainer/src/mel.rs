//! Mel filterbanks and the mel spectrogram.
//!
//! [`slaney_mel_filterbank`] is librosa's `filters.mel` with its defaults (`htk=False`, `norm="slaney"`), the
//! bank DAC's multi-scale mel loss uses; [`htk_mel_filterbank`] is the torchaudio-0.x `create_fb_matrix` that
//! X-Codec's multi-frequency discriminator applies (HTK mel scale, no area norm, weights floored at 1e-6).

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use xcodec_core::{Result, XcodecError};

use crate::stft::{SpectrumNorm, Stft};

/// Slaney's mel scale (librosa `hz_to_mel(htk=False)`): linear below 1 kHz, logarithmic above.
pub fn hz_to_mel_slaney(hz: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_mel = 1000.0 / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= 1000.0 { min_log_mel + (hz / 1000.0).ln() / logstep } else { hz / f_sp }
}

/// Inverse of [`hz_to_mel_slaney`].
pub fn mel_to_hz_slaney(mel: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_mel = 1000.0 / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel { 1000.0 * (logstep * (mel - min_log_mel)).exp() } else { f_sp * mel }
}

/// Evenly spaced points from `a` to `b` inclusive.
fn linspace(a: f64, b: f64, n: usize) -> impl Iterator<Item = f64> {
    let step = if n > 1 { (b - a) / (n - 1) as f64 } else { 0.0 };
    (0..n).map(move |i| a + step * i as f64)
}

/// Triangles between consecutive `edges` (Hz) evaluated at `freqs` (Hz), `[n_mels][freqs]`.
fn triangles(edges: &[f64], freqs: &[f64]) -> Vec<Vec<f64>> {
    (0..edges.len() - 2)
        .map(|m| {
            let (lo, mid, hi) = (edges[m], edges[m + 1], edges[m + 2]);
            freqs.iter().map(|&f| ((f - lo) / (mid - lo)).min((hi - f) / (hi - mid))).collect()
        })
        .collect()
}

/// librosa's `filters.mel(sr, n_fft, n_mels, fmin, fmax)` (Slaney scale and area norm), row-major
/// `[n_mels, n_fft / 2 + 1]`.
pub fn slaney_mel_filterbank(sample_rate: f64, n_fft: usize, n_mels: usize, fmin: f64, fmax: f64) -> Vec<f32> {
    let freqs: Vec<f64> = (0..=n_fft / 2).map(|k| k as f64 * sample_rate / n_fft as f64).collect();
    let edges: Vec<f64> =
        linspace(hz_to_mel_slaney(fmin), hz_to_mel_slaney(fmax), n_mels + 2).map(mel_to_hz_slaney).collect();
    let rows = triangles(&edges, &freqs);
    rows.iter()
        .enumerate()
        .flat_map(|(m, row)| {
            let enorm = 2.0 / (edges[m + 2] - edges[m]);
            row.iter().map(move |&w| (w.max(0.0) * enorm) as f32)
        })
        .collect()
}

/// torchaudio-0.x `create_fb_matrix(n_freqs, 0, sample_rate // 2, n_mels, sample_rate)` (HTK scale, no norm,
/// clamped to `[1e-6, 1]`), row-major `[n_mels, n_freqs]`; the bins are spaced evenly over `[0, sr // 2]`.
pub fn htk_mel_filterbank(sample_rate: usize, n_freqs: usize, n_mels: usize) -> Vec<f32> {
    let fmax = (sample_rate / 2) as f64;
    let freqs: Vec<f64> = linspace(0.0, fmax, n_freqs).collect();
    let to_mel = |f: f64| 2595.0 * (1.0 + f / 700.0).log10();
    let edges: Vec<f64> =
        linspace(to_mel(0.0), to_mel(fmax), n_mels + 2).map(|m| 700.0 * (10f64.powf(m / 2595.0) - 1.0)).collect();
    triangles(&edges, &freqs).into_iter().flat_map(|row| row.into_iter().map(|w| w.clamp(1e-6, 1.0) as f32)).collect()
}

/// A `[n_mels, bins]` filterbank as the `[bins, n_mels]` tensor that right-multiplies a `[.., frames, bins]`
/// spectrogram.
pub fn filterbank_tensor(weights: Vec<f32>, n_mels: usize, bins: usize, device: &Device) -> Tensor<2> {
    Tensor::<2>::from_data(TensorData::new(weights, [n_mels, bins]), device).transpose()
}

/// Parameters of one mel spectrogram (DAC's `AudioSignal.mel_spectrogram`: Hann window, hop = window / 4,
/// FFT size = window, centred, magnitude, Slaney filterbank).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MelConfig {
    /// Sample rate in Hz.
    pub sample_rate: usize,
    /// Window length = FFT size (a power of two).
    pub window_length: usize,
    /// Hop; `None` = `window_length / 4`.
    pub hop_length: Option<usize>,
    /// Mel bands.
    pub n_mels: usize,
    /// Lowest frequency (Hz).
    pub fmin: f64,
    /// Highest frequency (Hz); `None` = Nyquist.
    pub fmax: Option<f64>,
}

impl Default for MelConfig {
    fn default() -> Self {
        Self { sample_rate: 16000, window_length: 1024, hop_length: None, n_mels: 80, fmin: 0.0, fmax: None }
    }
}

/// Magnitude mel spectrogram: `[batch, samples]` -> `[batch, n_mels, frames]`.
#[derive(Module, Debug)]
pub struct MelSpectrogram {
    /// The STFT.
    pub stft: Stft,
    /// `[bins, n_mels]`.
    filterbank: Tensor<2>,
    /// Floor on the power spectrum before the square root: keeps the gradient finite on digital silence
    /// (below every useful mel clamp; DAC takes `|X|` unfloored).
    pub power_floor: f64,
}

impl MelSpectrogram {
    /// Builds the STFT and filterbank of `cfg`.
    pub fn new(cfg: &MelConfig, device: &Device) -> Result<Self> {
        let fmax = cfg.fmax.unwrap_or(cfg.sample_rate as f64 / 2.0);
        if cfg.n_mels == 0 || !(0.0..fmax).contains(&cfg.fmin) || fmax > cfg.sample_rate as f64 / 2.0 {
            return Err(XcodecError::Config(format!(
                "mel spectrogram: need n_mels > 0 and 0 <= fmin < fmax <= sample_rate / 2, got n_mels {}, fmin {}, fmax {fmax}",
                cfg.n_mels, cfg.fmin
            )));
        }
        let hop = cfg.hop_length.unwrap_or(cfg.window_length / 4);
        let stft = Stft::new(cfg.window_length, hop, cfg.window_length, true, SpectrumNorm::None, device)?;
        let weights = slaney_mel_filterbank(cfg.sample_rate as f64, cfg.window_length, cfg.n_mels, cfg.fmin, fmax);
        let filterbank = filterbank_tensor(weights, cfg.n_mels, stft.bins(), device);
        Ok(Self { stft, filterbank, power_floor: 1e-12 })
    }

    /// `[batch, samples]` -> `[batch, n_mels, frames]`.
    pub fn forward(&self, audio: Tensor<2>) -> Result<Tensor<3>> {
        let magnitude = self.stft.magnitude(audio, self.power_floor)?;
        Ok(magnitude.matmul(self.filterbank.clone().unsqueeze_dim(0)).swap_dims(1, 2))
    }
}
