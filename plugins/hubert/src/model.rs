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
        self.hidden_states_masked(audio, None)
    }

    /// [`Self::hidden_states`] of rows with `lengths` valid samples (all when `None`): every norm over time,
    /// the positional conv and attention see each row's valid part only.
    pub fn hidden_states_masked(&self, audio: Tensor<2>, lengths: Option<&[usize]>) -> Vec<Tensor<3>> {
        let features = self.feature_extractor.forward_masked(audio, lengths);
        let frames = lengths.map(|l| l.iter().map(|&n| self.feature_extractor.output_frames(n)).collect::<Vec<_>>());
        self.encoder.forward_masked(self.feature_projection.forward(features), frames.as_deref())
    }

    /// The mean of the hidden states, without gradient.
    fn mean_hidden(&self, audio: Tensor<2>, lengths: Option<&[usize]>) -> Tensor<3> {
        let hidden = self.hidden_states_masked(audio.detach(), lengths);
        let n = hidden.len() as f64;
        let sum = hidden.into_iter().reduce(|a, b| a + b).expect("at least the embedding output");
        (sum / n).detach()
    }
}

impl SemanticTeacher for SslTeacher {
    fn hidden_size(&self) -> usize {
        self.hidden_size
    }

    /// X-Codec's semantic feature: the mean of all hidden states, computed without gradient.
    fn features(&self, audio: Tensor<2>) -> Option<Tensor<3>> {
        Some(self.mean_hidden(audio, None))
    }

    fn features_masked(&self, audio: Tensor<2>, lengths: &[usize]) -> Option<Tensor<3>> {
        Some(self.mean_hidden(audio, Some(lengths)))
    }

    fn output_frames(&self, samples: usize) -> usize {
        self.feature_extractor.output_frames(samples)
    }
}
