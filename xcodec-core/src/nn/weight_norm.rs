//! Weight-normalized convolutions: `weight = g * v / ||v||`, the norm taken over every dim but the first
//! (output channels for a conv, input channels for a transposed conv, as torch's `weight_norm(dim=0)`).

use crate::nn::rows::{host_values, map_full_rows};
use burn::module::{Initializer, Module, Param};
use burn::nn::conv::{Conv1dConfig, ConvTranspose1dConfig};
use burn::tensor::{Device, Tensor};

/// `g * v / ||v||` with the norm over dims 1 and 2 of a rank-3 weight. On the CPU backend at inference one
/// fused pass over `v`'s rows (burn's element-wise ops took ~170 ms for the 8.4 M weights of the DAC decoder's
/// first up-sampling conv, about as long as the conv itself); composed from tensor ops elsewhere.
pub fn fold_weight_norm(g: Tensor<3>, v: Tensor<3>) -> Tensor<3> {
    let [rows, inner, kernel] = v.dims();
    let fused = map_full_rows(v.reshape([rows, inner * kernel]), || {
        let g = host_values(g.clone());
        move |row: usize, out: &mut [f32], input: &[f32]| {
            let norm = input.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
            let scale = (g[row % g.len()] as f64 / norm) as f32;
            for (o, &x) in out.iter_mut().zip(input) {
                *o = x * scale;
            }
        }
    });
    match fused {
        Ok(w) => w.reshape([rows, inner, kernel]),
        Err(v) => {
            let v = v.reshape([rows, inner, kernel]);
            let norm = v.clone().powi_scalar(2).sum_dim(2).sum_dim(1).sqrt();
            v * (g / norm)
        }
    }
}

/// The filter norm of burn's default Kaiming-uniform init (gain 1/sqrt(3)): `sqrt(fan_in * 1 / (3 fan_in))`.
const INIT_NORM: f64 = 0.577_350_269_189_625_8;

/// A fresh `g` of `shape`: the expected norm of a freshly initialised `v`, so a new conv starts at the scale
/// of a plain conv. Lazy, like burn's own parameters: a model that is loaded right after it is built never
/// spends time drawing weights it overwrites.
fn initial_g(shape: [usize; 3], device: &Device) -> Param<Tensor<3>> {
    Initializer::Constant { value: INIT_NORM }.init_with(shape, None, None, device)
}

/// A weight-normed Conv1d with explicit symmetric padding.
#[derive(Module, Debug)]
pub struct WnConv1d {
    /// Magnitude per output channel, `[out, 1, 1]`.
    pub weight_g: Param<Tensor<3>>,
    /// Direction, `[out, in, kernel]`.
    pub weight_v: Param<Tensor<3>>,
    /// Bias, `[out]`.
    pub bias: Option<Param<Tensor<1>>>,
    /// Stride.
    pub stride: usize,
    /// Dilation.
    pub dilation: usize,
    /// Zero padding on each side.
    pub padding: usize,
}

impl WnConv1d {
    /// A conv `in -> out`: `v` Kaiming uniform like torch, `g` its expected norm (see [`initial_g`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        channels_in: usize,
        channels_out: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        padding: usize,
        bias: bool,
        device: &Device,
    ) -> Self {
        let conv = Conv1dConfig::new(channels_in, channels_out, kernel).with_bias(bias).init(device);
        Self {
            weight_g: initial_g([channels_out, 1, 1], device),
            weight_v: conv.weight,
            bias: conv.bias,
            stride,
            dilation,
            padding,
        }
    }

    /// The effective weight `g * v / ||v||`.
    pub fn weight(&self) -> Tensor<3> {
        fold_weight_norm(self.weight_g.val(), self.weight_v.val())
    }

    /// `[batch, in, time] -> [batch, out, time']`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        crate::nn::conv::conv1d(
            x,
            self.weight(),
            self.bias.as_ref().map(|b| b.val()),
            self.stride,
            self.padding,
            self.dilation,
        )
    }

    /// Output length for `len` input samples.
    pub fn output_len(&self, len: usize) -> usize {
        let kernel = self.weight_v.lazy_shape().dims::<3>()[2];
        (len + 2 * self.padding).saturating_sub(self.dilation * (kernel - 1) + 1) / self.stride + 1
    }
}

/// A weight-normed ConvTranspose1d.
#[derive(Module, Debug)]
pub struct WnConvTranspose1d {
    /// Magnitude per input channel, `[in, 1, 1]`.
    pub weight_g: Param<Tensor<3>>,
    /// Direction, `[in, out, kernel]`.
    pub weight_v: Param<Tensor<3>>,
    /// Bias, `[out]`.
    pub bias: Option<Param<Tensor<1>>>,
    /// Stride.
    pub stride: usize,
    /// Padding removed on each side.
    pub padding: usize,
    /// Extra samples added on the right.
    pub output_padding: usize,
}

impl WnConvTranspose1d {
    /// A transposed conv `in -> out`: `v` Kaiming uniform like torch, `g` its expected norm.
    pub fn new(
        channels_in: usize,
        channels_out: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        output_padding: usize,
        device: &Device,
    ) -> Self {
        let conv = ConvTranspose1dConfig::new([channels_in, channels_out], kernel).init(device);
        Self {
            weight_g: initial_g([channels_in, 1, 1], device),
            weight_v: conv.weight,
            bias: conv.bias,
            stride,
            padding,
            output_padding,
        }
    }

    /// The effective weight `g * v / ||v||`, `[in, out, kernel]`.
    pub fn weight(&self) -> Tensor<3> {
        fold_weight_norm(self.weight_g.val(), self.weight_v.val())
    }

    /// `[batch, in, time] -> [batch, out, time * stride]` (for X-Codec's kernel/padding choice).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let weight = self.weight();
        let bias = self.bias.as_ref().map(|b| b.val());
        crate::nn::conv::conv_transpose1d(x, weight, bias, self.stride, self.padding, self.output_padding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn fused_fold_equals_the_composed_one_and_autodiff_keeps_its_gradient() {
        let device = Device::flex();
        device.seed(3);
        let g = Tensor::<3>::random([6, 1, 1], Distribution::Normal(1.0, 0.5), &device);
        let v = Tensor::<3>::random([6, 5, 7], Distribution::Normal(0.0, 1.0), &device);
        let want = v.clone() * (g.clone() / v.clone().powi_scalar(2).sum_dim(2).sum_dim(1).sqrt());
        let worst = (fold_weight_norm(g.clone(), v.clone()) - want).abs().max().into_scalar::<f32>();
        assert!(worst < 1e-6, "worst {worst}");

        let ad = device.autodiff();
        let on_ad = |t: Tensor<3>| Tensor::<3>::from_data(t.to_data(), &ad).require_grad();
        let (g, v) = (on_ad(g), on_ad(v));
        let grads = fold_weight_norm(g.clone(), v.clone()).sum().backward();
        assert!(g.grad(&grads).is_some() && v.grad(&grads).is_some());
    }
}
