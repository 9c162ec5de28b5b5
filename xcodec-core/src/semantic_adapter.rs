//! X-Codec's semantic encoder and decoder (RepCodec-style): a conv, then blocks of ELU residual units.
//! Field names follow the Hugging Face `XcodecModel` (`encoder_semantic.conv_blocks.0.res_units.1.conv1`).

use crate::config::SemanticAdapterConfig;
use crate::nn::masked::zero_tail;
use burn::module::Module;
use burn::nn::PaddingConfig1d;
use burn::nn::conv::{Conv1d, Conv1dConfig, ConvTranspose1d, ConvTranspose1dConfig};
use burn::tensor::activation::elu;
use burn::tensor::{Device, Tensor};

/// A conv with "same" padding for its odd kernel: `(kernel - 1) / 2 * dilation` on each side.
fn conv(
    c_in: usize,
    c_out: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    bias: bool,
    device: &Device,
) -> Conv1d {
    let pad = (kernel - 1) / 2 * dilation;
    Conv1dConfig::new(c_in, c_out, kernel)
        .with_stride(stride)
        .with_dilation(dilation)
        .with_padding(PaddingConfig1d::Explicit(pad, pad))
        .with_bias(bias)
        .init(device)
}

/// Output steps of `conv` for `n` input steps.
fn conv_len(conv: &Conv1d, n: usize) -> usize {
    let (left, right) = match conv.padding {
        PaddingConfig1d::Explicit(l, r) => (l, r),
        _ => (0, 0),
    };
    (n + left + right).saturating_sub(conv.dilation * (conv.kernel_size - 1) + 1) / conv.stride + 1
}

/// `x + conv2(elu(conv1(elu(x))))`.
#[derive(Module, Debug)]
pub struct ResidualUnit {
    /// Dilated conv, no bias.
    pub conv1: Conv1d,
    /// 1x1 conv, no bias.
    pub conv2: Conv1d,
}

impl ResidualUnit {
    fn new(channels: usize, kernel: usize, dilation: usize, device: &Device) -> Self {
        Self {
            conv1: conv(channels, channels, kernel, 1, dilation, false, device),
            conv2: conv(channels, channels, 1, 1, 1, false, device),
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let y = self.conv2.forward(elu(self.conv1.forward(elu(x.clone(), 1.0)), 1.0));
        x + y
    }
}

fn residual_units(channels: usize, cfg: &SemanticAdapterConfig, device: &Device) -> Vec<ResidualUnit> {
    cfg.block_dilations.iter().map(|&d| ResidualUnit::new(channels, cfg.unit_kernel_size, d, device)).collect()
}

/// Residual units, then a (strided) conv.
#[derive(Module, Debug)]
pub struct SemanticEncoderBlock {
    /// Residual units at the block's input width.
    pub res_units: Vec<ResidualUnit>,
    /// Down-sampling conv (kernel 3 at stride 1, else 2 x stride).
    pub conv: Conv1d,
}

/// Teacher features `[batch, hidden, frames]` -> the semantic half of the quantizer input.
#[derive(Module, Debug)]
pub struct SemanticEncoder {
    /// Input conv, no bias.
    pub conv: Conv1d,
    /// The blocks.
    pub conv_blocks: Vec<SemanticEncoderBlock>,
}

impl SemanticEncoder {
    /// Builds it for a teacher of width `hidden`.
    pub fn new(hidden: usize, cfg: &SemanticAdapterConfig, device: &Device) -> Self {
        let k = cfg.kernel_size;
        let mut c_in = hidden;
        let conv_blocks = cfg
            .strides
            .iter()
            .zip(&cfg.channel_ratios)
            .map(|(&stride, &ratio)| {
                let c_out = hidden * ratio;
                let kernel = if stride == 1 { 3 } else { 2 * stride };
                let block = SemanticEncoderBlock {
                    res_units: residual_units(c_in, cfg, device),
                    conv: conv(c_in, c_out, kernel, stride, 1, true, device),
                };
                c_in = c_out;
                block
            })
            .collect();
        Self { conv: conv(hidden, hidden, k, 1, 1, false, device), conv_blocks }
    }

    /// Output frames for `frames` input frames.
    pub fn output_frames(&self, frames: usize) -> usize {
        self.conv_blocks.iter().fold(conv_len(&self.conv, frames), |n, b| conv_len(&b.conv, n))
    }

    /// [`Self::forward`] of rows with `frames[i]` valid frames each (see
    /// [`crate::AcousticEncoder::forward_masked`]): each conv sees zeros after a row's valid frames.
    pub fn forward_masked(&self, x: Tensor<3>, frames: &[usize]) -> Tensor<3> {
        let mut lengths = frames.to_vec();
        let mut x = self.conv.forward(zero_tail(x, 2, &lengths));
        lengths.iter_mut().for_each(|n| *n = conv_len(&self.conv, *n));
        for block in &self.conv_blocks {
            for unit in &block.res_units {
                x = unit.forward(zero_tail(x, 2, &lengths));
            }
            x = block.conv.forward(zero_tail(x, 2, &lengths));
            lengths.iter_mut().for_each(|n| *n = conv_len(&block.conv, *n));
        }
        x
    }

    /// `[batch, hidden, frames] -> [batch, hidden * last_ratio, frames / prod(strides)]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let mut x = self.conv.forward(x);
        for block in &self.conv_blocks {
            for unit in &block.res_units {
                x = unit.forward(x);
            }
            x = block.conv.forward(x);
        }
        x
    }
}

/// The up-sampling conv of a decoder block: a plain conv at stride 1, a transposed conv otherwise.
#[derive(Module, Debug)]
pub enum UpConv {
    /// Stride 1: kernel 3, padding 1, with bias.
    Conv(Conv1d),
    /// Stride s: kernel 2s, padding (s+1)/2, output padding s%2, no bias.
    Transposed(ConvTranspose1d),
}

/// An up-sampling conv, then residual units.
#[derive(Module, Debug)]
pub struct SemanticDecoderBlock {
    /// The up-sampling conv.
    pub conv: UpConv,
    /// Residual units at the block's output width.
    pub res_units: Vec<ResidualUnit>,
}

/// The quantized semantic half -> reconstructed teacher features (trained with MSE).
#[derive(Module, Debug)]
pub struct SemanticDecoder {
    /// Input conv, no bias.
    pub conv1: Conv1d,
    /// The blocks.
    pub conv_blocks: Vec<SemanticDecoderBlock>,
    /// Output conv, no bias.
    pub conv2: Conv1d,
}

impl SemanticDecoder {
    /// Builds it for a teacher of width `hidden`.
    pub fn new(hidden: usize, cfg: &SemanticAdapterConfig, device: &Device) -> Self {
        let k = cfg.kernel_size;
        let ratios = &cfg.channel_ratios;
        let conv_blocks = cfg
            .strides
            .iter()
            .enumerate()
            .map(|(i, &stride)| {
                let c_in = hidden * ratios[i];
                let c_out = ratios.get(i + 1).map_or(hidden, |r| hidden * r);
                let up = if stride == 1 {
                    UpConv::Conv(conv(c_in, c_out, 3, 1, 1, true, device))
                } else {
                    UpConv::Transposed(
                        ConvTranspose1dConfig::new([c_in, c_out], 2 * stride)
                            .with_stride(stride)
                            .with_padding(stride.div_ceil(2))
                            .with_padding_out(stride % 2)
                            .with_bias(false)
                            .init(device),
                    )
                };
                SemanticDecoderBlock { conv: up, res_units: residual_units(c_out, cfg, device) }
            })
            .collect();
        Self {
            conv1: conv(hidden, hidden * ratios[0], k, 1, 1, false, device),
            conv_blocks,
            conv2: conv(hidden, hidden, k, 1, 1, false, device),
        }
    }

    /// `[batch, hidden * first_ratio, frames] -> [batch, hidden, frames * prod(strides)]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let mut x = self.conv1.forward(x);
        for block in &self.conv_blocks {
            x = match &block.conv {
                UpConv::Conv(c) => c.forward(x),
                UpConv::Transposed(c) => c.forward(x),
            };
            for unit in &block.res_units {
                x = unit.forward(x);
            }
        }
        self.conv2.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn encoder_and_decoder_keep_or_restore_the_frame_rate() {
        let device = Device::flex();
        let x = Tensor::<3>::random([2, 8, 10], Distribution::Normal(0.0, 1.0), &device);
        let same = SemanticAdapterConfig::default();
        assert_eq!(SemanticEncoder::new(8, &same, &device).forward(x.clone()).dims(), [2, 8, 10]);
        assert_eq!(SemanticDecoder::new(8, &same, &device).forward(x.clone()).dims(), [2, 8, 10]);
        // Strided blocks (2 then 1): the encoder halves, the decoder doubles back.
        let strided = SemanticAdapterConfig { strides: vec![2, 1], ..same };
        let down = SemanticEncoder::new(8, &strided, &device).forward(x);
        assert_eq!(down.dims(), [2, 8, 5]);
        let dec = SemanticDecoder::new(8, &strided, &device);
        assert!(matches!(dec.conv_blocks[0].conv, UpConv::Transposed(_)));
        assert_eq!(dec.forward(down).dims(), [2, 8, 10]);
    }
}
