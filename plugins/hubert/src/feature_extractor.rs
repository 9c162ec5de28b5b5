//! The conv feature extractor (7 convs, 320 samples a frame) and the feature projection.

use crate::config::TeacherConfig;
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use xcodec_core::nn::gelu::gelu;
use burn::tensor::{Device, Tensor};

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
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self.conv.forward(x);
        let x = match &self.layer_norm {
            Some(ConvNorm::Group(n)) => n.forward(x),
            Some(ConvNorm::Layer(n)) => n.forward(x.swap_dims(1, 2)).swap_dims(1, 2),
            None => x,
        };
        gelu(x)
    }
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
        let [b, t] = audio.dims();
        self.conv_layers.iter().fold(audio.reshape([b, 1, t]), |x, layer| layer.forward(x))
    }

    /// Frames for `samples` input samples.
    pub fn output_frames(&self, samples: usize) -> usize {
        self.conv_layers.iter().fold(samples, |len, l| {
            let k = l.conv.kernel_size;
            if len < k { 0 } else { (len - k) / l.conv.stride + 1 }
        })
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
