//! The state a causal SEANet stream carries between chunks. Streaming takes chunks of whole frames and gives
//! the same frames as the whole-clip forward, with the state carried between calls — per conv its last `kernel - stride` inputs (the left padding the
//! whole-clip forward would have seen), per LSTM layer `(h, c)`, per transposed conv its last inputs whose
//! kernels overlap the next chunk. The convs compute with [`xcodec_core::nn::exact`] in both paths, so a stream
//! gives the whole clip's values bit for bit. A last chunk that is not a whole number of frames is padded on the
//! right at each strided conv exactly as the whole-clip forward pads the end of a clip, so it yields the clip's
//! last frame.

use burn::tensor::Tensor;
use xcodec_core::StreamCarry;

/// What one stateful layer carries between chunks.
#[derive(Debug, Clone)]
pub(crate) enum Slot {
    /// Not yet used (first chunk).
    Fresh,
    /// A conv's or transposed conv's last inputs.
    Inputs(Box<Tensor<3>>),
    /// An LSTM's `(h, c)` per layer.
    Recurrent(Vec<(Tensor<2>, Tensor<2>)>),
}

impl Slot {
    fn values(&self) -> usize {
        match self {
            Self::Fresh => 0,
            Self::Inputs(t) => t.shape().num_elements(),
            Self::Recurrent(layers) => {
                layers.iter().map(|(h, c)| h.shape().num_elements() + c.shape().num_elements()).sum()
            }
        }
    }
}

/// The carried state of one encoder or decoder stream (what a [`StreamState`] holds for a SEANet): a fixed
/// number of fixed-size tensors, whatever the stream's length.
#[derive(Debug, Clone, Default)]
pub struct SeanetStream {
    slots: Vec<Slot>,
    pub(crate) cursor: usize,
    /// A chunk of a partial frame was encoded: the stream is over.
    pub(crate) ended: bool,
}

impl StreamCarry for SeanetStream {
    fn carried_values(&self) -> usize {
        self.slots.iter().map(Slot::values).sum()
    }
}

impl SeanetStream {
    /// The next stateful layer's slot, in forward order.
    pub(crate) fn next(&mut self) -> &mut Slot {
        if self.cursor == self.slots.len() {
            self.slots.push(Slot::Fresh);
        }
        self.cursor += 1;
        &mut self.slots[self.cursor - 1]
    }
}
