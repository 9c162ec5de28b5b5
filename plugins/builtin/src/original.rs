//! The original X-Codec research code's checkpoints: a flat `.pth` state dict (teacher included) plus the
//! yaml of its inference script. Keys map onto ours through [`original_key_map`]; the shape comes from the
//! yaml, the DAC widths from the tensors themselves (the original code hard-codes 64 and 1024).

use crate::names::{DAC, HUBERT, RVQ, WAVLM};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use xcodec_core::config::params_table;
use xcodec_core::{CodecConfig, PartConfig, Result, SemanticAdapterConfig, XcodecError, bandwidth};
use xcodec_dac::DacConfig;
use xcodec_hubert::{TeacherConfig, TeacherKind};
use xcodec_rvq::RvqConfig;

/// Original key -> our key, for a DAC with `n_blocks` strided blocks. DAC's `nn.Sequential` indices become
/// named fields (`encoder.block.{1..n}` are the blocks, `block.{n+1}` the Snake, `block.{n+2}` the last conv),
/// the semantic adapter loses its wrappers' extra `.conv.`/`.deconv.` level, weight norm in the new torch
/// spelling becomes `weight_g`/`weight_v`. Applied in order, each to the result of the previous.
pub fn original_key_map(n_blocks: usize) -> Vec<(String, String)> {
    let n = n_blocks;
    let mut m: Vec<(String, String)> = vec![
        (r"^encoder\.block\.0\.".into(), "acoustic_encoder.conv1.".into()),
        (format!(r"^encoder\.block\.{}\.", n + 1), "acoustic_encoder.snake1.".into()),
        (format!(r"^encoder\.block\.{}\.", n + 2), "acoustic_encoder.conv2.".into()),
        (r"^decoder_2\.model\.0\.".into(), "acoustic_decoder.conv1.".into()),
        (format!(r"^decoder_2\.model\.{}\.", n + 1), "acoustic_decoder.snake1.".into()),
        (format!(r"^decoder_2\.model\.{}\.", n + 2), "acoustic_decoder.conv2.".into()),
    ];
    for i in 1..=n {
        let (enc, dec) = (format!("acoustic_encoder.block.{}", i - 1), format!("acoustic_decoder.block.{}", i - 1));
        for r in 0..3 {
            m.push((format!(r"^encoder\.block\.{i}\.block\.{r}\.block\."), format!("{enc}.res_unit{}.block.", r + 1)));
            m.push((
                format!(r"^decoder_2\.model\.{i}\.block\.{}\.block\.", r + 2),
                format!("{dec}.res_unit{}.block.", r + 1),
            ));
        }
        m.push((format!(r"^encoder\.block\.{i}\.block\.3\."), format!("{enc}.snake1.")));
        m.push((format!(r"^encoder\.block\.{i}\.block\.4\."), format!("{enc}.conv1.")));
        m.push((format!(r"^decoder_2\.model\.{i}\.block\.0\."), format!("{dec}.snake1.")));
        m.push((format!(r"^decoder_2\.model\.{i}\.block\.1\."), format!("{dec}.conv_t1.")));
    }
    for (from, to) in [
        // Inside a DAC residual unit: Snake, conv (k7), Snake, conv (1x1).
        (r"\.(res_unit\d)\.block\.0\.", ".$1.snake1."),
        (r"\.(res_unit\d)\.block\.1\.", ".$1.conv1."),
        (r"\.(res_unit\d)\.block\.2\.", ".$1.snake2."),
        (r"\.(res_unit\d)\.block\.3\.", ".$1.conv2."),
        // Semantic adapter: `Conv1d` wrappers hold `self.conv`, transposed ones `self.deconv`.
        (r"^((?:en|de)coder_semantic\..*)\.(?:conv|deconv)\.(weight|bias)$", "$1.$2"),
        (r"^quantizer\.vq\.layers\.(\d+)\._codebook\.", "quantizer.layers.$1."),
        (r"^semantic_model\.", "semantic_teacher."),
        (r"\.parametrizations\.weight\.original0$", ".weight_g"),
        (r"\.parametrizations\.weight\.original1$", ".weight_v"),
    ] {
        m.push((from.into(), to.into()));
    }
    m
}

/// `generator.config` of the original yaml (`config_hubert.yaml`, ...).
#[derive(Debug, Deserialize)]
struct GeneratorConfig {
    #[serde(rename = "D")]
    latent_dim: usize,
    target_bandwidths: Vec<f64>,
    ratios: Vec<usize>,
    sample_rate: u32,
    bins: usize,
    semantic_techer: String,
}

#[derive(Debug, Deserialize)]
struct Generator {
    config: GeneratorConfig,
}

#[derive(Debug, Deserialize)]
struct OriginalYaml {
    generator: Generator,
}

/// The yaml for a `.pth`: `explicit` if given, else `config.yaml` beside it (as the original inference script).
pub fn yaml_path(pth: &Path, explicit: Option<&Path>) -> Result<PathBuf> {
    let path = explicit.map(Path::to_path_buf).unwrap_or_else(|| pth.with_file_name("config.yaml"));
    if path.is_file() {
        Ok(path)
    } else {
        Err(XcodecError::file(
            pth,
            format!("needs its yaml config: no {} (pass --config config_hubert.yaml or similar)", path.display()),
        ))
    }
}

/// The teacher named by the yaml's `semantic_techer`: a released name, or (our extension, for small test
/// teachers) a transformers `config.json` path relative to the yaml.
fn teacher(name: &str, yaml: &Path) -> Result<(&'static str, TeacherConfig)> {
    let plain = |cfg: TeacherConfig| TeacherConfig { pretrained: String::new(), ..cfg };
    match name {
        "hubert_base" => Ok((HUBERT, plain(TeacherConfig::hubert_base()))),
        // ZhenYe234/hubert_base_general_audio has hubert-base's architecture.
        "hubert_base_general" => Ok((HUBERT, plain(TeacherConfig::hubert_base()))),
        "wavlm_base_plus" => Ok((WAVLM, plain(TeacherConfig::wavlm_base_plus()))),
        path if path.ends_with(".json") => {
            let file = yaml.with_file_name(path);
            let text = std::fs::read_to_string(&file).map_err(|e| XcodecError::file(&file, e.to_string()))?;
            let kind = if text.contains("\"wavlm\"") { TeacherKind::Wavlm } else { TeacherKind::Hubert };
            let cfg = TeacherConfig::from_hf_json(&text, kind).map_err(|e| XcodecError::file(&file, e.to_string()))?;
            Ok((kind.part_name(), cfg))
        }
        other => Err(XcodecError::Config(format!(
            "semantic_techer '{other}' is unknown; expected hubert_base, wavlm_base_plus or hubert_base_general"
        ))),
    }
}

/// Our config for an original checkpoint: shape from the yaml; DAC widths from the `.pth`'s tensor shapes
/// (`encoder_width`, `decoder_width`: the out channels of the first encoder / decoder conv).
pub fn codec_config_from_original(yaml: &Path, encoder_width: usize, decoder_width: usize) -> Result<CodecConfig> {
    let text = std::fs::read_to_string(yaml).map_err(|e| XcodecError::file(yaml, e.to_string()))?;
    let y: OriginalYaml = serde_yaml_ng::from_str(&text).map_err(|e| {
        XcodecError::file(
            yaml,
            format!("not an X-Codec config ({e}); expected generator.config with D, ratios, bins, ..."),
        )
    })?;
    let g = y.generator.config;
    let (teacher_name, teacher_cfg) = teacher(&g.semantic_techer, yaml)?;
    let hop: usize = g.ratios.iter().product();
    let top = g.target_bandwidths.iter().cloned().fold(0.0, f64::max);
    let num_quantizers = bandwidth::codebooks_for_bandwidth(top, g.bins, bandwidth::frame_rate_hz(g.sample_rate, hop));
    let cfg = CodecConfig {
        sample_rate_hz: g.sample_rate,
        target_bandwidths_kbps: g.target_bandwidths,
        acoustic: PartConfig {
            name: DAC.into(),
            params: params_table(&DacConfig {
                encoder_width,
                strides: g.ratios,
                latent_dim: g.latent_dim,
                decoder_width,
                ..DacConfig::default()
            }),
        },
        semantic: PartConfig { name: teacher_name.into(), params: params_table(&teacher_cfg) },
        quantizer: PartConfig {
            name: RVQ.into(),
            params: params_table(&RvqConfig { num_quantizers, codebook_size: g.bins, ..RvqConfig::default() }),
        },
        semantic_adapter: SemanticAdapterConfig::default(),
        decoder_only: false,
    };
    cfg.validate().map_err(|e| XcodecError::file(yaml, e.to_string()))?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(key: &str) -> String {
        original_key_map(4).iter().fold(key.to_string(), |k, (from, to)| {
            regex::Regex::new(from).unwrap().replace_all(&k, to.as_str()).into_owned()
        })
    }

    #[test]
    fn original_names_map_to_ours() {
        for (orig, ours) in [
            ("encoder.block.0.weight_g", "acoustic_encoder.conv1.weight_g"),
            ("encoder.block.1.block.0.block.1.weight_v", "acoustic_encoder.block.0.res_unit1.conv1.weight_v"),
            ("encoder.block.4.block.2.block.2.alpha", "acoustic_encoder.block.3.res_unit3.snake2.alpha"),
            ("encoder.block.2.block.3.alpha", "acoustic_encoder.block.1.snake1.alpha"),
            ("encoder.block.2.block.4.bias", "acoustic_encoder.block.1.conv1.bias"),
            ("encoder.block.5.alpha", "acoustic_encoder.snake1.alpha"),
            ("encoder.block.6.weight_g", "acoustic_encoder.conv2.weight_g"),
            ("decoder_2.model.0.parametrizations.weight.original1", "acoustic_decoder.conv1.weight_v"),
            ("decoder_2.model.1.block.0.alpha", "acoustic_decoder.block.0.snake1.alpha"),
            ("decoder_2.model.1.block.1.weight_g", "acoustic_decoder.block.0.conv_t1.weight_g"),
            ("decoder_2.model.4.block.4.block.3.bias", "acoustic_decoder.block.3.res_unit3.conv2.bias"),
            ("decoder_2.model.5.alpha", "acoustic_decoder.snake1.alpha"),
            ("decoder_2.model.6.bias", "acoustic_decoder.conv2.bias"),
            ("encoder_semantic.conv.conv.weight", "encoder_semantic.conv.weight"),
            ("encoder_semantic.conv_blocks.1.conv.conv.bias", "encoder_semantic.conv_blocks.1.conv.bias"),
            (
                "encoder_semantic.conv_blocks.0.res_units.1.conv1.conv.weight",
                "encoder_semantic.conv_blocks.0.res_units.1.conv1.weight",
            ),
            (
                "encoder_semantic.conv_blocks.0.res_units.1.conv2.weight",
                "encoder_semantic.conv_blocks.0.res_units.1.conv2.weight",
            ),
            ("decoder_semantic.conv_blocks.0.conv.deconv.weight", "decoder_semantic.conv_blocks.0.conv.weight"),
            ("decoder_semantic.conv2.conv.weight", "decoder_semantic.conv2.weight"),
            ("quantizer.vq.layers.7._codebook.embed_avg", "quantizer.layers.7.embed_avg"),
            ("fc_prior.weight", "fc_prior.weight"),
            (
                "semantic_model.encoder.pos_conv_embed.conv.weight_g",
                "semantic_teacher.encoder.pos_conv_embed.conv.weight_g",
            ),
            (
                "semantic_model.encoder.layers.11.attention.q_proj.bias",
                "semantic_teacher.encoder.layers.11.attention.q_proj.bias",
            ),
        ] {
            assert_eq!(map(orig), ours, "{orig}");
        }
    }
}
