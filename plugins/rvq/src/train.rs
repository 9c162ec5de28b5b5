//! Codebook training without gradients, as EnCodec's `EuclideanCodebook` does in training mode: k-means
//! initialisation on the first batch, EMA updates of `cluster_size`/`embed_avg` with Laplace smoothing, and
//! replacement of dead entries by random inputs.
//!
//! Two deliberate differences from EnCodec's code, both fixes also made by `vector-quantize-pytorch`:
//! after k-means `embed_avg` is `means * counts` (EnCodec copies the bare means, so the first EMA step
//! shrinks every entry by its count), and dead entries are replaced *after* the EMA step with `embed_avg`
//! and `cluster_size` set to match (EnCodec replaces them before, and the EMA step then overwrites the
//! replacement).

use crate::codebook::nearest_index;
use crate::{EuclideanCodebook, ResidualVq};
use burn::module::Param;
use burn::tensor::{Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

impl ResidualVq {
    /// k-means-initialises every codebook not yet initialised on the residuals of `rows [n, dim]`.
    pub(crate) fn kmeans_init_layers(&mut self, rows: Tensor<2>, seed: u64) -> bool {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut residual = rows;
        let mut changed = false;
        for layer in &mut self.layers {
            if !layer.is_inited() {
                let size = layer.size();
                let (means, counts) = if self.kmeans_iters > 0 {
                    kmeans(residual.clone(), size, self.kmeans_iters, &mut rng)
                } else {
                    (layer.embed.val(), layer.cluster_size.val())
                };
                let avg = means.clone() * counts.clone().reshape([size, 1]);
                layer.set_state(means, counts, avg);
                set(&mut layer.inited, Tensor::ones([1], &residual.device()));
                changed = true;
            }
            residual = residual.clone() - layer.lookup(layer.nearest(residual));
        }
        changed
    }

    /// One EMA step of the first `n_q` codebooks on the residuals of `rows`, then dead-code replacement.
    pub(crate) fn ema_update_layers(&mut self, rows: Tensor<2>, n_q: usize, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut residual = rows;
        let n_q = n_q.min(self.layers.len());
        for layer in &mut self.layers[..n_q] {
            let idx = layer.nearest(residual.clone());
            let next = residual.clone() - layer.lookup(idx.clone());
            layer.ema_step(residual.clone(), idx, self.ema_decay, self.epsilon);
            layer.replace_dead(residual, self.dead_code_threshold, &mut rng);
            residual = next;
        }
    }
}

impl EuclideanCodebook {
    /// Whether the codebook holds trained (or k-means) entries.
    pub fn is_inited(&self) -> bool {
        self.inited.val().into_scalar::<f32>() > 0.5
    }

    fn set_state(&mut self, embed: Tensor<2>, cluster_size: Tensor<1>, embed_avg: Tensor<2>) {
        set(&mut self.embed, embed);
        set(&mut self.cluster_size, cluster_size);
        set(&mut self.embed_avg, embed_avg);
    }

    /// `cluster_size` and `embed_avg` move toward this batch's counts and sums; entries are their ratio.
    fn ema_step(&mut self, x: Tensor<2>, idx: Tensor<1, Int>, decay: f64, eps: f64) {
        let size = self.size();
        let onehot: Tensor<2> = idx.one_hot::<2>(size).float();
        let counts = onehot.clone().sum_dim(0).reshape([size]);
        let sums = onehot.transpose().matmul(x);
        let cluster = self.cluster_size.val() * decay + counts * (1.0 - decay);
        let avg = self.embed_avg.val() * decay + sums * (1.0 - decay);
        let total = cluster.clone().sum();
        let smoothed = (cluster.clone() + eps) / (total.clone() + size as f64 * eps) * total;
        let embed = avg.clone() / smoothed.reshape([size, 1]);
        self.set_state(embed, cluster, avg);
    }

    /// Entries whose EMA usage fell below `threshold` become random rows of `x`.
    fn replace_dead(&mut self, x: Tensor<2>, threshold: f64, rng: &mut ChaCha8Rng) {
        if threshold <= 0.0 {
            return;
        }
        let [size, dim] = [self.size(), self.dim()];
        let dead = self.cluster_size.val().lower_elem(threshold);
        if !dead.clone().any().into_scalar::<bool>() {
            return;
        }
        let samples = sample_rows(x, size, rng);
        let rows = dead.clone().reshape([size, 1]).expand([size, dim]);
        let embed = self.embed.val().mask_where(rows.clone(), samples.clone());
        let avg = self.embed_avg.val().mask_where(rows, samples * threshold);
        let cluster = self.cluster_size.val().mask_fill(dead, threshold);
        self.set_state(embed, cluster, avg);
    }
}

/// Replaces a frozen parameter's value, keeping its id (optimizer state and checkpoints key on it).
fn set<const D: usize>(param: &mut Param<Tensor<D>>, value: Tensor<D>) {
    *param = Param::initialized(param.id, value.detach()).set_require_grad(false);
}

/// `k` rows of `x [n, dim]`: distinct ones when `n >= k`, else drawn with replacement.
fn sample_rows(x: Tensor<2>, k: usize, rng: &mut ChaCha8Rng) -> Tensor<2> {
    let n = x.dims()[0];
    let idx: Vec<i64> = if n >= k {
        rand::seq::index::sample(rng, n, k).into_iter().map(|i| i as i64).collect()
    } else {
        (0..k).map(|_| rng.random_range(0..n) as i64).collect()
    };
    let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [k]), &x.device());
    x.select(0, idx)
}

/// Lloyd's k-means on the rows of `x`, started from random rows: `(means [k, dim], counts [k])`. A cluster
/// that empties keeps its previous mean.
fn kmeans(x: Tensor<2>, k: usize, iters: usize, rng: &mut ChaCha8Rng) -> (Tensor<2>, Tensor<1>) {
    let dim = x.dims()[1];
    let mut means = sample_rows(x.clone(), k, rng);
    let mut counts = Tensor::zeros([k], &x.device());
    for _ in 0..iters {
        let onehot: Tensor<2> = nearest_index(x.clone(), means.clone()).one_hot::<2>(k).float();
        let bins = onehot.clone().sum_dim(0).reshape([k]);
        let empty = bins.clone().equal_elem(0.0);
        let safe = bins.clone().mask_fill(empty.clone(), 1.0);
        let new = onehot.transpose().matmul(x.clone()) / safe.reshape([k, 1]);
        means = new.mask_where(empty.reshape([k, 1]).expand([k, dim]), means);
        counts = bins;
    }
    (means, counts)
}

#[cfg(test)]
mod tests {
    use crate::{ResidualVq, RvqConfig};
    use burn::tensor::{Device, Distribution, Tensor};
    use xcodec_core::Quantizer;

    fn rvq(kmeans_iters: usize, device: &Device) -> ResidualVq {
        let cfg = RvqConfig { num_quantizers: 2, codebook_size: 8, kmeans_iters, ..RvqConfig::default() };
        ResidualVq::new(&cfg, 3, device)
    }

    /// Quantization error of `x` with all codebooks.
    fn error(q: &ResidualVq, x: &Tensor<3>) -> f32 {
        let codes = q.encode(x.clone(), 2);
        (q.decode(codes) - x.clone()).powi_scalar(2).mean().into_scalar::<f32>()
    }

    #[test]
    fn kmeans_init_beats_random_entries_and_runs_once() {
        let device = Device::flex();
        let x = Tensor::<3>::random([4, 3, 50], Distribution::Normal(0.0, 4.0), &device);
        let mut q = rvq(20, &device);
        let before = error(&q, &x);
        assert!(q.init_codebooks(x.clone(), 1));
        let after = error(&q, &x);
        assert!(after < before * 0.5, "k-means error {after} vs random {before}");
        assert!(q.layers.iter().all(|l| l.is_inited()));
        let embed = q.layers[0].embed.val();
        assert!(!q.init_codebooks(x, 2), "second call must not re-initialise");
        assert_eq!(q.layers[0].embed.val().into_data(), embed.into_data());
    }

    #[test]
    fn ema_steps_converge_to_the_cluster_means_and_revive_dead_entries() {
        let device = Device::flex();
        // Inputs cluster at a few points; every entry starts far away, so all but the nearest are dead.
        let x = Tensor::<3>::random([2, 3, 64], Distribution::Uniform(-1.0, 1.0), &device);
        let mut q = rvq(0, &device);
        q.init_codebooks(x.clone(), 0);
        let start = error(&q, &x);
        for step in 0..200 {
            q.update_codebooks(x.clone(), 2, step);
        }
        let end = error(&q, &x);
        assert!(end < start * 0.5, "EMA training error {end} vs start {start}");
        let usage = q.layers[0].cluster_size.val().into_data().try_to_vec::<f32>().unwrap();
        assert!(usage.iter().all(|&u| u > 0.0), "no entry stays unused: {usage:?}");
        let same_seed = {
            let mut a = rvq(0, &device);
            a.init_codebooks(x.clone(), 0);
            let mut b = a.clone();
            a.update_codebooks(x.clone(), 2, 7);
            b.update_codebooks(x.clone(), 2, 7);
            a.layers[1].embed.val().into_data() == b.layers[1].embed.val().into_data()
        };
        assert!(same_seed, "updates are deterministic given the seed");
    }
}
