//! Streaming for causal SEANets: chunks of whole frames in, the same frames out as the whole-clip forward,
//! with the state carried between calls — per conv its last `kernel - stride` inputs (the left padding the
//! whole-clip forward would have seen), per LSTM layer `(h, c)`, per transposed conv its last inputs whose
//! kernels overlap the next chunk. The convs compute with [`xcodec_core::nn::exact`] in both paths, so a stream
//! gives the whole clip's values bit for bit. A last chunk that is not a whole number of frames is padded on the
//! right at each strided conv exactly as the whole-clip forward pads the end of a clip, so it yields the clip's
//! last frame.

use crate::config::PadMode;
use crate::conv::{SeanetConv1d, SeanetConvTranspose1d, pad1d};
use crate::lstm::SeanetLstm;
use crate::seanet::{ResnetLayer, SeanetDecoder, SeanetEncoder, SeanetLayer, SeanetResnetBlock};
use burn::tensor::Tensor;
use xcodec_core::{AcousticDecoder, AcousticEncoder, Result, StreamCarry, StreamState, XcodecError};

/// What one stateful layer carries between chunks.
#[derive(Debug, Clone)]
enum Slot {
    /// Not yet used (first chunk).
    Fresh,
    /// A conv's or transposed conv's last inputs.
    Inputs(Tensor<3>),
    /// An LSTM's `(h, c)` per layer.
    Recurrent(Vec<(Tensor<2>, Tensor<2>)>),
}

impl Slot {
    fn values(&self) -> usize {
        match self {
            Self::Fresh => 0,
            Self::Inputs(t) => t.shape().num_elements(),
            Self::Recurrent(layers) => layers.iter().map(|(h, c)| h.shape().num_elements() + c.shape().num_elements()).sum(),
        }
    }
}

/// The carried state of one encoder or decoder stream (what a [`StreamState`] holds for a SEANet): a fixed
/// number of fixed-size tensors, whatever the stream's length.
#[derive(Debug, Clone, Default)]
pub struct SeanetStream {
    slots: Vec<Slot>,
    cursor: usize,
    /// A chunk of a partial frame was encoded: the stream is over.
    ended: bool,
}

impl StreamCarry for SeanetStream {
    fn carried_values(&self) -> usize {
        self.slots.iter().map(Slot::values).sum()
    }
}

impl SeanetStream {
    /// The next stateful layer's slot, in forward order.
    fn next(&mut self) -> &mut Slot {
        if self.cursor == self.slots.len() {
            self.slots.push(Slot::Fresh);
        }
        self.cursor += 1;
        &mut self.slots[self.cursor - 1]
    }
}

impl SeanetConv1d {
    /// Whether this conv streams exactly: causal, not reflecting, no time group norm.
    pub fn streamable(&self) -> bool {
        self.causal && self.pad_mode != PadMode::Reflect && self.norm.is_none()
    }

    fn forward_step(&self, x: Tensor<3>, stream: &mut SeanetStream) -> Tensor<3> {
        let (kernel, stride, dilation) = self.geometry();
        let total = ((kernel - 1) * dilation + 1).saturating_sub(stride);
        let slot = stream.next();
        if total == 0 {
            return self.forward(x);
        }
        let [b, c, _] = x.dims();
        let past = match slot {
            Slot::Inputs(t) => t.clone(),
            _ if self.pad_mode == PadMode::Replicate => x.clone().narrow(2, 0, 1).repeat_dim(2, total),
            _ => Tensor::zeros([b, c, total], &x.device()),
        };
        let samples = x.dims()[2];
        let full = Tensor::cat(vec![past, x], 2);
        let len = full.dims()[2];
        *slot = Slot::Inputs(full.clone().narrow(2, len - total, total));
        // The past stands in for the left padding. Chunks of whole frames need no right padding; the last chunk of
        // a stream that ends inside a frame gets the padding the whole-clip forward adds to make its last window
        // whole (all earlier chunks being multiples of the stride, the same amount).
        let full = pad1d(full, 0, samples.div_ceil(stride) * stride - samples, self.pad_mode);
        self.forward_padded(full)
    }
}

impl SeanetConvTranspose1d {
    /// Whether this transposed conv streams exactly: all trimming on the right, no time group norm.
    pub fn streamable(&self) -> bool {
        self.causal && self.trim_right_ratio == 1.0 && self.norm.is_none()
    }

    fn forward_step(&self, x: Tensor<3>, stream: &mut SeanetStream) -> Tensor<3> {
        let (kernel, stride) = self.geometry();
        // The frames before this chunk whose kernels reach into it (zeros at the start, like the whole clip).
        let history = kernel.div_ceil(stride) - 1;
        let slot = stream.next();
        if history == 0 {
            return self.forward_after(x, 0);
        }
        let [b, c, frames] = x.dims();
        let past = match slot {
            Slot::Inputs(t) => t.clone(),
            _ => Tensor::zeros([b, c, history], &x.device()),
        };
        let full = Tensor::cat(vec![past, x], 2);
        *slot = Slot::Inputs(full.clone().narrow(2, frames, history));
        self.forward_after(full, history)
    }
}

impl SeanetLstm {
    fn step(&self, x: Tensor<3>, stream: &mut SeanetStream) -> Tensor<3> {
        let slot = stream.next();
        let mut state = match slot {
            Slot::Recurrent(s) => std::mem::take(s),
            _ => Vec::new(),
        };
        let y = self.forward_step(x, &mut state);
        *slot = Slot::Recurrent(state);
        y
    }
}

impl SeanetResnetBlock {
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

impl SeanetLayer {
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

/// Streams `audio [batch, 1, samples]` through the encoder (see [`AcousticEncoder::encode_step`]).
pub(crate) fn encode_step(enc: &SeanetEncoder, audio: Tensor<3>, state: &mut StreamState) -> Result<Tensor<3>> {
    let [_, channels, samples] = audio.dims();
    if channels != 1 || samples == 0 {
        return Err(XcodecError::Input(format!("a stream chunk must be [batch, 1, samples >= 1], got {:?}", audio.dims())));
    }
    let stream = state.get_or_default::<SeanetStream>()?;
    if stream.ended {
        return Err(XcodecError::Input(
            "the stream already ended with a partial frame; only the last chunk may be shorter than whole frames (start a new stream)".into(),
        ));
    }
    start_step(&enc.layers, stream, "encoder")?;
    let latent = enc.layers.iter().fold(audio, |x, layer| layer.forward_step(x, stream));
    stream.ended = samples % enc.hop_length() != 0;
    Ok(latent)
}

/// Streams `latent [batch, hidden, k]` through the decoder (see [`AcousticDecoder::decode_step`]).
pub(crate) fn decode_step(dec: &SeanetDecoder, latent: Tensor<3>, codebooks: usize, state: &mut StreamState) -> Result<Tensor<3>> {
    if latent.dims()[2] == 0 || latent.dims()[1] != dec.latent_dim() {
        return Err(XcodecError::Input(format!(
            "a stream chunk must be [batch, {}, frames >= 1], got {:?}",
            dec.latent_dim(),
            latent.dims()
        )));
    }
    let stream = state.get_or_default::<SeanetStream>()?;
    start_step(&dec.layers, stream, "decoder")?;
    Ok(dec.run_with(latent, codebooks, |layer, x| layer.forward_step(x, stream)))
}
