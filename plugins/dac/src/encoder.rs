//! DAC encoder. Field names follow the Hugging Face `DacEncoder` (`block.0.res_unit1.conv1`).

use crate::config::DacConfig;
use crate::snake::Snake1d;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use xcodec_core::AcousticEncoder;
use xcodec_core::nn::WnConv1d;

/// `x + conv2(snake2(conv1(snake1(x))))`, conv1 kernel 7 with a dilation.
#[derive(Module, Debug)]
pub struct DacResidualUnit {
    /// First activation.
    pub snake1: Snake1d,
    /// Dilated kernel-7 conv.
    pub conv1: WnConv1d,
    /// Second activation.
    pub snake2: Snake1d,
    /// 1x1 conv.
    pub conv2: WnConv1d,
}

impl DacResidualUnit {
    /// A unit of `channels` width and `dilation`.
    pub fn new(channels: usize, dilation: usize, device: &Device) -> Self {
        Self {
            snake1: Snake1d::new(channels, device),
            conv1: WnConv1d::new(channels, channels, 7, 1, dilation, 3 * dilation, true, device),
            snake2: Snake1d::new(channels, device),
            conv2: WnConv1d::new(channels, channels, 1, 1, 1, 0, true, device),
        }
    }

    /// Same-length residual transform.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let y = self.conv2.forward(self.snake2.forward(self.conv1.forward(self.snake1.forward(x.clone()))));
        x + y
    }
}

/// Three residual units (dilations 1, 3, 9), Snake, then a strided conv that doubles the channels.
#[derive(Module, Debug)]
pub struct DacEncoderBlock {
    /// Dilation 1.
    pub res_unit1: DacResidualUnit,
    /// Dilation 3.
    pub res_unit2: DacResidualUnit,
    /// Dilation 9.
    pub res_unit3: DacResidualUnit,
    /// Activation before the down-sampling conv.
    pub snake1: Snake1d,
    /// Kernel 2 x stride, padding ceil(stride / 2).
    pub conv1: WnConv1d,
}

impl DacEncoderBlock {
    fn new(dim: usize, stride: usize, device: &Device) -> Self {
        let half = dim / 2;
        Self {
            res_unit1: DacResidualUnit::new(half, 1, device),
            res_unit2: DacResidualUnit::new(half, 3, device),
            res_unit3: DacResidualUnit::new(half, 9, device),
            snake1: Snake1d::new(half, device),
            conv1: WnConv1d::new(half, dim, 2 * stride, stride, 1, stride.div_ceil(2), true, device),
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self.res_unit3.forward(self.res_unit2.forward(self.res_unit1.forward(x)));
        self.conv1.forward(self.snake1.forward(x))
    }
}

/// Waveform `[batch, 1, samples]` -> latent `[batch, latent_dim, frames]`.
#[derive(Module, Debug)]
pub struct DacEncoder {
    /// Kernel-7 input conv, 1 -> encoder_width.
    pub conv1: WnConv1d,
    /// Down-sampling blocks.
    pub block: Vec<DacEncoderBlock>,
    /// Final activation.
    pub snake1: Snake1d,
    /// Kernel-3 conv to the latent.
    pub conv2: WnConv1d,
}

impl DacEncoder {
    /// Builds the encoder for `cfg`.
    pub fn new(cfg: &DacConfig, device: &Device) -> Self {
        let block = cfg
            .strides
            .iter()
            .enumerate()
            .map(|(i, &s)| DacEncoderBlock::new(cfg.encoder_width << (i + 1), s, device))
            .collect();
        let d_model = cfg.encoder_width << cfg.strides.len();
        Self {
            conv1: WnConv1d::new(1, cfg.encoder_width, 7, 1, 1, 3, true, device),
            block,
            snake1: Snake1d::new(d_model, device),
            conv2: WnConv1d::new(d_model, cfg.latent_dim, 3, 1, 1, 1, true, device),
        }
    }
}

impl AcousticEncoder for DacEncoder {
    fn forward(&self, audio: Tensor<3>) -> Tensor<3> {
        let mut x = self.conv1.forward(audio);
        for block in &self.block {
            x = block.forward(x);
        }
        self.conv2.forward(self.snake1.forward(x))
    }

    fn latent_dim(&self) -> usize {
        self.conv2.weight_v.lazy_shape().dims::<3>()[0]
    }

    fn hop_length(&self) -> usize {
        self.block.iter().map(|b| b.conv1.stride).product()
    }

    fn output_frames(&self, samples: usize) -> usize {
        let len = self.conv1.output_len(samples);
        let len = self.block.iter().fold(len, |len, b| b.conv1.output_len(len));
        self.conv2.output_len(len)
    }
}
