//! The built-in parts behind one model type: `Any*` enums over the registered plugins (burn modules are
//! not object-safe, so names resolve to enum variants), [`build`] from a [`CodecConfig`], and model
//! directories (`config.toml` + `model.safetensors`).

mod layout;
mod model_dir;
mod parts;

pub use layout::{Layout, load_weights};
pub use model_dir::{load_model_dir, save_model_dir};
pub use parts::{AnyAcousticDecoder, AnyAcousticEncoder, AnyQuantizer, AnySemanticTeacher};

use burn::tensor::Device;
use xcodec_core::{CodecConfig, Result, XCodec};

/// The codec type the CLI and the trainer work with.
pub type Codec = XCodec<AnyAcousticEncoder, AnyAcousticDecoder, AnySemanticTeacher, AnyQuantizer>;

/// Builds a freshly initialised codec for a validated config (seed the device first for reproducibility).
pub fn build(cfg: &CodecConfig, device: &Device) -> Result<Codec> {
    cfg.validate()?;
    let (encoder, decoder) = parts::acoustic(&cfg.acoustic, device)?;
    let teacher = parts::semantic(&cfg.semantic, device)?;
    let dim = xcodec_core::AcousticEncoder::latent_dim(&encoder) + xcodec_core::SemanticTeacher::hidden_size(&teacher);
    let quantizer = parts::quantizer(&cfg.quantizer, dim, device)?;
    XCodec::new(
        encoder,
        decoder,
        teacher,
        quantizer,
        &cfg.semantic_adapter,
        cfg.sample_rate_hz,
        cfg.target_bandwidths_kbps.clone(),
        device,
    )
}
