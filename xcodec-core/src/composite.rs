//! `XCodec`: the X-Codec recipe as a type, generic over its four parts.

use crate::bandwidth;
use crate::config::SemanticAdapterConfig;
use crate::error::{Result, XcodecError};
use crate::semantic_adapter::{SemanticDecoder, SemanticEncoder};
use crate::stream_state::CodecStream;
use crate::traits::{AcousticDecoder, AcousticEncoder, Quantizer, SemanticTeacher};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::ops::PadMode;
use burn::tensor::{Device, Int, Tensor};

/// A semantically augmented codec: acoustic encoder beside a frozen teacher, `fc_prior`, quantizer,
/// `fc_post1` (semantic, training only) and `fc_post2` (acoustic, into the decoder).
#[derive(Module, Debug)]
pub struct XCodec<A, D, S, Q> {
    /// Waveform -> acoustic latent.
    pub acoustic_encoder: A,
    /// Acoustic latent -> waveform.
    pub acoustic_decoder: D,
    /// Frozen self-supervised teacher (or `none`).
    pub semantic_teacher: S,
    /// Teacher features -> semantic half of the joint vector (absent without a teacher).
    pub encoder_semantic: Option<SemanticEncoder>,
    /// Semantic half of the quantized vector -> teacher features (training target; absent without a teacher).
    pub decoder_semantic: Option<SemanticDecoder>,
    /// The quantizer of the joint vector.
    pub quantizer: Q,
    /// Joint projection before quantization (`hidden -> hidden`, hidden = acoustic + semantic width).
    pub fc_prior: Linear,
    /// Quantized -> semantic width (absent without a teacher).
    pub fc_post1: Option<Linear>,
    /// Quantized -> acoustic latent width.
    pub fc_post2: Linear,
    /// Model sample rate in Hz.
    pub sample_rate_hz: u32,
    /// Offered bandwidths in kbps, ascending.
    pub target_bandwidths_kbps: Vec<f64>,
    /// Loaded for decoding only: the encoder side holds no trained weights, so `encode` refuses.
    pub decoder_only: bool,
    /// Loaded for encoding only: the decoder side holds no trained weights, so `decode` refuses.
    pub encoder_only: bool,
}

/// What [`XCodec::forward_train`] returns.
#[derive(Debug, Clone)]
pub struct TrainOutput {
    /// Reconstructed audio `[batch, 1, min(samples, frames * hop)]`: whole frames only, trimmed to the
    /// input length (compare it with the input's first that many samples).
    pub audio: Tensor<3>,
    /// Codes `[batch, n_q, frames]`.
    pub codes: Tensor<3, Int>,
    /// Commitment loss of the quantizer.
    pub commitment_loss: Tensor<1>,
    /// MSE between reconstructed and teacher features (absent without a teacher).
    pub semantic_loss: Option<Tensor<1>>,
    /// The quantizer's input, detached `[batch, dim, frames]` (for codebook updates after the step).
    pub quantizer_input: Tensor<3>,
}

impl<A, D, S, Q> XCodec<A, D, S, Q>
where
    A: AcousticEncoder,
    D: AcousticDecoder,
    S: SemanticTeacher,
    Q: Quantizer,
{
    /// Assembles a codec from built parts, creating the composite's own layers; checks that widths agree.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        acoustic_encoder: A,
        acoustic_decoder: D,
        semantic_teacher: S,
        quantizer: Q,
        adapter: &SemanticAdapterConfig,
        sample_rate_hz: u32,
        target_bandwidths_kbps: Vec<f64>,
        device: &Device,
    ) -> Result<Self> {
        let acoustic = acoustic_encoder.latent_dim();
        let semantic = semantic_teacher.hidden_size();
        let hidden = acoustic + semantic;
        if acoustic_decoder.latent_dim() != acoustic {
            return Err(XcodecError::Config(format!(
                "acoustic decoder takes {} channels but the encoder gives {acoustic}; make their latent sizes equal",
                acoustic_decoder.latent_dim()
            )));
        }
        if acoustic_decoder.hop_length() != acoustic_encoder.hop_length() {
            return Err(XcodecError::Config(format!(
                "acoustic decoder hop {} differs from the encoder hop {}; use the same strides",
                acoustic_decoder.hop_length(),
                acoustic_encoder.hop_length()
            )));
        }
        if let Some(film) = acoustic_decoder.film_codebooks().filter(|&n| n < quantizer.num_quantizers()) {
            return Err(XcodecError::Config(format!(
                "the acoustic decoder is conditioned on up to {film} codebooks but the quantizer has {}; set acoustic.params.film_codebooks = {}",
                quantizer.num_quantizers(),
                quantizer.num_quantizers()
            )));
        }
        if quantizer.dim() != hidden {
            return Err(XcodecError::Config(format!(
                "quantizer width {} differs from acoustic + semantic width {hidden}",
                quantizer.dim()
            )));
        }
        let with_teacher = semantic > 0;
        let codec = Self {
            encoder_semantic: with_teacher.then(|| SemanticEncoder::new(semantic, adapter, device)),
            decoder_semantic: with_teacher.then(|| SemanticDecoder::new(semantic, adapter, device)),
            fc_prior: LinearConfig::new(hidden, hidden).init(device),
            fc_post1: with_teacher.then(|| LinearConfig::new(hidden, semantic).init(device)),
            fc_post2: LinearConfig::new(hidden, acoustic).init(device),
            acoustic_encoder,
            acoustic_decoder,
            semantic_teacher,
            quantizer,
            sample_rate_hz,
            target_bandwidths_kbps,
            decoder_only: false,
            encoder_only: false,
        };
        codec.check_frame_rates()?;
        // Every offered bandwidth must be reachable with the codebooks there are.
        let most = codec.codebooks_for_bandwidth(*codec.target_bandwidths_kbps.last().unwrap_or(&0.0));
        if most > codec.quantizer.num_quantizers() {
            return Err(XcodecError::Config(format!(
                "the highest bandwidth needs {most} codebooks but the quantizer has {}",
                codec.quantizer.num_quantizers()
            )));
        }
        Ok(codec)
    }

    /// Refuses a teacher whose (adapted) feature frames do not advance one per acoustic frame: over a stretch of
    /// 100 acoustic hops, well past the teacher's receptive field, both must add exactly 100 frames. A teacher
    /// that gives no frames (none, or a decode-only stand-in) is not checked.
    fn check_frame_rates(&self) -> Result<()> {
        let Some(enc) = self.encoder_semantic.as_ref() else { return Ok(()) };
        let hop = self.hop_length();
        let span = 100 * hop;
        let frames = |samples: usize| enc.output_frames(self.semantic_teacher.output_frames(samples));
        let teacher = frames(2 * span).saturating_sub(frames(span));
        if teacher == 0 || teacher == 100 {
            return Ok(());
        }
        let rate = |frames: f64| self.sample_rate_hz as f64 * frames / span as f64;
        Err(XcodecError::Config(format!(
            "the semantic teacher gives {:.2} frames/s (hop {}) but the acoustic encoder {:.2} frames/s (hop {hop}) at {} Hz, so they cannot align; make the acoustic strides multiply to {}",
            rate(teacher as f64),
            span / teacher,
            rate(100.0),
            self.sample_rate_hz,
            span / teacher,
        )))
    }

    /// Samples per frame.
    pub fn hop_length(&self) -> usize {
        self.acoustic_encoder.hop_length()
    }

    /// Frames per second.
    pub fn frame_rate_hz(&self) -> f64 {
        bandwidth::frame_rate_hz(self.sample_rate_hz, self.hop_length())
    }

    /// Codebooks a bandwidth uses (no check that it is offered).
    pub fn codebooks_for_bandwidth(&self, bandwidth_kbps: f64) -> usize {
        bandwidth::codebooks_for_bandwidth(bandwidth_kbps, self.quantizer.codebook_size(), self.frame_rate_hz())
    }

    /// Codebooks for an offered bandwidth, or an error naming the offered ones.
    pub fn checked_codebooks(&self, bandwidth_kbps: f64) -> Result<usize> {
        if self.target_bandwidths_kbps.iter().any(|b| (b - bandwidth_kbps).abs() < 1e-9) {
            Ok(self.codebooks_for_bandwidth(bandwidth_kbps))
        } else {
            Err(XcodecError::Bandwidth {
                asked: bandwidth_kbps,
                valid: self.target_bandwidths_kbps.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(", "),
            })
        }
    }

    /// Teacher features `[batch, frames, hidden]` of `audio [batch, 1, samples]`, computed the reference
    /// way: mono, padded by hop/2 on both sides, no gradient.
    pub fn teacher_features(&self, audio: &Tensor<3>) -> Option<Tensor<3>> {
        let pad = self.hop_length() / 2;
        let [b, _, t] = audio.dims();
        let mono = audio.clone().reshape([b, t]).pad([(pad, pad)], PadMode::Constant(0.0));
        self.semantic_teacher.features(mono).map(|f| f.detach())
    }

    /// Whether the reference pads the acoustic input by hop/2 for `samples` input samples: when a teacher is
    /// present and the acoustic frame count differs from the (padded) teacher's.
    pub fn pads_acoustic_input(&self, samples: usize) -> bool {
        let Some(enc) = self.encoder_semantic.as_ref().filter(|_| self.semantic_teacher.hidden_size() > 0) else {
            return false;
        };
        let teacher_frames = self.semantic_teacher.output_frames(samples + 2 * (self.hop_length() / 2));
        self.acoustic_encoder.output_frames(samples) != enc.output_frames(teacher_frames)
    }

    /// Frames `encode` gives for `samples` input samples.
    pub fn output_frames(&self, samples: usize) -> usize {
        let pad = self.pads_acoustic_input(samples);
        let half = self.hop_length() / 2;
        let acoustic = self.acoustic_encoder.output_frames(samples + if pad { 2 * half } else { 0 });
        match self.encoder_semantic.as_ref().filter(|_| self.semantic_teacher.hidden_size() > 0) {
            Some(enc) => acoustic.min(enc.output_frames(self.semantic_teacher.output_frames(samples + 2 * half))),
            None => acoustic,
        }
    }

    /// The joint vector `fc_prior(concat(acoustic, semantic))`, `[batch, hidden, frames]`, given the
    /// teacher features of the same audio (see [`Self::teacher_features`]).
    pub fn joint_embedding(&self, audio: Tensor<3>, teacher: Option<Tensor<3>>) -> Tensor<3> {
        let pad = self.pads_acoustic_input(audio.dims()[2]);
        self.joint_embedding_aligned(audio, teacher, pad)
    }

    /// [`Self::joint_embedding`] with the acoustic padding decided by the caller (windowed encoding takes the
    /// whole file's decision, so that every window lines up with the whole-file frames).
    pub fn joint_embedding_aligned(
        &self,
        audio: Tensor<3>,
        teacher: Option<Tensor<3>>,
        pad_acoustic: bool,
    ) -> Tensor<3> {
        let acoustic = encoder_latent(&self.acoustic_encoder, audio, self.acoustic_pad(pad_acoustic));
        self.joint_of(acoustic, teacher)
    }

    /// The zero padding on each side of the acoustic encoder's input: hop/2 when `pad`.
    fn acoustic_pad(&self, pad: bool) -> usize {
        if pad { self.hop_length() / 2 } else { 0 }
    }

    /// `fc_prior(concat(acoustic latent, semantic encoder(teacher features)))`.
    fn joint_of(&self, acoustic: Tensor<3>, teacher: Option<Tensor<3>>) -> Tensor<3> {
        let semantic = teacher.zip(self.encoder_semantic.as_ref()).map(|(f, enc)| enc.forward(f.swap_dims(1, 2)));
        self.prior(concat_latents(acoustic, semantic))
    }

    /// `fc_prior` over the frames of the concatenated latents.
    fn prior(&self, joint: Tensor<3>) -> Tensor<3> {
        frame_linear(&self.fc_prior, joint, self.streams_encoding())
    }

    /// Whether encoding can stream (no teacher, causal acoustic encoder): then the frame-wise layers and the
    /// quantizer compute length-invariantly ([`crate::nn::exact`]), so that streamed codes are the whole clip's.
    fn streams_encoding(&self) -> bool {
        self.semantic_teacher.hidden_size() == 0 && self.acoustic_encoder.is_causal()
    }

    /// The codes of the joint vectors `[batch, hidden, frames]`, `[batch, n_q, frames]`; a non-finite
    /// vector is refused (it would quantize to code 0, a silently wrong result).
    fn quantize(&self, joint: Tensor<3>, n_q: usize) -> Result<Tensor<3, Int>> {
        crate::finite::check_input(&joint, "the quantizer's input")?;
        let codes = if self.streams_encoding() {
            self.quantizer.encode_exact(joint, n_q)
        } else {
            self.quantizer.encode(joint, n_q)
        };
        Ok(codes.swap_dims(0, 1))
    }

    /// `audio [batch, 1, samples]` -> codes `[batch, n_q, frames]` at an offered bandwidth.
    pub fn encode(&self, audio: Tensor<3>, bandwidth_kbps: f64) -> Result<Tensor<3, Int>>
    where
        A: Sync,
    {
        let pad = self.pads_acoustic_input(audio.dims()[2]);
        self.encode_aligned(audio, bandwidth_kbps, pad)
    }

    /// [`Self::encode`] with the acoustic padding decided by the caller (see [`Self::joint_embedding_aligned`]).
    pub fn encode_aligned(&self, audio: Tensor<3>, bandwidth_kbps: f64, pad_acoustic: bool) -> Result<Tensor<3, Int>>
    where
        A: Sync,
    {
        self.check_encoder()?;
        let n_q = self.checked_codebooks(bandwidth_kbps)?;
        check_audio(&audio)?;
        let samples = audio.dims()[2];
        if samples < self.hop_length() {
            return Err(XcodecError::Input(format!(
                "audio is {samples} samples, shorter than one frame ({}); pad it or give a longer clip",
                self.hop_length()
            )));
        }
        // The teacher and the acoustic encoder are independent: run them side by side, so that each one's
        // serial stretches (norms, element-wise ops, small matrices) leave the cores to the other
        // (measured: 2.7-3.1 s instead of 3.5 s a 10 s clip for the full-size model on 2 cores).
        let (teacher, acoustic) = std::thread::scope(|scope| {
            let (encoder, pad, input) = (&self.acoustic_encoder, self.acoustic_pad(pad_acoustic), audio.clone());
            let acoustic = scope.spawn(move || encoder_latent(encoder, input, pad));
            let teacher = self.teacher_features(&audio);
            (teacher, acoustic.join())
        });
        let acoustic =
            acoustic.map_err(|_| XcodecError::Input("the acoustic encoder failed (see the message above)".into()))?;
        self.quantize(self.joint_of(acoustic, teacher), n_q)
    }

    /// [`Self::encode`] of clips of different lengths in one batch: `audio [batch, 1, samples]`, row `i` its
    /// first `lengths[i]` samples then zeros. Returns codes `[batch, n_q, frames]` and the frames of each row
    /// (`output_frames(lengths[i])`, the first that many of its codes are its own). Every part sees each row
    /// masked to its length, so a row's codes depend only on its samples and on `samples`: a clip padded to
    /// the same length gets the same codes alone or in any batch, bit for bit on the CPU, and the codes
    /// `encode` gives the unpadded clip up to rounding.
    pub fn encode_masked(
        &self,
        audio: Tensor<3>,
        lengths: &[usize],
        bandwidth_kbps: f64,
    ) -> Result<(Tensor<3, Int>, Vec<usize>)>
    where
        A: Sync,
    {
        self.check_encoder()?;
        let n_q = self.checked_codebooks(bandwidth_kbps)?;
        check_audio(&audio)?;
        let [batch, _, samples] = audio.dims();
        let hop = self.hop_length();
        if lengths.len() != batch || lengths.iter().any(|&len| len > samples) {
            return Err(XcodecError::Input(format!(
                "{} lengths for a batch of {batch} clips of {samples} samples; give one length per clip, at most {samples}",
                lengths.len()
            )));
        }
        if let Some(&short) = lengths.iter().find(|&&len| len < hop) {
            return Err(XcodecError::Input(format!(
                "audio is {short} samples, shorter than one frame ({hop}); pad it or give a longer clip"
            )));
        }
        let half = hop / 2;
        let teacher_input = audio.clone().reshape([batch, samples]).pad([(half, half)], PadMode::Constant(0.0));
        let teacher_lengths: Vec<usize> = lengths.iter().map(|&len| len + 2 * half).collect();
        let shifts: Vec<usize> = lengths.iter().map(|&len| self.acoustic_pad(self.pads_acoustic_input(len))).collect();
        let acoustic_lengths: Vec<usize> = lengths.iter().zip(&shifts).map(|(&len, &s)| len + 2 * s).collect();
        let acoustic_input = crate::nn::masked::shift_rows(audio, 2, lengths, &shifts, samples + 2 * half);
        // Side by side, as in `encode_aligned`.
        let (semantic, acoustic) = std::thread::scope(|scope| {
            let (encoder, lengths) = (&self.acoustic_encoder, &acoustic_lengths);
            let acoustic = scope.spawn(move || encoder.forward_masked(acoustic_input, lengths));
            let semantic = self.encoder_semantic.as_ref().and_then(|enc| {
                let features = self.semantic_teacher.features_masked(teacher_input, &teacher_lengths)?.detach();
                let frames: Vec<usize> =
                    teacher_lengths.iter().map(|&len| self.semantic_teacher.output_frames(len)).collect();
                Some(enc.forward_masked(features.swap_dims(1, 2), &frames))
            });
            (semantic, acoustic.join())
        });
        let acoustic =
            acoustic.map_err(|_| XcodecError::Input("the acoustic encoder failed (see the message above)".into()))?;
        let joint = concat_latents(acoustic, semantic);
        // Frame-wise layers and the quantizer row by row: a matrix product's blocking may depend on its row
        // count, so a batch must not change it.
        let codes =
            (0..batch).map(|i| self.quantize(self.prior(joint.clone().narrow(0, i, 1)), n_q)).collect::<Result<_>>()?;
        Ok((Tensor::cat(codes, 0), lengths.iter().map(|&len| self.output_frames(len)).collect()))
    }

    /// Codes `[batch, n_q, frames]` -> audio `[batch, 1, frames * hop]`. Does not touch the teacher.
    pub fn decode(&self, codes: Tensor<3, Int>) -> Result<Tensor<3>> {
        self.check_decoder()?;
        self.check_codes_shape(&codes)?;
        let n_q = codes.dims()[1];
        let quantized = self.dequantize(codes)?;
        Ok(self.acoustic_decoder.forward_with_codebooks(self.acoustic_latent(quantized), n_q))
    }

    /// Refuses codes with no frames or a number of codebooks the quantizer does not have.
    fn check_codes_shape(&self, codes: &Tensor<3, Int>) -> Result<()> {
        let [_, n_q, frames] = codes.dims();
        if n_q == 0 || n_q > self.quantizer.num_quantizers() || frames == 0 {
            return Err(XcodecError::Input(format!(
                "codes have {n_q} codebooks x {frames} frames; this model takes 1..={} codebooks and at least one frame",
                self.quantizer.num_quantizers()
            )));
        }
        Ok(())
    }

    /// Codes `[batch, n_q, frames]` (shape checked by the caller) -> quantized `[batch, dim, frames]`, refusing
    /// codes outside the codebooks.
    fn dequantize(&self, codes: Tensor<3, Int>) -> Result<Tensor<3>> {
        let (lo, hi) = (codes.clone().min().into_scalar::<i64>(), codes.clone().max().into_scalar::<i64>());
        let size = self.quantizer.codebook_size() as i64;
        if lo < 0 || hi >= size {
            return Err(XcodecError::Input(format!(
                "codes range over {lo}..={hi} but the codebooks have {size} entries (valid 0..={})",
                size - 1
            )));
        }
        Ok(self.quantizer.decode(codes.swap_dims(0, 1)))
    }

    /// Quantized `[batch, dim, frames]` -> the acoustic decoder's input (`fc_post2`; length-invariant when the
    /// decoder streams, so that streamed audio is the whole clip's bit for bit).
    fn acoustic_latent(&self, quantized: Tensor<3>) -> Tensor<3> {
        frame_linear(&self.fc_post2, quantized, self.acoustic_decoder.is_causal())
    }

    /// Refuses to decode with an encode-only model.
    fn check_decoder(&self) -> Result<()> {
        if self.encoder_only {
            return Err(XcodecError::Input(
                "this model was loaded for encoding only (no decoder weights); load the full model to decode".into(),
            ));
        }
        Ok(())
    }

    /// Refuses to encode with a decode-only model.
    fn check_encoder(&self) -> Result<()> {
        if self.decoder_only {
            return Err(XcodecError::Input(
                "this model was loaded for decoding only (no encoder or teacher weights); load the full model to encode".into(),
            ));
        }
        Ok(())
    }

    /// Encodes the next chunk of a stream: `chunk [batch, 1, k * hop]` -> codes `[batch, n_q, k]`, the same codes
    /// [`Self::encode`] gives for those frames of everything streamed so far. A chunk that is not a whole number
    /// of frames ends the stream (its last frame is padded as `encode` pads the end of a clip), so the frames of
    /// a stream equal `encode`'s of the whole audio in count and content. Only codecs without a teacher and with
    /// a causal acoustic encoder stream; others are refused with the reason.
    pub fn encode_step(
        &self,
        chunk: Tensor<3>,
        bandwidth_kbps: f64,
        stream: &mut CodecStream,
    ) -> Result<Tensor<3, Int>> {
        self.check_encoder()?;
        if self.semantic_teacher.hidden_size() > 0 {
            return Err(XcodecError::Config(
                "this codec cannot stream-encode: its semantic teacher (HuBERT/WavLM) attends over the whole clip; encode offline, or use a codec built with --semantic none and a causal backbone (soundstream)".into(),
            ));
        }
        let n_q = self.checked_codebooks(bandwidth_kbps)?;
        check_audio(&chunk)?;
        let frames = chunk.dims()[2].div_ceil(self.hop_length());
        let latent = self.acoustic_encoder.encode_step(chunk, &mut stream.encoder)?;
        stream.frames_encoded += frames as u64;
        // What `encode` does without a teacher and without padding.
        self.quantize(self.joint_of(latent, None), n_q)
    }

    /// Decodes the next chunk of a stream: codes `[batch, n_q, k]` -> audio `[batch, 1, k * hop]`, the samples
    /// [`Self::decode`] gives for those frames of everything streamed so far. Needs a causal acoustic decoder;
    /// the teacher plays no part in decoding, so any teacher is fine.
    pub fn decode_step(&self, codes: Tensor<3, Int>, stream: &mut CodecStream) -> Result<Tensor<3>> {
        self.check_decoder()?;
        self.check_codes_shape(&codes)?;
        let [_, n_q, frames] = codes.dims();
        let quantized = self.dequantize(codes)?;
        let audio = self.acoustic_decoder.decode_step(self.acoustic_latent(quantized), n_q, &mut stream.decoder)?;
        stream.frames_decoded += frames as u64;
        Ok(audio)
    }

    /// The training forward with `n_q` codebooks: reconstruction, codes, commitment and semantic losses.
    pub fn forward_train(&self, audio: Tensor<3>, n_q: usize) -> TrainOutput {
        let samples = audio.dims()[2];
        let teacher = self.teacher_features(&audio);
        let joint = self.joint_embedding(audio, teacher.clone());
        let quantizer_input = joint.clone().detach();
        let q = self.quantizer.forward_train(joint, n_q);
        let semantic_loss = match (teacher, &self.fc_post1, &self.decoder_semantic) {
            (Some(target), Some(fc), Some(dec)) => {
                let recon = dec.forward(fc.forward(q.quantized.clone().swap_dims(1, 2)).swap_dims(1, 2));
                let target = target.swap_dims(1, 2);
                let frames = recon.dims()[2].min(target.dims()[2]);
                let diff = recon.narrow(2, 0, frames) - target.narrow(2, 0, frames);
                Some(diff.powi_scalar(2).mean())
            }
            _ => None,
        };
        let audio_hat = self.acoustic_decoder.forward_with_codebooks(self.acoustic_latent(q.quantized), n_q);
        let len = audio_hat.dims()[2].min(samples);
        TrainOutput {
            audio: audio_hat.narrow(2, 0, len),
            codes: q.codes.swap_dims(0, 1),
            commitment_loss: q.commitment_loss,
            semantic_loss,
            quantizer_input,
        }
    }

    /// Parameter count of each part, in composite order (`name`, count).
    pub fn parameter_counts(&self) -> Vec<(&'static str, usize)> {
        let opt = |m: Option<usize>| m.unwrap_or(0);
        vec![
            ("acoustic_encoder", self.acoustic_encoder.num_params()),
            ("acoustic_decoder", self.acoustic_decoder.num_params()),
            ("semantic_teacher", self.semantic_teacher.num_params()),
            ("encoder_semantic", opt(self.encoder_semantic.as_ref().map(|m| m.num_params()))),
            ("decoder_semantic", opt(self.decoder_semantic.as_ref().map(|m| m.num_params()))),
            ("quantizer", self.quantizer.num_params()),
            ("fc_prior", self.fc_prior.num_params()),
            ("fc_post1", opt(self.fc_post1.as_ref().map(|m| m.num_params()))),
            ("fc_post2", self.fc_post2.num_params()),
        ]
    }
}

/// Rejects multi-channel, empty or non-finite audio with a one-line reason.
fn check_audio(audio: &Tensor<3>) -> Result<()> {
    let [_, channels, samples] = audio.dims();
    if channels != 1 {
        return Err(XcodecError::Input(format!("audio has {channels} channels; mix it down to mono first")));
    }
    if samples == 0 {
        return Err(XcodecError::Input("audio is empty (0 samples)".into()));
    }
    if !audio.clone().is_finite().all().into_scalar::<bool>() {
        return Err(XcodecError::Input("audio contains NaN or infinite samples".into()));
    }
    Ok(())
}

/// The acoustic latent and the semantic one (if any) stacked along channels, over their common frames
/// (windows of other lengths than the whole file can differ by a frame at their ends).
fn concat_latents(acoustic: Tensor<3>, semantic: Option<Tensor<3>>) -> Tensor<3> {
    match semantic {
        Some(s) => {
            let frames = acoustic.dims()[2].min(s.dims()[2]);
            Tensor::cat(vec![acoustic.narrow(2, 0, frames), s.narrow(2, 0, frames)], 1)
        }
        None => acoustic,
    }
}

/// `encoder`'s latent of `audio` zero-padded by `pad` samples on each side.
fn encoder_latent<A: AcousticEncoder>(encoder: &A, audio: Tensor<3>, pad: usize) -> Tensor<3> {
    let audio = if pad > 0 { audio.pad([(pad, pad)], PadMode::Constant(0.0)) } else { audio };
    encoder.forward(audio)
}

/// `linear` over the frames of `x [batch, in, frames]`, `[batch, out, frames]`: with [`crate::nn::exact`] when
/// `exact` (each frame computed alike whatever the length), else burn's matrix product.
fn frame_linear(linear: &Linear, x: Tensor<3>, exact: bool) -> Tensor<3> {
    if !exact {
        return linear.forward(x.swap_dims(1, 2)).swap_dims(1, 2);
    }
    let [d_in, d_out] = linear.weight.dims();
    let weight = linear.weight.val().transpose().reshape([d_out, d_in, 1]);
    crate::nn::exact::conv1d(x, weight, linear.bias.as_ref().map(|b| b.val()), 1, 1)
}
