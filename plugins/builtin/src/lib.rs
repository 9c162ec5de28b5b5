//! The built-in parts behind one model type: `Any*` enums over the registered plugins (burn modules are
//! not object-safe, so names resolve to enum variants), [`build`] from a [`CodecConfig`], and model
//! directories (`config.toml` + `model.safetensors`).

pub mod codes_file;
mod hf_config;
pub mod hub;
mod layout;
mod model_dir;
pub mod original;
mod parts;
pub mod pipeline;
mod resolve;

pub use hf_config::{codec_config_from_hf, is_encodec};
pub use layout::{ENCODEC_KEY_MAP, HF_KEY_MAP, Layout, load_weights, load_weights_except};
pub use model_dir::{load_model_dir, save_model_dir, write_atomic};
pub use resolve::{ENCODER_SIDE, LoadedModel, Parts, load_model};
pub use parts::{AnyAcousticDecoder, AnyAcousticEncoder, AnyQuantizer, AnySemanticTeacher};

use burn::tensor::Device;
use xcodec_core::{CodecConfig, Result, XCodec};

/// The codec type the CLI and the trainer work with.
pub type Codec = XCodec<AnyAcousticEncoder, AnyAcousticDecoder, AnySemanticTeacher, AnyQuantizer>;

/// Builds a freshly initialised codec for a validated config (seed the device first for reproducibility).
pub fn build(cfg: &CodecConfig, device: &Device) -> Result<Codec> {
    build_with(cfg, Parts::All, device)
}

/// Like [`build`]; with [`Parts::DecoderOnly`] the teacher is a weightless stand-in of the same width and
/// the codec refuses to encode.
pub fn build_with(cfg: &CodecConfig, parts: Parts, device: &Device) -> Result<Codec> {
    cfg.validate()?;
    let (encoder, decoder) = parts::acoustic(&cfg.acoustic, device)?;
    let teacher = match parts {
        Parts::All => parts::semantic(&cfg.semantic, device)?,
        Parts::DecoderOnly => parts::absent_teacher(&cfg.semantic)?,
    };
    let dim = xcodec_core::AcousticEncoder::latent_dim(&encoder) + xcodec_core::SemanticTeacher::hidden_size(&teacher);
    let quantizer = parts::quantizer(&cfg.quantizer, dim, device)?;
    let mut codec = XCodec::new(
        encoder,
        decoder,
        teacher,
        quantizer,
        &cfg.semantic_adapter,
        cfg.sample_rate_hz,
        cfg.target_bandwidths_kbps.clone(),
        device,
    )?;
    codec.decoder_only = parts == Parts::DecoderOnly;
    Ok(codec)
}

/// Builds a codec for `cfg` the way `xcodec build` does: a teacher with a `pretrained` source takes its
/// shape and weights from there. Returns the config with the resolved teacher shape (what to save).
pub fn build_pretrained(cfg: &CodecConfig, device: &Device) -> Result<(CodecConfig, Codec)> {
    let mut cfg = cfg.clone();
    let teacher_weights = parts::resolve_pretrained_teacher(&mut cfg.semantic)?;
    let mut codec = build(&cfg, device)?;
    if let Some(weights) = teacher_weights {
        load_weights(&mut codec.semantic_teacher, &weights, Layout::HuggingFace, "")?;
    }
    Ok((cfg, codec))
}
