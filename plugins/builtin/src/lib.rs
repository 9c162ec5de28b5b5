//! The built-in parts behind one model type: `Any*` enums over the registered plugins (burn modules are
//! not object-safe, so names resolve to enum variants), [`build`] from a [`CodecConfig`], and model
//! directories (`config.toml` + `model.safetensors`). A binary with parts of its own adds them through
//! [`ExtraParts`] and works with [`Codec<P>`] and [`Models<P>`].

pub mod dac_config;
mod error;
mod extra;
mod folded;
mod hf_config;
pub mod hub;
mod init_acoustic;
mod layout;
mod model_dir;
pub mod original;
mod parts;
mod resolve;

pub use error::{BuiltinError, Result};
pub use extra::{ExtraParts, NoExtra, NoPart};
pub use hf_config::{codec_config_from_hf, is_encodec};
pub use init_acoustic::copy_acoustic;
pub use layout::{
    DAC_KEY_MAP, DESCRIPT_KEY_MAP, ENCODEC_KEY_MAP, HF_KEY_MAP, Layout, load_weights, load_weights_except,
};
pub use model_dir::{CONFIG_FILE, WEIGHTS_FILE, save_model_dir};
pub use parts::{AnyAcousticDecoder, AnyAcousticEncoder, AnyQuantizer, AnySemanticTeacher};
pub use resolve::{DECODER_SIDE, ENCODER_SIDE, LoadedModel, Parts};

/// The registered part names, one constant each, as their plugins export them.
pub mod names {
    pub use xcodec_core::NO_TEACHER;
    pub use xcodec_dac::DAC;
    pub use xcodec_encodec::{ENCODEC, SOUNDSTREAM};
    pub use xcodec_hubert::{HUBERT, WAVLM};
    pub use xcodec_rvq::{DAC_VQ, RVQ};
}

use burn::tensor::Device;
use std::marker::PhantomData;
use std::path::Path;
use xcodec_core::{CodecConfig, XCodec};

/// The codec type of a binary with the extra parts `P`; plain `Codec` is the built-ins' (what the `xcodec`
/// binary, the trainer's tests and the library examples use).
pub type Codec<P = NoExtra> =
    XCodec<AnyAcousticEncoder<P>, AnyAcousticDecoder<P>, AnySemanticTeacher<P>, AnyQuantizer<P>>;

/// Builds and loads [`Codec<P>`]s: `Models::<MyParts>::build(..)`. The free functions [`build`],
/// [`build_with`], [`build_pretrained`], [`load_model`] and [`load_model_dir`] are these for the built-ins.
pub struct Models<P = NoExtra>(PhantomData<P>);

impl<P: ExtraParts> Models<P> {
    /// Builds a freshly initialised codec for a validated config (seed the device first for reproducibility).
    pub fn build(cfg: &CodecConfig, device: &Device) -> Result<Codec<P>> {
        Self::build_with(cfg, Parts::All, device)
    }

    /// Like [`Self::build`]; with [`Parts::DecoderOnly`] the teacher is a weightless stand-in of the same
    /// width and the codec refuses to encode.
    pub fn build_with(cfg: &CodecConfig, parts: Parts, device: &Device) -> Result<Codec<P>> {
        cfg.validate()?;
        let (encoder, decoder) = parts::acoustic::<P>(&cfg.acoustic, device)?;
        let teacher = match parts {
            Parts::All | Parts::EncoderOnly => parts::semantic::<P>(&cfg.semantic, device)?,
            Parts::DecoderOnly => parts::absent_teacher::<P>(&cfg.semantic)?,
        };
        let dim =
            xcodec_core::AcousticEncoder::latent_dim(&encoder) + xcodec_core::SemanticTeacher::hidden_size(&teacher);
        let quantizer = parts::quantizer::<P>(&cfg.quantizer, dim, device)?;
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
        codec.encoder_only = parts == Parts::EncoderOnly;
        Ok(codec)
    }

    /// Builds a codec for `cfg` the way `xcodec build` does: a teacher with a `pretrained` source takes its
    /// shape and weights from there. Returns the config with the resolved teacher shape (what to save).
    pub fn build_pretrained(cfg: &CodecConfig, device: &Device) -> Result<(CodecConfig, Codec<P>)> {
        let mut cfg = cfg.clone();
        let teacher_weights = parts::resolve_pretrained_teacher(&mut cfg.semantic)?;
        let mut codec = Self::build(&cfg, device)?;
        if let Some(weights) = teacher_weights {
            load_weights(&mut codec.semantic_teacher, &weights, Layout::HuggingFace, "")?;
        }
        Ok((cfg, codec))
    }

    /// Resolves and loads `spec` (see [`load_model`]).
    pub fn load(spec: &str, yaml: Option<&Path>, parts: Parts, device: &Device) -> Result<LoadedModel<P>> {
        resolve::load_model(spec, yaml, parts, device)
    }

    /// Reads a model directory written by [`save_model_dir`] (a decoder-only one loads for decoding only).
    pub fn load_dir(dir: &Path, device: &Device) -> Result<(CodecConfig, Codec<P>)> {
        model_dir::load_model_dir(dir, device)
    }
}

/// [`Models::build`] for the built-ins.
pub fn build(cfg: &CodecConfig, device: &Device) -> Result<Codec> {
    Models::<NoExtra>::build(cfg, device)
}

/// [`Models::build_with`] for the built-ins.
pub fn build_with(cfg: &CodecConfig, parts: Parts, device: &Device) -> Result<Codec> {
    Models::<NoExtra>::build_with(cfg, parts, device)
}

/// [`Models::build_pretrained`] for the built-ins.
pub fn build_pretrained(cfg: &CodecConfig, device: &Device) -> Result<(CodecConfig, Codec)> {
    Models::<NoExtra>::build_pretrained(cfg, device)
}

/// Resolves and loads `spec`, a model of the built-ins: our directory, a Hugging Face-layout directory, an
/// original `.pth` (`yaml`: its config, default `config.yaml` beside it) or a hub id.
pub fn load_model(spec: &str, yaml: Option<&Path>, parts: Parts, device: &Device) -> Result<LoadedModel> {
    Models::<NoExtra>::load(spec, yaml, parts, device)
}

/// [`Models::load_dir`] for the built-ins.
pub fn load_model_dir(dir: &Path, device: &Device) -> Result<(CodecConfig, Codec)> {
    Models::<NoExtra>::load_dir(dir, device)
}
