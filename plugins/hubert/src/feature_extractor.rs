//! The conv feature extractor (7 convs, 320 samples a frame) and the feature projection.

use crate::config::TeacherConfig;
use burn::module::Module;
use burn::nn::PaddingConfig1d;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use xcodec_core::nn::gelu::gelu;
use xcodec_core::nn::rows::{host_values, map_full_rows};

/// The norm after a feature conv.
#[derive(Module, Debug)]
pub enum ConvNorm {
    /// One group per channel, over time (the first conv of base models).
    Group(GroupNorm),
    /// Over channels at each step (every conv of large models).
    Layer(LayerNorm),
}

/// conv -> optional norm -> gelu.
#[derive(Module, Debug)]
pub struct FeatureConvLayer {
    /// The strided conv (no padding).
    pub conv: Conv1d,
    /// The norm, where the config has one.
    pub layer_norm: Option<ConvNorm>,
}

impl FeatureConvLayer {
    /// The layer over rows with `lengths` valid steps (all when `None`; updated to the output's): the conv
    /// has no padding, so only the norm over time needs them.
    fn forward(&self, x: Tensor<3>, lengths: Option<&mut Vec<usize>>) -> Tensor<3> {
        let c = &self.conv;
        let x = if c.groups == 1 && matches!(c.padding, PaddingConfig1d::Valid) {
            xcodec_core::nn::conv::conv1d(x, c.weight.val(), c.bias.as_ref().map(|b| b.val()), c.stride, 0, c.dilation)
        } else {
            c.forward(x)
        };
        let lengths = lengths.map(|lengths| {
            lengths.iter_mut().for_each(|n| *n = valid_conv_len(c, *n));
            &*lengths
        });
        let x = match &self.layer_norm {
            Some(ConvNorm::Group(n)) => per_channel_group_norm(n, x, lengths.map(|l| l.as_slice())),
            Some(ConvNorm::Layer(n)) => n.forward(x.swap_dims(1, 2)).swap_dims(1, 2),
            None => x,
        };
        gelu(x)
    }
}

/// Output steps of a conv without padding for `len` input steps.
fn valid_conv_len(conv: &Conv1d, len: usize) -> usize {
    if len < conv.kernel_size { 0 } else { (len - conv.kernel_size) / conv.stride + 1 }
}

/// `norm.forward(x)`, with statistics over each row's first `lengths[i]` steps (its output zero after them)
/// when given; a norm with one group per channel (base models' first layer) runs as one fused pass over the
/// rows on the CPU backend at inference.
fn per_channel_group_norm(norm: &GroupNorm, x: Tensor<3>, lengths: Option<&[usize]>) -> Tensor<3> {
    let unfused = |x: Tensor<3>| match lengths {
        Some(lengths) => {
            let width = x.dims()[2];
            xcodec_core::nn::masked::per_row(x, 2, lengths, width, |row| norm.forward(row))
        }
        None => norm.forward(x),
    };
    let (Some(gamma), Some(beta)) = (&norm.gamma, &norm.beta) else {
        return unfused(x);
    };
    if norm.num_groups != norm.num_channels {
        return unfused(x);
    }
    let channels = norm.num_channels;
    let fused = map_full_rows(x, || {
        let (gamma, beta, eps) = (host_values(gamma.val()), host_values(beta.val()), norm.epsilon);
        move |row: usize, out: &mut [f32], input: &[f32]| {
            let channel = row % channels;
            let len = lengths.map_or(input.len(), |l| l[row / channels].min(input.len()));
            let (input, n) = (&input[..len], len as f64);
            let mean = input.iter().map(|&v| v as f64).sum::<f64>() / n;
            let var = input.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
            let scale = gamma[channel] as f64 / (var + eps).sqrt();
            let (scale, shift) = (scale as f32, (beta[channel] as f64 - mean * scale) as f32);
            let (valid, tail) = out.split_at_mut(len);
            for (o, &v) in valid.iter_mut().zip(input) {
                *o = v * scale + shift;
            }
            tail.fill(0.0);
        }
    });
    fused.unwrap_or_else(unfused)
}

/// Waveform `[batch, samples]` -> conv features `[batch, conv_dim, frames]`.
#[derive(Module, Debug)]
pub struct FeatureEncoder {
    /// The conv layers.
    pub conv_layers: Vec<FeatureConvLayer>,
}

impl FeatureEncoder {
    /// Builds it for `cfg`.
    pub fn new(cfg: &TeacherConfig, device: &Device) -> Self {
        let layer_norms = cfg.feat_extract_norm == "layer";
        let conv_layers = (0..cfg.conv_dim.len())
            .map(|i| {
                let c_in = if i == 0 { 1 } else { cfg.conv_dim[i - 1] };
                let c_out = cfg.conv_dim[i];
                let conv = Conv1dConfig::new(c_in, c_out, cfg.conv_kernel[i])
                    .with_stride(cfg.conv_stride[i])
                    .with_bias(cfg.conv_bias)
                    .init(device);
                let layer_norm = if layer_norms {
                    Some(ConvNorm::Layer(LayerNormConfig::new(c_out).init(device)))
                } else if i == 0 {
                    Some(ConvNorm::Group(GroupNormConfig::new(c_out, c_out).init(device)))
                } else {
                    None
                };
                FeatureConvLayer { conv, layer_norm }
            })
            .collect();
        Self { conv_layers }
    }

    /// `[batch, samples]` -> `[batch, channels, frames]`.
    pub fn forward(&self, audio: Tensor<2>) -> Tensor<3> {
        self.forward_masked(audio, None)
    }

    /// [`Self::forward`] of rows with `lengths` valid samples (all when `None`): each row's first
    /// `output_frames(lengths[i])` frames are its own.
    pub fn forward_masked(&self, audio: Tensor<2>, lengths: Option<&[usize]>) -> Tensor<3> {
        let [b, t] = audio.dims();
        let mut lengths = lengths.map(|l| l.to_vec());
        self.conv_layers.iter().fold(audio.reshape([b, 1, t]), |x, layer| layer.forward(x, lengths.as_mut()))
    }

    /// Frames for `samples` input samples.
    pub fn output_frames(&self, samples: usize) -> usize {
        self.conv_layers.iter().fold(samples, |len, l| valid_conv_len(&l.conv, len))
    }
}

/// Optional layer norm, then a linear map from conv channels to the transformer width.
#[derive(Module, Debug)]
pub struct FeatureProjection {
    /// Norm over conv channels.
    pub layer_norm: Option<LayerNorm>,
    /// conv_dim -> hidden_size.
    pub projection: Linear,
}

impl FeatureProjection {
    /// Builds it for `cfg`.
    pub fn new(cfg: &TeacherConfig, device: &Device) -> Self {
        let c = *cfg.conv_dim.last().expect("checked non-empty");
        Self {
            layer_norm: cfg
                .feat_proj_layer_norm
                .then(|| LayerNormConfig::new(c).with_epsilon(cfg.layer_norm_eps).init(device)),
            projection: LinearConfig::new(c, cfg.hidden_size).init(device),
        }
    }

    /// `[batch, channels, frames]` -> `[batch, frames, hidden]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = x.swap_dims(1, 2);
        let x = match &self.layer_norm {
            Some(n) => n.forward(x),
            None => x,
        };
        self.projection.forward(x)
    }
}
