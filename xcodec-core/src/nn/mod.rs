//! Layers and CPU kernels shared by several plugins: weight-normed convs, the GEMM and length-invariant
//! (`exact`) convs on the `flex` backend, fused activations. A fenced module: it uses burn and nothing else of
//! this crate, so it can move to a crate of its own unchanged. Its criterion benches sit with the plugins that
//! run the kernels (`plugins/*/benches`).

pub mod conv;
pub mod exact;
pub mod gelu;
pub mod masked;
pub mod rows;
pub mod weight_norm;

pub use weight_norm::{WnConv1d, WnConvTranspose1d};

/// Worst absolute difference of two tensors, relative to the largest magnitude of `want` (at least 1): the
/// measure for comparing sums of many products, whose rounding grows with their size and differs between SIMD
/// widths (AVX2 and AVX-512 reorder them).
#[cfg(test)]
pub(crate) fn relative_error<const D: usize>(got: burn::Tensor<D>, want: burn::Tensor<D>) -> f32 {
    let scale = want.clone().abs().max().into_scalar::<f32>().max(1.0);
    (got - want).abs().max().into_scalar::<f32>() / scale
}
