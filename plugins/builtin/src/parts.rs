//! `Any*` enums: one variant per built-in part, plus an `Extra` variant for a third-party part a binary
//! links in through [`ExtraParts`]; each enum delegates the part traits to its variant.

use crate::extra::{ExtraParts, NoExtra};
use burn::module::Module;
use burn::tensor::Device;
use std::path::PathBuf;
use xcodec_core::{AbsentTeacher, NO_TEACHER, NoTeacher, PartConfig, Result, Role, XcodecError, registry};
use xcodec_dac::{DAC, DacConfig, DacDecoder, DacEncoder};
use xcodec_encodec::{ENCODEC, EncodecConfig, SOUNDSTREAM, SeanetDecoder, SeanetEncoder, SoundStreamConfig};
use xcodec_hubert::{HUBERT, SslTeacher, TeacherConfig, TeacherKind, WAVLM};
use xcodec_rvq::{DAC_VQ, DacVqConfig, FactorizedRvq, RVQ, ResidualVq, RvqConfig};

/// Any built-in acoustic encoder, or `P`'s extra one.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // one per codec: not worth boxing
pub enum AnyAcousticEncoder<P: ExtraParts = NoExtra> {
    /// `dac`.
    Dac(DacEncoder),
    /// `encodec` or `soundstream` (both SEANet).
    Seanet(SeanetEncoder),
    /// A third-party encoder ([`ExtraParts::Encoder`]).
    Extra(P::Encoder),
}

/// Any built-in acoustic decoder, or `P`'s extra one.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // one per codec: not worth boxing
pub enum AnyAcousticDecoder<P: ExtraParts = NoExtra> {
    /// `dac`.
    Dac(DacDecoder),
    /// `encodec` or `soundstream` (both SEANet).
    Seanet(SeanetDecoder),
    /// A third-party decoder ([`ExtraParts::Decoder`]).
    Extra(P::Decoder),
}

/// Any built-in semantic teacher, or `P`'s extra one.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // one teacher per codec: not worth boxing
pub enum AnySemanticTeacher<P: ExtraParts = NoExtra> {
    /// `none`.
    None(NoTeacher),
    /// `hubert` or `wavlm`.
    Ssl(SslTeacher),
    /// A teacher not loaded (decode-only models).
    Absent(AbsentTeacher),
    /// A third-party teacher ([`ExtraParts::Teacher`]).
    Extra(P::Teacher),
}

/// Any built-in quantizer, or `P`'s extra one.
#[derive(Module, Debug)]
pub enum AnyQuantizer<P: ExtraParts = NoExtra> {
    /// `rvq`.
    Rvq(ResidualVq),
    /// `dac_vq`.
    DacVq(FactorizedRvq),
    /// A third-party quantizer ([`ExtraParts::Quantizer`]).
    Extra(P::Quantizer),
}

/// The error for a name that is registered but has no constructor in this binary (a part linked in
/// without being named in the binary's [`ExtraParts`]).
fn not_built_in(role: Role, name: &str) -> XcodecError {
    XcodecError::Config(format!("{role} part '{name}' is registered but not built into this binary's model type"))
}

/// The extra parts' answer for `name`, or the "not built in" error.
fn extra<T>(role: Role, name: &str, built: Option<Result<T>>) -> Result<T> {
    built.unwrap_or_else(|| Err(not_built_in(role, name)))
}

/// Builds the encoder/decoder pair named by `part`.
pub fn acoustic<P: ExtraParts>(
    part: &PartConfig,
    device: &Device,
) -> Result<(AnyAcousticEncoder<P>, AnyAcousticDecoder<P>)> {
    registry::find(Role::Acoustic, &part.name)?;
    match part.name.as_str() {
        DAC => {
            let cfg = DacConfig::from_params(&part.params)?;
            Ok((
                AnyAcousticEncoder::Dac(DacEncoder::new(&cfg, device)),
                AnyAcousticDecoder::Dac(DacDecoder::new(&cfg, device)),
            ))
        }
        name @ (ENCODEC | SOUNDSTREAM) => {
            let cfg = if name == ENCODEC {
                EncodecConfig::from_params(&part.params)?
            } else {
                SoundStreamConfig::from_params(&part.params)?.to_seanet()
            };
            Ok((
                AnyAcousticEncoder::Seanet(SeanetEncoder::new(&cfg, device)),
                AnyAcousticDecoder::Seanet(SeanetDecoder::new(&cfg, device)),
            ))
        }
        other => extra(Role::Acoustic, other, P::acoustic(part, device))
            .map(|(e, d)| (AnyAcousticEncoder::Extra(e), AnyAcousticDecoder::Extra(d))),
    }
}

/// A teacher named by `part`, its name and params checked: built-in (`None` for `none`) or extra.
enum TeacherKindOf {
    BuiltIn(Option<TeacherConfig>),
    Extra,
}

/// Which teacher `part` names, its name and params checked.
fn teacher_config(part: &PartConfig) -> Result<TeacherKindOf> {
    (registry::find(Role::Semantic, &part.name)?.check_params)(&part.params)?;
    match part.name.as_str() {
        NO_TEACHER => Ok(TeacherKindOf::BuiltIn(None)),
        name @ (HUBERT | WAVLM) => {
            TeacherConfig::from_params(name, &part.params).map(|c| TeacherKindOf::BuiltIn(Some(c)))
        }
        _ => Ok(TeacherKindOf::Extra),
    }
}

/// Builds the teacher named by `part`.
pub fn semantic<P: ExtraParts>(part: &PartConfig, device: &Device) -> Result<AnySemanticTeacher<P>> {
    Ok(match teacher_config(part)? {
        TeacherKindOf::BuiltIn(None) => AnySemanticTeacher::None(NoTeacher::default()),
        TeacherKindOf::BuiltIn(Some(cfg)) => {
            AnySemanticTeacher::Ssl(SslTeacher::new(&cfg, teacher_kind(&part.name), device))
        }
        TeacherKindOf::Extra => {
            AnySemanticTeacher::Extra(extra(Role::Semantic, &part.name, P::semantic(part, device))?)
        }
    })
}

/// A weightless stand-in of the teacher's width, for decode-only loading.
pub fn absent_teacher<P: ExtraParts>(part: &PartConfig) -> Result<AnySemanticTeacher<P>> {
    let hidden_size = match teacher_config(part)? {
        TeacherKindOf::BuiltIn(cfg) => cfg.map_or(0, |cfg| cfg.hidden_size),
        TeacherKindOf::Extra => extra(Role::Semantic, &part.name, P::semantic_width(part))?,
    };
    Ok(AnySemanticTeacher::Absent(AbsentTeacher { hidden_size }))
}

fn teacher_kind(name: &str) -> TeacherKind {
    if name == WAVLM { TeacherKind::Wavlm } else { TeacherKind::Hubert }
}

/// For a teacher with a `pretrained` source: resolves it, replaces the shape params with the source's
/// `config.json` (keeping `pretrained`), and returns its weights file. `None` for other parts.
pub fn resolve_pretrained_teacher(part: &mut PartConfig) -> Result<Option<PathBuf>> {
    if !matches!(part.name.as_str(), HUBERT | WAVLM) {
        return Ok(None);
    }
    let cfg = TeacherConfig::from_params(&part.name, &part.params)?;
    if cfg.pretrained.is_empty() {
        return Ok(None);
    }
    let files = crate::hub::resolve(&cfg.pretrained, &[&["config.json"], &["model.safetensors", "pytorch_model.bin"]])
        .map_err(|e| {
            XcodecError::Config(format!(
                "{e}. To go on offline: --set semantic.params.pretrained='\"\"' (random teacher weights, for tests) or \
                 --set semantic.params.pretrained='\"DIR\"' (a local directory with config.json + model.safetensors)"
            ))
        })?;
    let text = std::fs::read_to_string(&files[0]).map_err(|e| XcodecError::file(&files[0], e.to_string()))?;
    let shape = TeacherConfig::from_hf_json(&text, teacher_kind(&part.name))
        .map_err(|e| XcodecError::file(&files[0], e.to_string()))?;
    part.params = xcodec_core::config::params_table(&TeacherConfig { pretrained: cfg.pretrained, ..shape });
    Ok(Some(files[1].clone()))
}

/// Builds the quantizer named by `part` for vectors of width `dim`.
pub fn quantizer<P: ExtraParts>(part: &PartConfig, dim: usize, device: &Device) -> Result<AnyQuantizer<P>> {
    registry::find(Role::Quantizer, &part.name)?;
    match part.name.as_str() {
        RVQ => Ok(AnyQuantizer::Rvq(ResidualVq::new(&RvqConfig::from_params(&part.params)?, dim, device))),
        DAC_VQ => Ok(AnyQuantizer::DacVq(FactorizedRvq::new(&DacVqConfig::from_params(&part.params)?, dim, device))),
        other => extra(Role::Quantizer, other, P::quantizer(part, dim, device)).map(AnyQuantizer::Extra),
    }
}

xcodec_core::delegate_acoustic_encoder!(AnyAcousticEncoder<P: ExtraParts> [Dac, Seanet, Extra]);
xcodec_core::delegate_acoustic_decoder!(AnyAcousticDecoder<P: ExtraParts> [Dac, Seanet, Extra]);
xcodec_core::delegate_semantic_teacher!(AnySemanticTeacher<P: ExtraParts> [None, Ssl, Absent, Extra]);
xcodec_core::delegate_quantizer!(AnyQuantizer<P: ExtraParts> [Rvq, DacVq, Extra]);
