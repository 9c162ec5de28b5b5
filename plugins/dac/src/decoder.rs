//! DAC decoder: as X-Codec uses it (transposed convs with `output_padding = stride % 2`, no tanh) or as
//! descript's DAC has it (no output padding, a final tanh), per [`DacConfig`].

use crate::config::DacConfig;
use crate::encoder::DacResidualUnit;
use crate::snake::Snake1d;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use xcodec_core::AcousticDecoder;
use xcodec_core::nn::{WnConv1d, WnConvTranspose1d};

/// Snake, a transposed conv that halves the channels and up-samples by `stride`, three residual units.
#[derive(Module, Debug)]
pub struct DacDecoderBlock {
    /// Activation before the up-sampling conv.
    pub snake1: Snake1d,
    /// Kernel 2 x stride, padding ceil(stride / 2), output padding stride % 2 (X-Codec) or none (descript).
    pub conv_t1: WnConvTranspose1d,
    /// Dilation 1.
    pub res_unit1: DacResidualUnit,
    /// Dilation 3.
    pub res_unit2: DacResidualUnit,
    /// Dilation 9.
    pub res_unit3: DacResidualUnit,
}

impl DacDecoderBlock {
    fn new(input_dim: usize, stride: usize, output_padding: bool, device: &Device) -> Self {
        let out = input_dim / 2;
        let output_padding = if output_padding { stride % 2 } else { 0 };
        Self {
            snake1: Snake1d::new(input_dim, device),
            conv_t1: WnConvTranspose1d::new(
                input_dim,
                out,
                2 * stride,
                stride,
                stride.div_ceil(2),
                output_padding,
                device,
            ),
            res_unit1: DacResidualUnit::new(out, 1, device),
            res_unit2: DacResidualUnit::new(out, 3, device),
            res_unit3: DacResidualUnit::new(out, 9, device),
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self.conv_t1.forward(self.snake1.forward(x));
        self.res_unit3.forward(self.res_unit2.forward(self.res_unit1.forward(x)))
    }
}

/// Latent `[batch, latent_dim, frames]` -> waveform `[batch, 1, frames * hop]`.
#[derive(Module, Debug)]
pub struct DacDecoder {
    /// Kernel-7 conv, latent_dim -> decoder_width.
    pub conv1: WnConv1d,
    /// Up-sampling blocks.
    pub block: Vec<DacDecoderBlock>,
    /// Final activation.
    pub snake1: Snake1d,
    /// Kernel-7 conv to one channel.
    pub conv2: WnConv1d,
    /// A tanh on the output (descript's DAC).
    pub output_tanh: bool,
}

impl DacDecoder {
    /// Builds the decoder for `cfg`.
    pub fn new(cfg: &DacConfig, device: &Device) -> Self {
        let block = cfg
            .decoder_strides()
            .iter()
            .enumerate()
            .map(|(i, &s)| DacDecoderBlock::new(cfg.decoder_width >> i, s, cfg.odd_stride_output_padding, device))
            .collect();
        let out = cfg.decoder_width >> cfg.strides.len();
        Self {
            conv1: WnConv1d::new(cfg.latent_dim, cfg.decoder_width, 7, 1, 1, 3, true, device),
            block,
            snake1: Snake1d::new(out, device),
            conv2: WnConv1d::new(out, 1, 7, 1, 1, 3, true, device),
            output_tanh: cfg.output_tanh,
        }
    }
}

impl AcousticDecoder for DacDecoder {
    fn forward(&self, latent: Tensor<3>) -> Tensor<3> {
        let frames = latent.dims()[2];
        let mut x = self.conv1.forward(latent);
        for block in &self.block {
            x = block.forward(x);
        }
        let x = self.conv2.forward(self.snake1.forward(x));
        let x = if self.output_tanh { x.tanh() } else { x };
        // Without output padding, odd strides leave the output a few samples short of whole frames: those
        // samples are silence, so that the output is `frames * hop` long like every decoder's.
        let short = (frames * self.hop_length()).saturating_sub(x.dims()[2]);
        if short > 0 { x.pad([(0, short)], burn::tensor::ops::PadMode::Constant(0.0)) } else { x }
    }

    fn latent_dim(&self) -> usize {
        self.conv1.weight_v.lazy_shape().dims::<3>()[1]
    }

    fn hop_length(&self) -> usize {
        self.block.iter().map(|b| b.conv_t1.stride).product()
    }
}
