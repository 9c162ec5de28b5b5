//! A transformers `XcodecConfig` or `EncodecConfig` (`config.json`) as our [`CodecConfig`] (`DacConfig`: see
//! [`crate::dac_config`]).

use crate::names::{DAC, ENCODEC, NO_TEACHER, RVQ};
use serde::Deserialize;
use xcodec_core::config::params_table;
use xcodec_core::{CodecConfig, PartConfig, Result, SemanticAdapterConfig, XcodecError, bandwidth};
use xcodec_dac::DacConfig;
use xcodec_encodec::EncodecConfig;
use xcodec_hubert::{TeacherConfig, TeacherKind};
use xcodec_rvq::RvqConfig;

#[derive(Deserialize)]
struct HfXcodec {
    #[serde(default = "default_bandwidths")]
    target_bandwidths: Vec<f64>,
    #[serde(default = "default_rate")]
    sample_rate: u32,
    #[serde(default = "three")]
    kernel_size: usize,
    #[serde(default = "ones")]
    channel_ratios: Vec<f64>,
    #[serde(default = "ones_usize")]
    strides: Vec<usize>,
    #[serde(default = "ones_usize")]
    block_dilations: Vec<usize>,
    #[serde(default = "three")]
    unit_kernel_size: usize,
    #[serde(default = "default_codebook")]
    codebook_size: usize,
    acoustic_model_config: HfDac,
    semantic_model_config: serde_json::Value,
}

#[derive(Deserialize)]
struct HfDac {
    encoder_hidden_size: usize,
    downsampling_ratios: Vec<usize>,
    decoder_hidden_size: usize,
    upsampling_ratios: Vec<usize>,
    hidden_size: usize,
}

fn default_bandwidths() -> Vec<f64> {
    vec![0.5, 1.0, 1.5, 2.0, 4.0]
}
fn default_rate() -> u32 {
    16000
}
fn three() -> usize {
    3
}
fn ones() -> Vec<f64> {
    vec![1.0, 1.0]
}
fn ones_usize() -> Vec<usize> {
    vec![1, 1]
}
fn default_codebook() -> usize {
    1024
}

/// Whether a `config.json` describes a transformers `EncodecModel` (`model_type: "encodec"`).
pub fn is_encodec(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .is_some_and(|v| v.get("model_type").and_then(|t| t.as_str()) == Some("encodec"))
}

/// Reads a transformers `XcodecModel`, `EncodecModel` or `DacModel` `config.json`.
pub fn codec_config_from_hf(text: &str) -> Result<CodecConfig> {
    if is_encodec(text) {
        return encodec_config_from_hf(text);
    }
    if crate::dac_config::is_dac(text) {
        return crate::dac_config::dac_config_from_hf(text);
    }
    let hf: HfXcodec = serde_json::from_str(text).map_err(|e| XcodecError::Config(format!("config.json: {e}")))?;
    let dac = &hf.acoustic_model_config;
    if dac.downsampling_ratios != dac.upsampling_ratios {
        return Err(XcodecError::Config(
            "config.json: downsampling and upsampling ratios differ; xcodec's DAC uses one stride list".into(),
        ));
    }
    let teacher_type = hf.semantic_model_config.get("model_type").and_then(|v| v.as_str()).unwrap_or("hubert");
    let kind = match teacher_type {
        "hubert" => TeacherKind::Hubert,
        "wavlm" => TeacherKind::Wavlm,
        other => return Err(XcodecError::Config(format!("config.json: unsupported semantic model '{other}'"))),
    };
    let teacher = TeacherConfig::from_hf_json(&hf.semantic_model_config.to_string(), kind)?;
    if hf.channel_ratios.iter().any(|r| r.fract() != 0.0) {
        return Err(XcodecError::Config("config.json: fractional channel_ratios are not supported".into()));
    }
    let hop: usize = dac.downsampling_ratios.iter().product();
    let frame_rate = bandwidth::frame_rate_hz(hf.sample_rate, hop);
    let top = hf.target_bandwidths.iter().cloned().fold(0.0, f64::max);
    let num_quantizers = bandwidth::codebooks_for_bandwidth(top, hf.codebook_size, frame_rate);
    let cfg = CodecConfig {
        sample_rate_hz: hf.sample_rate,
        target_bandwidths_kbps: hf.target_bandwidths.clone(),
        acoustic: PartConfig {
            name: DAC.into(),
            params: params_table(&DacConfig {
                encoder_width: dac.encoder_hidden_size,
                strides: dac.downsampling_ratios.clone(),
                latent_dim: dac.hidden_size,
                decoder_width: dac.decoder_hidden_size,
                ..DacConfig::default()
            }),
        },
        semantic: PartConfig { name: kind.part_name().into(), params: params_table(&teacher) },
        quantizer: PartConfig {
            name: RVQ.into(),
            params: params_table(&RvqConfig {
                num_quantizers,
                codebook_size: hf.codebook_size,
                ..RvqConfig::default()
            }),
        },
        semantic_adapter: SemanticAdapterConfig {
            kernel_size: hf.kernel_size,
            channel_ratios: hf.channel_ratios.iter().map(|&r| r as usize).collect(),
            strides: hf.strides,
            block_dilations: hf.block_dilations,
            unit_kernel_size: hf.unit_kernel_size,
        },
        decoder_only: false,
    };
    cfg.validate()?;
    Ok(cfg)
}

/// The fields of a transformers `EncodecConfig` beyond the SEANet shape (defaults: `facebook/encodec_24khz`).
#[derive(Deserialize)]
struct HfEncodec {
    #[serde(default = "encodec_bandwidths")]
    target_bandwidths: Vec<f64>,
    #[serde(default = "encodec_rate")]
    sampling_rate: u32,
    #[serde(default = "one")]
    audio_channels: usize,
    #[serde(default)]
    normalize: bool,
    #[serde(default)]
    chunk_length_s: Option<f64>,
    #[serde(default = "default_codebook")]
    codebook_size: usize,
    #[serde(default)]
    codebook_dim: Option<usize>,
}

fn encodec_bandwidths() -> Vec<f64> {
    vec![1.5, 3.0, 6.0, 12.0, 24.0]
}
fn encodec_rate() -> u32 {
    24000
}
fn one() -> usize {
    1
}

/// The SEANet fields of an EnCodec `config.json`, missing ones at transformers' defaults, others ignored.
fn encodec_shape(json: &serde_json::Value) -> Result<EncodecConfig> {
    let defaults = serde_json::to_value(EncodecConfig::default()).expect("config serializes");
    let mut shape = serde_json::Map::new();
    for (key, default) in defaults.as_object().expect("a struct") {
        shape.insert(key.clone(), json.get(key).cloned().unwrap_or_else(|| default.clone()));
    }
    let cfg: EncodecConfig = serde_json::from_value(serde_json::Value::Object(shape))
        .map_err(|e| XcodecError::Config(format!("config.json: {e}")))?;
    cfg.check(ENCODEC)?;
    Ok(cfg)
}

/// Reads a transformers `EncodecModel` `config.json` as an acoustic-only codec: the `encodec` part, no teacher,
/// EnCodec's RVQ (`num_quantizers` as transformers computes it) and its bandwidths.
fn encodec_config_from_hf(text: &str) -> Result<CodecConfig> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| XcodecError::Config(format!("config.json: {e}")))?;
    let hf: HfEncodec =
        serde_json::from_value(json.clone()).map_err(|e| XcodecError::Config(format!("config.json: {e}")))?;
    let shape = encodec_shape(&json)?;
    let unsupported = |what: &str| {
        Err(XcodecError::Config(format!(
            "config.json: EnCodec with {what} is not supported (xcodec runs mono, unchunked, unnormalised EnCodec such as facebook/encodec_24khz)"
        )))
    };
    if hf.audio_channels != 1 {
        return unsupported(&format!("{} audio channels", hf.audio_channels));
    }
    if hf.normalize {
        return unsupported("normalize = true");
    }
    if hf.chunk_length_s.is_some() {
        return unsupported("chunk_length_s set");
    }
    if hf.codebook_dim.is_some_and(|d| d != shape.hidden_size) {
        return unsupported("codebook_dim != hidden_size");
    }
    let frame_rate = bandwidth::frame_rate_hz(hf.sampling_rate, shape.hop_length());
    let top = hf.target_bandwidths.iter().cloned().fold(0.0, f64::max);
    let num_quantizers = bandwidth::codebooks_for_bandwidth(top, hf.codebook_size, frame_rate);
    let cfg = CodecConfig {
        sample_rate_hz: hf.sampling_rate,
        target_bandwidths_kbps: hf.target_bandwidths.clone(),
        acoustic: PartConfig { name: ENCODEC.into(), params: params_table(&shape) },
        semantic: PartConfig { name: NO_TEACHER.into(), params: toml::Table::new() },
        quantizer: PartConfig {
            name: RVQ.into(),
            params: params_table(&RvqConfig {
                num_quantizers,
                codebook_size: hf.codebook_size,
                ..RvqConfig::default()
            }),
        },
        semantic_adapter: SemanticAdapterConfig::default(),
        decoder_only: false,
    };
    cfg.validate()?;
    Ok(cfg)
}
