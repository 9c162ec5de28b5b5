//! EnCodec's multi-scale STFT discriminator (`facebookresearch/encodec` `msstftd.py`): for each resolution
//! the complex STFT (`center=False`, Hann window, divided by the window's L2 norm) as a `[real, imag]` image
//! over `(frames, bins)`, scored by Conv2d layers (the first plain, the rest weight-normed; LeakyReLU 0.2 after
//! each, whose outputs are the feature maps) and a final weight-normed conv to one channel.

use burn::module::Module;
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use xcodec_core::{Result, XcodecError};

use super::DiscriminatorOutput;
use super::conv::{Conv2dSpec, NormConv2d, WnConv2d};
use crate::stft::{SpectrumNorm, Stft, mono};

/// MS-STFT discriminator parameters; defaults are EnCodec's (`filters = 32`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MsStftConfig {
    /// Build it.
    pub enabled: bool,
    /// Channels of every layer but the last.
    pub filters: usize,
    /// FFT size per resolution (powers of two).
    pub n_ffts: Vec<usize>,
    /// Hop per resolution.
    pub hop_lengths: Vec<usize>,
    /// Window length per resolution.
    pub win_lengths: Vec<usize>,
    /// Kernel `[frames, bins]` of the inner layers.
    pub kernel_size: [usize; 2],
    /// Stride of the dilated layers.
    pub stride: [usize; 2],
    /// Time dilation of each dilated layer.
    pub dilations: Vec<usize>,
}

impl Default for MsStftConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            filters: 32,
            n_ffts: vec![1024, 2048, 512, 256, 128],
            hop_lengths: vec![256, 512, 128, 64, 32],
            win_lengths: vec![1024, 2048, 512, 256, 128],
            kernel_size: [3, 9],
            stride: [1, 2],
            dilations: vec![1, 2, 4],
        }
    }
}

/// EnCodec's LeakyReLU slope.
const SLOPE: f64 = 0.2;

/// One resolution's sub-discriminator.
#[derive(Module, Debug)]
pub struct StftDiscriminator {
    /// The STFT.
    pub stft: Stft,
    /// Plain input conv, the dilated weight-normed convs, a square weight-normed conv.
    pub convs: Vec<NormConv2d>,
    /// The final conv to one channel.
    pub conv_post: WnConv2d,
}

impl StftDiscriminator {
    /// The sub-discriminator of resolution `i` of `cfg`.
    pub fn new(cfg: &MsStftConfig, i: usize, device: &Device) -> Result<Self> {
        let stft =
            Stft::new(cfg.n_ffts[i], cfg.hop_lengths[i], cfg.win_lengths[i], false, SpectrumNorm::Window, device)?;
        let [kh, kw] = cfg.kernel_size;
        let f = cfg.filters;
        let mut convs =
            vec![NormConv2d::new(Conv2dSpec::new(2, f, [kh, kw]).padding([(kh - 1) / 2, (kw - 1) / 2]), false, device)];
        for &d in &cfg.dilations {
            let spec = Conv2dSpec::new(f, f, [kh, kw])
                .stride(cfg.stride)
                .dilation([d, 1])
                .padding([(kh - 1) * d / 2, (kw - 1) / 2]);
            convs.push(NormConv2d::new(spec, true, device));
        }
        let square = Conv2dSpec::new(f, f, [kh, kh]).padding([(kh - 1) / 2, (kh - 1) / 2]);
        convs.push(NormConv2d::new(square, true, device));
        let conv_post = WnConv2d::new(Conv2dSpec { channels_out: 1, ..square }, device);
        Ok(Self { stft, convs, conv_post })
    }

    /// `[batch, samples]` -> logits `[batch, 1, frames', bins']` and one feature map per conv but the last.
    pub fn forward(&self, audio: Tensor<2>) -> Result<DiscriminatorOutput> {
        let (re, im) = self.stft.complex(audio)?;
        let mut x = Tensor::stack::<4>(vec![re, im], 1);
        let mut features = Vec::with_capacity(self.convs.len());
        for conv in &self.convs {
            x = leaky_relu(conv.forward(x), SLOPE);
            features.push(x.clone());
        }
        Ok(DiscriminatorOutput { logits: self.conv_post.forward(x), features })
    }
}

/// The multi-scale STFT discriminator.
#[derive(Module, Debug)]
pub struct MsStftDiscriminator {
    /// One per resolution.
    pub discriminators: Vec<StftDiscriminator>,
}

impl MsStftDiscriminator {
    /// Builds it from `cfg` (ignoring `enabled`).
    pub fn new(cfg: &MsStftConfig, device: &Device) -> Result<Self> {
        let n = cfg.n_ffts.len();
        if n == 0 || cfg.hop_lengths.len() != n || cfg.win_lengths.len() != n {
            return Err(XcodecError::Config(format!(
                "msstft: n_ffts, hop_lengths and win_lengths must be non-empty and of one length, got {}, {}, {}",
                n,
                cfg.hop_lengths.len(),
                cfg.win_lengths.len()
            )));
        }
        let [kh, kw] = cfg.kernel_size;
        if cfg.filters == 0 || kh % 2 == 0 || kw % 2 == 0 || cfg.stride.contains(&0) || cfg.dilations.contains(&0) {
            return Err(XcodecError::Config(format!(
                "msstft: need filters > 0, odd kernel sizes and positive strides and dilations, got filters {}, kernel {:?}, \
                 stride {:?}, dilations {:?}",
                cfg.filters, cfg.kernel_size, cfg.stride, cfg.dilations
            )));
        }
        Ok(Self { discriminators: (0..n).map(|i| StftDiscriminator::new(cfg, i, device)).collect::<Result<_>>()? })
    }

    /// `[batch, 1, samples]` audio -> one output per resolution.
    pub fn forward(&self, audio: Tensor<3>) -> Result<Vec<DiscriminatorOutput>> {
        let audio = mono(audio)?;
        self.discriminators.iter().map(|d| d.forward(audio.clone())).collect()
    }
}
