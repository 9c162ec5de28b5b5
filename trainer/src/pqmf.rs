//! Pseudo-QMF analysis/synthesis filter bank (ParallelWaveGAN's `PQMF`, as X-Codec uses it for its
//! sub-band STFT loss): a Kaiser-windowed prototype low-pass, cosine-modulated to `subbands` bands.

use burn::module::Module;
use burn::tensor::module::conv1d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use xcodec_core::{Result, XcodecError};

/// Filter-bank parameters. Defaults: X-Codec's 6 bands, 62 taps, beta 9.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PqmfConfig {
    /// Number of bands (the down-sampling factor).
    pub subbands: usize,
    /// Prototype filter order (even; the filters have `taps + 1` coefficients).
    pub taps: usize,
    /// Prototype cut-off as a fraction of Nyquist; `None` = X-Codec's optimised value for 2/4/6/8 bands
    /// (0.25, 0.13, 0.10032791, 0.07949452), ParallelWaveGAN's 0.142 otherwise.
    pub cutoff_ratio: Option<f64>,
    /// Kaiser window beta.
    pub beta: f64,
}

impl Default for PqmfConfig {
    fn default() -> Self {
        Self { subbands: 6, taps: 62, cutoff_ratio: None, beta: 9.0 }
    }
}

impl PqmfConfig {
    /// The cut-off ratio in effect.
    pub fn effective_cutoff(&self) -> f64 {
        self.cutoff_ratio.unwrap_or(match self.subbands {
            8 => 0.079_494_52,
            6 => 0.100_327_91,
            4 => 0.13,
            2 => 0.25,
            _ => 0.142,
        })
    }
}

/// Zeroth-order modified Bessel function of the first kind (power series; converges for every real x).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > sum * 1e-17 {
        term *= (x / (2.0 * k)).powi(2);
        sum += term;
        k += 1.0;
    }
    sum
}

/// The symmetric Kaiser window of `len` points (`scipy.signal.windows.kaiser(len, beta)`).
fn kaiser(len: usize, beta: f64) -> Vec<f64> {
    if len == 1 {
        return vec![1.0];
    }
    let alpha = (len - 1) as f64 / 2.0;
    (0..len)
        .map(|n| {
            let r = (n as f64 - alpha) / alpha;
            bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(beta)
        })
        .collect()
}

/// The prototype low-pass: a windowed sinc of `taps + 1` coefficients.
fn prototype(taps: usize, cutoff_ratio: f64, beta: f64) -> Vec<f64> {
    let omega_c = std::f64::consts::PI * cutoff_ratio;
    let window = kaiser(taps + 1, beta);
    (0..=taps)
        .map(|n| {
            let t = n as f64 - 0.5 * taps as f64;
            let sinc = if n == taps / 2 { cutoff_ratio } else { (omega_c * t).sin() / (std::f64::consts::PI * t) };
            sinc * window[n]
        })
        .collect()
}

/// The PQMF bank with its analysis and synthesis filters as constant tensors.
#[derive(Module, Debug)]
pub struct Pqmf {
    /// Number of bands.
    pub subbands: usize,
    /// Prototype order.
    pub taps: usize,
    /// `[subbands, 1, taps + 1]`.
    analysis_filter: Tensor<3>,
    /// `[1, subbands, taps + 1]`.
    synthesis_filter: Tensor<3>,
}

impl Pqmf {
    /// Designs the filters of `cfg`.
    pub fn new(cfg: &PqmfConfig, device: &Device) -> Result<Self> {
        let cutoff = cfg.effective_cutoff();
        if cfg.subbands == 0 || cfg.taps == 0 || !cfg.taps.is_multiple_of(2) || !(0.0 < cutoff && cutoff < 1.0) {
            return Err(XcodecError::Config(format!(
                "PQMF: need subbands > 0, an even taps > 0 and 0 < cutoff_ratio < 1, got {} bands, {} taps, cutoff {cutoff}",
                cfg.subbands, cfg.taps
            )));
        }
        let (k_bands, taps) = (cfg.subbands, cfg.taps);
        let h = prototype(taps, cutoff, cfg.beta);
        let filter = |sign: f64| -> Vec<f32> {
            (0..k_bands)
                .flat_map(|k| {
                    let h = &h;
                    (0..=taps).map(move |n| {
                        let phase = (2 * k + 1) as f64
                            * (std::f64::consts::PI / (2 * k_bands) as f64)
                            * (n as f64 - taps as f64 / 2.0)
                            + sign * if k % 2 == 0 { 1.0 } else { -1.0 } * std::f64::consts::PI / 4.0;
                        (2.0 * h[n] * phase.cos()) as f32
                    })
                })
                .collect()
        };
        let analysis_filter = Tensor::from_data(TensorData::new(filter(1.0), [k_bands, 1, taps + 1]), device);
        let synthesis_filter = Tensor::from_data(TensorData::new(filter(-1.0), [1, k_bands, taps + 1]), device);
        Ok(Self { subbands: k_bands, taps, analysis_filter, synthesis_filter })
    }

    /// The analysis filters, `[subbands, 1, taps + 1]`.
    pub fn analysis_filter(&self) -> Tensor<3> {
        self.analysis_filter.clone()
    }

    /// The synthesis filters, `[1, subbands, taps + 1]`.
    pub fn synthesis_filter(&self) -> Tensor<3> {
        self.synthesis_filter.clone()
    }

    /// `[batch, 1, samples]` -> `[batch, subbands, samples / subbands]` (floored, as the reference's
    /// `subbands`-wide down-sampling kernel drops a ragged tail).
    pub fn analysis(&self, audio: Tensor<3>) -> Result<Tensor<3>> {
        let [batch, channels, samples] = audio.dims();
        if channels != 1 || samples < self.subbands {
            return Err(XcodecError::Input(format!(
                "PQMF analysis takes [batch, 1, samples >= {}] audio, got [{batch}, {channels}, {samples}]",
                self.subbands
            )));
        }
        // Filtering then keeping every `subbands`-th sample is one strided convolution.
        let options = ConvOptions::new([self.subbands], [self.taps / 2], [1], 1);
        let bands = conv1d(audio, self.analysis_filter.clone(), None, options);
        Ok(bands.narrow(2, 0, samples / self.subbands))
    }

    /// `[batch, subbands, frames]` -> `[batch, 1, frames * subbands]`.
    pub fn synthesis(&self, bands: Tensor<3>) -> Result<Tensor<3>> {
        let [batch, channels, frames] = bands.dims();
        if channels != self.subbands || frames == 0 {
            return Err(XcodecError::Input(format!(
                "PQMF synthesis takes [batch, {}, frames], got [{batch}, {channels}, {frames}]",
                self.subbands
            )));
        }
        // Up-sample by zero insertion, scaled by the band count as the reference does.
        let k = self.subbands;
        let upsampled = if k == 1 {
            bands
        } else {
            let zeros = Tensor::<4>::zeros([batch, k, frames, k - 1], &bands.device());
            Tensor::cat(vec![bands.unsqueeze_dim::<4>(3), zeros], 3).reshape([batch, k, frames * k])
        };
        let options = ConvOptions::new([1], [self.taps / 2], [1], 1);
        Ok(conv1d(upsampled.mul_scalar(k as f64), self.synthesis_filter.clone(), None, options))
    }
}
