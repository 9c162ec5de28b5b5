//! 2-D convolutions of the discriminators: weight-normed (`weight = g * v / ||v||`, torch's
//! `weight_norm(dim=0)`) or plain.

use burn::module::{Initializer, Module, Param};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};

/// Geometry of one 2-D convolution; padding is symmetric zero padding per axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dSpec {
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Kernel `[height, width]`.
    pub kernel: [usize; 2],
    /// Stride.
    pub stride: [usize; 2],
    /// Zero padding on each side.
    pub padding: [usize; 2],
    /// Dilation.
    pub dilation: [usize; 2],
}

impl Conv2dSpec {
    /// A stride-1, undilated, unpadded `kernel` conv `channels_in -> channels_out`.
    pub fn new(channels_in: usize, channels_out: usize, kernel: [usize; 2]) -> Self {
        Self { channels_in, channels_out, kernel, stride: [1, 1], padding: [0, 0], dilation: [1, 1] }
    }

    /// With this stride.
    pub fn stride(self, stride: [usize; 2]) -> Self {
        Self { stride, ..self }
    }

    /// With this padding.
    pub fn padding(self, padding: [usize; 2]) -> Self {
        Self { padding, ..self }
    }

    /// With this dilation.
    pub fn dilation(self, dilation: [usize; 2]) -> Self {
        Self { dilation, ..self }
    }

    /// Output size along axis `axis` (0 = height, 1 = width) for `len` input; 0 when it does not fit.
    pub fn output_len(&self, axis: usize, len: usize) -> usize {
        let span = self.dilation[axis] * (self.kernel[axis] - 1) + 1;
        let padded = len + 2 * self.padding[axis];
        if padded < span { 0 } else { (padded - span) / self.stride[axis] + 1 }
    }

    fn burn_conv(&self, device: &Device) -> Conv2d {
        let [ph, pw] = self.padding;
        Conv2dConfig::new([self.channels_in, self.channels_out], self.kernel)
            .with_stride(self.stride)
            .with_dilation(self.dilation)
            .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
            .init(device)
    }
}

/// Filter norm of burn's default Kaiming-uniform init (gain 1/sqrt(3)), so a fresh weight-normed conv starts
/// at the scale of a plain one (as `xcodec_core::nn::weight_norm` does for 1-D).
const INIT_NORM: f64 = 0.577_350_269_189_625_8;

/// A weight-normed Conv2d.
#[derive(Module, Debug)]
pub struct WnConv2d {
    /// Magnitude per output channel, `[out, 1, 1, 1]`.
    pub weight_g: Param<Tensor<4>>,
    /// Direction, `[out, in, kernel_h, kernel_w]`.
    pub weight_v: Param<Tensor<4>>,
    /// Bias, `[out]`.
    pub bias: Option<Param<Tensor<1>>>,
    /// Stride.
    pub stride: [usize; 2],
    /// Zero padding on each side.
    pub padding: [usize; 2],
    /// Dilation.
    pub dilation: [usize; 2],
}

impl WnConv2d {
    /// A conv of `spec` with a bias: `v` Kaiming uniform like torch, `g` its expected norm.
    pub fn new(spec: Conv2dSpec, device: &Device) -> Self {
        let conv = spec.burn_conv(device);
        Self {
            weight_g: Initializer::Constant { value: INIT_NORM }.init_with(
                [spec.channels_out, 1, 1, 1],
                None,
                None,
                device,
            ),
            weight_v: conv.weight,
            bias: conv.bias,
            stride: spec.stride,
            padding: spec.padding,
            dilation: spec.dilation,
        }
    }

    /// The effective weight `g * v / ||v||`, the norm over all dims but the first.
    pub fn weight(&self) -> Tensor<4> {
        let v = self.weight_v.val();
        let norm = v.clone().powi_scalar(2).sum_dim(3).sum_dim(2).sum_dim(1).sqrt();
        v * (self.weight_g.val() / norm)
    }

    /// `[batch, in, h, w] -> [batch, out, h', w']`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let options = ConvOptions::new(self.stride, self.padding, self.dilation, 1);
        conv2d(x, self.weight(), self.bias.as_ref().map(|b| b.val()), options)
    }
}

/// A Conv2d with or without weight norm (EnCodec's `NormConv2d` with `norm` = `"none"` / `"weight_norm"`).
#[derive(Module, Debug)]
pub enum NormConv2d {
    /// `weight`, `bias`.
    Plain(Conv2d),
    /// `weight_g`, `weight_v`, `bias`.
    WeightNorm(WnConv2d),
}

impl NormConv2d {
    /// A conv of `spec`, weight-normed or not.
    pub fn new(spec: Conv2dSpec, weight_norm: bool, device: &Device) -> Self {
        if weight_norm { Self::WeightNorm(WnConv2d::new(spec, device)) } else { Self::Plain(spec.burn_conv(device)) }
    }

    /// `[batch, in, h, w] -> [batch, out, h', w']`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::Plain(conv) => conv.forward(x),
            Self::WeightNorm(conv) => conv.forward(x),
        }
    }
}
