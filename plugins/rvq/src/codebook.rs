//! One Euclidean codebook with its EMA training state (names as in X-Codec / transformers).

use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Int, Tensor};

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

fn frozen<const D: usize>(t: Tensor<D>) -> Param<Tensor<D>> {
    Param::from_tensor(t).set_require_grad(false)
}

impl EuclideanCodebook {
    /// A codebook with random unit-variance entries, marked uninitialised (k-means runs on the first batch).
    pub fn new(size: usize, dim: usize, device: &Device) -> Self {
        let embed = Tensor::random([size, dim], Distribution::Normal(0.0, 1.0), device);
        Self {
            inited: frozen(Tensor::zeros([1], device)),
            cluster_size: frozen(Tensor::zeros([size], device)),
            embed_avg: frozen(embed.clone()),
            embed: frozen(embed),
        }
    }

    /// Entries.
    pub fn size(&self) -> usize {
        self.embed.shape().dims::<2>()[0]
    }

    /// Width of an entry.
    pub fn dim(&self) -> usize {
        self.embed.shape().dims::<2>()[1]
    }

    /// Index of the nearest entry for each row of `x [n, dim]`, `[n]`. The distance is computed as the
    /// reference does (`-(|x|^2 - 2 x.e + |e|^2)`, arg-max), so ties resolve the same way.
    pub fn nearest(&self, x: Tensor<2>) -> Tensor<1, Int> {
        let embed = self.embed.val();
        let n = x.dims()[0];
        let xx = x.clone().powi_scalar(2).sum_dim(1);
        let ee = embed.clone().powi_scalar(2).sum_dim(1).reshape([1, self.size()]);
        let dist = -(xx - x.matmul(embed.transpose()) * 2.0 + ee);
        dist.argmax(1).reshape([n])
    }

    /// Entries for `idx [n]`, `[n, dim]`.
    pub fn lookup(&self, idx: Tensor<1, Int>) -> Tensor<2> {
        self.embed.val().select(0, idx)
    }
}
