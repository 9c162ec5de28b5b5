//! Fused row-wise kernels on the CPU (`flex`) backend: one pass over a tensor's rows in plain Rust, both cores
//! busy, instead of a chain of element-wise tensor ops (each one a full pass over memory, some of them
//! single-threaded scalar code in `flex`). Only for inference: a tensor that autodiff tracks, or one on
//! another backend, is handed back to the caller, which then composes the same function from tensor ops.
// The `Err` of these functions is the caller's tensor handed back whole (not an error to report).
#![allow(clippy::result_large_err)]

use burn::backend::flex::FlexTensor;
use burn::backend::{BackendTensor, DispatchAutodiffContext, DispatchTensor, DispatchTensorKind};
use burn::tensor::{DType, Tensor};
use rayon::prelude::*;

/// Elements processed per block of an in-place row (the input copy lives on the stack).
const BLOCK: usize = 256;

/// Applies `kernel(row, out, input)` to every row (the last dimension) of `x`, rows in parallel, where `row` is
/// the row's index in the flattened leading dimensions; `prepare` makes the kernel (called only when the fused
/// path runs, so it may read small tensors to the host). `out` and `input` have equal lengths; `kernel` may
/// be called several times per row on consecutive blocks. Returns `Err(x)` unchanged when `x` is not a
/// contiguous f32 `flex` tensor outside autodiff: the caller then computes the same thing with tensor ops.
pub fn map_rows<const D: usize, F>(x: Tensor<D>, prepare: impl FnOnce() -> F) -> Result<Tensor<D>, Tensor<D>>
where
    F: Fn(usize, &mut [f32], &[f32]) + Sync,
{
    let (mut tensor, row_len) = flex_rows(x)?;
    let kernel = prepare();
    let (start, end) = tensor.layout().contiguous_offsets().expect("checked contiguous");
    if let Some(storage) = tensor.try_storage_mut::<f32>() {
        // Uniquely owned: in place, a block at a time through a stack copy of the input.
        storage[start..end].par_chunks_mut(row_len).enumerate().for_each(|(row, out)| {
            let mut input = [0f32; BLOCK];
            for block in out.chunks_mut(BLOCK) {
                let input = &mut input[..block.len()];
                input.copy_from_slice(block);
                kernel(row, block, input);
            }
        });
        return Ok(from_flex(tensor));
    }
    Ok(from_flex(out_of_place(&tensor, row_len, &kernel)))
}

/// Like [`map_rows`], but `kernel(row, out, input)` always sees whole rows (for per-row statistics); the
/// output is a new tensor.
pub fn map_full_rows<const D: usize, F>(x: Tensor<D>, prepare: impl FnOnce() -> F) -> Result<Tensor<D>, Tensor<D>>
where
    F: Fn(usize, &mut [f32], &[f32]) + Sync,
{
    let (tensor, row_len) = flex_rows(x)?;
    Ok(from_flex(out_of_place(&tensor, row_len, &prepare())))
}

/// The `flex` tensor behind `x` (see [`into_flex`]) and its row length, when its rows are not empty.
fn flex_rows<const D: usize>(x: Tensor<D>) -> Result<(FlexTensor, usize), Tensor<D>> {
    let row_len = x.dims()[D - 1];
    if row_len == 0 {
        return Err(x);
    }
    Ok((into_flex(x)?, row_len))
}

/// `kernel` over the rows of a contiguous f32 tensor into a new one, rows in parallel.
fn out_of_place<F>(tensor: &FlexTensor, row_len: usize, kernel: &F) -> FlexTensor
where
    F: Fn(usize, &mut [f32], &[f32]) + Sync,
{
    let input = tensor.as_slice::<f32>().expect("checked contiguous");
    let mut out = vec![0f32; input.len()];
    out.par_chunks_mut(row_len)
        .zip(input.par_chunks(row_len))
        .enumerate()
        .for_each(|(row, (out, input))| kernel(row, out, input));
    FlexTensor::from_data(burn::tensor::TensorData::new(out, tensor.layout().shape().clone()))
}

/// `out[i] = f(input[i])`, the loop compiled for AVX2+FMA (eight lanes) where the CPU has them, so that a
/// branch-free `f` vectorises; for the kernels of [`map_rows`].
#[inline]
pub fn map_elements(out: &mut [f32], input: &[f32], f: impl Fn(f32) -> f32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features `map_elements_avx2` is compiled for (checked just above).
        unsafe { map_elements_avx2(out, input, f) };
        return;
    }
    map_elements_portable(out, input, f);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn map_elements_avx2(out: &mut [f32], input: &[f32], f: impl Fn(f32) -> f32) {
    map_elements_portable(out, input, f)
}

#[inline(always)]
fn map_elements_portable(out: &mut [f32], input: &[f32], f: impl Fn(f32) -> f32) {
    for (o, &x) in out.iter_mut().zip(input) {
        *o = f(x);
    }
}

/// The `flex` tensor behind `x` when it is a contiguous f32 tensor on the CPU backend outside autodiff;
/// otherwise `x` back, untouched.
pub fn into_flex<const D: usize>(x: Tensor<D>) -> Result<FlexTensor, Tensor<D>> {
    let t = flex_f32(x)?;
    if t.layout().contiguous_offsets().is_some() { Ok(t) } else { Err(from_flex(t)) }
}

/// Like [`into_flex`], but a strided `flex` tensor (a narrowed or transposed view) is copied into a contiguous
/// one instead of being handed back.
pub fn into_contiguous_flex<const D: usize>(x: Tensor<D>) -> Result<FlexTensor, Tensor<D>> {
    let t = flex_f32(x)?;
    Ok(if t.layout().contiguous_offsets().is_some() { t } else { t.to_contiguous() })
}

/// The `flex` tensor behind `x` when it is an f32 tensor on the CPU backend outside autodiff (any layout);
/// otherwise `x` back, untouched.
fn flex_f32<const D: usize>(x: Tensor<D>) -> Result<FlexTensor, Tensor<D>> {
    let DispatchTensor { kind, autodiff } = x.into_dispatch();
    match kind {
        DispatchTensorKind::Flex(BackendTensor::Float(t))
            if autodiff == DispatchAutodiffContext::Disabled && t.dtype() == DType::F32 =>
        {
            Ok(t)
        }
        kind => Err(Tensor::from_dispatch(DispatchTensor { kind, autodiff })),
    }
}

/// A tensor's values on the host as f32, in row-major order (weights, biases, small per-channel parameters).
pub fn host_values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32 after convert")
}

/// An output buffer that parallel tasks write in disjoint parts (each task its own elements).
#[derive(Clone, Copy)]
pub(crate) struct SendPtr(*mut f32);

// SAFETY: only used by tasks that write disjoint elements of a buffer that outlives them.
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The buffer `out`, to be written by several tasks.
    pub(crate) fn new(out: &mut [f32]) -> Self {
        Self(out.as_mut_ptr())
    }

    /// Pointer to element `i`.
    ///
    /// # Safety
    /// `i` is inside the buffer, and no other task touches the elements written through the pointer meanwhile.
    pub(crate) unsafe fn at(self, i: usize) -> *mut f32 {
        // SAFETY: as the caller promises.
        unsafe { self.0.add(i) }
    }
}

/// A `flex` tensor (outside autodiff) as a [`Tensor`].
pub fn from_flex<const D: usize>(t: FlexTensor) -> Tensor<D> {
    Tensor::from_dispatch(DispatchTensor {
        kind: DispatchTensorKind::Flex(BackendTensor::Float(t)),
        autodiff: DispatchAutodiffContext::Disabled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn ramp(device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new((0..3 * 1000).map(|i| i as f32).collect(), [3, 1000]), device)
    }

    /// `out = input * 2 + row` through `map_rows`.
    fn double_plus_row(x: Tensor<2>) -> Result<Tensor<2>, Tensor<2>> {
        map_rows(x, || {
            |row: usize, out: &mut [f32], input: &[f32]| {
                for (o, i) in out.iter_mut().zip(input) {
                    *o = i * 2.0 + row as f32;
                }
            }
        })
    }

    #[test]
    fn rows_are_mapped_in_place_or_out_of_place() {
        let device = Device::flex();
        let want: Vec<f32> = (0..3 * 1000).map(|i| (i * 2 + i / 1000) as f32).collect();
        let x = ramp(&device);
        let shared = double_plus_row(x.clone()).expect("flex f32 takes the fused path");
        assert_eq!(shared.into_data().try_into_vec::<f32>().unwrap(), want);
        assert_eq!(x.into_data().try_into_vec::<f32>().unwrap()[2999], 2999.0, "a shared input is not written");
        let unique = double_plus_row(ramp(&device)).expect("flex f32 takes the fused path");
        assert_eq!(unique.into_data().try_into_vec::<f32>().unwrap(), want);
    }

    #[test]
    fn autodiff_and_non_contiguous_tensors_are_handed_back() {
        let device = Device::flex();
        assert!(double_plus_row(ramp(&device.clone().autodiff()).require_grad()).is_err());
        let transposed = ramp(&device).reshape([1000, 3]).transpose();
        let back = double_plus_row(transposed.clone()).expect_err("not contiguous");
        back.into_data().assert_eq(&transposed.into_data(), true);
    }
}
