//! SEANet encoder and decoder as EnCodec builds them. `layers` is indexed exactly like transformers'
//! `EncodecEncoder.layers` / `EncodecDecoder.layers` (ELUs included), so checkpoint keys such as
//! `encoder.layers.1.block.1.conv.weight_g` land on the same path here.

use crate::carry::SeanetStream;
use crate::config::EncodecConfig;
use crate::conv::{SeanetConv1d, SeanetConvTranspose1d};
use crate::film::BitrateFilm;
use crate::lstm::SeanetLstm;
use burn::module::Module;
use burn::nn::{Elu, EluConfig};
use burn::tensor::{Device, Tensor};
use xcodec_core::nn::masked::per_row;
use xcodec_core::{AcousticDecoder, AcousticEncoder, Result, StreamState, XcodecError};

/// A layer of a residual block's branch.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // a handful per model: not worth boxing the convs
pub enum ResnetLayer {
    /// ELU (alpha 1).
    Elu(Elu),
    /// A conv.
    Conv(SeanetConv1d),
}

/// `shortcut(x) + conv(elu(conv(elu(x))))`: a dilated `residual_kernel_size` conv to `dim / compress`
/// channels, then a 1x1 conv back to `dim` (`EncodecResnetBlock`).
#[derive(Module, Debug)]
pub struct SeanetResnetBlock {
    /// ELU, dilated conv, ELU, 1x1 conv.
    pub block: Vec<ResnetLayer>,
    /// 1x1 conv on the residual path (`use_conv_shortcut`), else identity.
    pub shortcut: Option<SeanetConv1d>,
}

impl SeanetResnetBlock {
    fn new(cfg: &EncodecConfig, dim: usize, dilation: usize, device: &Device) -> Self {
        let conv =
            |i, o, k, d| SeanetConv1d::new(i, o, k, 1, d, cfg.norm_type, cfg.use_causal_conv, cfg.pad_mode, device);
        let hidden = dim / cfg.compress;
        Self {
            block: vec![
                ResnetLayer::Elu(EluConfig::new().init()),
                ResnetLayer::Conv(conv(dim, hidden, cfg.residual_kernel_size, dilation)),
                ResnetLayer::Elu(EluConfig::new().init()),
                ResnetLayer::Conv(conv(hidden, dim, 1, 1)),
            ],
            shortcut: cfg.use_conv_shortcut.then(|| conv(dim, dim, 1, 1)),
        }
    }

    /// Same-shape residual transform.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let y = self.block.iter().fold(x.clone(), |h, layer| match layer {
            ResnetLayer::Elu(elu) => elu.forward(h),
            ResnetLayer::Conv(conv) => conv.forward(h),
        });
        let skip = match &self.shortcut {
            Some(conv) => conv.forward(x),
            None => x,
        };
        skip + y
    }

    /// [`Self::forward`] of rows with `lengths` valid steps (see [`SeanetConv1d::forward_masked`]).
    fn forward_masked(&self, x: Tensor<3>, lengths: &[usize]) -> Tensor<3> {
        let y = self.block.iter().fold(x.clone(), |h, layer| match layer {
            ResnetLayer::Elu(elu) => elu.forward(h),
            ResnetLayer::Conv(conv) => conv.forward_masked(h, &mut lengths.to_vec()),
        });
        let skip = match &self.shortcut {
            Some(conv) => conv.forward_masked(x, &mut lengths.to_vec()),
            None => x,
        };
        skip + y
    }

    fn streamable(&self) -> bool {
        self.block.iter().all(|l| !matches!(l, ResnetLayer::Conv(c) if !c.streamable()))
            && self.shortcut.as_ref().is_none_or(|c| c.streamable())
    }

    fn forward_step(&self, x: Tensor<3>, stream: &mut SeanetStream) -> Tensor<3> {
        let mut y = x.clone();
        for layer in &self.block {
            y = match layer {
                ResnetLayer::Elu(elu) => elu.forward(y),
                ResnetLayer::Conv(conv) => conv.forward_step(y, stream),
            };
        }
        let skip = match &self.shortcut {
            Some(conv) => conv.forward_step(x, stream),
            None => x,
        };
        skip + y
    }
}

/// A layer of the encoder or decoder stack.
#[derive(Module, Debug)]
pub enum SeanetLayer {
    /// A (strided) conv.
    Conv(SeanetConv1d),
    /// An up-sampling transposed conv.
    ConvTranspose(SeanetConvTranspose1d),
    /// A residual block.
    Resnet(SeanetResnetBlock),
    /// The LSTM with skip connection.
    Lstm(SeanetLstm),
    /// ELU (alpha 1).
    Elu(Elu),
}

impl SeanetLayer {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        match self {
            Self::Conv(m) => m.forward(x),
            Self::ConvTranspose(m) => m.forward(x),
            Self::Resnet(m) => m.forward(x),
            Self::Lstm(m) => m.forward(x),
            Self::Elu(m) => m.forward(x),
        }
    }

    /// [`Self::forward`] of rows with `lengths` valid steps (updated to the output's): convs pad each row as
    /// alone, the LSTM runs each row over its valid steps by itself (a batch would change the recurrent
    /// matrix product's kernel).
    fn forward_masked(&self, x: Tensor<3>, lengths: &mut [usize]) -> Tensor<3> {
        let width = x.dims()[2];
        match self {
            Self::Conv(m) => m.forward_masked(x, lengths),
            Self::Resnet(m) => m.forward_masked(x, lengths),
            Self::Elu(m) => m.forward(x),
            Self::Lstm(m) => per_row(x, 2, lengths, width, |row| m.forward(row)),
            Self::ConvTranspose(m) => {
                let y = per_row(x, 2, lengths, width * m.stride(), |row| m.forward(row));
                lengths.iter_mut().for_each(|n| *n *= m.stride());
                y
            }
        }
    }

    fn elu() -> Self {
        Self::Elu(EluConfig::new().init())
    }

    /// Whether the layer streams exactly (its convs causal, without reflect padding or time group norm).
    pub(crate) fn streamable(&self) -> bool {
        match self {
            Self::Conv(c) => c.streamable(),
            Self::ConvTranspose(c) => c.streamable(),
            Self::Resnet(r) => r.streamable(),
            Self::Lstm(_) | Self::Elu(_) => true,
        }
    }

    fn forward_step(&self, x: Tensor<3>, stream: &mut SeanetStream) -> Tensor<3> {
        match self {
            Self::Conv(m) => m.forward_step(x, stream),
            Self::ConvTranspose(m) => m.forward_step(x, stream),
            Self::Resnet(m) => m.forward_step(x, stream),
            Self::Lstm(m) => m.step(x, stream),
            Self::Elu(m) => m.forward(x),
        }
    }
}

fn run(layers: &[SeanetLayer], x: Tensor<3>) -> Tensor<3> {
    layers.iter().fold(x, |x, layer| layer.forward(x))
}

fn convs(layers: &[SeanetLayer]) -> impl Iterator<Item = &SeanetConv1d> {
    layers.iter().filter_map(|l| match l {
        SeanetLayer::Conv(c) => Some(c),
        _ => None,
    })
}

/// Waveform `[batch, 1, samples]` -> latent `[batch, hidden_size, ceil(samples / hop)]`.
#[derive(Module, Debug)]
pub struct SeanetEncoder {
    /// Conv, then per stage residual blocks, ELU and a strided conv; LSTM, ELU, conv to the latent.
    pub layers: Vec<SeanetLayer>,
    /// Every output frame depends on past samples only (see [`EncodecConfig::is_causal`]).
    pub causal: bool,
}

impl SeanetEncoder {
    /// Builds the encoder for `cfg` (mono input).
    pub fn new(cfg: &EncodecConfig, device: &Device) -> Self {
        let conv =
            |i, o, k, s| SeanetConv1d::new(i, o, k, s, 1, cfg.norm_type, cfg.use_causal_conv, cfg.pad_mode, device);
        let mut layers = vec![SeanetLayer::Conv(conv(1, cfg.num_filters, cfg.kernel_size, 1))];
        let mut dim = cfg.num_filters;
        for &ratio in cfg.upsampling_ratios.iter().rev() {
            for dilation in cfg.dilations() {
                layers.push(SeanetLayer::Resnet(SeanetResnetBlock::new(cfg, dim, dilation, device)));
            }
            layers.push(SeanetLayer::elu());
            layers.push(SeanetLayer::Conv(conv(dim, dim * 2, ratio * 2, ratio)));
            dim *= 2;
        }
        if cfg.num_lstm_layers > 0 {
            layers.push(SeanetLayer::Lstm(SeanetLstm::new(dim, cfg.num_lstm_layers, device)));
        }
        layers.push(SeanetLayer::elu());
        layers.push(SeanetLayer::Conv(conv(dim, cfg.hidden_size, cfg.last_kernel_size, 1)));
        Self { layers, causal: cfg.is_causal() }
    }
}

impl AcousticEncoder for SeanetEncoder {
    fn forward(&self, audio: Tensor<3>) -> Tensor<3> {
        run(&self.layers, audio)
    }

    fn forward_masked(&self, audio: Tensor<3>, lengths: &[usize]) -> Tensor<3> {
        let mut lengths = lengths.to_vec();
        self.layers.iter().fold(audio, |x, layer| layer.forward_masked(x, &mut lengths))
    }

    fn latent_dim(&self) -> usize {
        convs(&self.layers).last().map_or(0, |c| c.channels_out())
    }

    fn hop_length(&self) -> usize {
        convs(&self.layers).map(|c| c.stride()).product()
    }

    fn output_frames(&self, samples: usize) -> usize {
        convs(&self.layers).fold(samples, |len, c| c.output_len(len))
    }

    fn is_causal(&self) -> bool {
        self.causal
    }

    fn encode_step(&self, audio: Tensor<3>, state: &mut StreamState) -> Result<Tensor<3>> {
        let [_, channels, samples] = audio.dims();
        if channels != 1 || samples == 0 {
            return Err(XcodecError::Input(format!(
                "a stream chunk must be [batch, 1, samples >= 1], got {:?}",
                audio.dims()
            )));
        }
        let stream = state.get_or_default::<SeanetStream>()?;
        if stream.ended {
            return Err(XcodecError::Input(
            "the stream already ended with a partial frame; only the last chunk may be shorter than whole frames (start a new stream)".into(),
        ));
        }
        start_step(&self.layers, stream, "encoder")?;
        let latent = self.layers.iter().fold(audio, |x, layer| layer.forward_step(x, stream));
        stream.ended = samples % self.hop_length() != 0;
        Ok(latent)
    }
}

/// Latent `[batch, hidden_size, frames]` -> waveform `[batch, 1, frames * hop]`.
#[derive(Module, Debug)]
pub struct SeanetDecoder {
    /// Conv, LSTM, then per stage ELU, transposed conv and residual blocks; ELU, conv to one channel.
    pub layers: Vec<SeanetLayer>,
    /// Bitrate conditioning after each transposed conv (`film_codebooks > 0`), else empty.
    pub film: Vec<BitrateFilm>,
}

impl SeanetDecoder {
    /// Builds the decoder for `cfg` (mono output).
    pub fn new(cfg: &EncodecConfig, device: &Device) -> Self {
        let conv = |i, o, k| SeanetConv1d::new(i, o, k, 1, 1, cfg.norm_type, cfg.use_causal_conv, cfg.pad_mode, device);
        let mut dim = cfg.num_filters << cfg.upsampling_ratios.len();
        let mut layers = vec![SeanetLayer::Conv(conv(cfg.hidden_size, dim, cfg.kernel_size))];
        let mut film = Vec::new();
        if cfg.num_lstm_layers > 0 {
            layers.push(SeanetLayer::Lstm(SeanetLstm::new(dim, cfg.num_lstm_layers, device)));
        }
        for &ratio in &cfg.upsampling_ratios {
            layers.push(SeanetLayer::elu());
            layers.push(SeanetLayer::ConvTranspose(SeanetConvTranspose1d::new(
                dim,
                dim / 2,
                ratio * 2,
                ratio,
                cfg.norm_type,
                cfg.use_causal_conv,
                cfg.trim_right_ratio,
                device,
            )));
            dim /= 2;
            if cfg.film_codebooks > 0 {
                film.push(BitrateFilm::new(cfg.film_codebooks, dim, device));
            }
            for dilation in cfg.dilations() {
                layers.push(SeanetLayer::Resnet(SeanetResnetBlock::new(cfg, dim, dilation, device)));
            }
        }
        layers.push(SeanetLayer::elu());
        layers.push(SeanetLayer::Conv(conv(dim, 1, cfg.last_kernel_size)));
        Self { layers, film }
    }

    /// Runs the layers on `x` through `forward` (whole clip or stream step), each transposed conv's output
    /// modulated for `codebooks` codebooks when the decoder is FiLM-conditioned.
    pub(crate) fn run_with(
        &self,
        x: Tensor<3>,
        codebooks: usize,
        mut forward: impl FnMut(&SeanetLayer, Tensor<3>) -> Tensor<3>,
    ) -> Tensor<3> {
        let mut film = self.film.iter();
        self.layers.iter().fold(x, |x, layer| {
            let y = forward(layer, x);
            let conditioned = matches!(layer, SeanetLayer::ConvTranspose(_)).then(|| film.next()).flatten();
            match conditioned {
                Some(film) => film.forward(y, codebooks),
                None => y,
            }
        })
    }
}

impl AcousticDecoder for SeanetDecoder {
    /// Conditioned decoders assume all their codebooks (see [`Self::forward_with_codebooks`]).
    fn forward(&self, latent: Tensor<3>) -> Tensor<3> {
        let codebooks = self.film.first().map_or(0, BitrateFilm::codebooks);
        self.forward_with_codebooks(latent, codebooks)
    }

    fn forward_with_codebooks(&self, latent: Tensor<3>, codebooks: usize) -> Tensor<3> {
        self.run_with(latent, codebooks, |layer, x| layer.forward(x))
    }

    fn film_codebooks(&self) -> Option<usize> {
        self.film.first().map(BitrateFilm::codebooks)
    }

    fn latent_dim(&self) -> usize {
        convs(&self.layers).next().map_or(0, |c| c.channels_in())
    }

    fn hop_length(&self) -> usize {
        self.layers
            .iter()
            .filter_map(|l| match l {
                SeanetLayer::ConvTranspose(c) => Some(c.stride()),
                _ => None,
            })
            .product()
    }

    fn is_causal(&self) -> bool {
        self.layers.iter().all(SeanetLayer::streamable)
    }

    fn decode_step(&self, latent: Tensor<3>, codebooks: usize, state: &mut StreamState) -> Result<Tensor<3>> {
        if latent.dims()[2] == 0 || latent.dims()[1] != self.latent_dim() {
            return Err(XcodecError::Input(format!(
                "a stream chunk must be [batch, {}, frames >= 1], got {:?}",
                self.latent_dim(),
                latent.dims()
            )));
        }
        let stream = state.get_or_default::<SeanetStream>()?;
        start_step(&self.layers, stream, "decoder")?;
        Ok(self.run_with(latent, codebooks, |layer, x| layer.forward_step(x, stream)))
    }
}

/// Refuses layers that cannot stream, and starts a step: the state's slots are visited in forward order again.
fn start_step(layers: &[SeanetLayer], stream: &mut SeanetStream, what: &str) -> Result<()> {
    if !layers.iter().all(SeanetLayer::streamable) {
        return Err(XcodecError::Config(format!(
            "this {what} cannot stream: it needs causal convs without reflect padding or time group norm (and trim_right_ratio = 1)"
        )));
    }
    stream.cursor = 0;
    Ok(())
}
