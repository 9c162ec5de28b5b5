//! Short-time Fourier transform of audio as `torch.stft` computes it (`center=True` reflect padding by
//! default, a periodic Hann window of `win_length` zero-padded, centred, to `n_fft`), built on
//! `burn::signal` and differentiable. `n_fft` must be a power of two (burn's FFT).

use burn::module::Module;
use burn::signal::{StftOptions, hann_window, stft};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use xcodec_core::{Result, XcodecError};

/// ParallelWaveGAN's floor on the power spectrum before the square root (`sqrt(clamp(re²+im², 1e-7))`).
pub const POWER_FLOOR: f64 = 1e-7;

/// How the spectrum is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SpectrumNorm {
    /// Plain DFT sums (`torch.stft(normalized=False)`).
    #[default]
    None,
    /// Times `n_fft^-1/2` (`torch.stft(normalized=True)`).
    FrameLength,
    /// Divided by the window's L2 norm (`torchaudio.transforms.Spectrogram(normalized=True)`).
    Window,
}

/// One STFT resolution with its window.
#[derive(Module, Debug)]
pub struct Stft {
    /// FFT size (a power of two).
    pub n_fft: usize,
    /// Samples between frames.
    pub hop_length: usize,
    /// Hann window length (`<= n_fft`).
    pub win_length: usize,
    /// Reflect-pad `n_fft / 2` on both sides first.
    pub center: bool,
    /// The periodic Hann window with the [`SpectrumNorm`] scale folded in, `[win_length]`.
    window: Tensor<1>,
}

impl Stft {
    /// An STFT; errors when burn cannot compute it (`n_fft` not a power of two, `hop > win > n_fft`).
    pub fn new(
        n_fft: usize,
        hop_length: usize,
        win_length: usize,
        center: bool,
        norm: SpectrumNorm,
        device: &Device,
    ) -> Result<Self> {
        if n_fft < 2 || !n_fft.is_power_of_two() {
            return Err(XcodecError::Config(format!("STFT n_fft = {n_fft} must be a power of two >= 2")));
        }
        if win_length == 0 || win_length > n_fft || hop_length == 0 || hop_length > win_length {
            return Err(XcodecError::Config(format!(
                "STFT with n_fft {n_fft}, win_length {win_length}, hop {hop_length}: need 0 < hop <= win_length <= n_fft"
            )));
        }
        let window = hann_window(win_length, true, device);
        let window = match norm {
            SpectrumNorm::None => window,
            SpectrumNorm::FrameLength => window.mul_scalar(1.0 / (n_fft as f64).sqrt()),
            SpectrumNorm::Window => {
                let energy: f64 = (0..win_length)
                    .map(|n| {
                        let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / win_length as f64).cos();
                        w * w
                    })
                    .sum();
                window.mul_scalar(1.0 / energy.sqrt())
            }
        };
        Ok(Self { n_fft, hop_length, win_length, center, window })
    }

    /// Fewest samples this STFT accepts.
    pub fn min_samples(&self) -> usize {
        if self.center { self.n_fft / 2 + 1 } else { self.n_fft }
    }

    /// Frames for `samples` input samples.
    pub fn frames(&self, samples: usize) -> usize {
        let padded = if self.center { samples + 2 * (self.n_fft / 2) } else { samples };
        1 + padded.saturating_sub(self.n_fft) / self.hop_length
    }

    /// Frequency bins (`n_fft / 2 + 1`).
    pub fn bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Real and imaginary parts, each `[batch, frames, bins]`, of `[batch, samples]` audio.
    pub fn complex(&self, audio: Tensor<2>) -> Result<(Tensor<3>, Tensor<3>)> {
        let samples = audio.dims()[1];
        if samples < self.min_samples() {
            return Err(XcodecError::Input(format!(
                "{samples} samples are too few for an STFT with n_fft {}: give at least {}",
                self.n_fft,
                self.min_samples()
            )));
        }
        let mut options = StftOptions::new(self.n_fft);
        options.hop_length = self.hop_length;
        options.win_length = Some(self.win_length);
        options.center = self.center;
        let spec = stft(audio, Some(self.window.clone()), options);
        let [batch, frames, bins, _] = spec.dims();
        let re = spec.clone().narrow(3, 0, 1).reshape([batch, frames, bins]);
        let im = spec.narrow(3, 1, 1).reshape([batch, frames, bins]);
        Ok((re, im))
    }

    /// `sqrt(max(re² + im², floor))`, `[batch, frames, bins]` (ParallelWaveGAN uses [`POWER_FLOOR`]).
    pub fn magnitude(&self, audio: Tensor<2>, floor: f64) -> Result<Tensor<3>> {
        let (re, im) = self.complex(audio)?;
        Ok((re.powi_scalar(2) + im.powi_scalar(2)).clamp_min(floor).sqrt())
    }
}

/// `[batch, 1, samples]` audio as `[batch, samples]`.
pub fn mono(audio: Tensor<3>) -> Result<Tensor<2>> {
    let [batch, channels, samples] = audio.dims();
    if channels != 1 {
        return Err(XcodecError::Input(format!(
            "audio must be [batch, 1, samples], got [{batch}, {channels}, {samples}]"
        )));
    }
    Ok(audio.reshape([batch, samples]))
}
