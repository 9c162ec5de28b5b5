//! Residual vector quantization with EMA codebooks (SoundStream / EnCodec / X-Codec), registered as the
//! quantizer `rvq`. Inference: nearest codebook entry by Euclidean distance, residual by residual; decode =
//! sum of the chosen entries. Training state (`inited`, `cluster_size`, `embed_avg`) is kept for the trainer.

mod codebook;
mod config;

pub use codebook::EuclideanCodebook;
pub use config::RvqConfig;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use xcodec_core::{Quantizer, QuantizerTrainOutput};

inventory::submit! {
    xcodec_core::PartEntry {
        role: xcodec_core::Role::Quantizer,
        name: "rvq",
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
}

impl ResidualVq {
    /// `cfg.num_quantizers` codebooks of `cfg.codebook_size` entries of width `dim`.
    pub fn new(cfg: &RvqConfig, dim: usize, device: &Device) -> Self {
        Self { layers: (0..cfg.num_quantizers).map(|_| EuclideanCodebook::new(cfg.codebook_size, dim, device)).collect() }
    }

    /// `[batch, dim, frames]` -> rows `[batch * frames, dim]`.
    fn rows(x: Tensor<3>) -> Tensor<2> {
        let [b, d, f] = x.dims();
        x.swap_dims(1, 2).reshape([b * f, d])
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
        let [b, _, f] = x.dims();
        let mut residual = Self::rows(x);
        let mut codes = Vec::with_capacity(n_q);
        for layer in &self.layers[..n_q.min(self.layers.len())] {
            let idx = layer.nearest(residual.clone());
            residual = residual - layer.lookup(idx.clone());
            codes.push(idx.reshape([1, b, f]));
        }
        Tensor::cat(codes, 0)
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
            residual = residual - q.clone();
            quantized_sum = quantized_sum + q;
            codes.push(idx.reshape([1, b, f]));
        }
        // Straight-through: forward is the quantized sum, gradient flows to the input unchanged.
        let quantized = input.clone() + (quantized_sum - input).detach();
        QuantizerTrainOutput {
            quantized: Self::unrows(quantized, b, f),
            codes: Tensor::cat(codes, 0),
            commitment_loss: commitment,
        }
    }
}
