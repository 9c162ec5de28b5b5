//! GAN discriminators: X-Codec's multi-frequency discriminator (on by default), HiFi-GAN's multi-period
//! discriminator and EnCodec's multi-scale STFT discriminator (optional), grouped in [`Discriminators`].

pub mod conv;
pub mod mfd;
pub mod mpd;
pub mod msstft;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use xcodec_core::{Result, XcodecError};

pub use mfd::{MfdConfig, MfdDomain, MultiFrequencyDiscriminator};
pub use mpd::{MpdConfig, MultiPeriodDiscriminator};
pub use msstft::{MsStftConfig, MsStftDiscriminator};

/// What one sub-discriminator says about a batch of audio.
#[derive(Debug, Clone)]
pub struct DiscriminatorOutput {
    /// Scores, `[batch, 1, h, w]` (real -> 1, generated -> 0 under the least-squares losses).
    pub logits: Tensor<4>,
    /// Intermediate activations for feature matching.
    pub features: Vec<Tensor<4>>,
}

/// The outputs of one kind of discriminator (its losses are reduced within the group, then summed over groups).
#[derive(Debug, Clone)]
pub struct DiscriminatorGroup {
    /// `"mfd"`, `"mpd"` or `"msstft"`.
    pub name: &'static str,
    /// One per sub-discriminator.
    pub outputs: Vec<DiscriminatorOutput>,
}

/// Which discriminators to build, and their shapes. Default: X-Codec's (the MFD alone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[derive(Default)]
pub struct DiscriminatorConfig {
    /// Multi-frequency discriminator (on by default).
    pub mfd: MfdConfig,
    /// Multi-period discriminator (off by default).
    pub mpd: MpdConfig,
    /// Multi-scale STFT discriminator (off by default).
    pub msstft: MsStftConfig,
}

/// The enabled discriminators.
#[derive(Module, Debug)]
pub struct Discriminators {
    /// Multi-frequency discriminator.
    pub mfd: Option<MultiFrequencyDiscriminator>,
    /// Multi-period discriminator.
    pub mpd: Option<MultiPeriodDiscriminator>,
    /// Multi-scale STFT discriminator.
    pub msstft: Option<MsStftDiscriminator>,
}

impl Discriminators {
    /// Builds the enabled discriminators of `cfg`; at least one must be.
    pub fn new(cfg: &DiscriminatorConfig, device: &Device) -> Result<Self> {
        if !(cfg.mfd.enabled || cfg.mpd.enabled || cfg.msstft.enabled) {
            return Err(XcodecError::Config(
                "discriminators: all are disabled; enable at least one of mfd, mpd, msstft".into(),
            ));
        }
        Ok(Self {
            mfd: cfg.mfd.enabled.then(|| MultiFrequencyDiscriminator::new(&cfg.mfd, device)).transpose()?,
            mpd: cfg.mpd.enabled.then(|| MultiPeriodDiscriminator::new(&cfg.mpd, device)).transpose()?,
            msstft: cfg.msstft.enabled.then(|| MsStftDiscriminator::new(&cfg.msstft, device)).transpose()?,
        })
    }

    /// Scores `[batch, 1, samples]` audio with every enabled discriminator, in the order mfd, mpd, msstft.
    pub fn forward(&self, audio: Tensor<3>) -> Result<Vec<DiscriminatorGroup>> {
        let mut groups = Vec::with_capacity(3);
        if let Some(d) = &self.mfd {
            groups.push(DiscriminatorGroup { name: "mfd", outputs: d.forward(audio.clone())? });
        }
        if let Some(d) = &self.mpd {
            groups.push(DiscriminatorGroup { name: "mpd", outputs: d.forward(audio.clone())? });
        }
        if let Some(d) = &self.msstft {
            groups.push(DiscriminatorGroup { name: "msstft", outputs: d.forward(audio)? });
        }
        Ok(groups)
    }
}
