//! Layers shared by several plugins.

pub mod conv;
pub mod exact;
pub mod gelu;
pub mod rows;
pub mod weight_norm;

pub use weight_norm::{WnConv1d, WnConvTranspose1d};
