//! Criterion benches of the DAC layers at the shapes of the full-size X-Codec model on a 10 s clip
//! (160000 samples at 16 kHz, strides 8/5/4/2, 500 latent frames): the convs of the residual units, the
//! strided down-sampling convs, the decoder's transposed convs and Snake. Throughput is counted in FLOPs (a
//! multiply-add is 2), so criterion's `Gelem/s` reads as GFLOP/s; for Snake it is tensor elements a second.
//!
//! Run: `cargo bench -p xcodec-dac --bench layers` (add `-- --quick` for a short run, or a name filter).

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use xcodec_core::nn::{WnConv1d, WnConvTranspose1d};
use xcodec_dac::Snake1d;

/// Samples of a 10 s clip at 16 kHz: what `bench/compare.sh` encodes.
const SAMPLES: usize = 160_000;

/// A `[1, channels, len]` standard-normal input.
fn input(channels: usize, len: usize, device: &Device) -> Tensor<3> {
    Tensor::random([1, channels, len], Distribution::Normal(0.0, 1.0), device)
}

/// FLOPs of a conv producing `out_len` steps: every output element is `c_in * kernel` multiply-adds.
fn conv_flops(c_in: usize, c_out: usize, kernel: usize, out_len: usize) -> u64 {
    (2 * c_in * c_out * kernel * out_len) as u64
}

/// A `WnConv1d` case: `(name, c_in, c_out, kernel, stride, dilation, padding, input length)`.
type ConvCase = (&'static str, usize, usize, usize, usize, usize, usize, usize);

/// `WnConv1d::forward` (weight-norm fold included, as in inference) at the encoder's and decoder's shapes.
fn conv1d(c: &mut Criterion) {
    let device = Device::flex();
    let cases: [ConvCase; 5] = [
        // Residual-unit conv1 of the 64-channel stage (encoder block 0 and decoder block 3, 6 calls per clip).
        ("res_k7_64ch_d1@160000", 64, 64, 7, 1, 1, 3, SAMPLES),
        ("res_k7_64ch_d9@160000", 64, 64, 7, 1, 9, 27, SAMPLES),
        // Residual-unit conv2 (1x1) of the same stage.
        ("res_k1_64ch@160000", 64, 64, 1, 1, 1, 0, SAMPLES),
        // Encoder block 0's down-sampling conv (dim 128, stride 8): 160000 -> 20000 steps.
        ("down_64to128_k16_s8@160000", 64, 128, 16, 8, 1, 4, SAMPLES),
        // Encoder block 3's down-sampling conv (dim 1024, stride 2): 1000 -> 500 steps.
        ("down_512to1024_k4_s2@1000", 512, 1024, 4, 2, 1, 1, 1000),
    ];
    let mut group = c.benchmark_group("dac/conv1d");
    configure(&mut group);
    for (name, c_in, c_out, kernel, stride, dilation, padding, len) in cases {
        let conv = WnConv1d::new(c_in, c_out, kernel, stride, dilation, padding, true, &device);
        let x = input(c_in, len, &device);
        group.throughput(Throughput::Elements(conv_flops(c_in, c_out, kernel, conv.output_len(len))));
        group.bench_function(name, |b| b.iter(|| black_box(conv.forward(black_box(x.clone())))));
        // The same conv through burn's own conv1d (what xcodec's CPU conv op is measured against).
        let (weight, bias) = (conv.weight(), conv.bias.as_ref().map(|b| b.val()));
        let options = burn::tensor::ops::ConvOptions::new([stride], [padding], [dilation], 1);
        group.bench_function(format!("{name}_burn"), |b| {
            b.iter(|| {
                black_box(burn::tensor::module::conv1d(
                    black_box(x.clone()),
                    weight.clone(),
                    bias.clone(),
                    options.clone(),
                ))
            })
        });
    }
    group.finish();
}

/// `WnConvTranspose1d::forward` for the decoder's four up-sampling convs (kernel 2 x stride, 500 frames in,
/// 160000 samples out over the four).
fn conv_transpose1d(c: &mut Criterion) {
    let device = Device::flex();
    // (name, c_in, stride, input length); c_out = c_in / 2, as in `DacDecoderBlock`.
    let cases = [
        ("up_1024to512_k16_s8@500", 1024, 8, 500),
        ("up_512to256_k10_s5@4000", 512, 5, 4000),
        ("up_256to128_k8_s4@20000", 256, 4, 20_000),
        ("up_128to64_k4_s2@80000", 128, 2, 80_000),
    ];
    let mut group = c.benchmark_group("dac/conv_transpose1d");
    configure(&mut group);
    for (name, c_in, stride, len) in cases {
        let (c_out, kernel) = (c_in / 2, 2 * stride);
        let conv = WnConvTranspose1d::new(c_in, c_out, kernel, stride, stride.div_ceil(2), stride % 2, &device);
        let x = input(c_in, len, &device);
        // Every input element scatters into `c_out * kernel` outputs.
        group.throughput(Throughput::Elements(conv_flops(c_in, c_out, kernel, len)));
        group.bench_function(name, |b| b.iter(|| black_box(conv.forward(black_box(x.clone())))));
        // The same through burn's own conv_transpose1d (weight norm folded per call, as `forward` does).
        let bias = conv.bias.as_ref().map(|b| b.val());
        let options =
            burn::tensor::ops::ConvTransposeOptions::new([stride], [conv.padding], [conv.output_padding], [1], 1);
        group.bench_function(format!("{name}_burn"), |b| {
            b.iter(|| {
                let weight = xcodec_core::nn::weight_norm::fold_weight_norm(conv.weight_g.val(), conv.weight_v.val());
                let x = black_box(x.clone());
                black_box(burn::tensor::module::conv_transpose1d(x, weight, bias.clone(), options.clone()))
            })
        });
    }
    group.finish();
}

/// `Snake1d::forward` on `[1, 512, 20000]` (10.24 M elements, as many as the largest Snake calls of the
/// model: 64 x 160000 and 128 x 80000).
fn snake(c: &mut Criterion) {
    let device = Device::flex();
    let snake = Snake1d::new(512, &device);
    let x = input(512, 20_000, &device);
    let mut group = c.benchmark_group("dac/snake1d");
    configure(&mut group);
    group.throughput(Throughput::Elements(512 * 20_000));
    group.bench_function("512ch@20000", |b| b.iter(|| black_box(snake.forward(black_box(x.clone())))));
    // Its element-wise pieces on the same tensor, to tell which one costs the time.
    let alpha = snake.alpha.val();
    group.bench_function("piece_sin", |b| b.iter(|| black_box(black_box(x.clone()).sin())));
    group.bench_function("piece_mul_by_channel", |b| b.iter(|| black_box(black_box(x.clone()) * alpha.clone())));
    group.bench_function("piece_square", |b| b.iter(|| black_box(black_box(x.clone()).powi_scalar(2))));
    group.bench_function("piece_add", |b| b.iter(|| black_box(black_box(x.clone()) + x.clone())));
    group.finish();
}

/// Few samples: each iteration is tens to hundreds of milliseconds.
fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
}

criterion_group!(benches, conv1d, conv_transpose1d, snake);
criterion_main!(benches);
