//! HiFi-GAN's multi-period discriminator (`jik876/hifi-gan` `models.py`): audio reflect-padded to a multiple
//! of each period, folded to `[batch, 1, samples / period, period]` and scored by weight-normed `(k, 1)`
//! Conv2d layers (LeakyReLU 0.1); every layer's output, the last included, is a feature map.

use burn::module::Module;
use burn::tensor::activation::leaky_relu;
use burn::tensor::ops::PadMode;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use xcodec_core::{Result, XcodecError};

use super::DiscriminatorOutput;
use super::conv::{Conv2dSpec, WnConv2d};

/// Multi-period discriminator parameters; defaults are HiFi-GAN's (X-Codec's `mpd` block).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MpdConfig {
    /// Build it.
    pub enabled: bool,
    /// Periods, one sub-discriminator each.
    pub periods: Vec<usize>,
    /// Kernel height of the strided layers (padding `(kernel - 1) / 2`).
    pub kernel_size: usize,
    /// Stride of all but the last of `channels`' layers.
    pub stride: usize,
    /// Widths of the layers before the 1-channel `conv_post`.
    pub channels: Vec<usize>,
}

impl Default for MpdConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            periods: vec![2, 3, 5, 7, 11],
            kernel_size: 5,
            stride: 3,
            channels: vec![32, 128, 512, 1024, 1024],
        }
    }
}

/// HiFi-GAN's LeakyReLU slope.
const SLOPE: f64 = 0.1;

/// One period's sub-discriminator.
#[derive(Module, Debug)]
pub struct PeriodDiscriminator {
    /// The period.
    pub period: usize,
    /// The `(kernel, 1)` layers.
    pub convs: Vec<WnConv2d>,
    /// The final `(3, 1)` layer to one channel.
    pub conv_post: WnConv2d,
}

impl PeriodDiscriminator {
    /// The sub-discriminator for `period`.
    pub fn new(period: usize, cfg: &MpdConfig, device: &Device) -> Self {
        let pad = (cfg.kernel_size - 1) / 2;
        let last = cfg.channels.len() - 1;
        let mut channels_in = 1;
        let convs = cfg
            .channels
            .iter()
            .enumerate()
            .map(|(i, &width)| {
                let stride = if i == last { 1 } else { cfg.stride };
                let spec =
                    Conv2dSpec::new(channels_in, width, [cfg.kernel_size, 1]).stride([stride, 1]).padding([pad, 0]);
                channels_in = width;
                WnConv2d::new(spec, device)
            })
            .collect();
        let conv_post = WnConv2d::new(Conv2dSpec::new(channels_in, 1, [3, 1]).padding([1, 0]), device);
        Self { period, convs, conv_post }
    }

    /// `[batch, 1, samples]` -> logits `[batch, 1, h, period]` (HiFi-GAN flattens them to `[batch, h * period]`;
    /// every loss here averages, so the shape does not matter) and one feature map per layer.
    pub fn forward(&self, audio: Tensor<3>) -> Result<DiscriminatorOutput> {
        let [batch, channels, samples] = audio.dims();
        let rem = samples % self.period;
        let (audio, samples) = if rem == 0 {
            (audio, samples)
        } else {
            let n_pad = self.period - rem;
            if n_pad >= samples {
                return Err(XcodecError::Input(format!(
                    "{samples} samples are too few for the period-{} discriminator: give at least {}",
                    self.period, self.period
                )));
            }
            (audio.pad([(0, n_pad)], PadMode::Reflect), samples + n_pad)
        };
        let mut x = audio.reshape([batch, channels, samples / self.period, self.period]);
        let mut features = Vec::with_capacity(self.convs.len() + 1);
        for conv in &self.convs {
            x = leaky_relu(conv.forward(x), SLOPE);
            features.push(x.clone());
        }
        let logits = self.conv_post.forward(x);
        features.push(logits.clone());
        Ok(DiscriminatorOutput { logits, features })
    }
}

/// The multi-period discriminator.
#[derive(Module, Debug)]
pub struct MultiPeriodDiscriminator {
    /// One per period.
    pub discriminators: Vec<PeriodDiscriminator>,
}

impl MultiPeriodDiscriminator {
    /// Builds it from `cfg` (ignoring `enabled`).
    pub fn new(cfg: &MpdConfig, device: &Device) -> Result<Self> {
        if cfg.periods.is_empty() || cfg.periods.contains(&0) || cfg.channels.is_empty() || cfg.channels.contains(&0) {
            return Err(XcodecError::Config(format!(
                "mpd: periods {:?} and channels {:?} must be non-empty lists of positive numbers",
                cfg.periods, cfg.channels
            )));
        }
        if cfg.kernel_size == 0 || cfg.stride == 0 {
            return Err(XcodecError::Config("mpd: kernel_size and stride must be positive".into()));
        }
        Ok(Self { discriminators: cfg.periods.iter().map(|&p| PeriodDiscriminator::new(p, cfg, device)).collect() })
    }

    /// `[batch, 1, samples]` audio -> one output per period.
    pub fn forward(&self, audio: Tensor<3>) -> Result<Vec<DiscriminatorOutput>> {
        if audio.dims()[1] != 1 {
            return Err(XcodecError::Input(format!("audio must be [batch, 1, samples], got {:?}", audio.dims())));
        }
        self.discriminators.iter().map(|d| d.forward(audio.clone())).collect()
    }
}
