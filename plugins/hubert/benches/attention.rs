//! Criterion benches of the hubert-base teacher's hot layers at the shapes of a 10 s clip (160000 samples,
//! 500 frames): self-attention (768 wide, 12 heads), the feed-forward, one whole encoder step (positional
//! conv + one layer) and the feature extractor's heaviest conv. The layers are those of an `SslTeacher`
//! built from `TeacherConfig::hubert_base()` (random weights; one transformer layer is enough). Throughput is
//! counted in FLOPs (a multiply-add is 2), so criterion's `Gelem/s` reads as GFLOP/s.
//!
//! Run: `cargo bench -p xcodec-hubert --bench attention` (add `-- --quick` for a short run, or a name filter).

use burn::tensor::activation::gelu;
use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use xcodec_hubert::{SslTeacher, TeacherConfig, TeacherKind};

/// Frames of a 10 s clip (hop 320 at 16 kHz).
const FRAMES: usize = 500;

/// Attention, feed-forward and a one-layer encoder pass of hubert-base at 500 frames.
fn transformer(c: &mut Criterion) {
    let device = Device::flex();
    let cfg = TeacherConfig { num_hidden_layers: 1, ..TeacherConfig::hubert_base() };
    let (t, h, ff) = (FRAMES, cfg.hidden_size, cfg.intermediate_size);
    let teacher = SslTeacher::new(&cfg, TeacherKind::Hubert, &device);
    let layer = &teacher.encoder.layers[0];
    let x = Tensor::<3>::random([1, t, h], Distribution::Normal(0.0, 1.0), &device);

    // q, k, v, out projections (4 t h^2 multiply-adds) + scores and weighted values (2 t^2 h).
    let attention = 2 * (4 * t * h * h + 2 * t * t * h);
    let feed_forward = 2 * (2 * t * h * ff);
    // 16-group positional conv: h outputs of h/16 inputs x 128 taps per step.
    let taps = cfg.num_conv_pos_embeddings;
    let pos_conv = 2 * t * h * (h / cfg.num_conv_pos_embedding_groups) * taps;

    let mut group = c.benchmark_group("hubert");
    configure(&mut group);
    group.throughput(Throughput::Elements(attention as u64));
    group.bench_function("attention_768w_12h@500", |b| {
        b.iter(|| black_box(layer.attention.forward(black_box(x.clone()), None, None)))
    });
    let ffn = &layer.feed_forward;
    group.throughput(Throughput::Elements(feed_forward as u64));
    group.bench_function("feed_forward_768to3072@500", |b| {
        b.iter(|| black_box(ffn.output_dense.forward(gelu(ffn.intermediate_dense.forward(black_box(x.clone()))))))
    });
    // `Encoder::forward` with one layer: positional conv + norm + attention + feed-forward + 2 norms.
    group.throughput(Throughput::Elements((pos_conv + attention + feed_forward) as u64));
    group.bench_function("encoder_pos_conv+1_layer@500", |b| {
        b.iter(|| black_box(teacher.encoder.forward(black_box(x.clone()))))
    });
    group.finish();
}

/// The feature extractor's second conv (512 -> 512, kernel 3, stride 2, 32000 -> 15999 steps): the largest
/// single conv of the teacher, about half of the extractor's FLOPs.
fn feature_conv(c: &mut Criterion) {
    let device = Device::flex();
    let cfg = TeacherConfig { num_hidden_layers: 1, ..TeacherConfig::hubert_base() };
    let teacher = SslTeacher::new(&cfg, TeacherKind::Hubert, &device);
    let conv = &teacher.feature_extractor.conv_layers[1].conv;
    let (c_in, c_out, kernel, len) = (cfg.conv_dim[0], cfg.conv_dim[1], cfg.conv_kernel[1], 32_000);
    let out_len = (len - kernel) / cfg.conv_stride[1] + 1;
    let x = Tensor::<3>::random([1, c_in, len], Distribution::Normal(0.0, 1.0), &device);
    let mut group = c.benchmark_group("hubert");
    configure(&mut group);
    group.throughput(Throughput::Elements((2 * c_in * c_out * kernel * out_len) as u64));
    group.bench_function("feature_conv_512to512_k3_s2@32000", |b| {
        b.iter(|| black_box(conv.forward(black_box(x.clone()))))
    });
    // The same conv through xcodec's per-tap GEMM op (what the teacher runs on the CPU).
    let (weight, bias) = (conv.weight.val(), conv.bias.as_ref().map(|b| b.val()));
    group.bench_function("feature_conv_512to512_k3_s2@32000_gemm_per_tap", |b| {
        b.iter(|| black_box(xcodec_core::nn::conv::conv1d(black_box(x.clone()), weight.clone(), bias.clone(), 2, 0, 1)))
    });
    group.finish();
}

/// Few samples: each iteration is tens to hundreds of milliseconds.
fn configure(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
}

criterion_group!(benches, transformer, feature_conv);
criterion_main!(benches);
