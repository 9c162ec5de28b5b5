//! descript's DAC as a plain acoustic codec: a transformers `DacConfig` (`config.json` with `model_type:
//! "dac"`, e.g. `descript/dac_16khz`) or the `metadata.kwargs` of descript's own `.pth` (`dac.DAC.save`) as our
//! [`CodecConfig`]: the `dac` part in descript's flavour (decoder strides reversed, no output padding, tanh),
//! no teacher, the `dac_vq` quantizer, one bandwidth per codebook count.

use crate::names::{DAC, DAC_VQ, NO_TEACHER};
use burn::store::pytorch::PytorchReader;
use burn::store::pytorch_reader::PickleValue;
use serde::Deserialize;
use std::path::Path;
use xcodec_core::config::params_table;
use xcodec_core::{CodecConfig, PartConfig, Result, SemanticAdapterConfig, XcodecError, bandwidth};
use xcodec_dac::DacConfig;
use xcodec_rvq::DacVqConfig;

/// What a DAC model is, in either file's words.
#[derive(Debug, Clone, PartialEq)]
struct DacShape {
    encoder_width: usize,
    encoder_strides: Vec<usize>,
    latent_dim: usize,
    decoder_width: usize,
    decoder_strides: Vec<usize>,
    n_codebooks: usize,
    codebook_size: usize,
    codebook_dim: usize,
    sample_rate_hz: u32,
    commitment_weight: f64,
    codebook_weight: f64,
}

impl DacShape {
    fn into_codec_config(self) -> Result<CodecConfig> {
        let acoustic = DacConfig {
            encoder_width: self.encoder_width,
            strides: self.encoder_strides.clone(),
            latent_dim: self.latent_dim,
            decoder_width: self.decoder_width,
            decoder_strides: (self.decoder_strides != self.encoder_strides).then_some(self.decoder_strides),
            odd_stride_output_padding: false,
            output_tanh: true,
        };
        acoustic.check()?;
        let quantizer = DacVqConfig {
            num_quantizers: self.n_codebooks,
            codebook_size: self.codebook_size,
            codebook_dim: self.codebook_dim,
            commitment_weight: self.commitment_weight,
            codebook_weight: self.codebook_weight,
        };
        // One bandwidth per codebook count: bits x frame rate each (10 bits a code for 1024 entries; DAC 44.1 kHz
        // has hop 512, 86.13 frames/s, rounded up as the frame rate always is). Computed as one integer product
        // divided once, so that they print as written.
        let frame_rate = bandwidth::frame_rate_hz(self.sample_rate_hz, acoustic.hop_length());
        let bits = bandwidth::bits_per_codebook(self.codebook_size) as f64;
        let cfg = CodecConfig {
            sample_rate_hz: self.sample_rate_hz,
            target_bandwidths_kbps: (1..=self.n_codebooks).map(|k| k as f64 * bits * frame_rate / 1000.0).collect(),
            acoustic: PartConfig { name: DAC.into(), params: params_table(&acoustic) },
            semantic: PartConfig { name: NO_TEACHER.into(), params: toml::Table::new() },
            quantizer: PartConfig { name: DAC_VQ.into(), params: params_table(&quantizer) },
            semantic_adapter: SemanticAdapterConfig::default(),
            decoder_only: false,
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

/// Whether a `config.json` describes a transformers `DacModel` (`model_type: "dac"`).
pub fn is_dac(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .is_some_and(|v| v.get("model_type").and_then(|t| t.as_str()) == Some("dac"))
}

/// A transformers `DacConfig`; missing fields at transformers' defaults (`descript/dac_16khz`'s shape but 9
/// codebooks), `upsampling_ratios` and `hidden_size` derived the way transformers derives them.
#[derive(Deserialize)]
struct HfDacConfig {
    #[serde(default = "encoder_hidden_size")]
    encoder_hidden_size: usize,
    #[serde(default = "downsampling_ratios")]
    downsampling_ratios: Vec<usize>,
    #[serde(default)]
    upsampling_ratios: Option<Vec<usize>>,
    #[serde(default)]
    hidden_size: Option<usize>,
    #[serde(default = "decoder_hidden_size")]
    decoder_hidden_size: usize,
    #[serde(default = "n_codebooks")]
    n_codebooks: usize,
    #[serde(default = "codebook_size")]
    codebook_size: usize,
    #[serde(default = "codebook_dim")]
    codebook_dim: usize,
    #[serde(default = "sampling_rate")]
    sampling_rate: u32,
    #[serde(default = "commitment_loss_weight")]
    commitment_loss_weight: f64,
    #[serde(default = "codebook_loss_weight")]
    codebook_loss_weight: f64,
}

fn encoder_hidden_size() -> usize {
    64
}
fn downsampling_ratios() -> Vec<usize> {
    vec![2, 4, 8, 8]
}
fn decoder_hidden_size() -> usize {
    1536
}
fn n_codebooks() -> usize {
    9
}
fn codebook_size() -> usize {
    1024
}
fn codebook_dim() -> usize {
    8
}
fn sampling_rate() -> u32 {
    16000
}
fn commitment_loss_weight() -> f64 {
    0.25
}
fn codebook_loss_weight() -> f64 {
    1.0
}

/// Reads a transformers `DacModel` `config.json` as an acoustic-only codec.
pub fn dac_config_from_hf(text: &str) -> Result<CodecConfig> {
    let hf: HfDacConfig = serde_json::from_str(text).map_err(|e| XcodecError::Config(format!("config.json: {e}")))?;
    let n = hf.downsampling_ratios.len();
    DacShape {
        encoder_width: hf.encoder_hidden_size,
        latent_dim: hf.hidden_size.unwrap_or(hf.encoder_hidden_size << n),
        decoder_strides: hf.upsampling_ratios.unwrap_or_else(|| hf.downsampling_ratios.iter().rev().copied().collect()),
        encoder_strides: hf.downsampling_ratios,
        decoder_width: hf.decoder_hidden_size,
        n_codebooks: hf.n_codebooks,
        codebook_size: hf.codebook_size,
        codebook_dim: hf.codebook_dim,
        sample_rate_hz: hf.sampling_rate,
        commitment_weight: hf.commitment_loss_weight,
        codebook_weight: hf.codebook_loss_weight,
    }
    .into_codec_config()
    .map_err(|e| XcodecError::Config(format!("config.json: {e}")))
}

/// `dac.DAC`'s constructor arguments as `DAC.save` stores them (`metadata.kwargs`); missing ones at the `dac`
/// package's defaults (the 44.1 kHz model), others (`quantizer_dropout`) ignored.
#[derive(Deserialize)]
struct DescriptKwargs {
    #[serde(default = "encoder_hidden_size")]
    encoder_dim: usize,
    #[serde(default = "downsampling_ratios")]
    encoder_rates: Vec<usize>,
    #[serde(default)]
    latent_dim: Option<usize>,
    #[serde(default = "descript_decoder_dim")]
    decoder_dim: usize,
    #[serde(default = "descript_decoder_rates")]
    decoder_rates: Vec<usize>,
    #[serde(default = "n_codebooks")]
    n_codebooks: usize,
    #[serde(default = "codebook_size")]
    codebook_size: usize,
    #[serde(default = "codebook_dim")]
    codebook_dim: usize,
    #[serde(default = "descript_sample_rate")]
    sample_rate: u32,
}

fn descript_decoder_dim() -> usize {
    1536
}
fn descript_decoder_rates() -> Vec<usize> {
    vec![8, 8, 4, 2]
}
fn descript_sample_rate() -> u32 {
    44100
}

#[derive(Deserialize)]
struct DescriptMetadata {
    kwargs: DescriptKwargs,
}

/// Whether a torch pickle is descript's `DAC.save` layout: a dict of `state_dict` and `metadata` (an original
/// X-Codec `.pth` is the flat state dict itself).
pub fn is_descript_pth(path: &Path) -> Result<bool> {
    let root = PytorchReader::read_pickle_data(path, None)
        .map_err(|e| XcodecError::file(path, format!("not a readable PyTorch checkpoint: {e}")))?;
    Ok(matches!(&root, PickleValue::Dict(d) if d.contains_key("state_dict") && d.contains_key("metadata")))
}

/// Our config for a descript `.pth`, from its `metadata.kwargs`, and the number of strided blocks (for the key
/// table).
pub fn dac_config_from_descript(path: &Path) -> Result<(CodecConfig, usize)> {
    let meta: DescriptMetadata = PytorchReader::load_config(path, Some("metadata")).map_err(|e| {
        XcodecError::file(path, format!("has no readable metadata.kwargs (descript's DAC.save layout): {e}"))
    })?;
    let k = meta.kwargs;
    let n_blocks = k.encoder_rates.len();
    let shape = DacShape {
        encoder_width: k.encoder_dim,
        latent_dim: k.latent_dim.unwrap_or(k.encoder_dim << n_blocks),
        encoder_strides: k.encoder_rates,
        decoder_width: k.decoder_dim,
        decoder_strides: k.decoder_rates,
        n_codebooks: k.n_codebooks,
        codebook_size: k.codebook_size,
        codebook_dim: k.codebook_dim,
        sample_rate_hz: k.sample_rate,
        commitment_weight: commitment_loss_weight(),
        codebook_weight: codebook_loss_weight(),
    };
    let cfg = shape.into_codec_config().map_err(|e| XcodecError::file(path, format!("metadata.kwargs: {e}")))?;
    Ok((cfg, n_blocks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_dac_configs_read_as_acoustic_codecs() {
        // descript/dac_16khz and descript/dac_44khz as transformers wrote their config.json.
        let dac16 = r#"{"codebook_dim": 8, "codebook_loss_weight": 1.0, "codebook_size": 1024,
            "commitment_loss_weight": 0.25, "decoder_hidden_size": 1536, "downsampling_ratios": [2, 4, 5, 8],
            "encoder_hidden_size": 64, "hidden_size": 1024, "hop_length": 320, "model_type": "dac",
            "n_codebooks": 12, "quantizer_dropout": 0.0, "sampling_rate": 16000, "upsampling_ratios": [8, 5, 4, 2]}"#;
        assert!(is_dac(dac16));
        let cfg = dac_config_from_hf(dac16).unwrap();
        assert_eq!(
            (cfg.acoustic.name.as_str(), cfg.semantic.name.as_str(), cfg.quantizer.name.as_str()),
            ("dac", "none", "dac_vq")
        );
        let dac = DacConfig::from_params(&cfg.acoustic.params).unwrap();
        assert_eq!(dac.decoder_strides(), &[8, 5, 4, 2]);
        assert_eq!(
            (dac.latent_dim, dac.hop_length(), dac.output_tanh, dac.odd_stride_output_padding),
            (1024, 320, true, false)
        );
        // 50 frames/s, 10 bits: 0.5 kbps a codebook.
        assert_eq!(cfg.target_bandwidths_kbps.len(), 12);
        assert_eq!((cfg.target_bandwidths_kbps[0], cfg.target_bandwidths_kbps[11]), (0.5, 6.0));

        let dac44 = r#"{"model_type": "dac", "sampling_rate": 44100, "n_codebooks": 9}"#;
        let cfg = dac_config_from_hf(dac44).unwrap();
        let dac = DacConfig::from_params(&cfg.acoustic.params).unwrap();
        assert_eq!((dac.hop_length(), dac.decoder_strides()), (512, &[8usize, 8, 4, 2][..]));
        // 44100 / 512 = 86.13 frames/s, counted as 87: 0.87 kbps a codebook, printed as such.
        assert_eq!(
            cfg.target_bandwidths_kbps.iter().map(|b| b.to_string()).collect::<Vec<_>>()[..3],
            ["0.87", "1.74", "2.61"]
        );
        for (k, &bw) in cfg.target_bandwidths_kbps.iter().enumerate() {
            assert_eq!(bandwidth::codebooks_for_bandwidth(bw, 1024, 87.0), k + 1);
        }
        assert!(!is_dac(r#"{"model_type": "encodec"}"#));
    }
}
