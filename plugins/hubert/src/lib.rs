//! HuBERT and WavLM as X-Codec semantic teachers. Both share the conv feature extractor, the feature
//! projection, the grouped positional conv and the transformer encoder (post-norm for base models, pre-norm
//! "stable layer norm" for large ones); WavLM adds gated relative position bias to attention. Field names
//! follow transformers' `HubertModel`/`WavLMModel`, so their checkpoints load by name.

mod attention;
mod config;
mod encoder;
mod feature_extractor;
mod model;

pub use config::{TeacherConfig, TeacherKind};
pub use model::SslTeacher;

/// The semantic part name of the HuBERT teacher.
pub const HUBERT: &str = "hubert";
/// The semantic part name of the WavLM teacher.
pub const WAVLM: &str = "wavlm";

inventory::submit! {
    xcodec_core::PartEntry {
        role: xcodec_core::Role::Semantic,
        name: HUBERT,
        description: "HuBERT teacher (facebook/hubert-base-ls960; X-Codec speech/general models), frozen",
        default_params: || xcodec_core::config::params_table(&TeacherConfig::hubert_base()),
        check_params: |p| TeacherConfig::from_params(HUBERT, p).map(|_| ()),
    }
}

inventory::submit! {
    xcodec_core::PartEntry {
        role: xcodec_core::Role::Semantic,
        name: WAVLM,
        description: "WavLM teacher with gated relative position bias (microsoft/wavlm-base-plus), frozen",
        default_params: || xcodec_core::config::params_table(&TeacherConfig::wavlm_base_plus()),
        check_params: |p| TeacherConfig::from_params(WAVLM, p).map(|_| ()),
    }
}
