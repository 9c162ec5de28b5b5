//! 1-D convolution on the CPU backend at inference as matrix products on the input in its own layout
//! (`[channels, time]`, no conversion to channels-last): `out[:, t] = bias + sum_k W[:, :, k] x[:, t s + k d]`.
//! Wide inputs (256+ channels): one GEMM per tap `k` on a strided view of the (padded) input, no copy. Middle
//! widths: the input unfolded (`in * kernel` rows) in cache-sized tiles of output steps, one GEMM per tile,
//! tiles in parallel. A waveform: unfolded whole, one GEMM. Elsewhere (autodiff, GPU backends, grouped or
//! narrow 1x1 convs) it is burn's `conv1d`.

use crate::nn::rows::{SendPtr, from_flex, into_flex};
use burn::backend::flex::FlexTensor;
use burn::tensor::module::{conv_transpose1d as burn_conv_transpose1d, conv1d as burn_conv1d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

/// Input channels from which one GEMM per tap beats unfolding the input in tiles.
const MIN_CHANNELS: usize = 256;

/// Inner-product lengths (`in * kernel`) up to which the input is unfolded for a single GEMM instead.
const MAX_UNFOLDED: usize = 64;

/// `conv1d(x [batch, in, time], weight [out, in, kernel], bias [out])` with symmetric zero `padding`.
pub fn conv1d(
    x: Tensor<3>,
    weight: Tensor<3>,
    bias: Option<Tensor<1>>,
    stride: usize,
    padding: usize,
    dilation: usize,
) -> Tensor<3> {
    let fallback = |x: Tensor<3>, weight: Tensor<3>, bias: Option<Tensor<1>>| {
        burn_conv1d(x, weight, bias, ConvOptions::new([stride], [padding], [dilation], 1))
    };
    let [batch, channels_in, len] = x.dims();
    let [channels_out, weight_in, kernel] = weight.dims();
    let span = dilation * (kernel - 1) + 1;
    // burn's pointwise path is faster for narrow 1x1 convs (64 channels: 2x); shape errors are burn's to report.
    if (kernel == 1 && channels_in < MIN_CHANNELS)
        || weight_in != channels_in
        || len + 2 * padding < span
        || stride == 0
    {
        return fallback(x, weight, bias);
    }
    let (x, weight, bias) = match flex_operands(x, weight, bias) {
        Ok(operands) => operands,
        Err((x, weight, bias)) => return fallback(x, weight, bias),
    };
    let len_out = (len + 2 * padding - span) / stride + 1;
    let padded = pad_rows(x.as_slice::<f32>().expect("contiguous f32"), len, padding);
    let len_padded = len + 2 * padding;
    let w = weight.as_slice::<f32>().expect("contiguous f32");
    let mut out = bias_rows(bias.as_ref(), batch * channels_out, len_out);
    let shape = Gemm { channels_in, channels_out, kernel, stride, dilation, len_padded, len_out };
    for (n, out) in out.chunks_mut(channels_out * len_out).enumerate() {
        let input = &padded[n * channels_in * len_padded..(n + 1) * channels_in * len_padded];
        if channels_in * kernel <= MAX_UNFOLDED {
            shape.unfolded(out, w, input);
        } else if channels_in < MIN_CHANNELS {
            shape.tiled(out, w, input);
        } else {
            shape.per_tap(out, w, input);
        }
    }
    from_flex(FlexTensor::from_data(TensorData::new(out, [batch, channels_out, len_out])))
}

/// `conv_transpose1d(x [batch, in, time], weight [in, out, kernel], bias [out])` (no dilation or groups) as
/// burn computes it: one GEMM per tile of input steps into the `(out, kernel)` products of every input step,
/// then each product added at its output step (`t = j stride + k - padding`). Elsewhere (autodiff, GPU
/// backends) burn's `conv_transpose1d`.
pub fn conv_transpose1d(
    x: Tensor<3>,
    weight: Tensor<3>,
    bias: Option<Tensor<1>>,
    stride: usize,
    padding: usize,
    output_padding: usize,
) -> Tensor<3> {
    let fallback = |x: Tensor<3>, weight: Tensor<3>, bias: Option<Tensor<1>>| {
        let options = ConvTransposeOptions::new([stride], [padding], [output_padding], [1], 1);
        burn_conv_transpose1d(x, weight, bias, options)
    };
    let [batch, channels_in, len] = x.dims();
    let [weight_in, channels_out, kernel] = weight.dims();
    let full = (len.max(1) - 1) * stride + kernel + output_padding;
    if weight_in != channels_in || len == 0 || stride == 0 || full < 2 * padding + 1 {
        return fallback(x, weight, bias);
    }
    let (x, weight, bias) = match flex_operands(x, weight, bias) {
        Ok(operands) => operands,
        Err((x, weight, bias)) => return fallback(x, weight, bias),
    };
    let len_out = full - 2 * padding;
    let (input, w) = (x.as_slice::<f32>().expect("contiguous f32"), weight.as_slice::<f32>().expect("contiguous f32"));
    let mut out = bias_rows(bias.as_ref(), batch * channels_out, len_out);
    let products = channels_out * kernel;
    let tile = (TILE_FLOATS * 16 / products).clamp(1, len);
    let mut cols = vec![0f32; products * tile];
    for (n, out) in out.chunks_mut(channels_out * len_out).enumerate() {
        let input = &input[n * channels_in * len..(n + 1) * channels_in * len];
        for j0 in (0..len).step_by(tile) {
            let steps = tile.min(len - j0);
            let cols = &mut cols[..products * steps];
            // SAFETY: dst is all of `cols` (`products x steps`, row-major); lhs reads w[i, o, k] at
            // i * products + (o * kernel + k) for i < channels_in (inside `w`); rhs reads input[i * len + j0 + c]
            // for c < steps, j0 + steps <= len (inside this example's `input`).
            unsafe {
                gemm::gemm(
                    products,
                    steps,
                    channels_in,
                    cols.as_mut_ptr(),
                    1,
                    steps as isize,
                    false,
                    w.as_ptr(),
                    products as isize,
                    1,
                    input.as_ptr().add(j0),
                    1,
                    len as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::Rayon(0),
                )
            };
            let cols = &*cols;
            out.par_chunks_mut(len_out).enumerate().for_each(|(o, row)| {
                for k in 0..kernel {
                    let products_k = &cols[(o * kernel + k) * steps..(o * kernel + k + 1) * steps];
                    for (c, value) in products_k.iter().enumerate() {
                        let t = (j0 + c) * stride + k;
                        if t >= padding && t - padding < len_out {
                            row[t - padding] += value;
                        }
                    }
                }
            });
        }
    }
    from_flex(FlexTensor::from_data(TensorData::new(out, [batch, channels_out, len_out])))
}

/// The operands' `flex` tensors, or all three back when one of them is not a contiguous f32 CPU tensor outside
/// autodiff.
#[allow(clippy::type_complexity)] // the same three tensors, either way
#[allow(clippy::result_large_err)] // the operands handed back by value; boxing would allocate on every call
fn flex_operands(
    x: Tensor<3>,
    weight: Tensor<3>,
    bias: Option<Tensor<1>>,
) -> Result<(FlexTensor, FlexTensor, Option<FlexTensor>), (Tensor<3>, Tensor<3>, Option<Tensor<1>>)> {
    match (into_flex(x), into_flex(weight), bias.map(into_flex).transpose()) {
        (Ok(x), Ok(w), Ok(b)) => Ok((x, w, b)),
        (x, w, b) => {
            let back = |t: Result<_, Tensor<3>>| t.map_or_else(|t| t, from_flex);
            Err((back(x), back(w), b.map_or_else(Some, |b| b.map(from_flex))))
        }
    }
}

/// `rows` rows of `len` values, row `r` filled with `bias[r % channels]` (zeros without a bias).
fn bias_rows(bias: Option<&FlexTensor>, rows: usize, len: usize) -> Vec<f32> {
    let mut out = vec![0f32; rows * len];
    if let Some(b) = bias {
        let b = b.as_slice::<f32>().expect("contiguous f32");
        for (row, value) in out.chunks_mut(len).zip(b.iter().cycle()) {
            row.fill(*value);
        }
    }
    out
}

/// The shapes of one example's conv as matrix products.
struct Gemm {
    channels_in: usize,
    channels_out: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    len_padded: usize,
    len_out: usize,
}

impl Gemm {
    /// `out += W x` as one GEMM per tap on strided views of `input` (wide inputs: long inner products).
    fn per_tap(&self, out: &mut [f32], w: &[f32], input: &[f32]) {
        let Gemm { channels_in, channels_out, kernel, stride, dilation, len_padded, len_out } = *self;
        for k in 0..kernel {
            // SAFETY: dst is `channels_out x len_out` row-major, all of `out`; lhs reads w[o, i, k] for
            // o < channels_out, i < channels_in (inside `w`); rhs reads input[i * len_padded + k * dilation +
            // t * stride] for t < len_out, whose largest offset (kernel - 1) * dilation + (len_out - 1) * stride
            // is below len_padded by the definition of len_out, so it stays inside `input`.
            unsafe {
                gemm_f32(
                    channels_out,
                    len_out,
                    channels_in,
                    out,
                    (w.as_ptr().add(k), kernel, channels_in * kernel),
                    (input.as_ptr().add(k * dilation), stride, len_padded),
                )
            };
        }
    }

    /// `out += W cols(input)` in tiles of output steps, tiles in parallel: each tile's unfolded input (one row
    /// per input channel and tap, copied with strides) sized to stay in the core's cache. For the middle
    /// widths, where one GEMM per tap has too short an inner product.
    fn tiled(&self, out: &mut [f32], w: &[f32], input: &[f32]) {
        let Gemm { channels_in, channels_out, kernel, stride, dilation, len_padded, len_out } = *self;
        let depth = channels_in * kernel;
        let tile = (TILE_FLOATS / depth).clamp(16, len_out.max(16)) / 16 * 16;
        let dst = SendPtr::new(out);
        (0..len_out.div_ceil(tile)).into_par_iter().for_each(|i| {
            let (t0, n) = (i * tile, tile.min(len_out - i * tile));
            let mut cols = vec![0f32; depth * n];
            for (row, col) in cols.chunks_mut(n).enumerate() {
                let start = (row / kernel) * len_padded + (row % kernel) * dilation + t0 * stride;
                if stride == 1 {
                    col.copy_from_slice(&input[start..start + n]);
                } else {
                    for (t, c) in col.iter_mut().enumerate() {
                        *c = input[start + t * stride];
                    }
                }
            }
            // SAFETY: this tile's dst is rows < channels_out, columns t0..t0 + n of the row-major
            // `channels_out x len_out` output, inside `out` and disjoint from every other tile's columns; lhs is
            // all of `w` (`channels_out x depth`), rhs all of `cols` (`depth x n`).
            unsafe {
                gemm::gemm(
                    channels_out,
                    n,
                    depth,
                    dst.at(t0),
                    1,
                    len_out as isize,
                    true,
                    w.as_ptr(),
                    1,
                    depth as isize,
                    cols.as_ptr(),
                    1,
                    n as isize,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                )
            };
        });
    }

    /// `out += W cols(input)` with the (few) input rows of every tap copied out first (narrow inputs such as
    /// a waveform, where one GEMM per tap would be a rank-1 update).
    fn unfolded(&self, out: &mut [f32], w: &[f32], input: &[f32]) {
        let Gemm { channels_in, channels_out, kernel, stride, dilation, len_padded, len_out } = *self;
        let mut cols = vec![0f32; channels_in * kernel * len_out];
        for (row, col) in cols.chunks_mut(len_out).enumerate() {
            let (i, k) = (row / kernel, row % kernel);
            let start = i * len_padded + k * dilation;
            for (t, c) in col.iter_mut().enumerate() {
                *c = input[start + t * stride];
            }
        }
        // SAFETY: dst as in `per_tap`; lhs is all of `w` (`channels_out x channels_in * kernel`, row-major);
        // rhs is all of `cols` (`channels_in * kernel x len_out`, row-major).
        unsafe {
            gemm_f32(
                channels_out,
                len_out,
                channels_in * kernel,
                out,
                (w.as_ptr(), 1, channels_in * kernel),
                (cols.as_ptr(), 1, len_out),
            )
        };
    }
}

/// `dst (m x n, row-major, all of `dst`) += lhs (m x k) rhs (k x n)`, operands given as (pointer, column
/// stride, row stride), on every core.
///
/// # Safety
/// Every element the strides address (rows < m / k, columns < k / n) must be inside its allocation.
unsafe fn gemm_f32(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    lhs: (*const f32, usize, usize),
    rhs: (*const f32, usize, usize),
) {
    debug_assert_eq!(dst.len(), m * n);
    // SAFETY: forwarded to the caller; dst is exactly m x n.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            true,
            lhs.0,
            lhs.1 as isize,
            lhs.2 as isize,
            rhs.0,
            rhs.1 as isize,
            rhs.2 as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        )
    }
}

/// Floats of unfolded input per tile of [`Gemm::tiled`] (1 MiB: about the L2 cache of one core).
const TILE_FLOATS: usize = 256 * 1024;

/// Rows of `len` samples with `padding` zeros on both sides (the input itself when `padding` is 0).
fn pad_rows(x: &[f32], len: usize, padding: usize) -> std::borrow::Cow<'_, [f32]> {
    if padding == 0 {
        return std::borrow::Cow::Borrowed(x);
    }
    let mut padded = vec![0f32; x.len() / len * (len + 2 * padding)];
    for (dst, src) in padded.chunks_mut(len + 2 * padding).zip(x.chunks(len)) {
        dst[padding..padding + len].copy_from_slice(src);
    }
    std::borrow::Cow::Owned(padded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    #[test]
    fn equals_burns_conv_for_strides_dilations_and_padding() {
        let device = Device::flex();
        device.seed(7);
        for (b, ci, co, k, s, p, d, t) in [
            (1, 64, 8, 7, 1, 3, 1, 5000),
            (2, 24, 5, 16, 8, 4, 1, 777),
            (1, 256, 5, 7, 1, 3, 1, 50),
            (2, 300, 4, 3, 2, 0, 1, 41),
            (1, 256, 6, 7, 1, 9, 3, 64),
            (2, 260, 16, 1, 1, 0, 1, 9),
            (1, 256, 3, 4, 5, 2, 2, 33),
            (2, 1, 8, 10, 5, 0, 1, 97),
            (1, 3, 4, 7, 1, 3, 2, 40),
        ] {
            let x = Tensor::<3>::random([b, ci, t], Distribution::Normal(0.0, 1.0), &device);
            let w = Tensor::<3>::random([co, ci, k], Distribution::Normal(0.0, 1.0), &device);
            let bias = Tensor::<1>::random([co], Distribution::Normal(0.0, 1.0), &device);
            let want = burn_conv1d(x.clone(), w.clone(), Some(bias.clone()), ConvOptions::new([s], [p], [d], 1));
            let got = conv1d(x, w, Some(bias), s, p, d);
            assert_eq!(got.dims(), want.dims());
            let worst = crate::nn::relative_error(got, want);
            assert!(worst < 1e-5, "({b},{ci},{co},{k},{s},{p},{d},{t}): worst relative {worst}");
        }
    }

    #[test]
    fn transposed_equals_burns_for_strides_padding_and_output_padding() {
        let device = Device::flex();
        device.seed(9);
        for (b, ci, co, k, s, p, op, t) in [
            (1, 8, 4, 16, 8, 4, 0, 20),
            (2, 6, 3, 4, 2, 1, 0, 33),
            (1, 5, 7, 10, 5, 3, 1, 9),
            (2, 3, 2, 3, 1, 1, 0, 17),
            (1, 4, 4, 7, 2, 0, 1, 1),
        ] {
            let x = Tensor::<3>::random([b, ci, t], Distribution::Normal(0.0, 1.0), &device);
            let w = Tensor::<3>::random([ci, co, k], Distribution::Normal(0.0, 1.0), &device);
            let bias = Tensor::<1>::random([co], Distribution::Normal(0.0, 1.0), &device);
            let options = ConvTransposeOptions::new([s], [p], [op], [1], 1);
            let want = burn_conv_transpose1d(x.clone(), w.clone(), Some(bias.clone()), options);
            let got = conv_transpose1d(x, w, Some(bias), s, p, op);
            assert_eq!(got.dims(), want.dims(), "({b},{ci},{co},{k},{s},{p},{op},{t})");
            let worst = crate::nn::relative_error(got, want);
            assert!(worst < 1e-5, "({b},{ci},{co},{k},{s},{p},{op},{t}): worst relative {worst}");
        }
    }

    #[test]
    fn autodiff_tensors_take_burns_path_and_keep_their_gradient() {
        let device = Device::flex().autodiff();
        let x = Tensor::<3>::ones([1, 2, 10], &device).require_grad();
        let w = Tensor::<3>::ones([3, 2, 3], &device).require_grad();
        let grads = conv1d(x.clone(), w.clone(), None, 1, 1, 1).sum().backward();
        assert!(x.grad(&grads).is_some() && w.grad(&grads).is_some());
    }
}
