//! Length-invariant kernels for codecs that stream. Every output value is computed by the same sequence of f32
//! operations whatever the input's length, the tile it falls in or the thread computing it: the products
//! `w[o, c, k] * x[c, t * stride + k * dilation]` summed from zero over the input channels `c` (outer) and the
//! taps `k` (inner) in ascending order, each multiply and each add rounded on its own (no fused multiply-add),
//! then the bias added. So the chunks of a stream give bit for bit what the whole clip gives — which matrix
//! products, whose blocking and kernels depend on the sizes, do not promise.
//!
//! Vectorised over output steps ([`LANES`] at a time, [`ROWS`] output channels per tile, the accumulators in
//! registers), tiles in parallel; the loops are compiled for AVX2 where the CPU has it, with the same results
//! (IEEE multiply and add round alike in every lane width). Tensors that autodiff tracks, and tensors on other
//! backends, take burn's ops instead: the same values up to rounding, and the gradients training needs.

use crate::nn::rows::{SendPtr, from_flex, host_values, into_contiguous_flex};
use burn::backend::flex::FlexTensor;
use burn::tensor::module::{conv_transpose1d as burn_conv_transpose1d, conv1d as burn_conv1d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

/// Output steps per tile (two AVX registers).
const LANES: usize = 16;
/// Output channels per tile.
const ROWS: usize = 6;
/// Tiles of output steps per parallel task.
const TILES_PER_TASK: usize = 16;

/// `conv1d(x [batch, in, len], weight [out, in, kernel], bias [out])` without padding (the caller pads):
/// `[batch, out, (len - span) / stride + 1]` with `span = (kernel - 1) * dilation + 1`.
pub fn conv1d(x: Tensor<3>, weight: Tensor<3>, bias: Option<Tensor<1>>, stride: usize, dilation: usize) -> Tensor<3> {
    let [batch, channels_in, len] = x.dims();
    let [channels_out, weight_in, kernel] = weight.dims();
    let span = dilation * kernel.saturating_sub(1) + 1;
    if weight_in != channels_in || kernel == 0 || stride == 0 || dilation == 0 || len < span {
        // burn reports the shape error.
        return burn_conv1d(x, weight, bias, ConvOptions::new([stride], [0], [dilation], 1));
    }
    let x = match into_contiguous_flex(x) {
        Ok(x) => x,
        Err(x) => return burn_conv1d(x, weight, bias, ConvOptions::new([stride], [0], [dilation], 1)),
    };
    let len_out = (len - span) / stride + 1;
    let geometry = Geometry { channels_in, channels_out, kernel, stride, dilation, len, skip: 0, zeros: 0, len_out };
    let weights = PackedWeights::new(&host_values(weight), channels_out, channels_in, kernel);
    let bias = bias.map(host_values).unwrap_or_else(|| vec![0.0; channels_out]);
    let input = x.as_slice::<f32>().expect("contiguous f32");
    let mut out = Vec::with_capacity(batch * channels_out * geometry.len_out);
    for example in input.chunks(channels_in * len) {
        out.extend(geometry.run(example, &weights, &bias));
    }
    from_flex(FlexTensor::from_data(TensorData::new(out, [batch, channels_out, geometry.len_out])))
}

/// A causal transposed conv (`weight [in, out, kernel]`, no padding, the `kernel - stride` overhang trimmed on the
/// right) of `x [batch, in, history + frames]` whose first `history` frames were seen before: the
/// `[batch, out, frames * stride]` samples of the last `frames`, including what the history frames add to them.
/// With zero history (the start of a clip) this is the whole clip's output; a stream passes its last
/// `kernel.div_ceil(stride) - 1` frames as history and gets the same samples bit for bit.
pub fn conv_transpose1d_causal(
    x: Tensor<3>,
    weight: Tensor<3>,
    bias: Option<Tensor<1>>,
    stride: usize,
    history: usize,
) -> Tensor<3> {
    let [batch, channels_in, len] = x.dims();
    let [weight_in, channels_out, kernel] = weight.dims();
    let frames = len.saturating_sub(history);
    if weight_in != channels_in || kernel == 0 || stride == 0 || frames == 0 {
        let options = ConvTransposeOptions::new([stride], [0], [0], [1], 1);
        return burn_conv_transpose1d(x, weight, bias, options);
    }
    let x = match into_contiguous_flex(x) {
        Ok(x) => x,
        Err(x) => {
            let options = ConvTransposeOptions::new([stride], [0], [0], [1], 1);
            return burn_conv_transpose1d(x, weight, bias, options).narrow(2, history * stride, frames * stride);
        }
    };
    // Sample `t * stride + p` of the output is, per phase `p`, a plain conv over the input frames `t - j`
    // (`j < taps`) with the taps `p + j * stride` of the kernel: one conv whose `stride * out` output channels
    // are the phases, interleaved afterwards. Missing history frames are zeros (the start of a clip).
    let taps = kernel.div_ceil(stride);
    let w = host_values(weight);
    let mut phased = vec![0f32; stride * channels_out * channels_in * taps];
    for p in 0..stride {
        for o in 0..channels_out {
            for c in 0..channels_in {
                for i in 0..taps {
                    let k = p + (taps - 1 - i) * stride;
                    if k < kernel {
                        phased[((p * channels_out + o) * channels_in + c) * taps + i] =
                            w[(c * channels_out + o) * kernel + k];
                    }
                }
            }
        }
    }
    let bias = bias.map(host_values).unwrap_or_else(|| vec![0.0; channels_out]);
    let phased_bias: Vec<f32> = (0..stride).flat_map(|_| bias.iter().copied()).collect();
    let geometry = Geometry {
        channels_in,
        channels_out: stride * channels_out,
        kernel: taps,
        stride: 1,
        dilation: 1,
        len,
        // The last `taps - 1` history frames, zeros where there are fewer (the start of a clip), then the frames.
        skip: history - history.min(taps - 1),
        zeros: taps - 1 - history.min(taps - 1),
        len_out: frames,
    };
    let weights = PackedWeights::new(&phased, stride * channels_out, channels_in, taps);
    let input = x.as_slice::<f32>().expect("contiguous f32");
    let mut out = vec![0f32; batch * channels_out * frames * stride];
    for (example, out) in input.chunks(channels_in * len).zip(out.chunks_mut(channels_out * frames * stride)) {
        let phases = geometry.run(example, &weights, &phased_bias);
        out.par_chunks_mut(frames * stride).enumerate().for_each(|(o, row)| {
            for p in 0..stride {
                let phase = &phases[(p * channels_out + o) * frames..][..frames];
                for (t, value) in phase.iter().enumerate() {
                    row[t * stride + p] = *value;
                }
            }
        });
    }
    from_flex(FlexTensor::from_data(TensorData::new(out, [batch, channels_out, frames * stride])))
}

/// The weights in tiles of [`ROWS`] output channels, `[tile][in][kernel][ROWS]`, missing channels zero.
struct PackedWeights(Vec<f32>);

impl PackedWeights {
    fn new(w: &[f32], channels_out: usize, channels_in: usize, kernel: usize) -> Self {
        let tiles = channels_out.div_ceil(ROWS);
        let mut packed = vec![0f32; tiles * channels_in * kernel * ROWS];
        for o in 0..channels_out {
            for c in 0..channels_in {
                for k in 0..kernel {
                    packed[(((o / ROWS) * channels_in + c) * kernel + k) * ROWS + o % ROWS] =
                        w[(o * channels_in + c) * kernel + k];
                }
            }
        }
        Self(packed)
    }

    /// The weights of output tile `tile`.
    fn tile(&self, tile: usize, per_tile: usize) -> &[f32] {
        &self.0[tile * per_tile..(tile + 1) * per_tile]
    }
}

/// The sizes of one conv over one example.
struct Geometry {
    channels_in: usize,
    channels_out: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    /// Input steps per channel row.
    len: usize,
    /// Steps of each row left out at its start.
    skip: usize,
    /// Zero steps before the rest of each row.
    zeros: usize,
    len_out: usize,
}

impl Geometry {
    /// One example `x [in, len]` (as `zeros` zeros, then each row from step `skip`) -> `[out, len_out]`.
    fn run(&self, x: &[f32], weights: &PackedWeights, bias: &[f32]) -> Vec<f32> {
        let Self { channels_in, channels_out, kernel, stride, dilation, len, skip, zeros, len_out } = *self;
        // The input split into its `stride` phases (`phase[p][c][j] = x[c][j * stride + p]`) so that every tap
        // reads consecutive steps, each row long enough for whole tiles (zeros past the input).
        let tiles = len_out.div_ceil(LANES);
        let taps: Vec<(usize, usize)> =
            (0..kernel).map(|k| ((k * dilation) % stride, (k * dilation) / stride)).collect();
        let row_len = tiles * LANES + taps.iter().map(|t| t.1).max().unwrap_or(0);
        let mut phases = vec![0f32; stride * channels_in * row_len];
        phases.par_chunks_mut(row_len).enumerate().for_each(|(i, dst)| {
            let (p, c) = (i / channels_in, i % channels_in);
            let row = &x[c * len + skip..(c + 1) * len];
            // Step `j` of phase `p` is step `j * stride + p` of the zero-led row.
            let first = zeros.saturating_sub(p).div_ceil(stride);
            let values = row.iter().skip(first * stride + p - zeros).step_by(stride);
            for (d, v) in dst[first.min(row_len)..].iter_mut().zip(values) {
                *d = *v;
            }
        });
        let taps: Vec<usize> = taps.iter().map(|&(p, off)| p * channels_in * row_len + off).collect();
        // Tasks of up to TILES_PER_TASK tiles x ROWS channels, each writing its own part of `out`.
        let row_tiles = channels_out.div_ceil(ROWS);
        let tasks = tiles.div_ceil(TILES_PER_TASK) * row_tiles;
        let per_tile = channels_in * kernel * ROWS;
        let mut out = vec![0f32; channels_out * len_out];
        let dst = SendPtr::new(&mut out);
        let job = Job { phases: &phases, row_len, channels_in, taps: &taps };
        (0..tasks).into_par_iter().for_each(|task| {
            let (tt, rt) = (task / row_tiles, task % row_tiles);
            let w = weights.tile(rt, per_tile);
            let rows = (rt * ROWS..channels_out.min((rt + 1) * ROWS)).enumerate();
            let mut tile = [0f32; ROWS * LANES];
            for t0 in (tt * TILES_PER_TASK * LANES..len_out.min((tt + 1) * TILES_PER_TASK * LANES)).step_by(LANES) {
                job.tile(&mut tile, w, t0);
                let steps = LANES.min(len_out - t0);
                for (r, o) in rows.clone() {
                    for (l, value) in tile[r * LANES..][..steps].iter().enumerate() {
                        // SAFETY: `o < channels_out` and `t0 + l < len_out` index inside `out`, and only this task
                        // writes its rows (`rt`) at its steps (`tt`), so the writes of the tasks are disjoint.
                        unsafe { dst.at(o * len_out + t0 + l).write(value + bias[o]) };
                    }
                }
            }
        });
        out
    }
}

/// What every tile of one conv reads.
struct Job<'a> {
    phases: &'a [f32],
    row_len: usize,
    channels_in: usize,
    /// Per tap, where its steps start in `phases` (phase and offset; add `c * row_len + t0`).
    taps: &'a [usize],
}

impl Job<'_> {
    /// `out[r][l] = sum_c sum_k w[r][c][k] * x[c, tap k, t0 + l]` for one tile, `out` being `[ROWS][LANES]`.
    fn tile(&self, out: &mut [f32], w: &[f32], t0: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports the feature `tile_avx2` is compiled for (checked just above).
            unsafe { self.tile_avx2(out, w, t0) };
            return;
        }
        self.tile_portable(out, w, t0);
    }

    /// [`Self::tile_portable`] with the accumulators in AVX registers: the same operations in the same order.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn tile_avx2(&self, out: &mut [f32], w: &[f32], t0: usize) {
        use std::arch::x86_64::{
            __m256, _mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
        };
        const HALF: usize = LANES / 2;
        let kernel = self.taps.len();
        let last = self.taps.iter().max().copied().unwrap_or(0) + (self.channels_in - 1) * self.row_len + t0 + LANES;
        assert!(last <= self.phases.len() && w.len() >= self.channels_in * kernel * ROWS && out.len() >= ROWS * LANES);
        let mut acc: [[__m256; 2]; ROWS] = [[_mm256_setzero_ps(); 2]; ROWS];
        for c in 0..self.channels_in {
            let row = c * self.row_len + t0;
            for (k, &tap) in self.taps.iter().enumerate() {
                // SAFETY: `tap + row + LANES <= last <= phases.len()` (asserted above) bounds both loads.
                let (x0, x1) = unsafe {
                    let p = self.phases.as_ptr().add(tap + row);
                    (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(HALF)))
                };
                let wk = &w[(c * kernel + k) * ROWS..][..ROWS];
                for (acc, &wr) in acc.iter_mut().zip(wk) {
                    let wr = _mm256_set1_ps(wr);
                    acc[0] = _mm256_add_ps(acc[0], _mm256_mul_ps(wr, x0));
                    acc[1] = _mm256_add_ps(acc[1], _mm256_mul_ps(wr, x1));
                }
            }
        }
        for (dst, acc) in out.chunks_mut(LANES).zip(&acc) {
            // SAFETY: each chunk of `out` holds LANES = 2 * HALF values (asserted above).
            unsafe {
                _mm256_storeu_ps(dst.as_mut_ptr(), acc[0]);
                _mm256_storeu_ps(dst.as_mut_ptr().add(HALF), acc[1]);
            }
        }
    }

    /// The tile in plain Rust (any CPU).
    fn tile_portable(&self, out: &mut [f32], w: &[f32], t0: usize) {
        let mut acc = [[0f32; LANES]; ROWS];
        let kernel = self.taps.len();
        for c in 0..self.channels_in {
            let row = c * self.row_len + t0;
            for (k, &tap) in self.taps.iter().enumerate() {
                let x: &[f32; LANES] = self.phases[tap + row..][..LANES].try_into().expect("LANES values");
                let wk: &[f32; ROWS] = w[(c * kernel + k) * ROWS..][..ROWS].try_into().expect("ROWS values");
                for (acc, &wr) in acc.iter_mut().zip(wk) {
                    for (a, &xv) in acc.iter_mut().zip(x) {
                        // Separate multiply and add: the compiler never fuses them, so every CPU rounds alike.
                        *a += wr * xv;
                    }
                }
            }
        }
        for (dst, acc) in out.chunks_mut(LANES).zip(&acc) {
            dst.copy_from_slice(acc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};
    use proptest::prelude::*;

    fn values(t: Tensor<3>) -> Vec<f32> {
        t.into_data().try_into_vec::<f32>().unwrap()
    }

    #[test]
    fn conv_equals_burns_within_rounding_for_strides_and_dilations() {
        let device = Device::flex();
        device.seed(1);
        for (c_in, c_out, kernel, stride, dilation, len) in
            [(1, 5, 7, 1, 1, 40), (6, 9, 4, 2, 1, 53), (5, 3, 3, 1, 9, 70), (7, 6, 10, 5, 1, 101), (3, 1, 1, 1, 1, 17)]
        {
            let x = Tensor::<3>::random([2, c_in, len], Distribution::Normal(0.0, 1.0), &device);
            let w = Tensor::<3>::random([c_out, c_in, kernel], Distribution::Normal(0.0, 1.0), &device);
            let b = Tensor::<1>::random([c_out], Distribution::Normal(0.0, 1.0), &device);
            let want =
                burn_conv1d(x.clone(), w.clone(), Some(b.clone()), ConvOptions::new([stride], [0], [dilation], 1));
            let got = conv1d(x, w, Some(b), stride, dilation);
            assert_eq!(got.dims(), want.dims());
            assert!(crate::nn::relative_error(got, want) < 1e-5);
        }
    }

    #[test]
    fn causal_transposed_conv_equals_burns_trimmed_on_the_right() {
        let device = Device::flex();
        device.seed(2);
        for (c_in, c_out, kernel, stride, len) in [(4, 3, 8, 4, 9), (5, 2, 5, 2, 11), (3, 4, 3, 3, 6), (2, 2, 1, 1, 5)]
        {
            let x = Tensor::<3>::random([2, c_in, len], Distribution::Normal(0.0, 1.0), &device);
            let w = Tensor::<3>::random([c_in, c_out, kernel], Distribution::Normal(0.0, 1.0), &device);
            let b = Tensor::<1>::random([c_out], Distribution::Normal(0.0, 1.0), &device);
            let options = ConvTransposeOptions::new([stride], [0], [0], [1], 1);
            let want = burn_conv_transpose1d(x.clone(), w.clone(), Some(b.clone()), options).narrow(2, 0, len * stride);
            let got = conv_transpose1d_causal(x, w, Some(b), stride, 0);
            assert_eq!(got.dims(), want.dims());
            assert!(crate::nn::relative_error(got, want) < 1e-5);
        }
    }

    #[test]
    fn autodiff_tensors_take_burns_ops_and_keep_their_gradients() {
        let device = Device::flex();
        let ad = device.autodiff();
        let x = Tensor::<3>::random([1, 3, 20], Distribution::Normal(0.0, 1.0), &ad).require_grad();
        let w = Tensor::<3>::random([3, 2, 4], Distribution::Normal(0.0, 1.0), &ad).require_grad();
        let y = conv_transpose1d_causal(x.clone(), w.clone(), None, 2, 1);
        assert_eq!(y.dims(), [1, 2, 38]);
        let grads = conv1d(y, Tensor::ones([1, 2, 3], &ad), None, 1, 1).sum().backward();
        assert!(x.grad(&grads).is_some() && w.grad(&grads).is_some());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// The property the streams rely on: any window of outputs, computed from just the inputs it needs, is
        /// bit for bit the same window of the whole output.
        #[test]
        fn outputs_do_not_depend_on_the_length(
            len in 1usize..90, start in 0usize..90, kernel in 1usize..8, stride in 1usize..5, dilation in 1usize..4,
        ) {
            let device = Device::flex();
            device.seed((len * 131 + start * 7 + kernel) as u64);
            let span = dilation * (kernel - 1) + 1;
            let total = len + span + stride * 40;
            let x = Tensor::<3>::random([2, 5, total], Distribution::Normal(0.0, 1.0), &device);
            let w = Tensor::<3>::random([6, 5, kernel], Distribution::Normal(0.0, 1.0), &device);
            let b = Tensor::<1>::random([6], Distribution::Normal(0.0, 1.0), &device);
            let whole = conv1d(x.clone(), w.clone(), Some(b.clone()), stride, dilation);
            let first = start.min(whole.dims()[2] - 1);
            let count = len.min(whole.dims()[2] - first);
            let part = conv1d(x.narrow(2, first * stride, (count - 1) * stride + span), w, Some(b), stride, dilation);
            prop_assert_eq!(values(part), values(whole.narrow(2, first, count)));
        }

        #[test]
        fn transposed_outputs_do_not_depend_on_the_length(
            len in 1usize..40, start in 0usize..40, kernel in 1usize..12, stride in 1usize..6,
        ) {
            let device = Device::flex();
            device.seed((len * 17 + start * 3 + kernel * 5 + stride) as u64);
            let total = len + start + 3;
            let x = Tensor::<3>::random([1, 4, total], Distribution::Normal(0.0, 1.0), &device);
            let w = Tensor::<3>::random([4, 3, kernel], Distribution::Normal(0.0, 1.0), &device);
            let b = Tensor::<1>::random([3], Distribution::Normal(0.0, 1.0), &device);
            let whole = conv_transpose1d_causal(x.clone(), w.clone(), Some(b.clone()), stride, 0);
            let first = start.min(total - 1);
            let count = len.min(total - first);
            let history = first.min(kernel.div_ceil(stride) + 1);
            let part = conv_transpose1d_causal(x.narrow(2, first - history, history + count), w, Some(b), stride, history);
            prop_assert_eq!(values(part), values(whole.narrow(2, first * stride, count * stride)));
        }
    }
}
