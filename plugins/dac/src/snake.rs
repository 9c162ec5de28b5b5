//! Snake activation: `x + sin(alpha x)^2 / (alpha + 1e-9)`, one `alpha` per channel.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

/// Snake with a learned `alpha` of shape `[1, channels, 1]`.
#[derive(Module, Debug)]
pub struct Snake1d {
    /// Frequency per channel.
    pub alpha: Param<Tensor<3>>,
}

impl Snake1d {
    /// `alpha = 1` for every channel (DAC's init).
    pub fn new(channels: usize, device: &Device) -> Self {
        Self { alpha: Param::from_tensor(Tensor::ones([1, channels, 1], device)) }
    }

    /// `[batch, channels, time]` -> same shape.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let alpha = self.alpha.val();
        let s = (x.clone() * alpha.clone()).sin().powi_scalar(2);
        x + s * (alpha + 1e-9).recip()
    }
}
