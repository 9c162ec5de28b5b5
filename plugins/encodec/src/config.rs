//! The `encodec` and `soundstream` parts' parameters. [`EncodecConfig`] is the SEANet shape both build from;
//! its field names are those of transformers' `EncodecConfig`, so a Hugging Face `config.json` maps one to one.

use serde::{Deserialize, Serialize};
use xcodec_core::{Result, XcodecError};

/// How the convolutions are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormType {
    /// Weight norm on every conv (`weight_g`, `weight_v`); EnCodec 24 kHz.
    WeightNorm,
    /// A plain conv followed by a one-group GroupNorm over channels and time; EnCodec 48 kHz.
    TimeGroupNorm,
}

/// What the convolutions pad with (torch `F.pad` modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PadMode {
    /// Mirror the signal, excluding the edge sample (EnCodec's default).
    Reflect,
    /// Zeros.
    Constant,
    /// Repeat the edge sample.
    Replicate,
}

/// Shape of a SEANet encoder/decoder as EnCodec configures it. Defaults are EnCodec 24 kHz's shape, whose hop
/// (8 x 5 x 4 x 2 = 320) gives 50 frames/s at 16 kHz, the frame rate of the HuBERT/WavLM teachers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EncodecConfig {
    /// Channels of the latent between encoder and decoder.
    pub hidden_size: usize,
    /// Channels after the first conv; doubled by every down-sampling stage.
    pub num_filters: usize,
    /// Residual blocks per stage (dilations `dilation_growth_rate^j`, j = 0..).
    pub num_residual_layers: usize,
    /// Decoder up-sampling strides, in decoder order; the encoder down-samples in reverse. Hop = product.
    pub upsampling_ratios: Vec<usize>,
    /// `weight_norm` or `time_group_norm`.
    pub norm_type: NormType,
    /// Kernel of the first conv (encoder and decoder).
    pub kernel_size: usize,
    /// Kernel of the last conv (encoder and decoder).
    pub last_kernel_size: usize,
    /// Kernel of the residual blocks' first conv.
    pub residual_kernel_size: usize,
    /// Dilation growth between the residual blocks of a stage.
    pub dilation_growth_rate: usize,
    /// Pad every conv on the left only (streaming-friendly); otherwise split the padding.
    pub use_causal_conv: bool,
    /// `reflect`, `constant` or `replicate`.
    pub pad_mode: PadMode,
    /// Channel reduction inside the residual branches.
    pub compress: usize,
    /// LSTM layers after the encoder and before the decoder (0: none).
    pub num_lstm_layers: usize,
    /// Share of a causal transposed conv's padding trimmed on the right (1.0: all of it).
    pub trim_right_ratio: f64,
    /// A 1x1 conv on the residual path (otherwise identity).
    pub use_conv_shortcut: bool,
    /// FiLM-condition the decoder on the bitrate (an xcodec extension, not in EnCodec): after every up-sampling
    /// conv the features are scaled and shifted per channel by vectors learned for each number of codebooks
    /// 1..=`film_codebooks` (at least the quantizer's codebooks). 0: no conditioning.
    pub film_codebooks: usize,
}

impl Default for EncodecConfig {
    fn default() -> Self {
        Self {
            hidden_size: 128,
            num_filters: 32,
            num_residual_layers: 1,
            upsampling_ratios: vec![8, 5, 4, 2],
            norm_type: NormType::WeightNorm,
            kernel_size: 7,
            last_kernel_size: 7,
            residual_kernel_size: 3,
            dilation_growth_rate: 2,
            use_causal_conv: true,
            pad_mode: PadMode::Reflect,
            compress: 2,
            num_lstm_layers: 2,
            trim_right_ratio: 1.0,
            use_conv_shortcut: true,
            film_codebooks: 0,
        }
    }
}

impl EncodecConfig {
    /// Parses and checks the `encodec` part's `params` table.
    pub fn from_params(params: &toml::Table) -> Result<Self> {
        let cfg: Self = xcodec_core::config::parse_params(crate::ENCODEC, params)?;
        cfg.check(crate::ENCODEC)?;
        Ok(cfg)
    }

    /// Checks that a SEANet of this shape can be built; `part` names the part in the one-line error.
    pub fn check(&self, part: &str) -> Result<()> {
        let bad = |m: String| Err(XcodecError::Config(format!("[{part}] params: {m}")));
        if self.upsampling_ratios.is_empty() || self.upsampling_ratios.contains(&0) {
            return bad(format!(
                "strides {:?}: give at least one positive stride, e.g. [8, 5, 4, 2]",
                self.upsampling_ratios
            ));
        }
        if self.hidden_size == 0 || self.num_filters == 0 {
            return bad("hidden_size and num_filters must be positive".into());
        }
        if [self.kernel_size, self.last_kernel_size, self.residual_kernel_size, self.dilation_growth_rate].contains(&0)
        {
            return bad("kernel sizes and dilation_growth_rate must be positive".into());
        }
        if self.compress == 0 || self.num_filters < self.compress {
            return bad(format!(
                "compress = {} must be between 1 and num_filters = {} (residual branches have num_filters / compress channels)",
                self.compress, self.num_filters
            ));
        }
        if !(0.0..=1.0).contains(&self.trim_right_ratio) {
            return bad(format!("trim_right_ratio = {} must be in [0, 1]", self.trim_right_ratio));
        }
        if !self.use_causal_conv && self.trim_right_ratio != 1.0 {
            return bad("trim_right_ratio != 1 only makes sense with use_causal_conv = true".into());
        }
        Ok(())
    }

    /// Samples per latent frame.
    pub fn hop_length(&self) -> usize {
        self.upsampling_ratios.iter().product()
    }

    /// Dilations of the residual blocks of one stage.
    pub fn dilations(&self) -> Vec<usize> {
        (0..self.num_residual_layers).map(|j| self.dilation_growth_rate.pow(j as u32)).collect()
    }

    /// Whether every output depends on past input only: causal padding that is not a reflection (which
    /// mirrors samples from after the edge) and no time group norm (which normalises over the whole clip).
    pub fn is_causal(&self) -> bool {
        self.use_causal_conv && self.pad_mode != PadMode::Reflect && self.norm_type == NormType::WeightNorm
    }
}

/// Shape of a SoundStream encoder/decoder (Zeghidour et al. 2021): SEANet with fully causal zero-padded
/// convs, residual units of full width with dilations 1/3/9, ELU, no LSTM and no conv shortcut. Defaults give
/// hop 2 x 4 x 5 x 8 = 320, 50 frames/s at 16 kHz.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SoundStreamConfig {
    /// Channels of the latent (the paper's D).
    pub hidden_size: usize,
    /// Channels after the first conv (the paper's C); doubled by every encoder block.
    pub num_filters: usize,
    /// Encoder down-sampling strides, in encoder order; the decoder up-samples in reverse. Hop = product.
    pub strides: Vec<usize>,
    /// Kernel of the first conv (encoder and decoder).
    pub kernel_size: usize,
    /// Kernel of the last conv (encoder and decoder).
    pub last_kernel_size: usize,
    /// Kernel of the residual units' dilated conv.
    pub residual_kernel_size: usize,
    /// Residual units per block (dilations `dilation_growth_rate^j`: 1, 3, 9).
    pub num_residual_layers: usize,
    /// Dilation growth between the residual units of a block.
    pub dilation_growth_rate: usize,
    /// `weight_norm` or `time_group_norm` (the latter is not causal).
    pub norm_type: NormType,
    /// FiLM conditioning of the decoder on the bitrate (the paper's bitrate-scalable decoder): after every
    /// up-sampling conv, a scale and a shift per channel learned for each number of codebooks
    /// 1..=`film_codebooks` (set it to the quantizer's `num_quantizers`). 0: none.
    pub film_codebooks: usize,
}

impl Default for SoundStreamConfig {
    fn default() -> Self {
        Self {
            hidden_size: 128,
            num_filters: 32,
            strides: vec![2, 4, 5, 8],
            kernel_size: 7,
            last_kernel_size: 7,
            residual_kernel_size: 7,
            num_residual_layers: 3,
            dilation_growth_rate: 3,
            norm_type: NormType::WeightNorm,
            film_codebooks: 0,
        }
    }
}

impl SoundStreamConfig {
    /// Parses and checks the `soundstream` part's `params` table.
    pub fn from_params(params: &toml::Table) -> Result<Self> {
        let cfg: Self = xcodec_core::config::parse_params(crate::SOUNDSTREAM, params)?;
        cfg.to_seanet().check(crate::SOUNDSTREAM)?;
        Ok(cfg)
    }

    /// The SEANet shape this is.
    pub fn to_seanet(&self) -> EncodecConfig {
        EncodecConfig {
            hidden_size: self.hidden_size,
            num_filters: self.num_filters,
            num_residual_layers: self.num_residual_layers,
            upsampling_ratios: self.strides.iter().rev().copied().collect(),
            norm_type: self.norm_type,
            kernel_size: self.kernel_size,
            last_kernel_size: self.last_kernel_size,
            residual_kernel_size: self.residual_kernel_size,
            dilation_growth_rate: self.dilation_growth_rate,
            use_causal_conv: true,
            pad_mode: PadMode::Constant,
            compress: 1,
            num_lstm_layers: 0,
            trim_right_ratio: 1.0,
            use_conv_shortcut: false,
            film_codebooks: self.film_codebooks,
        }
    }
}
