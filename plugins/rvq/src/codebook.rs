//! One Euclidean codebook with its EMA training state (names as in X-Codec / transformers).

use burn::module::{Initializer, Module, Param};
use burn::tensor::{Device, Int, Tensor, TensorData};
use xcodec_core::nn::exact;
use xcodec_core::nn::rows::host_values;

/// `size` vectors of width `dim`, plus the EMA state the trainer updates (none of it gets gradients).
#[derive(Module, Debug)]
pub struct EuclideanCodebook {
    /// 1 once the codebook holds trained (or k-means) entries; 0 means uninitialised.
    pub inited: Param<Tensor<1>>,
    /// EMA of how many vectors each entry received, `[size]`.
    pub cluster_size: Param<Tensor<1>>,
    /// The entries, `[size, dim]`.
    pub embed: Param<Tensor<2>>,
    /// EMA of the sum of vectors each entry received, `[size, dim]`.
    pub embed_avg: Param<Tensor<2>>,
}

/// A parameter the optimiser never touches (the trainer updates it by EMA), initialised lazily: a codebook
/// that is loaded right after it is built never draws values it overwrites.
fn frozen<const D: usize, S: Into<burn::tensor::Shape>>(
    init: Initializer,
    shape: S,
    device: &Device,
) -> Param<Tensor<D>> {
    init.init_with(shape, None, None, device).set_require_grad(false)
}

impl EuclideanCodebook {
    /// A codebook with random unit-variance entries, marked uninitialised (k-means on the first training
    /// batch replaces them and sets `embed_avg`).
    pub fn new(size: usize, dim: usize, device: &Device) -> Self {
        Self {
            inited: frozen(Initializer::Zeros, [1], device),
            cluster_size: frozen(Initializer::Zeros, [size], device),
            embed: frozen(Initializer::Normal { mean: 0.0, std: 1.0 }, [size, dim], device),
            embed_avg: frozen(Initializer::Zeros, [size, dim], device),
        }
    }

    /// Entries.
    pub fn size(&self) -> usize {
        self.embed.lazy_shape().dims::<2>()[0]
    }

    /// Width of an entry.
    pub fn dim(&self) -> usize {
        self.embed.lazy_shape().dims::<2>()[1]
    }

    /// Index of the nearest entry for each row of `x [n, dim]`, `[n]`. The distance is computed as the
    /// reference does (`-(|x|^2 - 2 x.e + |e|^2)`, arg-max), so ties resolve the same way.
    pub fn nearest(&self, x: Tensor<2>) -> Tensor<1, Int> {
        nearest_index(x, self.embed.val())
    }

    /// [`Self::nearest`] with each row's distances computed by the same operations whatever the other rows
    /// (fixed summation order, see [`xcodec_core::nn::exact`]), for codecs that stream. Ties go to the first entry.
    pub fn nearest_exact(&self, x: Tensor<2>) -> Tensor<1, Int> {
        let device = x.device();
        let ([n, dim], embed) = (x.dims(), self.embed.val());
        let size = embed.dims()[0];
        let dots = exact::conv1d(
            x.clone().transpose().reshape([1, dim, n]),
            embed.clone().reshape([size, dim, 1]),
            None,
            1,
            1,
        );
        let (x, embed, dots) = (host_values(x), host_values(embed), host_values(dots));
        let squares =
            |rows: &[f32]| rows.chunks(dim).map(|r| r.iter().fold(0f32, |s, v| s + v * v)).collect::<Vec<_>>();
        let (xx, ee) = (squares(&x), squares(&embed));
        let idx: Vec<i64> = (0..n)
            .map(|t| {
                // The reference's `-(|x|^2 - 2 x.e + |e|^2)`, arg-max.
                let dist = |i: usize| -((xx[t] - dots[i * n + t] * 2.0) + ee[i]);
                let first = (0, dist(0));
                (1..size).map(|i| (i, dist(i))).fold(first, |best, next| if next.1 > best.1 { next } else { best }).0
                    as i64
            })
            .collect();
        Tensor::from_data(TensorData::new(idx, [n]), &device)
    }

    /// Entries for `idx [n]`, `[n, dim]`.
    pub fn lookup(&self, idx: Tensor<1, Int>) -> Tensor<2> {
        self.embed.val().select(0, idx)
    }
}

/// Index of the nearest row of `embed [k, dim]` for each row of `x [n, dim]`, `[n]`, by the reference's
/// `-(|x|^2 - 2 x.e + |e|^2)` arg-max.
pub(crate) fn nearest_index(x: Tensor<2>, embed: Tensor<2>) -> Tensor<1, Int> {
    let [n, _] = x.dims();
    let k = embed.dims()[0];
    let xx = x.clone().powi_scalar(2).sum_dim(1);
    let ee = embed.clone().powi_scalar(2).sum_dim(1).reshape([1, k]);
    let dist = -(xx - x.matmul(embed.transpose()) * 2.0 + ee);
    dist.argmax(1).reshape([n])
}
