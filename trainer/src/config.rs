//! `TrainConfig`: everything a training run reads, as TOML (`train.toml`). Every field has a default (X-Codec's
//! recipe) and can be set on the command line with `--set section.field=value`.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use xcodec_core::error::one_line;
use xcodec_core::{CodecConfig, Result, XcodecError};

/// A training run's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// The codec to build and train from scratch; absent when a model directory is given (`--model`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<CodecConfig>,
    /// Training and validation audio.
    pub data: DataConfig,
    /// Optimisation, schedule, checkpoints.
    pub train: TrainSettings,
    /// Loss weights and shapes.
    pub loss: LossConfig,
    /// Which discriminators, and their shapes.
    pub discriminator: crate::discriminators::DiscriminatorConfig,
}

/// Where the audio comes from and how it is cut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Text file with one audio path a line (relative paths are relative to the list's directory).
    pub train_list: PathBuf,
    /// Same, for validation (empty: no validation).
    pub valid_list: PathBuf,
    /// Samples in a training crop (48 000 = 3 s at 16 kHz); shorter files are zero-padded.
    pub segment_samples: usize,
    /// Scale each crop to a peak of 0.95 (crops that are silent stay silent).
    pub normalize_gain: bool,
    /// Threads decoding audio for the next batches.
    pub workers: usize,
    /// Validation files are cut to their first this many seconds.
    pub valid_max_seconds: f64,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            train_list: PathBuf::new(),
            valid_list: PathBuf::new(),
            segment_samples: 48_000,
            normalize_gain: false,
            workers: 2,
            valid_max_seconds: 10.0,
        }
    }
}

/// The optimisation and bookkeeping of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSettings {
    /// Crops per optimiser step (split across devices; times `accumulate`).
    pub batch_size: usize,
    /// Micro-batches whose gradients are summed before a step.
    pub accumulate: usize,
    /// Seed of the data order, crops, bandwidth draws and codebook updates.
    pub seed: u64,
    /// Stop after this many steps.
    pub max_steps: u64,
    /// Write a checkpoint every this many steps (and at the end).
    pub checkpoint_every: u64,
    /// Checkpoints kept (oldest removed first).
    pub keep_checkpoints: usize,
    /// Validate every this many steps (and before the first step); 0 = never.
    pub valid_every: u64,
    /// AdamW learning rate of both optimisers.
    pub learning_rate: f64,
    /// AdamW betas.
    pub betas: [f32; 2],
    /// AdamW epsilon.
    pub epsilon: f32,
    /// AdamW decoupled weight decay (torch's default).
    pub weight_decay: f32,
    /// Learning rate factor applied every `lr_decay_every` steps (exponential decay).
    pub lr_decay: f64,
    /// Steps between two learning-rate decays.
    pub lr_decay_every: u64,
    /// Global gradient-norm clip of each optimiser's gradients (0 = off).
    pub grad_clip: f64,
    /// Draw the bandwidth (codebooks used) at random each step, as X-Codec does.
    pub quantizer_dropout: bool,
    /// Steps before the discriminators and adversarial losses start.
    pub disc_start_step: u64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            batch_size: 8,
            accumulate: 1,
            seed: 0,
            max_steps: 400_000,
            checkpoint_every: 5_000,
            keep_checkpoints: 3,
            valid_every: 5_000,
            learning_rate: 2e-4,
            betas: [0.8, 0.99],
            epsilon: 1e-6,
            weight_decay: 0.01,
            lr_decay: 0.999,
            lr_decay_every: 1_000,
            grad_clip: 2.0,
            quantizer_dropout: true,
            disc_start_step: 0,
        }
    }
}

/// The generator's losses: weights (0 turns a loss off) and shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossConfig {
    /// Multi-resolution STFT loss (spectral convergence + log magnitude).
    pub stft: f64,
    /// Sub-band (PQMF) multi-resolution STFT loss.
    pub subband_stft: f64,
    /// Multi-scale mel loss (DAC-style).
    pub mel: f64,
    /// Least-squares adversarial loss.
    pub adversarial: f64,
    /// Feature matching.
    pub feature_matching: f64,
    /// Semantic reconstruction MSE against the teacher's features.
    pub semantic: f64,
    /// Commitment loss of the quantizer.
    pub commitment: f64,
    /// How adversarial and feature-matching terms combine over sub-discriminators (X-Codec: mean).
    pub reduction: crate::losses::Reduction,
    /// Resolutions of the full-band STFT loss.
    pub stft_resolutions: crate::losses::MultiResolutionStftLossConfig,
    /// PQMF bank and resolutions of the sub-band STFT loss.
    pub subband: crate::losses::SubbandStftLossConfig,
    /// Scales of the mel loss (its sample rate is the codec's).
    pub mel_scales: crate::losses::MultiScaleMelLossConfig,
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            stft: 1.0,
            subband_stft: 1.0,
            mel: 0.0,
            adversarial: 1.0,
            feature_matching: 20.0,
            semantic: 100.0,
            commitment: 1.0,
            reduction: Default::default(),
            stft_resolutions: Default::default(),
            subband: Default::default(),
            mel_scales: Default::default(),
        }
    }
}

impl TrainConfig {
    /// Parses TOML (unknown keys rejected).
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| XcodecError::Config(one_line(&e.to_string())))
    }

    /// Reads a `train.toml`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| XcodecError::file(path, format!("cannot read: {e}")))?;
        Self::from_toml(&text).map_err(|e| XcodecError::file(path, e.to_string()))
    }

    /// TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("train config serializes")
    }

    /// Applies `--set KEY=VALUE` overrides and checks the result.
    pub fn with_overrides(&self, sets: &[String]) -> Result<Self> {
        let cfg = xcodec_core::config::apply_overrides(self, sets)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Rejects values a run cannot use, naming the field.
    pub fn validate(&self) -> Result<()> {
        let t = &self.train;
        let bad = |msg: &str| Err(XcodecError::Config(msg.to_string()));
        if t.batch_size == 0 || t.accumulate == 0 {
            return bad("train.batch_size and train.accumulate must be at least 1");
        }
        if t.checkpoint_every == 0 {
            return bad("train.checkpoint_every must be at least 1");
        }
        if t.keep_checkpoints == 0 {
            return bad("train.keep_checkpoints must be at least 1 (resuming needs one)");
        }
        let positive = |v: f64| v.is_finite() && v > 0.0; // false for NaN and inf too
        let in_range = positive(t.learning_rate) && positive(t.lr_decay) && t.lr_decay <= 1.0;
        if !in_range || t.lr_decay_every == 0 {
            return bad("train.learning_rate must be > 0, train.lr_decay in (0, 1] and train.lr_decay_every >= 1");
        }
        if self.data.segment_samples == 0 || self.data.workers == 0 {
            return bad("data.segment_samples and data.workers must be at least 1");
        }
        let w = &self.loss;
        let weights = [w.stft, w.subband_stft, w.mel, w.adversarial, w.feature_matching, w.semantic, w.commitment];
        if weights.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return bad("loss weights must be finite and >= 0");
        }
        if let Some(codec) = &self.codec {
            codec.validate()?;
        }
        Ok(())
    }

    /// The learning rate at `step` (0-based): exponential decay every `lr_decay_every` steps.
    pub fn learning_rate(&self, step: u64) -> f64 {
        let t = &self.train;
        t.learning_rate * t.lr_decay.powf((step / t.lr_decay_every) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_overrides_apply() {
        let cfg = TrainConfig::default();
        assert_eq!(TrainConfig::from_toml(&cfg.to_toml()).unwrap(), cfg);
        let set = cfg
            .with_overrides(&["data.train_list=a.txt".into(), "train.batch_size=2".into(), "train.seed=7".into()])
            .unwrap();
        assert_eq!(set.data.train_list, PathBuf::from("a.txt"));
        assert_eq!((set.train.batch_size, set.train.seed), (2, 7));
    }

    #[test]
    fn bad_fields_are_named() {
        let err = TrainConfig::default().with_overrides(&["train.batchsize=2".into()]).unwrap_err().to_string();
        assert!(err.contains("batchsize"), "{err}");
        let err = TrainConfig::default().with_overrides(&["train.batch_size=0".into()]).unwrap_err().to_string();
        assert!(err.contains("batch_size"), "{err}");
    }

    #[test]
    fn learning_rate_decays_in_steps() {
        let mut cfg = TrainConfig::default();
        cfg.train.lr_decay = 0.5;
        cfg.train.lr_decay_every = 10;
        assert_eq!(cfg.learning_rate(9), 2e-4);
        assert_eq!(cfg.learning_rate(10), 1e-4);
        assert_eq!(cfg.learning_rate(25), 5e-5);
    }
}
