//! DAC's factorized residual VQ (descript-audio-codec `ResidualVectorQuantize`, transformers
//! `DacResidualVectorQuantizer`), registered as the quantizer `dac_vq`.
//!
//! Each codebook works in a small space of its own: `in_proj` (1x1 weight-normed conv, input width ->
//! `codebook_dim`, 8 in DAC) projects the residual down, the code is the entry nearest by cosine (inputs
//! and entries L2-normalised, then the reference's squared distance between them, arg-max), and
//! `out_proj` (1x1 conv back up) maps the *un-normalised* entry to the input space, which is what the
//! residual loses: `residual -= out_proj(codebook[code])`. Decoding sums `out_proj(codebook[code])` over
//! the codebooks. Field names are the checkpoints' (`quantizers.N.in_proj`, `.out_proj`, `.codebook.weight`).
//!
//! Training ([`Quantizer::forward_train`]) is DAC's: a straight-through estimator in the projected space
//! (`z_e + (z_q - z_e).detach()`, then `out_proj`), residuals not detached, and per codebook a commitment
//! term `mse(z_e, z_q.detach())` (moves the encoder and `in_proj`) and a codebook term
//! `mse(z_q, z_e.detach())` (moves the entries: the codebooks train by gradient, no EMA). The single
//! `commitment_loss` the composite reports is DAC's weighted sum over the codebooks used,
//! `sum_i (commitment_weight * commitment_i + codebook_weight * codebook_i)` (0.25 and 1.0 as in DAC's
//! training recipe), so a trainer weight of 1 on it reproduces DAC's loss. DAC's quantizer dropout (a random
//! codebook count per example) is left to the trainer, which draws one bandwidth per step.

use crate::config::DacVqConfig;
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::{Device, Int, Tensor};
use xcodec_core::nn::WnConv1d;
use xcodec_core::{Quantizer, QuantizerTrainOutput};

inventory::submit! {
    xcodec_core::PartEntry {
        role: xcodec_core::Role::Quantizer,
        name: crate::DAC_VQ,
        description: "DAC's factorized residual VQ (1x1 projections to 8-dim codes, cosine nearest, codebooks trained by gradient)",
        default_params: || xcodec_core::config::params_table(&DacVqConfig::default()),
        check_params: |p| DacVqConfig::from_params(p).map(|_| ()),
    }
}

/// One factorized codebook with its projections.
#[derive(Module, Debug)]
pub struct FactorizedCodebook {
    /// Input width -> `codebook_dim`, 1x1.
    pub in_proj: WnConv1d,
    /// `codebook_dim` -> input width, 1x1.
    pub out_proj: WnConv1d,
    /// The entries, `[codebook_size, codebook_dim]` (`codebook.weight`).
    pub codebook: Embedding,
}

impl FactorizedCodebook {
    /// A codebook of `size` entries of width `codebook_dim` for inputs of width `dim`.
    pub fn new(dim: usize, size: usize, codebook_dim: usize, device: &Device) -> Self {
        Self {
            in_proj: WnConv1d::new(dim, codebook_dim, 1, 1, 1, 0, true, device),
            out_proj: WnConv1d::new(codebook_dim, dim, 1, 1, 1, 0, true, device),
            codebook: EmbeddingConfig::new(size, codebook_dim).init(device),
        }
    }

    /// Entries.
    pub fn size(&self) -> usize {
        self.codebook.weight.lazy_shape().dims::<2>()[0]
    }

    /// Width of the codes' space.
    pub fn codebook_dim(&self) -> usize {
        self.codebook.weight.lazy_shape().dims::<2>()[1]
    }

    /// Width of the vectors it quantizes.
    pub fn dim(&self) -> usize {
        self.in_proj.weight_v.lazy_shape().dims::<3>()[1]
    }

    /// Codes `[batch * frames]` (batch-major) of projected vectors `z_e [batch, codebook_dim, frames]`.
    pub fn nearest(&self, z_e: Tensor<3>) -> Tensor<1, Int> {
        let [b, d, f] = z_e.dims();
        nearest_cosine(z_e.swap_dims(1, 2).reshape([b * f, d]), self.codebook.weight.val())
    }

    /// The (un-normalised) entries of `idx [batch * frames]`, `[batch, codebook_dim, frames]`.
    pub fn lookup(&self, idx: Tensor<1, Int>, batch: usize, frames: usize) -> Tensor<3> {
        let d = self.codebook_dim();
        self.codebook.weight.val().select(0, idx).reshape([batch, frames, d]).swap_dims(1, 2)
    }
}

/// Rows of `x` divided by their L2 norm, as torch's `F.normalize` (norm clamped to 1e-12).
fn normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}

/// Index of the entry of `codebook [k, d]` nearest by cosine to each row of `x [n, d]`, `[n]`. Computed as
/// transformers' `DacVectorQuantize.decode_latents` does, term for term (`-(|x|^2 - 2 x.c) + |c|^2` of the
/// normalised vectors, arg-max), so that near-ties fall the same way; mathematically the same ranking as
/// descript's `-(|x|^2 - 2 x.c + |c|^2)`, every `|c|` being 1 after normalisation.
pub fn nearest_cosine(x: Tensor<2>, codebook: Tensor<2>) -> Tensor<1, Int> {
    let [n, _] = x.dims();
    let k = codebook.dims()[0];
    let (x, c) = (normalize(x), normalize(codebook));
    let xx = x.clone().powi_scalar(2).sum_dim(1);
    let cc = c.clone().powi_scalar(2).sum_dim(1).reshape([1, k]);
    let score = -(xx - x.matmul(c.transpose()) * 2.0) + cc;
    score.argmax(1).reshape([n])
}

/// DAC's residual stack of factorized codebooks.
#[derive(Module, Debug)]
pub struct FactorizedRvq {
    /// The codebooks, in order.
    pub quantizers: Vec<FactorizedCodebook>,
    /// Weight of the commitment terms in [`QuantizerTrainOutput::commitment_loss`].
    pub commitment_weight: f64,
    /// Weight of the codebook terms in [`QuantizerTrainOutput::commitment_loss`].
    pub codebook_weight: f64,
}

impl FactorizedRvq {
    /// `cfg.num_quantizers` codebooks for inputs of width `dim`.
    pub fn new(cfg: &DacVqConfig, dim: usize, device: &Device) -> Self {
        Self {
            quantizers: (0..cfg.num_quantizers)
                .map(|_| FactorizedCodebook::new(dim, cfg.codebook_size, cfg.codebook_dim, device))
                .collect(),
            commitment_weight: cfg.commitment_weight,
            codebook_weight: cfg.codebook_weight,
        }
    }
}

impl Quantizer for FactorizedRvq {
    fn dim(&self) -> usize {
        self.quantizers.first().map_or(0, |q| q.dim())
    }

    fn codebook_size(&self) -> usize {
        self.quantizers.first().map_or(0, |q| q.size())
    }

    fn num_quantizers(&self) -> usize {
        self.quantizers.len()
    }

    fn encode(&self, x: Tensor<3>, n_q: usize) -> Tensor<3, Int> {
        let [b, _, f] = x.dims();
        let mut residual = x;
        let mut codes = Vec::with_capacity(n_q);
        for q in &self.quantizers[..n_q.min(self.quantizers.len())] {
            let idx = q.nearest(q.in_proj.forward(residual.clone()));
            residual = residual - q.out_proj.forward(q.lookup(idx.clone(), b, f));
            codes.push(idx.reshape([1, b, f]));
        }
        Tensor::cat(codes, 0)
    }

    fn decode(&self, codes: Tensor<3, Int>) -> Tensor<3> {
        let [n_q, b, f] = codes.dims();
        let parts = self.quantizers[..n_q].iter().enumerate().map(|(i, q)| {
            let idx = codes.clone().narrow(0, i, 1).reshape([b * f]);
            q.out_proj.forward(q.lookup(idx, b, f))
        });
        parts.reduce(|a, b| a + b).expect("at least one codebook")
    }

    fn forward_train(&self, x: Tensor<3>, n_q: usize) -> QuantizerTrainOutput {
        let [b, _, f] = x.dims();
        let mut residual = x.clone();
        let mut quantized = x.zeros_like();
        let mut loss = Tensor::<1>::zeros([1], &x.device());
        let mut codes = Vec::with_capacity(n_q);
        for q in &self.quantizers[..n_q.min(self.quantizers.len())] {
            let z_e = q.in_proj.forward(residual.clone());
            let idx = q.nearest(z_e.clone().detach());
            let z_q = q.lookup(idx.clone(), b, f);
            let commitment = (z_e.clone() - z_q.clone().detach()).powi_scalar(2).mean();
            let codebook = (z_q.clone() - z_e.clone().detach()).powi_scalar(2).mean();
            loss = loss + commitment * self.commitment_weight + codebook * self.codebook_weight;
            // Straight-through in the codes' space: forward is the entry, the gradient goes to z_e.
            let z_st = z_e.clone() + (z_q - z_e).detach();
            let q_i = q.out_proj.forward(z_st);
            residual = residual - q_i.clone();
            quantized = quantized + q_i;
            codes.push(idx.reshape([1, b, f]));
        }
        QuantizerTrainOutput { quantized, codes: Tensor::cat(codes, 0), commitment_loss: loss }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::tensor::{Distribution, TensorData};

    fn ints(t: Tensor<3, Int>) -> Vec<i64> {
        t.into_data().convert::<i64>().try_into_vec::<i64>().unwrap()
    }

    fn tiny(device: &Device) -> FactorizedRvq {
        device.seed(11);
        let cfg = DacVqConfig { num_quantizers: 4, codebook_size: 16, codebook_dim: 3, ..DacVqConfig::default() };
        FactorizedRvq::new(&cfg, 6, device)
    }

    /// A 1x1 conv that is the identity (`v = I`, `g = 1`, no bias).
    fn identity(d: usize, device: &Device) -> WnConv1d {
        let mut conv = WnConv1d::new(d, d, 1, 1, 1, 0, true, device);
        conv.weight_v = Param::from_tensor(Tensor::<2>::eye(d, device).reshape([d, d, 1]));
        conv.weight_g = Param::from_tensor(Tensor::ones([d, 1, 1], device));
        conv.bias = Some(Param::from_tensor(Tensor::zeros([d], device)));
        conv
    }

    #[test]
    fn codes_are_in_range_and_decode_is_what_encode_subtracted() {
        let device = Device::flex();
        let vq = tiny(&device);
        assert_eq!((vq.dim(), vq.codebook_size(), vq.num_quantizers()), (6, 16, 4));
        let x = Tensor::<3>::random([2, 6, 9], Distribution::Normal(0.0, 2.0), &device);
        for n_q in 1..=4 {
            let codes = vq.encode(x.clone(), n_q);
            assert_eq!(codes.dims(), [n_q, 2, 9]);
            assert!(ints(codes.clone()).iter().all(|&c| (0..16).contains(&c)));
            // Encode by hand: residual after n_q codebooks = x - decode(codes).
            let mut residual = x.clone();
            for (i, q) in vq.quantizers[..n_q].iter().enumerate() {
                let idx = q.nearest(q.in_proj.forward(residual.clone()));
                assert_eq!(ints(idx.clone().reshape([1, 2, 9])), ints(codes.clone().narrow(0, i, 1)), "codebook {i}");
                residual = residual - q.out_proj.forward(q.lookup(idx, 2, 9));
            }
            let err = (x.clone() - vq.decode(codes) - residual).abs().max().into_scalar::<f32>();
            assert!(err < 1e-5, "{n_q} codebooks: {err}");
        }
    }

    #[test]
    fn nearest_is_by_direction_not_by_length() {
        let device = Device::flex();
        let book = Tensor::<2>::from_data(TensorData::new(vec![10.0f32, 0.0, 0.0, 0.1, -3.0, -3.0], [3, 2]), &device);
        // Euclidean-nearest of (0.2, 0.05) would be (0, 0.1); by cosine it is (10, 0).
        let x = Tensor::<2>::from_data(TensorData::new(vec![0.2f32, 0.05, 0.0, 7.0, -1.0, -1.2], [3, 2]), &device);
        let idx: Vec<i64> = nearest_cosine(x, book).into_data().convert::<i64>().try_into_vec::<i64>().unwrap();
        assert_eq!(idx, vec![0, 1, 2]);
    }

    #[test]
    fn one_codebook_reconstructs_inputs_made_of_its_entries() {
        let device = Device::flex();
        let mut vq = tiny(&device);
        // Codes' space = input space (identity projections), and the first codebook holds the very vectors
        // the input is made of: the residual after one codebook is zero.
        let d = 6;
        let entries = Tensor::<2>::random([16, d], Distribution::Normal(0.0, 1.0), &device);
        for q in &mut vq.quantizers {
            q.in_proj = identity(d, &device);
            q.out_proj = identity(d, &device);
            q.codebook.weight = Param::from_tensor(Tensor::random([16, d], Distribution::Normal(0.0, 1.0), &device));
        }
        vq.quantizers[0].codebook.weight = Param::from_tensor(entries.clone());
        let picks = [3i64, 0, 15, 7, 7, 9];
        let idx = Tensor::<1, Int>::from_data(TensorData::new(picks.to_vec(), [6]), &device);
        let x = entries.select(0, idx).reshape([1, 6, d]).swap_dims(1, 2);
        let codes = vq.encode(x.clone(), 1);
        assert_eq!(ints(codes.clone()), picks.to_vec());
        let err = (x.clone() - vq.decode(codes)).abs().max().into_scalar::<f32>();
        assert!(err < 1e-6, "{err}");
    }

    #[test]
    fn training_forward_matches_encode_and_trains_entries_and_projections() {
        let device = Device::flex().autodiff();
        let vq = tiny(&device);
        let x = Tensor::<3>::random([2, 6, 5], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let out = vq.forward_train(x.clone(), 3);
        assert_eq!(ints(out.codes.clone()), ints(vq.encode(x.clone(), 3)));
        let err = (out.quantized.clone() - vq.decode(out.codes.clone())).abs().max().into_scalar::<f32>();
        assert!(err < 1e-5, "{err}");
        let loss = out.commitment_loss.clone().into_scalar::<f32>();
        assert!(loss > 0.0);
        let grads = (out.quantized.sum() + out.commitment_loss).backward();
        assert!(x.grad(&grads).is_some(), "input gets a gradient");
        let q = &vq.quantizers[0];
        assert!(q.codebook.weight.grad(&grads).is_some(), "entries train by gradient");
        assert!(q.in_proj.weight_v.grad(&grads).is_some() && q.out_proj.weight_v.grad(&grads).is_some());
        // The codebook that was not used gets nothing.
        assert!(vq.quantizers[3].codebook.weight.grad(&grads).is_none());
    }
}
