//! Every custom CPU kernel against its GPU fallback: on `flex` tensors outside autodiff our kernels run (GEMM
//! convs in both strategies, the length-invariant `exact` convs, fused GELU, Snake, weight-norm folding, the RVQ
//! searches); on a wgpu tensor each hands over to composed burn ops. Both must compute the same thing (tiny
//! shapes; within 1e-5 of the output's scale, codes equal). The HuBERT/WavLM fused group norm and positional-conv
//! weight norm run on wgpu in the X-Codec parity tests (`parity_xcodec.rs`).
#![cfg(feature = "wgpu")]

mod common;

use burn::tensor::{Device, Distribution, Int, Tensor};
use xcodec_core::nn::{conv, exact, gelu::gelu, weight_norm::fold_weight_norm};

/// Relative tolerance of a GPU result against the CPU kernel's.
const TOLERANCE: f32 = 1e-5;

/// A seeded normal tensor on the CPU and the same values on the GPU.
fn pair<const D: usize>(shape: [usize; D], gpu: &Device) -> (Tensor<D>, Tensor<D>) {
    let cpu = Tensor::<D>::random(shape, Distribution::Normal(0.0, 1.0), &Device::flex());
    let on_gpu = Tensor::from_data(cpu.to_data(), gpu);
    (cpu, on_gpu)
}

/// Asserts the GPU's result equals the CPU kernel's within [`TOLERANCE`] of the CPU's largest magnitude.
fn assert_same<const D: usize>(what: &str, cpu: Tensor<D>, gpu: Tensor<D>) {
    let gpu = Tensor::<D>::from_data(gpu.into_data(), &Device::flex());
    assert_eq!(cpu.dims(), gpu.dims(), "{what}: shape");
    let scale = cpu.clone().abs().max().into_scalar::<f32>().max(1.0);
    let err = (cpu - gpu).abs().max().into_scalar::<f32>() / scale;
    eprintln!("{what}: relative difference {err:.1e}");
    assert!(err <= TOLERANCE, "{what}: the GPU fallback differs from the CPU kernel by {err:.2e} (relative)");
}

#[test]
fn gemm_convs_compute_on_the_gpu_what_the_cpu_kernels_compute() {
    let gpu = common::gpu();
    Device::flex().seed(1);
    // (in, out, kernel, stride, padding, dilation): the unfolded tile path and the GEMM-per-tap path (>= 256 in).
    for (cin, cout, k, s, p, d) in [(3, 5, 7, 1, 3, 1), (4, 6, 3, 2, 0, 3), (256, 8, 3, 1, 1, 1), (260, 4, 4, 2, 1, 1)]
    {
        let (x, xg) = pair([2, cin, 37], &gpu);
        let (w, wg) = pair([cout, cin, k], &gpu);
        let (b, bg) = pair([cout], &gpu);
        let what = format!("conv1d in {cin} out {cout} k {k} stride {s} pad {p} dil {d}");
        assert_same(&what, conv::conv1d(x, w, Some(b), s, p, d), conv::conv1d(xg, wg, Some(bg), s, p, d));
    }
    // (in, out, kernel, stride, padding, output padding).
    for (cin, cout, k, s, p, op) in [(4, 3, 4, 2, 1, 0), (6, 2, 10, 5, 3, 1), (8, 8, 16, 8, 4, 0)] {
        let (x, xg) = pair([2, cin, 13], &gpu);
        let (w, wg) = pair([cin, cout, k], &gpu);
        let (b, bg) = pair([cout], &gpu);
        let what = format!("conv_transpose1d in {cin} out {cout} k {k} stride {s} pad {p} out pad {op}");
        let (cpu, on_gpu) =
            (conv::conv_transpose1d(x, w, Some(b), s, p, op), conv::conv_transpose1d(xg, wg, Some(bg), s, p, op));
        assert_same(&what, cpu, on_gpu);
    }
}

#[test]
fn exact_convs_compute_on_the_gpu_what_the_cpu_kernels_compute() {
    let gpu = common::gpu();
    Device::flex().seed(2);
    for (cin, cout, k, s, d) in [(3, 7, 7, 1, 1), (5, 13, 3, 1, 9), (4, 6, 8, 4, 1)] {
        let (x, xg) = pair([2, cin, 41], &gpu);
        let (w, wg) = pair([cout, cin, k], &gpu);
        let (b, bg) = pair([cout], &gpu);
        let what = format!("exact conv1d in {cin} out {cout} k {k} stride {s} dil {d}");
        assert_same(&what, exact::conv1d(x, w, Some(b), s, d), exact::conv1d(xg, wg, Some(bg), s, d));
    }
    for (cin, cout, k, s, history) in [(4, 3, 4, 2, 0), (6, 5, 16, 8, 1), (3, 2, 10, 5, 2)] {
        let (x, xg) = pair([1, cin, 9 + history], &gpu);
        let (w, wg) = pair([cin, cout, k], &gpu);
        let (b, bg) = pair([cout], &gpu);
        let what = format!("exact causal conv_transpose1d in {cin} out {cout} k {k} stride {s} history {history}");
        let cpu = exact::conv_transpose1d_causal(x, w, Some(b), s, history);
        assert_same(&what, cpu, exact::conv_transpose1d_causal(xg, wg, Some(bg), s, history));
    }
}

#[test]
fn fused_activations_and_weight_norm_compute_on_the_gpu_what_the_cpu_kernels_compute() {
    let gpu = common::gpu();
    Device::flex().seed(3);
    let (x, xg) = pair([2, 5, 33], &gpu);
    assert_same("gelu", gelu(x.clone()), gelu(xg.clone()));

    let mut snake = xcodec_dac::Snake1d::new(5, &Device::flex());
    let alpha = Tensor::<3>::random([1, 5, 1], Distribution::Uniform(0.2, 3.0), &Device::flex());
    snake.alpha = burn::module::Param::from_tensor(alpha.clone());
    let mut snake_gpu = xcodec_dac::Snake1d::new(5, &gpu);
    snake_gpu.alpha = burn::module::Param::from_tensor(Tensor::from_data(alpha.to_data(), &gpu));
    assert_same("snake", snake.forward(x), snake_gpu.forward(xg));

    let (g, gg) = pair([6, 1, 1], &gpu);
    let (v, vg) = pair([6, 4, 3], &gpu);
    assert_same("weight-norm fold", fold_weight_norm(g, v), fold_weight_norm(gg, vg));
}

#[test]
fn codebook_searches_pick_on_the_gpu_what_the_cpu_picks() {
    let gpu = common::gpu();
    Device::flex().seed(4);
    let (embed, embed_gpu) = pair([64, 8], &gpu);
    let (x, xg) = pair([50, 8], &gpu);
    let book = |embed: Tensor<2>, device: &Device| {
        let mut book = xcodec_rvq::EuclideanCodebook::new(64, 8, device);
        book.embed = burn::module::Param::from_tensor(embed);
        book
    };
    let (cpu, on_gpu) = (book(embed, &Device::flex()), book(embed_gpu, &gpu));
    let ints = |t: Tensor<1, Int>| t.into_data().convert::<i64>().try_into_vec::<i64>().unwrap();
    assert_eq!(ints(cpu.nearest(x.clone())), ints(on_gpu.nearest(xg.clone())), "nearest");
    assert_eq!(ints(cpu.nearest_exact(x)), ints(on_gpu.nearest_exact(xg)), "nearest_exact");
}
