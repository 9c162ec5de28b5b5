//! Criterion benches of the RVQ nearest-neighbour search at the full-size X-Codec shape: 1024-entry codebooks
//! of 1024-wide vectors (256 acoustic + 768 semantic), 500 frames (a 10 s clip), one codebook and all 8.
//! Throughput is counted in FLOPs of the distance matmul (2 n k d; the norms and arg-max are not counted), so
//! criterion's `Gelem/s` reads as GFLOP/s.
//!
//! Run: `cargo bench -p xcodec-rvq --bench nearest` (add `-- --quick` for a short run, or a name filter).

use burn::tensor::{Device, Distribution, Tensor};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use xcodec_core::Quantizer;
use xcodec_rvq::{ResidualVq, RvqConfig};

/// Frames of a 10 s clip (hop 320 at 16 kHz).
const FRAMES: usize = 500;
/// Width of the quantized vectors in the full-size model.
const DIM: usize = 1024;

/// One codebook's search and the whole 8-codebook encode.
fn nearest(c: &mut Criterion) {
    let device = Device::flex();
    let cfg = RvqConfig::default();
    let rvq = ResidualVq::new(&cfg, DIM, &device);
    let matmul = (2 * FRAMES * cfg.codebook_size * DIM) as u64;

    let mut group = c.benchmark_group("rvq");
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));

    let rows = Tensor::<2>::random([FRAMES, DIM], Distribution::Normal(0.0, 1.0), &device);
    group.throughput(Throughput::Elements(matmul));
    group.bench_function("nearest_1024x1024@500", |b| {
        b.iter(|| black_box(rvq.layers[0].nearest(black_box(rows.clone()))))
    });

    // The whole residual encode: search, look-up and subtraction for each of the 8 codebooks.
    let x = Tensor::<3>::random([1, DIM, FRAMES], Distribution::Normal(0.0, 1.0), &device);
    let n_q = cfg.num_quantizers;
    group.throughput(Throughput::Elements(matmul * n_q as u64));
    group.bench_function("encode_8x1024x1024@500", |b| b.iter(|| black_box(rvq.encode(black_box(x.clone()), n_q))));
    group.finish();
}

criterion_group!(benches, nearest);
criterion_main!(benches);
