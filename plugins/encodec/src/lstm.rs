//! A multi-layer unidirectional LSTM in torch's layout (`weight_ih_l{k}` `[4H, in]`, gates in the order input,
//! forget, cell, output), and EnCodec's skip-connected wrapper. burn-nn's `Lstm` keeps one `Linear` per gate
//! (transposed, split), so torch checkpoints would need reshaping; this one takes them as they are.

use crate::carry::{SeanetStream, Slot};
use burn::module::{Initializer, Module, Param};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use xcodec_core::nn::exact;

/// One LSTM layer; the checkpoint's `weight_ih_l{k}` etc. map to `layers.{k}.weight_ih` etc.
#[derive(Module, Debug)]
pub struct LstmLayer {
    /// Input weights of the four gates, `[4 * hidden, input]`.
    pub weight_ih: Param<Tensor<2>>,
    /// Recurrent weights of the four gates, `[4 * hidden, hidden]`.
    pub weight_hh: Param<Tensor<2>>,
    /// Input bias, `[4 * hidden]`.
    pub bias_ih: Param<Tensor<1>>,
    /// Recurrent bias, `[4 * hidden]`.
    pub bias_hh: Param<Tensor<1>>,
}

impl LstmLayer {
    fn new(input: usize, hidden: usize, device: &Device) -> Self {
        // torch's init: U(-1/sqrt(H), 1/sqrt(H)) for every tensor.
        let k = 1.0 / (hidden as f64).sqrt();
        let init = Initializer::Uniform { min: -k, max: k };
        Self {
            weight_ih: init.init_with([4 * hidden, input], None, None, device),
            weight_hh: init.init_with([4 * hidden, hidden], None, None, device),
            bias_ih: init.init_with([4 * hidden], None, None, device),
            bias_hh: init.init_with([4 * hidden], None, None, device),
        }
    }

    fn hidden(&self) -> usize {
        self.weight_hh.lazy_shape().dims::<2>()[1]
    }

    /// `[batch, input, time] -> [batch, hidden, time]`, starting from zero state.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, _, _] = x.dims();
        let zeros = Tensor::<2>::zeros([b, self.hidden()], &x.device());
        self.forward_from(x, (zeros.clone(), zeros)).0
    }

    /// [`Self::forward`] from state `(h, c)`, each `[batch, hidden]`; also returns the final state.
    fn forward_from(&self, x: Tensor<3>, state: (Tensor<2>, Tensor<2>)) -> (Tensor<3>, (Tensor<2>, Tensor<2>)) {
        let [b, input, t] = x.dims();
        let h_size = self.hidden();
        // The input projection of every step at once (length-invariant, so a stream's chunks match the whole
        // clip bit for bit); only the recurrence is sequential.
        let bias = self.bias_ih.val() + self.bias_hh.val();
        let w_ih = self.weight_ih.val().reshape([4 * h_size, input, 1]);
        let gates_x = exact::conv1d(x, w_ih, Some(bias), 1, 1);
        let w_hh = self.weight_hh.val().transpose();
        let (mut h, mut c) = state;
        let mut outputs = Vec::with_capacity(t);
        for step in 0..t {
            let gates = gates_x.clone().narrow(2, step, 1).reshape([b, 4 * h_size]) + h.matmul(w_hh.clone());
            let gate = |i: usize| gates.clone().narrow(1, i * h_size, h_size);
            let (i, f, g, o) = (sigmoid(gate(0)), sigmoid(gate(1)), gate(2).tanh(), sigmoid(gate(3)));
            c = f * c + i * g;
            h = o * c.clone().tanh();
            outputs.push(h.clone().reshape([b, h_size, 1]));
        }
        (Tensor::cat(outputs, 2), (h, c))
    }
}

/// Stacked LSTM layers.
#[derive(Module, Debug)]
pub struct Lstm {
    /// Layers, bottom first.
    pub layers: Vec<LstmLayer>,
}

impl Lstm {
    /// `num_layers` layers of width `dim` (input and hidden).
    pub fn new(dim: usize, num_layers: usize, device: &Device) -> Self {
        Self { layers: (0..num_layers).map(|_| LstmLayer::new(dim, dim, device)).collect() }
    }

    /// `[batch, dim, time] -> [batch, dim, time]` (conv layout).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.layers.iter().fold(x, |x, layer| layer.forward(x))
    }

    /// [`Self::forward`] continuing from `state` (one `(h, c)` per layer; empty = zero state), which it updates.
    pub fn forward_step(&self, x: Tensor<3>, state: &mut Vec<(Tensor<2>, Tensor<2>)>) -> Tensor<3> {
        let [b, _, _] = x.dims();
        if state.is_empty() {
            let zeros = |l: &LstmLayer| Tensor::<2>::zeros([b, l.hidden()], &x.device());
            *state = self.layers.iter().map(|l| (zeros(l), zeros(l))).collect();
        }
        self.layers.iter().zip(state.iter_mut()).fold(x, |x, (layer, s)| {
            let (y, next) = layer.forward_from(x, s.clone());
            *s = next;
            y
        })
    }
}

/// EnCodec's `EncodecLSTM`: an LSTM over time with a skip connection, in conv layout.
#[derive(Module, Debug)]
pub struct SeanetLstm {
    /// The recurrent layers.
    pub lstm: Lstm,
}

impl SeanetLstm {
    /// `num_layers` layers over `dim` channels.
    pub fn new(dim: usize, num_layers: usize, device: &Device) -> Self {
        Self { lstm: Lstm::new(dim, num_layers, device) }
    }

    /// `[batch, channels, time]` -> `lstm(x) + x`, same shape.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.lstm.forward(x.clone()) + x
    }

    /// [`Self::forward`] on the next chunk of a stream, carrying the recurrent state.
    pub fn forward_step(&self, x: Tensor<3>, state: &mut Vec<(Tensor<2>, Tensor<2>)>) -> Tensor<3> {
        self.lstm.forward_step(x.clone(), state) + x
    }

    /// [`Self::forward_step`] with the `(h, c)` kept in the stream's next slot.
    pub(crate) fn step(&self, x: Tensor<3>, stream: &mut SeanetStream) -> Tensor<3> {
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
