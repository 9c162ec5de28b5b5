//! Self-attention of HuBERT and WavLM. WavLM adds a relative position bias (bucketed, one embedding in
//! the first layer, shared by all) scaled per head and step by a learned gate ("gated relative position bias").

use burn::module::{Module, Param};
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

/// WavLM's gate: `gate_a * (gate_b * gru_rel_pos_const - 1) + 2` from a per-head linear map of the input.
#[derive(Module, Debug)]
pub struct Attention {
    /// Query projection.
    pub q_proj: Linear,
    /// Key projection.
    pub k_proj: Linear,
    /// Value projection.
    pub v_proj: Linear,
    /// Output projection.
    pub out_proj: Linear,
    /// WavLM: per-head gate constant `[1, heads, 1, 1]`.
    pub gru_rel_pos_const: Option<Param<Tensor<4>>>,
    /// WavLM: head_dim -> 8 gate logits.
    pub gru_rel_pos_linear: Option<Linear>,
    /// WavLM, first layer only: bucket -> bias per head.
    pub rel_attn_embed: Option<Embedding>,
    /// Heads.
    pub num_heads: usize,
}

impl Attention {
    /// Plain attention (`gated = false`) or WavLM's (`gated`, with the bias embedding when `has_bias`).
    pub fn new(hidden: usize, heads: usize, gated: bool, has_bias: bool, buckets: usize, device: &Device) -> Self {
        let lin = || LinearConfig::new(hidden, hidden).init(device);
        Self {
            q_proj: lin(),
            k_proj: lin(),
            v_proj: lin(),
            out_proj: lin(),
            gru_rel_pos_const: gated.then(|| Param::from_tensor(Tensor::ones([1, heads, 1, 1], device))),
            gru_rel_pos_linear: gated.then(|| LinearConfig::new(hidden / heads, 8).init(device)),
            rel_attn_embed: (gated && has_bias).then(|| EmbeddingConfig::new(buckets, heads).init(device)),
            num_heads: heads,
        }
    }

    fn heads(&self, x: Tensor<3>) -> Tensor<4> {
        let [b, t, c] = x.dims();
        x.reshape([b, t, self.num_heads, c / self.num_heads]).swap_dims(1, 2)
    }

    /// The ungated position bias `[1, heads, steps, steps]` from this layer's bucket embedding.
    pub fn position_bias(&self, steps: usize, num_buckets: usize, max_distance: usize) -> Option<Tensor<4>> {
        let embed = self.rel_attn_embed.as_ref()?;
        let device = embed.weight.device();
        let buckets: Vec<i64> = (0..steps)
            .flat_map(|q| (0..steps).map(move |k| relative_bucket(k as i64 - q as i64, num_buckets, max_distance)))
            .collect();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(buckets, [steps * steps]), &device);
        let values = embed.weight.val().select(0, idx); // [steps*steps, heads]
        Some(values.reshape([steps, steps, self.num_heads]).permute([2, 0, 1]).unsqueeze_dim(0))
    }

    /// `x [batch, steps, hidden]` -> `[batch, steps, hidden]`, with WavLM's gated bias when given one.
    pub fn forward(
        &self,
        x: Tensor<3>,
        position_bias: Option<&Tensor<4>>,
        mask: Option<&Tensor<4, Bool>>,
    ) -> Tensor<3> {
        let [b, t, c] = x.dims();
        let head_dim = c / self.num_heads;
        let q = self.heads(self.q_proj.forward(x.clone()));
        let k = self.heads(self.k_proj.forward(x.clone()));
        let v = self.heads(self.v_proj.forward(x.clone()));
        let mut bias_term = None;
        if let (Some(bias), Some(lin), Some(konst)) = (position_bias, &self.gru_rel_pos_linear, &self.gru_rel_pos_const)
        {
            let logits = lin.forward(self.heads(x)).reshape([b, self.num_heads, t, 2, 4]).sum_dim(4);
            let gates = sigmoid(logits.reshape([b, self.num_heads, t, 2]));
            let gate_a = gates.clone().narrow(3, 0, 1);
            let gate_b = gates.narrow(3, 1, 1);
            let gate = gate_a * (gate_b * konst.val() - 1.0) + 2.0; // [b, heads, t, 1]
            bias_term = Some(gate * bias.clone());
        }
        // softmax(q k^T / sqrt(head_dim) + bias) v, fused by the backend (tiled on the CPU).
        let options = AttentionModuleOptions { scale: Some(1.0 / (head_dim as f64).sqrt()), ..Default::default() };
        let out = attention(q, k, v, mask.cloned(), bias_term, options); // [b, heads, t, head_dim]
        self.out_proj.forward(out.swap_dims(1, 2).reshape([b, t, c]))
    }
}

/// WavLM's bucket of a relative position (`key - query`), computed in f32 as the reference does.
pub fn relative_bucket(relative: i64, num_buckets: usize, max_distance: usize) -> i64 {
    let half = (num_buckets / 2) as i64;
    let mut bucket = if relative > 0 { half } else { 0 };
    let n = relative.abs();
    let max_exact = half / 2;
    if n < max_exact {
        bucket += n;
    } else {
        let scaled = (n as f32 / max_exact as f32).ln() / (max_distance as f64 / max_exact as f64).ln() as f32;
        let large = (max_exact as f32 + scaled * (half - max_exact) as f32) as i64;
        bucket += large.min(half - 1);
    }
    bucket
}

#[cfg(test)]
mod tests {
    use super::relative_bucket;

    #[test]
    fn buckets_match_the_reference_formula() {
        // Values from transformers' WavLMAttention._relative_positions_bucket(num_buckets=320, max_distance=800).
        let cases = [(0, 0), (1, 161), (-1, 1), (79, 239), (-79, 79), (80, 240), (100, 247), (-800, 159), (5000, 319)];
        for (rel, want) in cases {
            assert_eq!(relative_bucket(rel, 320, 800), want, "relative position {rel}");
        }
        // The tiny test config (16 buckets, distance 64) over -100..=100, from the same reference call.
        const SMALL: [i64; 201] = [
            7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
            7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6,
            6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 4, 4, 3, 2, 1, 0, 9, 10, 11, 12, 12,
            12, 12, 13, 13, 13, 13, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 14, 15,
            15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
            15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
            15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15,
        ];
        for (i, want) in SMALL.iter().enumerate() {
            assert_eq!(relative_bucket(i as i64 - 100, 16, 64), *want, "relative position {}", i as i64 - 100);
        }
    }
}
