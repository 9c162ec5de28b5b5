//! The `rvq` part's parameters.

use serde::{Deserialize, Serialize};
use xcodec_core::{Result, XcodecError};

/// RVQ shape and EMA training settings. The vector width is not a parameter: it is the composite's
/// acoustic + semantic width.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RvqConfig {
    /// Codebooks in the stack (the highest bandwidth uses all of them).
    pub num_quantizers: usize,
    /// Entries per codebook (1024 = 10 bits a code).
    pub codebook_size: usize,
    /// EMA decay of codebook updates during training.
    pub ema_decay: f64,
    /// Laplace smoothing of cluster sizes during training.
    pub epsilon: f64,
    /// Entries used fewer times than this in a batch are replaced by random inputs during training.
    pub dead_code_threshold: f64,
    /// Initialise codebooks with k-means on the first training batch.
    pub kmeans_init: bool,
    /// Lloyd iterations of that k-means.
    pub kmeans_iters: usize,
}

impl Default for RvqConfig {
    fn default() -> Self {
        Self {
            num_quantizers: 8,
            codebook_size: 1024,
            ema_decay: 0.99,
            epsilon: 1e-5,
            dead_code_threshold: 2.0,
            kmeans_init: true,
            kmeans_iters: 50,
        }
    }
}

impl RvqConfig {
    /// Parses and checks a `params` table.
    pub fn from_params(params: &toml::Table) -> Result<Self> {
        let cfg: Self = xcodec_core::config::parse_params(crate::RVQ, params)?;
        if cfg.num_quantizers == 0 || cfg.codebook_size < 2 {
            return Err(XcodecError::Config("[rvq] params: need num_quantizers >= 1 and codebook_size >= 2".into()));
        }
        if !(0.0..1.0).contains(&cfg.ema_decay) {
            return Err(XcodecError::Config(format!("[rvq] params: ema_decay = {} must be in [0, 1)", cfg.ema_decay)));
        }
        Ok(cfg)
    }
}

/// The `dac_vq` part's parameters: DAC's factorized residual VQ (defaults: descript's DAC models, 1024
/// entries of width 8; `num_quantizers` 12 as `descript/dac_16khz`). The input width is not a parameter: it
/// is the composite's acoustic (+ semantic) width.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DacVqConfig {
    /// Codebooks in the stack (`n_codebooks`).
    pub num_quantizers: usize,
    /// Entries per codebook (1024 = 10 bits a code).
    pub codebook_size: usize,
    /// Width of the space the codes live in (`in_proj` projects down to it, `out_proj` back up).
    pub codebook_dim: usize,
    /// Weight of each codebook's commitment term (encoder side) in the training loss (DAC: 0.25).
    pub commitment_weight: f64,
    /// Weight of each codebook's codebook term (moves the entries) in the training loss (DAC: 1.0).
    pub codebook_weight: f64,
}

impl Default for DacVqConfig {
    fn default() -> Self {
        Self { num_quantizers: 12, codebook_size: 1024, codebook_dim: 8, commitment_weight: 0.25, codebook_weight: 1.0 }
    }
}

impl DacVqConfig {
    /// Parses and checks a `params` table.
    pub fn from_params(params: &toml::Table) -> Result<Self> {
        let cfg: Self = xcodec_core::config::parse_params(crate::DAC_VQ, params)?;
        if cfg.num_quantizers == 0 || cfg.codebook_size < 2 || cfg.codebook_dim == 0 {
            return Err(XcodecError::Config(
                "[dac_vq] params: need num_quantizers >= 1, codebook_size >= 2 and codebook_dim >= 1".into(),
            ));
        }
        if !(cfg.commitment_weight >= 0.0 && cfg.codebook_weight >= 0.0) {
            return Err(XcodecError::Config(
                "[dac_vq] params: commitment_weight and codebook_weight must be >= 0".into(),
            ));
        }
        Ok(cfg)
    }
}
