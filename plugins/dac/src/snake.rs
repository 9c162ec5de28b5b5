//! Snake activation: `x + sin(alpha x)^2 / (alpha + 1e-9)`, one `alpha` per channel.
//!
//! On the CPU backend at inference this is one fused, vectorised pass over memory on every core
//! ([`xcodec_core::nn::rows`]); elsewhere (autodiff, GPU backends) it is composed from tensor ops.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};
use xcodec_core::nn::rows::{host_values, map_elements, map_rows};

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
        let fused = map_rows(x, || {
            let alphas = host_values(alpha.clone());
            move |row: usize, out: &mut [f32], input: &[f32]| snake_block(out, input, alphas[row % alphas.len()])
        });
        fused.unwrap_or_else(|x| composed(x, alpha))
    }
}

/// Snake from tensor ops (differentiable, any backend).
fn composed(x: Tensor<3>, alpha: Tensor<3>) -> Tensor<3> {
    let s = (x.clone() * alpha.clone()).sin().powi_scalar(2);
    x + s * (alpha + 1e-9).recip()
}

/// `out[i] = input[i] + sin(alpha input[i])^2 / (alpha + 1e-9)`, vectorised.
fn snake_block(out: &mut [f32], input: &[f32], alpha: f32) {
    let inv = 1.0 / (alpha + 1e-9);
    map_elements(out, input, |x| x + sin_squared(alpha * x) * inv);
}

/// `sin(y)^2` without branches (so loops over it vectorise): `y = k pi + r` with `|r| <= pi/2` (Cody-Waite,
/// pi in three parts; `sin(y)^2 = sin(r)^2`), then the Taylor series of `sin` of degree 13 on `r` (error
/// < 1e-9 there). Within 3e-7 of the exact value for `|y| < 1e5`.
#[inline(always)]
fn sin_squared(y: f32) -> f32 {
    const INV_PI: f32 = std::f32::consts::FRAC_1_PI;
    // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer (ties to even) for |v| < 2^22.
    const ROUND: f32 = 12_582_912.0;
    const PI_A: f32 = 3.140_625;
    const PI_B: f32 = 9.670_257_6e-4;
    const PI_C: f32 = 6.278_329_5e-7;
    let k = (y * INV_PI + ROUND) - ROUND;
    let r = ((y - k * PI_A) - k * PI_B) - k * PI_C;
    let r2 = r * r;
    let p = 1.0
        + r2 * (-1.0 / 6.0
            + r2 * (1.0 / 120.0
                + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362_880.0 + r2 * (-1.0 / 39_916_800.0 + r2 / 6_227_020_800.0)))));
    let s = r * p;
    s * s
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn sin_squared_matches_std_over_a_wide_range() {
        let mut worst = 0f64;
        for i in -200_000..=200_000 {
            let y = i as f32 * 1e-3 * 7.3;
            let err = (sin_squared(y) as f64 - (y as f64).sin().powi(2)).abs();
            worst = worst.max(err);
        }
        assert!(worst < 4e-7, "worst abs error {worst}");
    }

    #[test]
    fn fused_equals_composed_and_leaves_shared_inputs_alone() {
        let device = Device::flex();
        let x = Tensor::<3>::from_data(
            TensorData::new((0..2 * 3 * 700).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.07).collect(), [2, 3, 700]),
            &device,
        );
        let mut snake = Snake1d::new(3, &device);
        snake.alpha =
            Param::from_tensor(Tensor::from_data(TensorData::new(vec![0.5f32, 1.0, 3.7], [1, 3, 1]), &device));
        let want = composed(x.clone(), snake.alpha.val()).into_data().try_into_vec::<f32>().unwrap();
        let before = x.clone().into_data();
        // Shared input (x is still alive): out of place.
        let shared = snake.forward(x.clone()).into_data().try_into_vec::<f32>().unwrap();
        x.clone().into_data().assert_eq(&before, true);
        // Unique input: in place, in blocks.
        let unique = snake.forward(x * 1.0).into_data().try_into_vec::<f32>().unwrap();
        for got in [shared, unique] {
            let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(worst < 1e-5, "worst {worst}");
        }
    }
}
