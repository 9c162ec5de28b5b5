//! Feature-wise linear modulation on the bitrate (Perez et al. 2018, as SoundStream conditions its decoder): for
//! each number of codebooks `n`, a learned scale and shift per channel, `x * scale[n] + shift[n]`.

use burn::module::{Initializer, Module, Param};
use burn::tensor::{Device, Tensor};

/// Scales and shifts per number of codebooks `1..=rows` (row `n - 1` for `n` codebooks).
#[derive(Module, Debug)]
pub struct BitrateFilm {
    /// `[codebooks, channels]`, ones at initialisation (identity).
    pub scale: Param<Tensor<2>>,
    /// `[codebooks, channels]`, zeros at initialisation.
    pub shift: Param<Tensor<2>>,
}

impl BitrateFilm {
    /// Identity modulation of `channels` channels for 1..=`codebooks` codebooks.
    pub fn new(codebooks: usize, channels: usize, device: &Device) -> Self {
        Self {
            scale: Initializer::Ones.init_with([codebooks, channels], None, None, device),
            shift: Initializer::Zeros.init_with([codebooks, channels], None, None, device),
        }
    }

    /// The largest number of codebooks it has a row for.
    pub fn codebooks(&self) -> usize {
        self.scale.lazy_shape().dims::<2>()[0]
    }

    /// `x [batch, channels, time]` modulated for `codebooks` codebooks (clamped to `1..=self.codebooks()`; the
    /// codec refuses quantizers with more codebooks than the rows at build time).
    pub fn forward(&self, x: Tensor<3>, codebooks: usize) -> Tensor<3> {
        let row = codebooks.clamp(1, self.codebooks()) - 1;
        let channels = x.dims()[1];
        let pick = |p: &Param<Tensor<2>>| p.val().narrow(0, row, 1).reshape([1, channels, 1]);
        x * pick(&self.scale) + pick(&self.shift)
    }
}
