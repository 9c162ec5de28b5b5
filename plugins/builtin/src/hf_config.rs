//! A transformers `XcodecConfig` (`config.json`) as our [`CodecConfig`].

use serde::Deserialize;
use xcodec_core::config::params_table;
use xcodec_core::{CodecConfig, PartConfig, Result, SemanticAdapterConfig, XcodecError, bandwidth};
use xcodec_dac::DacConfig;
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

/// Reads a transformers `XcodecModel` `config.json`.
pub fn codec_config_from_hf(text: &str) -> Result<CodecConfig> {
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
            name: "dac".into(),
            params: params_table(&DacConfig {
                encoder_width: dac.encoder_hidden_size,
                strides: dac.downsampling_ratios.clone(),
                latent_dim: dac.hidden_size,
                decoder_width: dac.decoder_hidden_size,
            }),
        },
        semantic: PartConfig { name: teacher_type.into(), params: params_table(&teacher) },
        quantizer: PartConfig {
            name: "rvq".into(),
            params: params_table(&RvqConfig { num_quantizers, codebook_size: hf.codebook_size, ..RvqConfig::default() }),
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
