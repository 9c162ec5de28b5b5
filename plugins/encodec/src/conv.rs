//! EnCodec's convolutions: "same"-style padding computed per call (causal: all on the left), the extra right
//! padding that makes the last frame whole, weight norm or a time group norm, and the transposed conv's trim.

use crate::carry::{SeanetStream, Slot};
use crate::config::{NormType, PadMode};
use burn::module::{Initializer, Module, Param};
use burn::nn::conv::{Conv1d, Conv1dConfig, ConvTranspose1d, ConvTranspose1dConfig};
use burn::tensor::ops::PadMode as TensorPadMode;
use burn::tensor::{Device, Tensor};
use xcodec_core::nn::masked::{pad_to, per_row};
use xcodec_core::nn::{WnConv1d, WnConvTranspose1d};

/// GroupNorm with one group: each example normalised over channels and time, then a per-channel affine.
#[derive(Module, Debug)]
pub struct TimeGroupNorm {
    /// Scale per channel, `[channels]`.
    pub weight: Param<Tensor<1>>,
    /// Shift per channel, `[channels]`.
    pub bias: Param<Tensor<1>>,
}

/// torch's GroupNorm epsilon.
const GROUP_NORM_EPS: f64 = 1e-5;

impl TimeGroupNorm {
    /// Identity affine (scale 1, shift 0), like torch.
    pub fn new(channels: usize, device: &Device) -> Self {
        Self {
            weight: Initializer::Ones.init_with([channels], None, None, device),
            bias: Initializer::Zeros.init_with([channels], None, None, device),
        }
    }

    /// `[batch, channels, time]` -> same shape.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, c, t] = x.dims();
        let flat = x.clone().reshape([b, c * t]);
        let mean = flat.clone().mean_dim(1);
        let var = (flat - mean.clone()).powi_scalar(2).mean_dim(1);
        let normed = (x - mean.reshape([b, 1, 1])) / (var + GROUP_NORM_EPS).sqrt().reshape([b, 1, 1]);
        normed * self.weight.val().reshape([1, c, 1]) + self.bias.val().reshape([1, c, 1])
    }
}

/// The weights of a conv: weight-normed or plain (the checkpoint names `conv.weight_g`/`conv.weight_v` or `conv.weight`).
#[derive(Module, Debug)]
pub enum ConvWeights {
    /// `weight_norm`.
    WeightNorm(WnConv1d),
    /// `time_group_norm` (the norm follows the conv).
    Plain(Conv1d),
}

impl ConvWeights {
    /// The effective `(weight [out, in, kernel], bias [out])`.
    pub fn weight_and_bias(&self) -> (Tensor<3>, Option<Tensor<1>>) {
        match self {
            Self::WeightNorm(c) => (c.weight(), c.bias.as_ref().map(|b| b.val())),
            Self::Plain(c) => (c.weight.val(), c.bias.as_ref().map(|b| b.val())),
        }
    }
}

/// A conv with EnCodec's padding (`EncodecConv1d`).
#[derive(Module, Debug)]
pub struct SeanetConv1d {
    /// The convolution, unpadded.
    pub conv: ConvWeights,
    /// Time group norm after the conv (`time_group_norm` only).
    pub norm: Option<TimeGroupNorm>,
    /// All padding on the left.
    pub causal: bool,
    /// What to pad with.
    #[module(skip)]
    pub pad_mode: PadMode,
}

impl SeanetConv1d {
    /// A conv `in -> out` of `kernel`, `stride`, `dilation` with `norm`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        channels_in: usize,
        channels_out: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        norm: NormType,
        causal: bool,
        pad_mode: PadMode,
        device: &Device,
    ) -> Self {
        let (conv, norm) = match norm {
            NormType::WeightNorm => (
                ConvWeights::WeightNorm(WnConv1d::new(
                    channels_in,
                    channels_out,
                    kernel,
                    stride,
                    dilation,
                    0,
                    true,
                    device,
                )),
                None,
            ),
            NormType::TimeGroupNorm => (
                ConvWeights::Plain(
                    Conv1dConfig::new(channels_in, channels_out, kernel)
                        .with_stride(stride)
                        .with_dilation(dilation)
                        .init(device),
                ),
                Some(TimeGroupNorm::new(channels_out, device)),
            ),
        };
        Self { conv, norm, causal, pad_mode }
    }

    /// `(kernel, stride, dilation)`.
    pub(crate) fn geometry(&self) -> (usize, usize, usize) {
        match &self.conv {
            ConvWeights::WeightNorm(c) => (c.weight_v.lazy_shape().dims::<3>()[2], c.stride, c.dilation),
            ConvWeights::Plain(c) => (c.kernel_size, c.stride, c.dilation),
        }
    }

    /// Stride.
    pub fn stride(&self) -> usize {
        self.geometry().1
    }

    /// Output channels.
    pub fn channels_out(&self) -> usize {
        match &self.conv {
            ConvWeights::WeightNorm(c) => c.weight_v.lazy_shape().dims::<3>()[0],
            ConvWeights::Plain(c) => c.weight.lazy_shape().dims::<3>()[0],
        }
    }

    /// Input channels.
    pub fn channels_in(&self) -> usize {
        match &self.conv {
            ConvWeights::WeightNorm(c) => c.weight_v.lazy_shape().dims::<3>()[1],
            ConvWeights::Plain(c) => c.weight.lazy_shape().dims::<3>()[1],
        }
    }

    /// `(left, right)` padding for `len` input samples: the effective kernel minus the stride, plus what makes
    /// the last window whole (so the output has `ceil(len / stride)` samples).
    pub fn padding(&self, len: usize) -> (usize, usize) {
        let (kernel, stride, dilation) = self.geometry();
        let total = (kernel - 1) * dilation + 1 - stride.min((kernel - 1) * dilation + 1);
        let extra = len.div_ceil(stride) * stride - len;
        if self.causal {
            (total, extra)
        } else {
            let right = total / 2;
            (total - right, right + extra)
        }
    }

    /// Output length for `len` input samples.
    pub fn output_len(&self, len: usize) -> usize {
        len.div_ceil(self.stride())
    }

    /// `[batch, in, time] -> [batch, out, ceil(time / stride)]`. A conv that streams computes with
    /// [`xcodec_core::nn::exact`] here as in [`Self::forward_padded`], so that streams equal the whole clip bit
    /// for bit.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let (left, right) = self.padding(x.dims()[2]);
        let y = self.conv_unpadded(pad1d(x, left, right, self.pad_mode));
        match &self.norm {
            Some(norm) => norm.forward(y),
            None => y,
        }
    }

    /// [`Self::forward`] of rows with `lengths` valid steps (updated to the output's): each row is padded
    /// after its own valid steps as it would be alone (reflection included), all rows to the width a whole row
    /// gets, and the time group norm takes each row's valid steps only.
    pub fn forward_masked(&self, x: Tensor<3>, lengths: &mut [usize]) -> Tensor<3> {
        let width = x.dims()[2];
        let (left, right) = self.padding(width);
        let y = if lengths.iter().all(|&len| len == width) {
            self.conv_unpadded(pad1d(x, left, right, self.pad_mode))
        } else {
            let padded = left + width + right;
            let rows = lengths
                .iter()
                .enumerate()
                .map(|(i, &len)| {
                    let (l, r) = self.padding(len);
                    pad_to(pad1d(x.clone().narrow(0, i, 1).narrow(2, 0, len), l, r, self.pad_mode), 2, padded)
                })
                .collect();
            self.conv_unpadded(Tensor::cat(rows, 0))
        };
        lengths.iter_mut().for_each(|n| *n = self.output_len(*n));
        match &self.norm {
            Some(norm) => {
                let width = y.dims()[2];
                per_row(y, 2, lengths, width, |row| norm.forward(row))
            }
            None => y,
        }
    }

    /// The conv of an input already padded (exact when it streams, see [`Self::forward_padded`]).
    fn conv_unpadded(&self, x: Tensor<3>) -> Tensor<3> {
        if self.streamable() {
            return self.forward_padded(x);
        }
        match &self.conv {
            ConvWeights::WeightNorm(c) => c.forward(x),
            ConvWeights::Plain(c) => c.forward(x),
        }
    }

    /// The length-invariant conv of an input already padded (by [`pad1d`] or by the stream's past), for the
    /// convs that stream: no time group norm.
    pub(crate) fn forward_padded(&self, x: Tensor<3>) -> Tensor<3> {
        let (_, stride, dilation) = self.geometry();
        let (weight, bias) = self.conv.weight_and_bias();
        xcodec_core::nn::exact::conv1d(x, weight, bias, stride, dilation)
    }

    /// Whether this conv streams exactly: causal, not reflecting, no time group norm.
    pub fn streamable(&self) -> bool {
        self.causal && self.pad_mode != PadMode::Reflect && self.norm.is_none()
    }

    pub(crate) fn forward_step(&self, x: Tensor<3>, stream: &mut SeanetStream) -> Tensor<3> {
        let (kernel, stride, dilation) = self.geometry();
        let total = ((kernel - 1) * dilation + 1).saturating_sub(stride);
        let slot = stream.next();
        if total == 0 {
            return self.forward(x);
        }
        let [b, c, _] = x.dims();
        let past = match slot {
            Slot::Inputs(t) => (**t).clone(),
            _ if self.pad_mode == PadMode::Replicate => x.clone().narrow(2, 0, 1).repeat_dim(2, total),
            _ => Tensor::zeros([b, c, total], &x.device()),
        };
        let samples = x.dims()[2];
        let full = Tensor::cat(vec![past, x], 2);
        let len = full.dims()[2];
        *slot = Slot::Inputs(Box::new(full.clone().narrow(2, len - total, total)));
        // The past stands in for the left padding. Chunks of whole frames need no right padding; the last chunk of
        // a stream that ends inside a frame gets the padding the whole-clip forward adds to make its last window
        // whole (all earlier chunks being multiples of the stride, the same amount).
        let full = pad1d(full, 0, samples.div_ceil(stride) * stride - samples, self.pad_mode);
        self.forward_padded(full)
    }
}

/// Pads the last dim like EnCodec's `_pad1d`: a reflection of a signal shorter than the padding first gets
/// zeros on the right (removed again afterwards), so short inputs work.
pub fn pad1d(x: Tensor<3>, left: usize, right: usize, mode: PadMode) -> Tensor<3> {
    if left == 0 && right == 0 {
        return x;
    }
    match mode {
        PadMode::Constant => x.pad([(left, right)], TensorPadMode::Constant(0.0)),
        PadMode::Replicate => x.pad([(left, right)], TensorPadMode::Edge),
        PadMode::Reflect => {
            let len = x.dims()[2];
            let max_pad = left.max(right);
            let extra = if len <= max_pad { max_pad - len + 1 } else { 0 };
            let x = if extra > 0 { x.pad([(0, extra)], TensorPadMode::Constant(0.0)) } else { x };
            let padded = x.pad([(left, right)], TensorPadMode::Reflect);
            let end = padded.dims()[2] - extra;
            padded.narrow(2, 0, end)
        }
    }
}

/// The weights of a transposed conv: weight-normed or plain.
#[derive(Module, Debug)]
pub enum ConvTransposeWeights {
    /// `weight_norm`.
    WeightNorm(WnConvTranspose1d),
    /// `time_group_norm`.
    Plain(ConvTranspose1d),
}

impl ConvTransposeWeights {
    /// The effective `(weight [in, out, kernel], bias [out])`.
    pub fn weight_and_bias(&self) -> (Tensor<3>, Option<Tensor<1>>) {
        match self {
            Self::WeightNorm(c) => (c.weight(), c.bias.as_ref().map(|b| b.val())),
            Self::Plain(c) => (c.weight.val(), c.bias.as_ref().map(|b| b.val())),
        }
    }
}

/// A transposed conv whose padding is trimmed afterwards (`EncodecConvTranspose1d`): output `time * stride`.
#[derive(Module, Debug)]
pub struct SeanetConvTranspose1d {
    /// The transposed convolution, unpadded.
    pub conv: ConvTransposeWeights,
    /// Time group norm after the conv (`time_group_norm` only).
    pub norm: Option<TimeGroupNorm>,
    /// Trim on the right (by `trim_right_ratio`) rather than on both sides.
    pub causal: bool,
    /// Share of the trim taken on the right when causal.
    pub trim_right_ratio: f64,
}

impl SeanetConvTranspose1d {
    /// A transposed conv `in -> out` of `kernel` and `stride`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        channels_in: usize,
        channels_out: usize,
        kernel: usize,
        stride: usize,
        norm: NormType,
        causal: bool,
        trim_right_ratio: f64,
        device: &Device,
    ) -> Self {
        let (conv, norm) = match norm {
            NormType::WeightNorm => (
                ConvTransposeWeights::WeightNorm(WnConvTranspose1d::new(
                    channels_in,
                    channels_out,
                    kernel,
                    stride,
                    0,
                    0,
                    device,
                )),
                None,
            ),
            NormType::TimeGroupNorm => (
                ConvTransposeWeights::Plain(
                    ConvTranspose1dConfig::new([channels_in, channels_out], kernel).with_stride(stride).init(device),
                ),
                Some(TimeGroupNorm::new(channels_out, device)),
            ),
        };
        Self { conv, norm, causal, trim_right_ratio }
    }

    /// `(kernel, stride)`.
    pub(crate) fn geometry(&self) -> (usize, usize) {
        match &self.conv {
            ConvTransposeWeights::WeightNorm(c) => (c.weight_v.lazy_shape().dims::<3>()[2], c.stride),
            ConvTransposeWeights::Plain(c) => (c.kernel_size, c.stride),
        }
    }

    /// Up-sampling factor.
    pub fn stride(&self) -> usize {
        self.geometry().1
    }

    /// `(left, right)` samples trimmed from the full transposed-conv output.
    pub fn trim(&self) -> (usize, usize) {
        let (kernel, stride) = self.geometry();
        let total = kernel.saturating_sub(stride);
        let right = if self.causal { (total as f64 * self.trim_right_ratio).ceil() as usize } else { total / 2 };
        (total - right, right)
    }

    /// `[batch, in, time] -> [batch, out, time * stride]` (for kernel >= stride). One that streams computes with
    /// [`xcodec_core::nn::exact`] here as in [`Self::forward_after`], so that streams equal the whole clip bit
    /// for bit.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        if self.streamable() {
            return self.forward_after(x, 0);
        }
        let y = match &self.conv {
            ConvTransposeWeights::WeightNorm(c) => c.forward(x),
            ConvTransposeWeights::Plain(c) => c.forward(x),
        };
        let y = match &self.norm {
            Some(norm) => norm.forward(y),
            None => y,
        };
        let (left, right) = self.trim();
        let len = y.dims()[2];
        y.narrow(2, left, len - left - right)
    }

    /// The samples of the frames of `x` after its first `history` (which were decoded before and only add
    /// their overlap), for the transposed convs that stream: `[batch, out, (time - history) * stride]`.
    pub(crate) fn forward_after(&self, x: Tensor<3>, history: usize) -> Tensor<3> {
        let (weight, bias) = self.conv.weight_and_bias();
        xcodec_core::nn::exact::conv_transpose1d_causal(x, weight, bias, self.stride(), history)
    }

    /// Whether this transposed conv streams exactly: all trimming on the right, no time group norm.
    pub fn streamable(&self) -> bool {
        self.causal && self.trim_right_ratio == 1.0 && self.norm.is_none()
    }

    pub(crate) fn forward_step(&self, x: Tensor<3>, stream: &mut SeanetStream) -> Tensor<3> {
        let (kernel, stride) = self.geometry();
        // The frames before this chunk whose kernels reach into it (zeros at the start, like the whole clip).
        let history = kernel.div_ceil(stride) - 1;
        let slot = stream.next();
        if history == 0 {
            return self.forward_after(x, 0);
        }
        let [b, c, frames] = x.dims();
        let past = match slot {
            Slot::Inputs(t) => (**t).clone(),
            _ => Tensor::zeros([b, c, history], &x.device()),
        };
        let full = Tensor::cat(vec![past, x], 2);
        *slot = Slot::Inputs(Box::new(full.clone().narrow(2, frames, history)));
        self.forward_after(full, history)
    }
}
