//! The `bands` semantic teacher: frozen and weightless. Each hop of audio is one frame; its DCT-II
//! coefficients are split into `bands` equal groups and each group's log mean energy is a feature. A real
//! teacher would be a self-supervised network; this one only shows the trait and the frame alignment.

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};
use xcodec_core::{Result, SemanticTeacher, XcodecError};

/// The `bands` part's params (`[semantic.params]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BandsConfig {
    /// Feature width: bands per frame.
    pub bands: usize,
    /// Samples per frame; must equal the acoustic hop (the composite refuses other frame rates).
    pub hop: usize,
}

impl Default for BandsConfig {
    fn default() -> Self {
        Self { bands: 16, hop: 320 }
    }
}

impl BandsConfig {
    /// Parses and checks a `params` table (one-line errors).
    pub fn from_params(params: &toml::Table) -> Result<Self> {
        let cfg: Self = xcodec_core::config::parse_params("bands", params)?;
        if cfg.bands == 0 || cfg.hop == 0 || !cfg.hop.is_multiple_of(cfg.bands) {
            return Err(XcodecError::Config(format!(
                "[bands] params: bands = {} must be positive and divide hop = {}",
                cfg.bands, cfg.hop
            )));
        }
        Ok(cfg)
    }
}

/// Log band energies of non-overlapping frames; no parameters, so nothing to train or save.
#[derive(Module, Debug)]
pub struct BandsTeacher {
    /// Bands per frame (the feature width).
    pub bands: usize,
    /// Samples per frame.
    pub hop: usize,
}

impl BandsTeacher {
    /// The teacher of shape `cfg`.
    pub fn new(cfg: &BandsConfig) -> Self {
        Self { bands: cfg.bands, hop: cfg.hop }
    }

    /// The orthonormal DCT-II matrix `[hop, hop]` (row: sample, column: coefficient).
    fn dct(&self) -> Vec<f32> {
        let n = self.hop;
        let mut m = vec![0.0f32; n * n];
        for (i, row) in m.chunks_mut(n).enumerate() {
            for (k, v) in row.iter_mut().enumerate() {
                let scale = if k == 0 { (1.0 / n as f64).sqrt() } else { (2.0 / n as f64).sqrt() };
                *v = (scale * (std::f64::consts::PI * (i as f64 + 0.5) * k as f64 / n as f64).cos()) as f32;
            }
        }
        m
    }
}

impl SemanticTeacher for BandsTeacher {
    fn hidden_size(&self) -> usize {
        self.bands
    }

    fn features(&self, audio: Tensor<2>) -> Option<Tensor<3>> {
        let [batch, samples] = audio.dims();
        let frames = self.output_frames(samples);
        let device = audio.device();
        let basis = Tensor::<2>::from_data(TensorData::new(self.dct(), [self.hop, self.hop]), &device);
        let rows = audio.detach().narrow(1, 0, frames * self.hop).reshape([batch * frames, self.hop]);
        let energy = rows.matmul(basis).powi_scalar(2).reshape([batch, frames, self.bands, self.hop / self.bands]);
        Some(energy.mean_dim(3).reshape([batch, frames, self.bands]).add_scalar(1e-5).log())
    }

    fn output_frames(&self, samples: usize) -> usize {
        samples / self.hop
    }
}
