//! Residual vector quantization with EMA codebooks (SoundStream / EnCodec / X-Codec), registered as the
//! quantizer `rvq`. Inference: nearest codebook entry by Euclidean distance, residual by residual; decode =
//! sum of the chosen entries. Training state (`inited`, `cluster_size`, `embed_avg`) is kept for the trainer.
//! Also DAC's factorized VQ, the quantizer `dac_vq` ([`FactorizedRvq`]).

mod codebook;
mod config;
mod factorized;
mod train;

pub use codebook::EuclideanCodebook;
pub use config::{DacVqConfig, RvqConfig};
pub use factorized::{FactorizedCodebook, FactorizedRvq, nearest_cosine};

/// The quantizer part name of residual VQ with EMA codebooks.
pub const RVQ: &str = "rvq";
/// The quantizer part name of descript DAC's factorized VQ.
pub const DAC_VQ: &str = "dac_vq";

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use xcodec_core::{Quantizer, QuantizerTrainOutput};

inventory::submit! {
    xcodec_core::PartEntry {
        role: xcodec_core::Role::Quantizer,
        name: RVQ,
        description: "residual VQ with EMA codebooks (X-Codec: 8 x 1024, 0.5 kbps a codebook at 50 Hz)",
        default_params: || xcodec_core::config::params_table(&RvqConfig::default()),
        check_params: |p| RvqConfig::from_params(p).map(|_| ()),
    }
}

/// A stack of codebooks, each quantizing the residual the previous ones left.
#[derive(Module, Debug)]
pub struct ResidualVq {
    /// The codebooks, in order.
    pub layers: Vec<EuclideanCodebook>,
    /// EMA decay of codebook updates (training only).
    pub ema_decay: f64,
    /// Laplace smoothing of cluster sizes (training only).
    pub epsilon: f64,
    /// EMA usage below which an entry is replaced by a random input (training only).
    pub dead_code_threshold: f64,
    /// Lloyd iterations of the first-batch k-means (0 = keep the random init).
    pub kmeans_iters: usize,
}

impl ResidualVq {
    /// `cfg.num_quantizers` codebooks of `cfg.codebook_size` entries of width `dim`.
    pub fn new(cfg: &RvqConfig, dim: usize, device: &Device) -> Self {
        Self {
            layers: (0..cfg.num_quantizers).map(|_| EuclideanCodebook::new(cfg.codebook_size, dim, device)).collect(),
            ema_decay: cfg.ema_decay,
            epsilon: cfg.epsilon,
            dead_code_threshold: cfg.dead_code_threshold,
            kmeans_iters: if cfg.kmeans_init { cfg.kmeans_iters } else { 0 },
        }
    }

    /// `[batch, dim, frames]` -> rows `[batch * frames, dim]`.
    fn rows(x: Tensor<3>) -> Tensor<2> {
        let [b, d, f] = x.dims();
        x.swap_dims(1, 2).reshape([b * f, d])
    }

    /// Codes `[n_q, batch, frames]` of `x [batch, dim, frames]`, each residual's entries picked by `nearest`.
    fn encode_with(
        &self,
        x: Tensor<3>,
        n_q: usize,
        nearest: fn(&EuclideanCodebook, Tensor<2>) -> Tensor<1, Int>,
    ) -> Tensor<3, Int> {
        let [b, _, f] = x.dims();
        let mut residual = Self::rows(x);
        let mut codes = Vec::with_capacity(n_q);
        for layer in &self.layers[..n_q.min(self.layers.len())] {
            let idx = nearest(layer, residual.clone());
            residual = residual - layer.lookup(idx.clone());
            codes.push(idx.reshape([1, b, f]));
        }
        Tensor::cat(codes, 0)
    }

    /// Rows back to `[batch, dim, frames]`.
    fn unrows(x: Tensor<2>, batch: usize, frames: usize) -> Tensor<3> {
        let d = x.dims()[1];
        x.reshape([batch, frames, d]).swap_dims(1, 2)
    }
}

impl Quantizer for ResidualVq {
    fn dim(&self) -> usize {
        self.layers.first().map_or(0, |l| l.dim())
    }

    fn codebook_size(&self) -> usize {
        self.layers.first().map_or(0, |l| l.size())
    }

    fn num_quantizers(&self) -> usize {
        self.layers.len()
    }

    fn encode(&self, x: Tensor<3>, n_q: usize) -> Tensor<3, Int> {
        self.encode_with(x, n_q, EuclideanCodebook::nearest)
    }

    fn encode_exact(&self, x: Tensor<3>, n_q: usize) -> Tensor<3, Int> {
        self.encode_with(x, n_q, EuclideanCodebook::nearest_exact)
    }

    fn decode(&self, codes: Tensor<3, Int>) -> Tensor<3> {
        let [n_q, b, f] = codes.dims();
        let mut sum: Option<Tensor<2>> = None;
        for (i, layer) in self.layers[..n_q].iter().enumerate() {
            let idx = codes.clone().narrow(0, i, 1).reshape([b * f]);
            let q = layer.lookup(idx);
            sum = Some(match sum {
                Some(s) => s + q,
                None => q,
            });
        }
        Self::unrows(sum.expect("at least one codebook"), b, f)
    }

    fn forward_train(&self, x: Tensor<3>, n_q: usize) -> QuantizerTrainOutput {
        let [b, _, f] = x.dims();
        let input = Self::rows(x);
        let mut residual = input.clone();
        let mut quantized_sum = input.zeros_like();
        let mut codes = Vec::with_capacity(n_q);
        let mut commitment = Tensor::<1>::zeros([1], &input.device());
        for layer in &self.layers[..n_q.min(self.layers.len())] {
            let idx = layer.nearest(residual.clone().detach());
            let q = layer.lookup(idx.clone()).detach();
            commitment = commitment + (residual.clone() - q.clone()).powi_scalar(2).mean();
            // As in EnCodec, later residuals carry no gradient (there `residual - quantized` with the
            // straight-through `quantized` has zero derivative): only the first codebook's commitment
            // term reaches the encoder.
            residual = (residual - q.clone()).detach();
            quantized_sum = quantized_sum + q;
            codes.push(idx.reshape([1, b, f]));
        }
        // Straight-through: forward is the quantized sum, gradient flows to the input unchanged.
        let quantized = input.clone() + (quantized_sum - input).detach();
        QuantizerTrainOutput {
            quantized: Self::unrows(quantized, b, f),
            // EnCodec / X-Codec average the per-codebook losses.
            commitment_loss: commitment / codes.len().max(1) as f64,
            codes: Tensor::cat(codes, 0),
        }
    }

    fn init_codebooks(&mut self, x: Tensor<3>, seed: u64) -> bool {
        self.kmeans_init_layers(Self::rows(x.detach()), seed)
    }

    fn update_codebooks(&mut self, x: Tensor<3>, n_q: usize, seed: u64) {
        self.ema_update_layers(Self::rows(x.detach()), n_q, seed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;
    use proptest::prelude::*;

    fn rvq_from(codebooks: &[Vec<f32>], size: usize, dim: usize, device: &Device) -> ResidualVq {
        let cfg = RvqConfig { num_quantizers: codebooks.len(), codebook_size: size, ..RvqConfig::default() };
        let mut rvq = ResidualVq::new(&cfg, dim, device);
        for (layer, values) in rvq.layers.iter_mut().zip(codebooks) {
            let t = Tensor::<2>::from_data(TensorData::new(values.clone(), [size, dim]), device);
            layer.embed = burn::module::Param::from_tensor(t);
        }
        rvq
    }

    fn sq_error(a: &Tensor<3>, b: &Tensor<3>) -> f32 {
        (a.clone() - b.clone()).powi_scalar(2).sum().into_scalar::<f32>()
    }

    /// (codebooks of `size x dim` values in [-3, 3], input of `batch x dim x frames` values in [-50, 50]).
    fn case() -> impl Strategy<Value = (usize, usize, usize, usize, Vec<Vec<f32>>, Vec<f32>)> {
        (1usize..6, 2usize..17, 1usize..9, 1usize..3, 1usize..12).prop_flat_map(|(n_q, size, dim, batch, frames)| {
            (
                Just(n_q),
                Just(size),
                Just(dim),
                Just(frames),
                proptest::collection::vec(proptest::collection::vec(-3.0f32..3.0, size * dim), n_q),
                proptest::collection::vec(-50.0f32..50.0, batch * dim * frames),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn codes_are_always_in_range((n_q, size, dim, frames, books, input) in case()) {
            let device = Device::flex();
            let rvq = rvq_from(&books, size, dim, &device);
            let batch = input.len() / (dim * frames);
            let x = Tensor::<3>::from_data(TensorData::new(input, [batch, dim, frames]), &device);
            let codes = rvq.encode(x, n_q);
            prop_assert_eq!(codes.dims(), [n_q, batch, frames]);
            let v: Vec<i64> = codes.into_data().convert::<i64>().try_to_vec::<i64>().unwrap();
            prop_assert!(v.iter().all(|&c| c >= 0 && (c as usize) < size));
        }

        /// Greedy RVQ can only promise "never worse" when staying put is an option, so the first entry of
        /// every codebook is the zero vector here; with such codebooks each added codebook must not
        /// increase the reconstruction error.
        #[test]
        fn adding_a_codebook_never_increases_the_error((n_q, size, dim, frames, mut books, input) in case()) {
            let device = Device::flex();
            for book in &mut books {
                book[..dim].iter_mut().for_each(|v| *v = 0.0);
            }
            let rvq = rvq_from(&books, size, dim, &device);
            let batch = input.len() / (dim * frames);
            let x = Tensor::<3>::from_data(TensorData::new(input, [batch, dim, frames]), &device);
            let mut last = sq_error(&x, &x.zeros_like());
            for k in 1..=n_q {
                let err = sq_error(&x, &rvq.decode(rvq.encode(x.clone(), k)));
                prop_assert!(err <= last * (1.0 + 1e-5) + 1e-3, "{} codebooks: {} > {}", k, err, last);
                last = err;
            }
        }
    }

    fn ints(t: Tensor<3, Int>) -> Vec<i64> {
        t.into_data().convert::<i64>().try_into_vec::<i64>().unwrap()
    }

    #[test]
    fn exact_encode_picks_the_same_entries_and_ignores_the_other_frames() {
        let device = Device::flex();
        device.seed(5);
        let rvq =
            ResidualVq::new(&RvqConfig { num_quantizers: 4, codebook_size: 64, ..RvqConfig::default() }, 24, &device);
        let x = Tensor::<3>::random([2, 24, 57], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let exact = rvq.encode_exact(x.clone(), 4);
        assert_eq!(ints(exact.clone()), ints(rvq.encode(x.clone(), 4)));
        for (start, len) in [(0, 1), (13, 3), (50, 7)] {
            let part = rvq.encode_exact(x.clone().narrow(2, start, len), 4);
            assert_eq!(ints(part), ints(exact.clone().narrow(2, start, len)), "frames {start}..{}", start + len);
        }
    }

    #[test]
    fn training_forward_is_straight_through_and_matches_encode() {
        let device = Device::flex().autodiff();
        device.seed(3);
        let rvq =
            ResidualVq::new(&RvqConfig { num_quantizers: 3, codebook_size: 8, ..RvqConfig::default() }, 4, &device);
        let x = Tensor::<3>::random([2, 4, 5], burn::tensor::Distribution::Normal(0.0, 1.0), &device).require_grad();
        let out = rvq.forward_train(x.clone(), 3);
        out.codes.clone().into_data().assert_eq(&rvq.encode(x.clone(), 3).into_data(), true);
        out.quantized
            .clone()
            .into_data()
            .assert_approx_eq::<f32>(&rvq.decode(out.codes.clone()).into_data(), Default::default());
        let grads = out.quantized.sum().backward();
        let g = x.grad(&grads).expect("input gets a gradient");
        g.to_data()
            .assert_approx_eq::<f32>(&Tensor::<3>::ones([2, 4, 5], &Device::flex()).into_data(), Default::default());
        assert!(out.commitment_loss.into_scalar::<f32>() > 0.0);
    }
}
