//! `Any*` enums: one variant per built-in part, delegating the part traits.

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use xcodec_core::{
    AbsentTeacher, AcousticDecoder, AcousticEncoder, NoTeacher, PartConfig, Quantizer, QuantizerTrainOutput, Result,
    Role, SemanticTeacher, StreamState, XcodecError, registry,
};
use std::path::PathBuf;
use xcodec_dac::{DacConfig, DacDecoder, DacEncoder};
use xcodec_encodec::{EncodecConfig, SeanetDecoder, SeanetEncoder, SoundStreamConfig};
use xcodec_hubert::{SslTeacher, TeacherConfig, TeacherKind};
use xcodec_rvq::{ResidualVq, RvqConfig};

/// Any built-in acoustic encoder.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // one per codec: not worth boxing
pub enum AnyAcousticEncoder {
    /// `dac`.
    Dac(DacEncoder),
    /// `encodec` or `soundstream` (both SEANet).
    Seanet(SeanetEncoder),
}

/// Any built-in acoustic decoder.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // one per codec: not worth boxing
pub enum AnyAcousticDecoder {
    /// `dac`.
    Dac(DacDecoder),
    /// `encodec` or `soundstream` (both SEANet).
    Seanet(SeanetDecoder),
}

/// Any built-in semantic teacher.
#[derive(Module, Debug)]
pub enum AnySemanticTeacher {
    /// `none`.
    None(NoTeacher),
    /// `hubert` or `wavlm`.
    Ssl(SslTeacher),
    /// A teacher not loaded (decode-only models).
    Absent(AbsentTeacher),
}

/// Any built-in quantizer.
#[derive(Module, Debug)]
pub enum AnyQuantizer {
    /// `rvq`.
    Rvq(ResidualVq),
}

/// The error for a name that is registered but has no built-in constructor (a linked third-party part).
fn not_built_in(role: Role, name: &str) -> XcodecError {
    XcodecError::Config(format!("{role} part '{name}' is registered but not built into this binary's model type"))
}

/// Builds the encoder/decoder pair named by `part`.
pub fn acoustic(part: &PartConfig, device: &Device) -> Result<(AnyAcousticEncoder, AnyAcousticDecoder)> {
    registry::find(Role::Acoustic, &part.name)?;
    match part.name.as_str() {
        "dac" => {
            let cfg = DacConfig::from_params(&part.params)?;
            Ok((AnyAcousticEncoder::Dac(DacEncoder::new(&cfg, device)), AnyAcousticDecoder::Dac(DacDecoder::new(&cfg, device))))
        }
        name @ ("encodec" | "soundstream") => {
            let cfg = if name == "encodec" {
                EncodecConfig::from_params(&part.params)?
            } else {
                SoundStreamConfig::from_params(&part.params)?.to_seanet()
            };
            Ok((
                AnyAcousticEncoder::Seanet(SeanetEncoder::new(&cfg, device)),
                AnyAcousticDecoder::Seanet(SeanetDecoder::new(&cfg, device)),
            ))
        }
        other => Err(not_built_in(Role::Acoustic, other)),
    }
}

/// The shape of the teacher named by `part` (`None` for `none`), its name and params checked.
fn teacher_config(part: &PartConfig) -> Result<Option<TeacherConfig>> {
    (registry::find(Role::Semantic, &part.name)?.check_params)(&part.params)?;
    match part.name.as_str() {
        "none" => Ok(None),
        name @ ("hubert" | "wavlm") => TeacherConfig::from_params(name, &part.params).map(Some),
        other => Err(not_built_in(Role::Semantic, other)),
    }
}

/// Builds the teacher named by `part`.
pub fn semantic(part: &PartConfig, device: &Device) -> Result<AnySemanticTeacher> {
    Ok(match teacher_config(part)? {
        None => AnySemanticTeacher::None(NoTeacher::default()),
        Some(cfg) => AnySemanticTeacher::Ssl(SslTeacher::new(&cfg, teacher_kind(&part.name), device)),
    })
}

/// A weightless stand-in of the teacher's width, for decode-only loading.
pub fn absent_teacher(part: &PartConfig) -> Result<AnySemanticTeacher> {
    let hidden_size = teacher_config(part)?.map_or(0, |cfg| cfg.hidden_size);
    Ok(AnySemanticTeacher::Absent(AbsentTeacher { hidden_size }))
}

fn teacher_kind(name: &str) -> TeacherKind {
    if name == "wavlm" { TeacherKind::Wavlm } else { TeacherKind::Hubert }
}

/// For a teacher with a `pretrained` source: resolves it, replaces the shape params with the source's
/// `config.json` (keeping `pretrained`), and returns its weights file. `None` for other parts.
pub fn resolve_pretrained_teacher(part: &mut PartConfig) -> Result<Option<PathBuf>> {
    if !matches!(part.name.as_str(), "hubert" | "wavlm") {
        return Ok(None);
    }
    let cfg = TeacherConfig::from_params(&part.name, &part.params)?;
    if cfg.pretrained.is_empty() {
        return Ok(None);
    }
    let files = crate::hub::resolve(&cfg.pretrained, &[&["config.json"], &["model.safetensors", "pytorch_model.bin"]])?;
    let text = std::fs::read_to_string(&files[0]).map_err(|e| XcodecError::file(&files[0], e.to_string()))?;
    let shape = TeacherConfig::from_hf_json(&text, teacher_kind(&part.name))
        .map_err(|e| XcodecError::file(&files[0], e.to_string()))?;
    part.params = xcodec_core::config::params_table(&TeacherConfig { pretrained: cfg.pretrained, ..shape });
    Ok(Some(files[1].clone()))
}

/// Builds the quantizer named by `part` for vectors of width `dim`.
pub fn quantizer(part: &PartConfig, dim: usize, device: &Device) -> Result<AnyQuantizer> {
    registry::find(Role::Quantizer, &part.name)?;
    match part.name.as_str() {
        "rvq" => Ok(AnyQuantizer::Rvq(ResidualVq::new(&RvqConfig::from_params(&part.params)?, dim, device))),
        other => Err(not_built_in(Role::Quantizer, other)),
    }
}

impl AcousticEncoder for AnyAcousticEncoder {
    fn forward(&self, audio: Tensor<3>) -> Tensor<3> {
        match self {
            Self::Dac(m) => m.forward(audio),
            Self::Seanet(m) => m.forward(audio),
        }
    }
    fn latent_dim(&self) -> usize {
        match self {
            Self::Dac(m) => m.latent_dim(),
            Self::Seanet(m) => m.latent_dim(),
        }
    }
    fn hop_length(&self) -> usize {
        match self {
            Self::Dac(m) => m.hop_length(),
            Self::Seanet(m) => m.hop_length(),
        }
    }
    fn output_frames(&self, samples: usize) -> usize {
        match self {
            Self::Dac(m) => m.output_frames(samples),
            Self::Seanet(m) => m.output_frames(samples),
        }
    }
    fn is_causal(&self) -> bool {
        match self {
            Self::Dac(m) => m.is_causal(),
            Self::Seanet(m) => m.is_causal(),
        }
    }
    fn encode_step(&self, audio: Tensor<3>, state: &mut StreamState) -> Result<Tensor<3>> {
        match self {
            Self::Dac(m) => m.encode_step(audio, state),
            Self::Seanet(m) => m.encode_step(audio, state),
        }
    }
}

impl AcousticDecoder for AnyAcousticDecoder {
    fn decode_step(&self, latent: Tensor<3>, state: &mut StreamState) -> Result<Tensor<3>> {
        match self {
            Self::Dac(m) => m.decode_step(latent, state),
            Self::Seanet(m) => m.decode_step(latent, state),
        }
    }
    fn forward(&self, latent: Tensor<3>) -> Tensor<3> {
        match self {
            Self::Dac(m) => m.forward(latent),
            Self::Seanet(m) => m.forward(latent),
        }
    }
    fn latent_dim(&self) -> usize {
        match self {
            Self::Dac(m) => m.latent_dim(),
            Self::Seanet(m) => m.latent_dim(),
        }
    }
    fn hop_length(&self) -> usize {
        match self {
            Self::Dac(m) => m.hop_length(),
            Self::Seanet(m) => m.hop_length(),
        }
    }
}

impl SemanticTeacher for AnySemanticTeacher {
    fn hidden_size(&self) -> usize {
        match self {
            Self::None(m) => m.hidden_size(),
            Self::Ssl(m) => m.hidden_size(),
            Self::Absent(m) => m.hidden_size(),
        }
    }
    fn features(&self, audio: Tensor<2>) -> Option<Tensor<3>> {
        match self {
            Self::None(m) => m.features(audio),
            Self::Ssl(m) => m.features(audio),
            Self::Absent(m) => m.features(audio),
        }
    }
    fn output_frames(&self, samples: usize) -> usize {
        match self {
            Self::None(m) => m.output_frames(samples),
            Self::Ssl(m) => m.output_frames(samples),
            Self::Absent(m) => m.output_frames(samples),
        }
    }
}

impl Quantizer for AnyQuantizer {
    fn dim(&self) -> usize {
        match self {
            Self::Rvq(m) => m.dim(),
        }
    }
    fn codebook_size(&self) -> usize {
        match self {
            Self::Rvq(m) => m.codebook_size(),
        }
    }
    fn num_quantizers(&self) -> usize {
        match self {
            Self::Rvq(m) => m.num_quantizers(),
        }
    }
    fn encode(&self, x: Tensor<3>, n_q: usize) -> Tensor<3, Int> {
        match self {
            Self::Rvq(m) => m.encode(x, n_q),
        }
    }
    fn decode(&self, codes: Tensor<3, Int>) -> Tensor<3> {
        match self {
            Self::Rvq(m) => m.decode(codes),
        }
    }
    fn forward_train(&self, x: Tensor<3>, n_q: usize) -> QuantizerTrainOutput {
        match self {
            Self::Rvq(m) => m.forward_train(x, n_q),
        }
    }
    fn init_codebooks(&mut self, x: Tensor<3>, seed: u64) -> bool {
        match self {
            Self::Rvq(m) => m.init_codebooks(x, seed),
        }
    }
    fn update_codebooks(&mut self, x: Tensor<3>, n_q: usize, seed: u64) {
        match self {
            Self::Rvq(m) => m.update_codebooks(x, n_q, seed),
        }
    }
}
