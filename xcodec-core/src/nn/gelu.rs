//! GELU (`x/2 (1 + erf(x / sqrt 2))`, the exact form torch uses by default), fused on the CPU backend.

use crate::nn::rows::{map_elements, map_rows};
use burn::tensor::Tensor;

/// GELU: one vectorised pass on both cores for `flex` tensors at inference (burn's own computes `erf` one
/// element at a time on one thread); burn's `gelu` elsewhere (autodiff, GPU backends).
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    map_rows(x, || |_row: usize, out: &mut [f32], input: &[f32]| map_elements(out, input, gelu_f32))
        .unwrap_or_else(burn::tensor::activation::gelu)
}

/// GELU of one value (branch-free, so loops over it vectorise).
#[inline(always)]
fn gelu_f32(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `erf` without branches: the rational approximation `x P(x^2) / Q(x^2)` on `[-4, 4]` (beyond, erf is
/// +-1 in f32) with the coefficients of Eigen's `generic_fast_erf_float`. Within 1e-6 of the exact value.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = -2.726_142_3e-10_f32;
    let p = p * x2 + 2.770_681_4e-8;
    let p = p * x2 - 2.101_024e-6;
    let p = p * x2 - 5.692_506_4e-5;
    let p = p * x2 - 7.349_906_3e-4;
    let p = p * x2 - 2.954_6e-3;
    let p = p * x2 - 1.609_603_3e-2;
    let q = -1.456_607_2e-5_f32;
    let q = q * x2 - 2.133_740_6e-4;
    let q = q * x2 - 1.682_827e-3;
    let q = q * x2 - 7.373_329_2e-3;
    let q = q * x2 - 1.426_474e-2;
    x * p / q
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn erf_is_within_1e6_of_libm() {
        let worst = (-60_000..=60_000)
            .map(|i| i as f32 * 1e-4)
            .map(|x| (erf(x) as f64 - libm::erf(x as f64)).abs())
            .fold(0f64, f64::max);
        assert!(worst < 1e-6, "worst abs error {worst}");
        assert!((erf(9.0) - 1.0).abs() < 1e-6 && (erf(-9.0) + 1.0).abs() < 1e-6);
    }

    #[test]
    fn fused_gelu_equals_burns() {
        let device = Device::flex();
        let values: Vec<f32> = (0..4 * 999).map(|i| (i as f32 - 2000.0) * 3e-3).collect();
        let x = Tensor::<2>::from_data(TensorData::new(values, [4, 999]), &device);
        let want = burn::tensor::activation::gelu(x.clone()).into_data().try_into_vec::<f32>().unwrap();
        let got = gelu(x).into_data().try_into_vec::<f32>().unwrap();
        let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 2e-6, "worst {worst}");
    }
}
