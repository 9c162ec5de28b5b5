//! The `toy` acoustic backbone: a strided conv stack down to the latent, and its mirror image with
//! transposed convs back to the waveform. Each down-sampling conv has kernel = stride, so `n` samples give
//! exactly `n / hop` frames and `f` frames decode to exactly `f * hop` samples.

use burn::module::Module;
use burn::nn::PaddingConfig1d;
use burn::nn::conv::{Conv1d, Conv1dConfig, ConvTranspose1d, ConvTranspose1dConfig};
use burn::tensor::activation::elu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use xcodec_core::{AcousticDecoder, AcousticEncoder, Result, XcodecError};

/// The `toy` part's params (`[acoustic.params]`); every key is optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToyConfig {
    /// Channels of every hidden layer.
    pub width: usize,
    /// Channels of the latent.
    pub latent_dim: usize,
    /// Down-sampling strides; the hop is their product (default 320: 50 frames/s at 16 kHz).
    pub strides: Vec<usize>,
}

impl Default for ToyConfig {
    fn default() -> Self {
        Self { width: 32, latent_dim: 16, strides: vec![4, 4, 4, 5] }
    }
}

impl ToyConfig {
    /// Parses and checks a `params` table (one-line errors).
    pub fn from_params(params: &toml::Table) -> Result<Self> {
        let cfg: Self = xcodec_core::config::parse_params("toy", params)?;
        if cfg.width == 0 || cfg.latent_dim == 0 || cfg.strides.is_empty() || cfg.strides.contains(&0) {
            return Err(XcodecError::Config(format!(
                "[toy] params: width, latent_dim and at least one stride must be positive (got {cfg:?})"
            )));
        }
        Ok(cfg)
    }

    /// Samples per frame.
    pub fn hop_length(&self) -> usize {
        self.strides.iter().product()
    }
}

/// A "same"-padded conv of odd `kernel`.
fn same_conv(channels_in: usize, channels_out: usize, kernel: usize, device: &Device) -> Conv1d {
    Conv1dConfig::new(channels_in, channels_out, kernel)
        .with_padding(PaddingConfig1d::Explicit(kernel / 2, kernel / 2))
        .init(device)
}

/// Waveform -> latent: conv, then one strided conv per stride (ELU between), then a conv to the latent.
#[derive(Module, Debug)]
pub struct ToyEncoder {
    /// `1 -> width`, kernel 7.
    pub input: Conv1d,
    /// `width -> width`, kernel = stride = each stride.
    pub downs: Vec<Conv1d>,
    /// `width -> latent_dim`, kernel 3.
    pub output: Conv1d,
}

impl ToyEncoder {
    /// A freshly initialised encoder of shape `cfg`.
    pub fn new(cfg: &ToyConfig, device: &Device) -> Self {
        let down = |s: usize| Conv1dConfig::new(cfg.width, cfg.width, s).with_stride(s).init(device);
        Self {
            input: same_conv(1, cfg.width, 7, device),
            downs: cfg.strides.iter().map(|&s| down(s)).collect(),
            output: same_conv(cfg.width, cfg.latent_dim, 3, device),
        }
    }
}

impl AcousticEncoder for ToyEncoder {
    fn forward(&self, audio: Tensor<3>) -> Tensor<3> {
        let x = self.downs.iter().fold(self.input.forward(audio), |x, down| down.forward(elu(x, 1.0)));
        self.output.forward(elu(x, 1.0))
    }
    fn latent_dim(&self) -> usize {
        self.output.weight.lazy_shape().dims::<3>()[0]
    }
    fn hop_length(&self) -> usize {
        self.downs.iter().map(|d| d.stride).product()
    }
    fn output_frames(&self, samples: usize) -> usize {
        samples / self.hop_length()
    }
}

/// Latent -> waveform: the encoder mirrored, transposed convs in reverse stride order, `tanh` at the end.
#[derive(Module, Debug)]
pub struct ToyDecoder {
    /// `latent_dim -> width`, kernel 3.
    pub input: Conv1d,
    /// `width -> width`, kernel = stride = each stride, last stride first.
    pub ups: Vec<ConvTranspose1d>,
    /// `width -> 1`, kernel 7.
    pub output: Conv1d,
}

impl ToyDecoder {
    /// A freshly initialised decoder of shape `cfg`.
    pub fn new(cfg: &ToyConfig, device: &Device) -> Self {
        let up = |s: usize| ConvTranspose1dConfig::new([cfg.width, cfg.width], s).with_stride(s).init(device);
        Self {
            input: same_conv(cfg.latent_dim, cfg.width, 3, device),
            ups: cfg.strides.iter().rev().map(|&s| up(s)).collect(),
            output: same_conv(cfg.width, 1, 7, device),
        }
    }
}

impl AcousticDecoder for ToyDecoder {
    fn forward(&self, latent: Tensor<3>) -> Tensor<3> {
        let x = self.ups.iter().fold(self.input.forward(latent), |x, up| up.forward(elu(x, 1.0)));
        self.output.forward(elu(x, 1.0)).tanh()
    }
    fn latent_dim(&self) -> usize {
        self.input.weight.lazy_shape().dims::<3>()[1]
    }
    fn hop_length(&self) -> usize {
        self.ups.iter().map(|u| u.stride).product()
    }
}
