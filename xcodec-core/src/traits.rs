//! The four part traits a codec is composed of. Each part is a burn [`Module`], so it trains and saves.

use crate::error::{Result, XcodecError};
use crate::stream_state::StreamState;
use burn::module::Module;
use burn::tensor::{Int, Tensor};

/// The error of a part that cannot stream.
fn cannot_stream(part: &str, verb: &str) -> XcodecError {
    XcodecError::Config(format!(
        "this acoustic {part} cannot stream (non-causal: it looks at future samples); {verb} offline, or use a causal backbone such as soundstream"
    ))
}

/// Waveform -> latent frames (DAC, SEANet, ...).
pub trait AcousticEncoder: Module {
    /// `audio [batch, 1, samples]` -> `latent [batch, latent_dim, frames]`.
    fn forward(&self, audio: Tensor<3>) -> Tensor<3>;
    /// Channels of the latent.
    fn latent_dim(&self) -> usize;
    /// Samples per latent frame (product of the strides).
    fn hop_length(&self) -> usize;
    /// Frames `forward` yields for `samples` input samples.
    fn output_frames(&self, samples: usize) -> usize;
    /// Whether every output frame depends only on past input (streaming-capable).
    fn is_causal(&self) -> bool {
        false
    }
    /// [`Self::forward`] of clips of different lengths in one batch: `audio [batch, 1, samples]`, row `i`
    /// zero-padded after its `lengths[i]` samples -> `[batch, latent_dim, output_frames(samples)]`, whose first
    /// `output_frames(lengths[i])` frames in row `i` are that clip's latent. They must depend only on the row and
    /// the padded length, not on the other rows, so that a clip gets the same codes alone or in any batch padded
    /// to the same length ([`crate::nn::masked`] has the helpers). Default: each row alone through `forward`
    /// (right for any encoder, not faster).
    fn forward_masked(&self, audio: Tensor<3>, lengths: &[usize]) -> Tensor<3> {
        let frames = self.output_frames(audio.dims()[2]);
        crate::nn::masked::per_row(audio, 2, lengths, frames, |row| self.forward(row))
    }
    /// Encodes the next chunk of a stream, `audio [batch, 1, samples]` -> `latent [batch, latent_dim, frames]`:
    /// the frames [`Self::forward`] gives for everything streamed so far, minus those given before. Chunks are
    /// whole frames (`k * hop` samples); a chunk that is not ends the stream, its last frame padded the way
    /// `forward` pads the end of a clip. Default: refuses (non-causal encoders cannot stream).
    fn encode_step(&self, audio: Tensor<3>, state: &mut StreamState) -> Result<Tensor<3>> {
        let _ = (audio, state);
        Err(cannot_stream("encoder", "encode"))
    }
}

/// Latent frames -> waveform.
pub trait AcousticDecoder: Module {
    /// `latent [batch, latent_dim, frames]` -> `audio [batch, 1, frames * hop]`.
    fn forward(&self, latent: Tensor<3>) -> Tensor<3>;
    /// Channels of the latent it takes.
    fn latent_dim(&self) -> usize;
    /// Samples each latent frame becomes.
    fn hop_length(&self) -> usize;
    /// Whether every output sample depends only on past frames (streaming-capable).
    fn is_causal(&self) -> bool {
        false
    }
    /// [`Self::forward`] for codes of `codebooks` codebooks (the bitrate), for decoders conditioned on it
    /// (SoundStream's FiLM). Default: `forward`, the bitrate ignored.
    fn forward_with_codebooks(&self, latent: Tensor<3>, codebooks: usize) -> Tensor<3> {
        let _ = codebooks;
        self.forward(latent)
    }
    /// The most codebooks a bitrate-conditioned decoder knows (the codec refuses a quantizer with more), or
    /// `None` when it is not conditioned. Default: `None`.
    fn film_codebooks(&self) -> Option<usize> {
        None
    }
    /// Decodes the next chunk of a stream of codes of `codebooks` codebooks, `latent [batch, latent_dim, k]` ->
    /// `audio [batch, 1, k * hop]`: the samples [`Self::forward_with_codebooks`] gives for everything streamed
    /// so far, minus those given before. Default: refuses (non-causal decoders cannot stream).
    fn decode_step(&self, latent: Tensor<3>, codebooks: usize, state: &mut StreamState) -> Result<Tensor<3>> {
        let _ = (latent, codebooks, state);
        Err(cannot_stream("decoder", "decode"))
    }
}

/// A frozen self-supervised speech model whose features the codec learns to keep (HuBERT, WavLM, or none).
pub trait SemanticTeacher: Module {
    /// Feature width (768 for base teachers); 0 means "no teacher" and the codec is acoustic-only.
    fn hidden_size(&self) -> usize;
    /// `audio [batch, samples]` (already padded by the composite) -> `features [batch, frames, hidden]`,
    /// or `None` for the `none` teacher. Implementations run without gradient.
    fn features(&self, audio: Tensor<2>) -> Option<Tensor<3>>;
    /// Feature frames for `samples` input samples (0 without a teacher).
    fn output_frames(&self, samples: usize) -> usize;
    /// [`Self::features`] of clips of different lengths: `audio [batch, samples]`, row `i` zero-padded after its
    /// `lengths[i]` samples -> `[batch, output_frames(samples), hidden]`, row `i`'s first
    /// `output_frames(lengths[i])` frames its features, depending only on the row and the padded length (see
    /// [`AcousticEncoder::forward_masked`]). Default: each row alone through `features`.
    fn features_masked(&self, audio: Tensor<2>, lengths: &[usize]) -> Option<Tensor<3>> {
        let [_, samples] = audio.dims();
        let frames = self.output_frames(samples);
        let rows = lengths
            .iter()
            .enumerate()
            .map(|(i, &len)| {
                let features = self.features(audio.clone().narrow(0, i, 1).narrow(1, 0, len))?;
                Some(crate::nn::masked::pad_to(features, 1, frames))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Tensor::cat(rows, 0))
    }
}

/// What [`Quantizer::forward_train`] returns.
#[derive(Debug, Clone)]
pub struct QuantizerTrainOutput {
    /// Quantized vectors with a straight-through gradient, `[batch, dim, frames]`.
    pub quantized: Tensor<3>,
    /// Codes `[n_q, batch, frames]`.
    pub codes: Tensor<3, Int>,
    /// Commitment loss: each codebook's mean squared distance between its input and its quantization,
    /// averaged over the codebooks used (as EnCodec and X-Codec do; a quantizer that combines its terms
    /// otherwise says so, e.g. `dac_vq` sums DAC's weighted commitment and codebook terms).
    pub commitment_loss: Tensor<1>,
}

/// Continuous frames <-> discrete codes.
pub trait Quantizer: Module {
    /// Width of the vectors it quantizes.
    fn dim(&self) -> usize;
    /// Entries per codebook.
    fn codebook_size(&self) -> usize;
    /// Codebooks available (the most `encode` can use).
    fn num_quantizers(&self) -> usize;
    /// `x [batch, dim, frames]` -> `codes [n_q, batch, frames]` with the first `n_q` codebooks.
    fn encode(&self, x: Tensor<3>, n_q: usize) -> Tensor<3, Int>;
    /// [`Self::encode`] with each frame's codes computed by the same operations whatever the other frames in the
    /// call (fixed-order arithmetic, see [`crate::nn::exact`]), for codecs that stream: their streamed codes are
    /// the whole clip's bit for bit. Default: [`Self::encode`], right for quantizers that already work frame by
    /// frame (scalar quantization, table lookups).
    fn encode_exact(&self, x: Tensor<3>, n_q: usize) -> Tensor<3, Int> {
        self.encode(x, n_q)
    }
    /// `codes [n_q, batch, frames]` -> `[batch, dim, frames]`.
    fn decode(&self, codes: Tensor<3, Int>) -> Tensor<3>;
    /// Training forward with `n_q` codebooks.
    fn forward_train(&self, x: Tensor<3>, n_q: usize) -> QuantizerTrainOutput;
    /// Before the first training step: initialise codebooks from the (detached) inputs `x [batch, dim, frames]`
    /// of the first batch (k-means for RVQ); `seed` makes it reproducible. Returns whether anything changed.
    /// Default: nothing to do.
    fn init_codebooks(&mut self, x: Tensor<3>, seed: u64) -> bool {
        let _ = (x, seed);
        false
    }
    /// After a training step that used `n_q` codebooks on the (detached) inputs `x`: update codebooks that are
    /// not trained by gradient (EMA, dead-code replacement). Default: nothing to do.
    fn update_codebooks(&mut self, x: Tensor<3>, n_q: usize, seed: u64) {
        let _ = (x, n_q, seed);
    }
}

// Enums over parts (`AnyAcousticEncoder { Dac(..), Seanet(..), .. }`) implement the traits by forwarding every
// method, defaulted or not, to the variant: these macros are that forwarding, written once beside the traits.
// A method added to a trait above is added to its macro here, and every enum forwards it.

/// Implements [`AcousticEncoder`] for an enum whose variants each hold one: every method forwarded.
/// `delegate_acoustic_encoder!(AnyEncoder<P: Bound> [A, B, Extra]);` (the generic part is optional).
#[macro_export]
macro_rules! delegate_acoustic_encoder {
    ($ty:ident $(<$p:ident: $bound:path>)? [$($variant:ident),+ $(,)?]) => {
        impl$(<$p: $bound>)? $crate::AcousticEncoder for $ty$(<$p>)? {
            fn forward(&self, audio: $crate::burn::tensor::Tensor<3>) -> $crate::burn::tensor::Tensor<3> {
                match self { $(Self::$variant(m) => $crate::AcousticEncoder::forward(m, audio),)+ }
            }
            fn latent_dim(&self) -> usize {
                match self { $(Self::$variant(m) => $crate::AcousticEncoder::latent_dim(m),)+ }
            }
            fn hop_length(&self) -> usize {
                match self { $(Self::$variant(m) => $crate::AcousticEncoder::hop_length(m),)+ }
            }
            fn output_frames(&self, samples: usize) -> usize {
                match self { $(Self::$variant(m) => $crate::AcousticEncoder::output_frames(m, samples),)+ }
            }
            fn is_causal(&self) -> bool {
                match self { $(Self::$variant(m) => $crate::AcousticEncoder::is_causal(m),)+ }
            }
            fn forward_masked(
                &self,
                audio: $crate::burn::tensor::Tensor<3>,
                lengths: &[usize],
            ) -> $crate::burn::tensor::Tensor<3> {
                match self { $(Self::$variant(m) => $crate::AcousticEncoder::forward_masked(m, audio, lengths),)+ }
            }
            fn encode_step(
                &self,
                audio: $crate::burn::tensor::Tensor<3>,
                state: &mut $crate::StreamState,
            ) -> $crate::Result<$crate::burn::tensor::Tensor<3>> {
                match self { $(Self::$variant(m) => $crate::AcousticEncoder::encode_step(m, audio, state),)+ }
            }
        }
    };
}

/// Implements [`AcousticDecoder`] for an enum whose variants each hold one: every method forwarded.
#[macro_export]
macro_rules! delegate_acoustic_decoder {
    ($ty:ident $(<$p:ident: $bound:path>)? [$($variant:ident),+ $(,)?]) => {
        impl$(<$p: $bound>)? $crate::AcousticDecoder for $ty$(<$p>)? {
            fn forward(&self, latent: $crate::burn::tensor::Tensor<3>) -> $crate::burn::tensor::Tensor<3> {
                match self { $(Self::$variant(m) => $crate::AcousticDecoder::forward(m, latent),)+ }
            }
            fn latent_dim(&self) -> usize {
                match self { $(Self::$variant(m) => $crate::AcousticDecoder::latent_dim(m),)+ }
            }
            fn hop_length(&self) -> usize {
                match self { $(Self::$variant(m) => $crate::AcousticDecoder::hop_length(m),)+ }
            }
            fn is_causal(&self) -> bool {
                match self { $(Self::$variant(m) => $crate::AcousticDecoder::is_causal(m),)+ }
            }
            fn forward_with_codebooks(
                &self,
                latent: $crate::burn::tensor::Tensor<3>,
                codebooks: usize,
            ) -> $crate::burn::tensor::Tensor<3> {
                match self { $(Self::$variant(m) => $crate::AcousticDecoder::forward_with_codebooks(m, latent, codebooks),)+ }
            }
            fn film_codebooks(&self) -> Option<usize> {
                match self { $(Self::$variant(m) => $crate::AcousticDecoder::film_codebooks(m),)+ }
            }
            fn decode_step(
                &self,
                latent: $crate::burn::tensor::Tensor<3>,
                codebooks: usize,
                state: &mut $crate::StreamState,
            ) -> $crate::Result<$crate::burn::tensor::Tensor<3>> {
                match self { $(Self::$variant(m) => $crate::AcousticDecoder::decode_step(m, latent, codebooks, state),)+ }
            }
        }
    };
}

/// Implements [`SemanticTeacher`] for an enum whose variants each hold one: every method forwarded.
#[macro_export]
macro_rules! delegate_semantic_teacher {
    ($ty:ident $(<$p:ident: $bound:path>)? [$($variant:ident),+ $(,)?]) => {
        impl$(<$p: $bound>)? $crate::SemanticTeacher for $ty$(<$p>)? {
            fn hidden_size(&self) -> usize {
                match self { $(Self::$variant(m) => $crate::SemanticTeacher::hidden_size(m),)+ }
            }
            fn features(&self, audio: $crate::burn::tensor::Tensor<2>) -> Option<$crate::burn::tensor::Tensor<3>> {
                match self { $(Self::$variant(m) => $crate::SemanticTeacher::features(m, audio),)+ }
            }
            fn output_frames(&self, samples: usize) -> usize {
                match self { $(Self::$variant(m) => $crate::SemanticTeacher::output_frames(m, samples),)+ }
            }
            fn features_masked(
                &self,
                audio: $crate::burn::tensor::Tensor<2>,
                lengths: &[usize],
            ) -> Option<$crate::burn::tensor::Tensor<3>> {
                match self { $(Self::$variant(m) => $crate::SemanticTeacher::features_masked(m, audio, lengths),)+ }
            }
        }
    };
}

/// Implements [`Quantizer`] for an enum whose variants each hold one: every method forwarded.
#[macro_export]
macro_rules! delegate_quantizer {
    ($ty:ident $(<$p:ident: $bound:path>)? [$($variant:ident),+ $(,)?]) => {
        impl$(<$p: $bound>)? $crate::Quantizer for $ty$(<$p>)? {
            fn dim(&self) -> usize {
                match self { $(Self::$variant(m) => $crate::Quantizer::dim(m),)+ }
            }
            fn codebook_size(&self) -> usize {
                match self { $(Self::$variant(m) => $crate::Quantizer::codebook_size(m),)+ }
            }
            fn num_quantizers(&self) -> usize {
                match self { $(Self::$variant(m) => $crate::Quantizer::num_quantizers(m),)+ }
            }
            fn encode(
                &self,
                x: $crate::burn::tensor::Tensor<3>,
                n_q: usize,
            ) -> $crate::burn::tensor::Tensor<3, $crate::burn::tensor::Int> {
                match self { $(Self::$variant(m) => $crate::Quantizer::encode(m, x, n_q),)+ }
            }
            fn encode_exact(
                &self,
                x: $crate::burn::tensor::Tensor<3>,
                n_q: usize,
            ) -> $crate::burn::tensor::Tensor<3, $crate::burn::tensor::Int> {
                match self { $(Self::$variant(m) => $crate::Quantizer::encode_exact(m, x, n_q),)+ }
            }
            fn decode(
                &self,
                codes: $crate::burn::tensor::Tensor<3, $crate::burn::tensor::Int>,
            ) -> $crate::burn::tensor::Tensor<3> {
                match self { $(Self::$variant(m) => $crate::Quantizer::decode(m, codes),)+ }
            }
            fn forward_train(&self, x: $crate::burn::tensor::Tensor<3>, n_q: usize) -> $crate::QuantizerTrainOutput {
                match self { $(Self::$variant(m) => $crate::Quantizer::forward_train(m, x, n_q),)+ }
            }
            fn init_codebooks(&mut self, x: $crate::burn::tensor::Tensor<3>, seed: u64) -> bool {
                match self { $(Self::$variant(m) => $crate::Quantizer::init_codebooks(m, x, seed),)+ }
            }
            fn update_codebooks(&mut self, x: $crate::burn::tensor::Tensor<3>, n_q: usize, seed: u64) {
                match self { $(Self::$variant(m) => $crate::Quantizer::update_codebooks(m, x, n_q, seed),)+ }
            }
        }
    };
}
