//! DAC encoder. Field names follow the Hugging Face `DacEncoder` (`block.0.res_unit1.conv1`).

use crate::config::DacConfig;
use crate::snake::Snake1d;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use xcodec_core::AcousticEncoder;
use xcodec_core::nn::WnConv1d;
use xcodec_core::nn::masked::zero_tail;

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
        self.forward_masked(x, None)
    }

    /// [`Self::forward`], the dilated conv seeing zeros after each row's `lengths` (when given).
    fn forward_masked(&self, x: Tensor<3>, lengths: Option<&[usize]>) -> Tensor<3> {
        let y = mask(self.snake1.forward(x.clone()), lengths);
        x + self.conv2.forward(self.snake2.forward(self.conv1.forward(y)))
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

    /// The block over rows with `lengths` valid samples (all when `None`); updates them to the output's.
    fn forward_masked(&self, x: Tensor<3>, lengths: Option<&mut Vec<usize>>) -> Tensor<3> {
        let valid = lengths.as_deref().map(|l| l.as_slice());
        let x = [&self.res_unit1, &self.res_unit2, &self.res_unit3].iter().fold(x, |x, u| u.forward_masked(x, valid));
        let x = self.conv1.forward(mask(self.snake1.forward(x), valid));
        if let Some(lengths) = lengths {
            lengths.iter_mut().for_each(|n| *n = self.conv1.output_len(*n));
        }
        x
    }
}

/// `x` with each row zero after its valid steps (unchanged without lengths).
fn mask(x: Tensor<3>, lengths: Option<&[usize]>) -> Tensor<3> {
    match lengths {
        Some(lengths) => zero_tail(x, 2, lengths),
        None => x,
    }
}

impl DacEncoder {
    /// The encoder over rows with `lengths` valid samples (all when `None`): every conv of more than one tap
    /// sees zeros after a row's valid steps, as it would at the end of the clip alone.
    fn forward_rows(&self, audio: Tensor<3>, mut lengths: Option<Vec<usize>>) -> Tensor<3> {
        let mut x = self.conv1.forward(audio);
        if let Some(lengths) = lengths.as_mut() {
            lengths.iter_mut().for_each(|n| *n = self.conv1.output_len(*n));
        }
        for block in &self.block {
            x = block.forward_masked(x, lengths.as_mut());
        }
        self.conv2.forward(mask(self.snake1.forward(x), lengths.as_deref()))
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
        self.forward_rows(audio, None)
    }

    fn forward_masked(&self, audio: Tensor<3>, lengths: &[usize]) -> Tensor<3> {
        self.forward_rows(zero_tail(audio, 2, lengths), Some(lengths.to_vec()))
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
