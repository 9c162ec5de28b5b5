//! Helpers shared by the integration tests: fixture paths, safetensors reading, the X-Codec parity check.
#![allow(dead_code)]

pub mod parity;

use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};
use std::path::PathBuf;

/// Path of a committed fixture.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel)
}

/// A fixture safetensors file held in memory.
pub struct Fixtures {
    bytes: Vec<u8>,
}

impl Fixtures {
    /// Reads `tests/fixtures/<rel>`.
    pub fn open(rel: &str) -> Self {
        let path = fixture(rel);
        Self { bytes: std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())) }
    }

    fn view(&self, name: &str) -> (Vec<usize>, Dtype, Vec<u8>) {
        let st = SafeTensors::deserialize(&self.bytes).expect("fixture is safetensors");
        let t = st.tensor(name).unwrap_or_else(|_| panic!("fixture has no tensor {name}"));
        (t.shape().to_vec(), t.dtype(), t.data().to_vec())
    }

    /// A float32 tensor.
    pub fn float<const D: usize>(&self, name: &str, device: &Device) -> Tensor<D> {
        let (shape, dtype, data) = self.view(name);
        assert_eq!(dtype, Dtype::F32, "{name}");
        let values: Vec<f32> = data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        Tensor::from_data(TensorData::new(values, shape), device)
    }

    /// An int64 tensor, flattened.
    pub fn int(&self, name: &str) -> Vec<i64> {
        let (_, dtype, data) = self.view(name);
        assert_eq!(dtype, Dtype::I64, "{name}");
        data.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()
    }
}

/// The software Vulkan's wgpu device (Mesa's llvmpipe), chosen explicitly: what CI runs the GPU code paths on.
#[cfg(feature = "wgpu")]
pub fn gpu() -> Device {
    xcodec_core::device::parse("wgpu:cpu").unwrap_or_else(|e| panic!("{e}"))
}

/// Codes against the ones they must equal: every one on the CPU; on another device, where a different
/// summation order may flip a near tie, >= 99.9 % of them (llvmpipe measured 100 %).
pub fn assert_codes_match(got: &[i64], want: &[i64], device: &Device, what: &str) {
    if *device == Device::flex() {
        assert_eq!(got, want, "{what}: codes differ");
        return;
    }
    assert_eq!(got.len(), want.len(), "{what}: code count");
    let agree = got.iter().zip(want).filter(|(a, b)| a == b).count() as f64 / want.len() as f64;
    assert!(agree >= 0.999, "{what}: codes agree on {:.2} %", agree * 100.0);
}

/// Largest absolute difference between two tensors of the same shape.
pub fn max_abs_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b).abs().max().into_scalar::<f32>()
}
