//! The `dac` part's parameters.

use serde::{Deserialize, Serialize};
use xcodec_core::{Result, XcodecError};

/// Shape of the DAC encoder/decoder. Defaults reproduce X-Codec's speech model (hop 320, 256-dim latent);
/// descript's own DAC models (`descript/dac_16khz`, ...) differ in three places, each a parameter here:
/// the decoder's strides run in the other order, its transposed convs have no output padding, and it ends in
/// a tanh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DacConfig {
    /// Channels after the encoder's first conv; doubled by every block (64 -> 1024 with four blocks).
    pub encoder_width: usize,
    /// Down-sampling stride of each encoder block; the decoder up-samples in the same order unless
    /// `decoder_strides` says otherwise. Hop = product.
    pub strides: Vec<usize>,
    /// Channels of the latent between encoder and decoder.
    pub latent_dim: usize,
    /// Channels after the decoder's first conv; halved by every block.
    pub decoder_width: usize,
    /// Up-sampling stride of each decoder block, when it is not `strides` (descript's DAC: encoder
    /// `[2, 4, 8, 8]`, decoder `[8, 8, 4, 2]`). Same count and product as `strides`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoder_strides: Option<Vec<usize>>,
    /// Transposed convs get `output_padding = stride % 2`, so every block up-samples by exactly its stride
    /// (X-Codec). Without it (descript's DAC, transformers' `DacModel`) a block of odd stride `s` turns `len`
    /// frames into `s * len - 1` samples, so the decoder ends a few samples short of `frames * hop` (8 for
    /// `[8, 5, 4, 2]`); it then pads its output with zeros at the end up to that length.
    pub odd_stride_output_padding: bool,
    /// A tanh on the decoder's output (descript's DAC); X-Codec has none.
    pub output_tanh: bool,
}

impl Default for DacConfig {
    fn default() -> Self {
        Self {
            encoder_width: 64,
            strides: vec![8, 5, 4, 2],
            latent_dim: 256,
            decoder_width: 1024,
            decoder_strides: None,
            odd_stride_output_padding: true,
            output_tanh: false,
        }
    }
}

impl DacConfig {
    /// Parses and checks a `params` table.
    pub fn from_params(params: &toml::Table) -> Result<Self> {
        let cfg: Self = xcodec_core::config::parse_params(crate::DAC, params)?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Checks what cannot be built: empty or zero strides, zero widths, decoder widths that do not halve.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(XcodecError::Config(format!("[dac] params: {m}")));
        if self.strides.is_empty() || self.strides.contains(&0) {
            return bad(format!("strides = {:?}: give at least one positive stride, e.g. [8, 5, 4, 2]", self.strides));
        }
        if let Some(dec) = &self.decoder_strides
            && (dec.len() != self.strides.len()
                || dec.contains(&0)
                || dec.iter().product::<usize>() != self.hop_length())
        {
            return bad(format!(
                "decoder_strides = {dec:?} must be {} positive strides multiplying to the encoder's hop {}",
                self.strides.len(),
                self.hop_length()
            ));
        }
        if self.encoder_width == 0 || self.latent_dim == 0 {
            return bad("encoder_width and latent_dim must be positive".into());
        }
        if self.decoder_width >> self.strides.len() == 0 || !self.decoder_width.is_multiple_of(1 << self.strides.len())
        {
            return bad(format!(
                "decoder_width = {} must be divisible by 2^{} (it is halved by every block)",
                self.decoder_width,
                self.strides.len()
            ));
        }
        Ok(())
    }

    /// Samples per latent frame.
    pub fn hop_length(&self) -> usize {
        self.strides.iter().product()
    }

    /// The decoder's up-sampling strides, in order.
    pub fn decoder_strides(&self) -> &[usize] {
        self.decoder_strides.as_deref().unwrap_or(&self.strides)
    }
}
