//! The teacher: feature extractor -> projection -> encoder; the X-Codec feature is the mean of all hidden states.

use crate::config::{TeacherConfig, TeacherKind};
use crate::encoder::Encoder;
use crate::feature_extractor::{FeatureEncoder, FeatureProjection};
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use xcodec_core::SemanticTeacher;

/// A HuBERT or WavLM model (transformers' `HubertModel`/`WavLMModel` layout).
#[derive(Module, Debug)]
pub struct SslTeacher {
    /// Conv feature extractor.
    pub feature_extractor: FeatureEncoder,
    /// Feature projection.
    pub feature_projection: FeatureProjection,
    /// Transformer encoder.
    pub encoder: Encoder,
    /// Feature width.
    pub hidden_size: usize,
}

impl SslTeacher {
    /// A randomly initialised teacher of shape `cfg` (load weights afterwards).
    pub fn new(cfg: &TeacherConfig, kind: TeacherKind, device: &Device) -> Self {
        Self {
            feature_extractor: FeatureEncoder::new(cfg, device),
            feature_projection: FeatureProjection::new(cfg, device),
            encoder: Encoder::new(cfg, kind, device),
            hidden_size: cfg.hidden_size,
        }
    }

    /// `audio [batch, samples]` -> all hidden states `[batch, frames, hidden]` (embedding output + one per layer).
    pub fn hidden_states(&self, audio: Tensor<2>) -> Vec<Tensor<3>> {
        let features = self.feature_extractor.forward(audio);
        self.encoder.forward(self.feature_projection.forward(features))
    }
}

impl SemanticTeacher for SslTeacher {
    fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// X-Codec's semantic feature: the mean of all hidden states, computed without gradient.
    fn features(&self, audio: Tensor<2>) -> Option<Tensor<3>> {
        let hidden = self.hidden_states(audio.detach());
        let n = hidden.len() as f64;
        let sum = hidden.into_iter().reduce(|a, b| a + b).expect("at least the embedding output");
        Some((sum / n).detach())
    }

    fn output_frames(&self, samples: usize) -> usize {
        self.feature_extractor.output_frames(samples)
    }
}
