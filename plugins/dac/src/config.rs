//! The `dac` part's parameters.

use serde::{Deserialize, Serialize};
use xcodec_core::{Result, XcodecError};

/// Shape of the DAC encoder/decoder. Defaults reproduce X-Codec's speech model (hop 320, 256-dim latent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DacConfig {
    /// Channels after the encoder's first conv; doubled by every block (64 -> 1024 with four blocks).
    pub encoder_width: usize,
    /// Down-sampling stride of each encoder block; the decoder up-samples in the same order. Hop = product.
    pub strides: Vec<usize>,
    /// Channels of the latent between encoder and decoder.
    pub latent_dim: usize,
    /// Channels after the decoder's first conv; halved by every block.
    pub decoder_width: usize,
}

impl Default for DacConfig {
    fn default() -> Self {
        Self { encoder_width: 64, strides: vec![8, 5, 4, 2], latent_dim: 256, decoder_width: 1024 }
    }
}

impl DacConfig {
    /// Parses and checks a `params` table.
    pub fn from_params(params: &toml::Table) -> Result<Self> {
        let cfg: Self = xcodec_core::config::parse_params("dac", params)?;
        let bad = |m: String| Err(XcodecError::Config(format!("[dac] params: {m}")));
        if cfg.strides.is_empty() || cfg.strides.contains(&0) {
            return bad(format!("strides = {:?}: give at least one positive stride, e.g. [8, 5, 4, 2]", cfg.strides));
        }
        if cfg.encoder_width == 0 || cfg.latent_dim == 0 {
            return bad("encoder_width and latent_dim must be positive".into());
        }
        if cfg.decoder_width >> cfg.strides.len() == 0 || cfg.decoder_width % (1 << cfg.strides.len()) != 0 {
            return bad(format!(
                "decoder_width = {} must be divisible by 2^{} (it is halved by every block)",
                cfg.decoder_width,
                cfg.strides.len()
            ));
        }
        Ok(cfg)
    }

    /// Samples per latent frame.
    pub fn hop_length(&self) -> usize {
        self.strides.iter().product()
    }
}
