//! X-Codec's multi-frequency discriminator (`modules/discriminators/frequency_discriminator.py`): for each of
//! several STFT resolutions (FFT = window = 4 x hop, `torch.stft(normalized=True)`), the magnitude, mapped
//! through an n_bins -> n_bins HTK mel matrix, and its clipped dB version as two channels of an image that
//! seven reflection-padded 3x3 weight-normed Conv2d layers (strides 1,2,1,2,1,2,1; LeakyReLU 0.2) score.

use burn::module::Module;
use burn::tensor::activation::leaky_relu;
use burn::tensor::ops::PadMode;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use xcodec_core::{Result, XcodecError};

use super::DiscriminatorOutput;
use super::conv::{Conv2dSpec, WnConv2d};
use crate::mel::{filterbank_tensor, htk_mel_filterbank};
use crate::stft::{POWER_FLOOR, SpectrumNorm, Stft, mono};

/// Which spectra feed each sub-discriminator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MfdDomain {
    /// Magnitude only.
    Linear,
    /// `clamp((20 log10|X| - 20 + 100) / 100, 0, 1)` only.
    Log,
    /// Both, as two channels (X-Codec).
    #[default]
    Double,
}

/// Multi-frequency discriminator parameters; defaults are X-Codec's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfdConfig {
    /// Build it.
    pub enabled: bool,
    /// STFT hop of each sub-discriminator (FFT size and window are 4 x hop; powers of two).
    pub hop_lengths: Vec<usize>,
    /// Width of each sub-discriminator's widest layer (a multiple of 32: layers have width/32 ... width).
    pub hidden_channels: Vec<usize>,
    /// Input spectra.
    pub domain: MfdDomain,
    /// Map magnitudes through the (square) HTK mel matrix first.
    pub mel_scale: bool,
    /// Sample rate in Hz (for the mel matrix).
    pub sample_rate: usize,
}

impl Default for MfdConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            hop_lengths: vec![32, 64, 128, 256, 512, 1024],
            hidden_channels: vec![64, 128, 256, 512, 512, 512],
            domain: MfdDomain::Double,
            mel_scale: true,
            sample_rate: 16000,
        }
    }
}

/// Strides of the seven layers along both axes.
const STRIDES: [usize; 7] = [1, 2, 1, 2, 1, 2, 1];

/// One sub-discriminator: seven reflection-padded 3x3 convs; every output but the last, after its
/// LeakyReLU, is a feature map (the reference's in-place LeakyReLU makes its stored maps activated).
#[derive(Module, Debug)]
pub struct FrequencyDiscriminator {
    /// The seven convs.
    pub discriminator: Vec<WnConv2d>,
}

impl FrequencyDiscriminator {
    /// `in_channels` (1 or 2) spectra, widths `hidden/32, hidden/16, ..., hidden, 1`.
    pub fn new(in_channels: usize, hidden: usize, device: &Device) -> Self {
        let widths = [hidden / 32, hidden / 16, hidden / 8, hidden / 4, hidden / 2, hidden, 1];
        let mut channels_in = in_channels;
        let discriminator = widths
            .iter()
            .zip(STRIDES)
            .map(|(&width, stride)| {
                let conv = WnConv2d::new(Conv2dSpec::new(channels_in, width, [3, 3]).stride([stride, stride]), device);
                channels_in = width;
                conv
            })
            .collect();
        Self { discriminator }
    }

    /// Whether an image of `len` rows (or columns) survives every reflection pad (which needs >= 2).
    fn fits(len: usize) -> bool {
        let mut len = len;
        for stride in STRIDES {
            if len < 2 {
                return false;
            }
            len = (len - 1) / stride + 1;
        }
        true
    }

    /// `[batch, channels, bins, frames]` -> logits `[batch, 1, h, w]` and six feature maps.
    pub fn forward(&self, x: Tensor<4>) -> DiscriminatorOutput {
        let mut features = Vec::with_capacity(self.discriminator.len() - 1);
        let mut x = x;
        for (i, conv) in self.discriminator.iter().enumerate() {
            if i > 0 {
                x = leaky_relu(x, 0.2);
                features.push(x.clone());
            }
            x = conv.forward(x.pad([(1, 1), (1, 1)], PadMode::Reflect));
        }
        DiscriminatorOutput { logits: x, features }
    }
}

/// The multi-frequency discriminator: one [`FrequencyDiscriminator`] per STFT resolution.
#[derive(Module, Debug)]
pub struct MultiFrequencyDiscriminator {
    /// One STFT per resolution.
    pub stfts: Vec<Stft>,
    /// One `[bins, bins]` mel matrix per resolution (empty without `mel_scale`).
    mel: Vec<Tensor<2>>,
    /// Feed the magnitude channel.
    pub linear: bool,
    /// Feed the dB channel.
    pub log: bool,
    /// The sub-discriminators.
    pub discriminators: Vec<FrequencyDiscriminator>,
}

impl MultiFrequencyDiscriminator {
    /// Builds it from `cfg` (ignoring `enabled`).
    pub fn new(cfg: &MfdConfig, device: &Device) -> Result<Self> {
        if cfg.hop_lengths.is_empty() || cfg.hop_lengths.len() != cfg.hidden_channels.len() {
            return Err(XcodecError::Config(format!(
                "mfd: hop_lengths and hidden_channels must be non-empty and of one length, got {} and {}",
                cfg.hop_lengths.len(),
                cfg.hidden_channels.len()
            )));
        }
        if let Some(bad) = cfg.hidden_channels.iter().find(|&&c| c < 32 || c % 32 != 0) {
            return Err(XcodecError::Config(format!("mfd: hidden_channels {bad} must be a positive multiple of 32")));
        }
        let stfts = cfg
            .hop_lengths
            .iter()
            .map(|&hop| Stft::new(4 * hop, hop, 4 * hop, true, SpectrumNorm::FrameLength, device))
            .collect::<Result<Vec<_>>>()?;
        let mel = if cfg.mel_scale {
            stfts
                .iter()
                .map(|s| {
                    filterbank_tensor(
                        htk_mel_filterbank(cfg.sample_rate, s.bins(), s.bins()),
                        s.bins(),
                        s.bins(),
                        device,
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        let (linear, log) = match cfg.domain {
            MfdDomain::Linear => (true, false),
            MfdDomain::Log => (false, true),
            MfdDomain::Double => (true, true),
        };
        let in_channels = usize::from(linear) + usize::from(log);
        let discriminators =
            cfg.hidden_channels.iter().map(|&c| FrequencyDiscriminator::new(in_channels, c, device)).collect();
        Ok(Self { stfts, mel, linear, log, discriminators })
    }

    /// Fewest samples every resolution accepts.
    pub fn min_samples(&self) -> usize {
        self.stfts
            .iter()
            .map(|s| {
                (s.min_samples()..).find(|&n| FrequencyDiscriminator::fits(s.frames(n))).expect("some length fits")
            })
            .max()
            .unwrap_or(0)
    }

    /// The two-channel (or one-channel) spectral image of resolution `i`, `[batch, channels, bins, frames]`.
    pub fn spectra(&self, i: usize, audio: Tensor<2>) -> Result<Tensor<4>> {
        let mut magnitude = self.stfts[i].magnitude(audio, POWER_FLOOR)?;
        if let Some(mel) = self.mel.get(i) {
            magnitude = magnitude.matmul(mel.clone().unsqueeze_dim(0));
        }
        let magnitude = magnitude.swap_dims(1, 2);
        let mut channels = Vec::with_capacity(2);
        if self.linear {
            channels.push(magnitude.clone());
        }
        if self.log {
            let db = magnitude.log().mul_scalar(20.0 / std::f64::consts::LN_10).sub_scalar(20.0);
            channels.push(db.add_scalar(100.0).div_scalar(100.0).clamp(0.0, 1.0));
        }
        Ok(Tensor::stack::<4>(channels, 1))
    }

    /// `[batch, 1, samples]` audio -> one output per resolution.
    pub fn forward(&self, audio: Tensor<3>) -> Result<Vec<DiscriminatorOutput>> {
        let samples = audio.dims()[2];
        if samples < self.min_samples() {
            return Err(XcodecError::Input(format!(
                "{samples} samples are too few for the multi-frequency discriminator: give at least {}",
                self.min_samples()
            )));
        }
        let audio = mono(audio)?;
        (0..self.stfts.len()).map(|i| Ok(self.discriminators[i].forward(self.spectra(i, audio.clone())?))).collect()
    }
}
