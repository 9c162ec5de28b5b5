//! Criterion benches of the length-invariant kernels (`xcodec_core::nn::exact`) that causal SEANets (SoundStream,
//! causal EnCodec) use so that streams equal the whole clip bit for bit, each beside the GEMM conv
//! (`xcodec_core::nn::conv`) that non-causal codecs use, at the default SoundStream's shapes on a 10 s clip at
//! 16 kHz (32 filters doubling per stage, strides 2/4/5/8). Throughput is counted in FLOPs (a multiply-add is 2),
//! so criterion's `Gelem/s` reads as GFLOP/s.
//!
//! Run: `cargo bench -p xcodec-encodec --bench exact` (add `-- --quick` for a short run, or a name filter).

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use xcodec_core::nn::{conv, exact};

fn random(shape: [usize; 3], device: &Device) -> Tensor<3> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

/// Convs: `(name, c_in, c_out, kernel, stride, dilation, output steps)`; the input is padded causally already.
fn conv1d(c: &mut Criterion) {
    let device = Device::flex();
    let cases = [
        ("res_k7_32ch@160000", 32, 32, 7, 1, 1, 160_000),
        ("res_k7_64ch_d9@80000", 64, 64, 7, 1, 9, 80_000),
        ("res_k7_256ch_d3@4000", 256, 256, 7, 1, 3, 4000),
        ("down_256to512_k16_s8@500", 256, 512, 16, 8, 1, 500),
        ("linear_512to512@500", 512, 512, 1, 1, 1, 500),
    ];
    let mut group = c.benchmark_group("seanet/conv1d");
    configure(&mut group);
    for (name, c_in, c_out, kernel, stride, dilation, steps) in cases {
        let x = random([1, c_in, (steps - 1) * stride + (kernel - 1) * dilation + 1], &device);
        let w = random([c_out, c_in, kernel], &device);
        group.throughput(Throughput::Elements((2 * c_in * c_out * kernel * steps) as u64));
        group.bench_function(format!("{name}_exact"), |b| {
            b.iter(|| black_box(exact::conv1d(black_box(x.clone()), w.clone(), None, stride, dilation)))
        });
        group.bench_function(format!("{name}_gemm"), |b| {
            b.iter(|| black_box(conv::conv1d(black_box(x.clone()), w.clone(), None, stride, 0, dilation)))
        });
    }
    group.finish();
}

/// The decoder's causal transposed convs (kernel 2 x stride), `(name, c_in, stride, input frames)`.
fn conv_transpose1d(c: &mut Criterion) {
    let device = Device::flex();
    let cases = [("up_512to256_k16_s8@500", 512, 8, 500), ("up_64to32_k4_s2@80000", 64, 2, 80_000)];
    let mut group = c.benchmark_group("seanet/conv_transpose1d");
    configure(&mut group);
    for (name, c_in, stride, frames) in cases {
        let (c_out, kernel) = (c_in / 2, 2 * stride);
        let (x, w) = (random([1, c_in, frames], &device), random([c_in, c_out, kernel], &device));
        group.throughput(Throughput::Elements((2 * c_in * c_out * kernel * frames) as u64));
        group.bench_function(format!("{name}_exact"), |b| {
            b.iter(|| black_box(exact::conv_transpose1d_causal(black_box(x.clone()), w.clone(), None, stride, 0)))
        });
        group.bench_function(format!("{name}_gemm"), |b| {
            b.iter(|| black_box(conv::conv_transpose1d(black_box(x.clone()), w.clone(), None, stride, 0, 0)))
        });
    }
    group.finish();
}

fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
}

criterion_group!(benches, conv1d, conv_transpose1d);
criterion_main!(benches);
