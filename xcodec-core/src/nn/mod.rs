//! Layers and CPU kernels shared by several plugins: weight-normed convs, the GEMM and length-invariant
//! (`exact`) convs on the `flex` backend, fused activations. A fenced module: it uses burn and nothing else of
//! this crate, so it can move to a crate of its own unchanged. Its criterion benches sit with the plugins that
//! run the kernels (`plugins/*/benches`).

pub mod conv;
pub mod exact;
pub mod gelu;
pub mod rows;
pub mod weight_norm;

pub use weight_norm::{WnConv1d, WnConvTranspose1d};
