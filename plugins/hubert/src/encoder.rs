//! Positional conv embedding and the transformer encoder (post-norm or "stable" pre-norm).

use crate::attention::Attention;
use crate::config::{TeacherConfig, TeacherKind};
use burn::module::{Initializer, Module, Param};
use burn::nn::conv::Conv1dConfig;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::module::conv1d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Bool, Device, Tensor};
use xcodec_core::nn::gelu::gelu;
use xcodec_core::nn::masked::{key_padding_mask, zero_tail};
use xcodec_core::nn::rows::map_rows;

/// Grouped conv over time with weight norm over dim 2 (`g` is `[1, 1, taps]`), same-padded, gelu.
#[derive(Module, Debug)]
pub struct PositionalConv {
    /// Magnitude per tap, `[1, 1, taps]`.
    pub weight_g: Param<Tensor<3>>,
    /// Direction, `[hidden, hidden / groups, taps]`.
    pub weight_v: Param<Tensor<3>>,
    /// Bias, `[hidden]`.
    pub bias: Param<Tensor<1>>,
    /// Groups.
    pub groups: usize,
}

/// `pos_conv_embed.conv`.
#[derive(Module, Debug)]
pub struct PositionalConvEmbedding {
    /// The conv.
    pub conv: PositionalConv,
}

impl PositionalConvEmbedding {
    fn new(cfg: &TeacherConfig, device: &Device) -> Self {
        let (h, k, groups) = (cfg.hidden_size, cfg.num_conv_pos_embeddings, cfg.num_conv_pos_embedding_groups);
        let conv = Conv1dConfig::new(h, h, k).with_groups(groups).init(device);
        // `g` starts at the expected per-tap norm of burn's Kaiming-uniform `v` (variance 1 / (3 fan_in) over
        // h * h / groups entries, fan_in = h / groups * k), lazily like the other parameters.
        let g = Initializer::Constant { value: (h as f64 / (3.0 * k as f64)).sqrt() }.init_with(
            [1, 1, k],
            None,
            None,
            device,
        );
        Self {
            conv: PositionalConv {
                weight_g: g,
                weight_v: conv.weight,
                bias: conv.bias.expect("conv has a bias"),
                groups,
            },
        }
    }

    /// `[batch, steps, hidden]` -> positional embedding of the same shape.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let c = &self.conv;
        let v = c.weight_v.val();
        let taps = v.dims()[2];
        let weight = v.clone() * (c.weight_g.val() / norm_over_dims_0_1(v));
        // One conv per group (burn's grouped conv is ~3x slower on the CPU than its plain conv of one group).
        let (x, bias) = (x.swap_dims(1, 2), c.bias.val());
        let width = weight.dims()[0] / c.groups;
        let options = ConvOptions::new([1], [taps / 2], [1], 1);
        let per_group = (0..c.groups).map(|g| {
            let (from, input) = (g * width, x.dims()[1] / c.groups);
            conv1d(
                x.clone().narrow(1, g * input, input),
                weight.clone().narrow(0, from, width),
                Some(bias.clone().narrow(0, from, width)),
                options.clone(),
            )
        });
        let y = Tensor::cat(per_group.collect(), 1);
        // An even number of taps gives one step too many: drop the last (transformers' SamePad).
        let steps = y.dims()[2] - usize::from(taps.is_multiple_of(2));
        gelu(y.narrow(2, 0, steps)).swap_dims(1, 2)
    }
}

/// `||v||` over dims 0 and 1, `[1, 1, taps]` (torch `weight_norm(dim=2)`); the squares in one fused pass on
/// the CPU backend at inference.
fn norm_over_dims_0_1(v: Tensor<3>) -> Tensor<3> {
    let [rows, width, taps] = v.dims();
    let v = v.reshape([rows * width, taps]);
    let square = || {
        |_: usize, out: &mut [f32], input: &[f32]| {
            for (o, &x) in out.iter_mut().zip(input) {
                *o = x * x;
            }
        }
    };
    let squares = map_rows(v, square).unwrap_or_else(|v| v.powi_scalar(2));
    squares.sum_dim(0).sqrt().reshape([1, 1, taps])
}

/// dense -> gelu -> dense.
#[derive(Module, Debug)]
pub struct FeedForward {
    /// hidden -> intermediate.
    pub intermediate_dense: Linear,
    /// intermediate -> hidden.
    pub output_dense: Linear,
}

/// One transformer layer; `pre_norm` selects the "stable layer norm" order.
#[derive(Module, Debug)]
pub struct EncoderLayer {
    /// Self-attention.
    pub attention: Attention,
    /// Norm after (post-norm) or before (pre-norm) attention.
    pub layer_norm: LayerNorm,
    /// Feed-forward.
    pub feed_forward: FeedForward,
    /// Norm after (post-norm) or before (pre-norm) the feed-forward.
    pub final_layer_norm: LayerNorm,
    /// Pre-norm ("stable layer norm") order.
    pub pre_norm: bool,
}

impl EncoderLayer {
    fn forward(&self, x: Tensor<3>, bias: Option<&Tensor<4>>, mask: Option<&Tensor<4, Bool>>) -> Tensor<3> {
        let ff = |h: Tensor<3>| {
            let f = &self.feed_forward;
            f.output_dense.forward(gelu(f.intermediate_dense.forward(h)))
        };
        if self.pre_norm {
            let x = x.clone() + self.attention.forward(self.layer_norm.forward(x), bias, mask);
            x.clone() + ff(self.final_layer_norm.forward(x))
        } else {
            let x = self.layer_norm.forward(x.clone() + self.attention.forward(x, bias, mask));
            self.final_layer_norm.forward(x.clone() + ff(x))
        }
    }
}

/// Positional conv, (norm), transformer layers. `forward` returns every hidden state.
#[derive(Module, Debug)]
pub struct Encoder {
    /// Positional conv embedding.
    pub pos_conv_embed: PositionalConvEmbedding,
    /// Norm after the embedding (post-norm) or after the last layer (pre-norm).
    pub layer_norm: LayerNorm,
    /// The layers.
    pub layers: Vec<EncoderLayer>,
    /// Pre-norm ("stable layer norm") model.
    pub pre_norm: bool,
    /// WavLM bucket count (unused for HuBERT).
    pub num_buckets: usize,
    /// WavLM largest distinguished distance (unused for HuBERT).
    pub max_bucket_distance: usize,
}

impl Encoder {
    /// Builds it for `cfg`.
    pub fn new(cfg: &TeacherConfig, kind: TeacherKind, device: &Device) -> Self {
        let norm = || LayerNormConfig::new(cfg.hidden_size).with_epsilon(cfg.layer_norm_eps).init(device);
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| EncoderLayer {
                attention: Attention::new(
                    cfg.hidden_size,
                    cfg.num_attention_heads,
                    kind == TeacherKind::Wavlm,
                    i == 0,
                    cfg.num_buckets,
                    device,
                ),
                layer_norm: norm(),
                feed_forward: FeedForward {
                    intermediate_dense: LinearConfig::new(cfg.hidden_size, cfg.intermediate_size).init(device),
                    output_dense: LinearConfig::new(cfg.intermediate_size, cfg.hidden_size).init(device),
                },
                final_layer_norm: norm(),
                pre_norm: cfg.do_stable_layer_norm,
            })
            .collect();
        Self {
            pos_conv_embed: PositionalConvEmbedding::new(cfg, device),
            layer_norm: norm(),
            layers,
            pre_norm: cfg.do_stable_layer_norm,
            num_buckets: cfg.num_buckets,
            max_bucket_distance: cfg.max_bucket_distance,
        }
    }

    /// `[batch, steps, hidden]` -> the hidden states transformers reports: the first layer's input, then
    /// every layer's output (for pre-norm models the last one before the final norm, as transformers 5 does).
    pub fn forward(&self, x: Tensor<3>) -> Vec<Tensor<3>> {
        self.forward_masked(x, None)
    }

    /// [`Self::forward`] of rows with `frames[i]` valid frames (all when `None`): the positional conv sees
    /// zeros after them and attention ignores them as keys, so each row's valid frames are its own.
    pub fn forward_masked(&self, x: Tensor<3>, frames: Option<&[usize]>) -> Vec<Tensor<3>> {
        let (steps, device) = (x.dims()[1], x.device());
        let (x, mask) = match frames {
            Some(frames) => (zero_tail(x, 1, frames), key_padding_mask(frames, steps, &device)),
            None => (x, None),
        };
        let x = x.clone() + self.pos_conv_embed.forward(x);
        let mut x = if self.pre_norm { x } else { self.layer_norm.forward(x) };
        let bias = self
            .layers
            .first()
            .and_then(|l| l.attention.position_bias(steps, self.num_buckets, self.max_bucket_distance));
        let mut hidden = Vec::with_capacity(self.layers.len() + 1);
        hidden.push(x.clone());
        for layer in &self.layers {
            x = layer.forward(x, bias.as_ref(), mask.as_ref());
            hidden.push(x.clone());
        }
        hidden
    }
}
