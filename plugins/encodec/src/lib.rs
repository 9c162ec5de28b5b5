//! SEANet acoustic backbones: EnCodec's encoder/decoder exactly as transformers' `EncodecModel` builds them
//! (residual blocks with compression and dilation growth, ELU, strided/transposed convs with causal or
//! split padding in reflect/constant/replicate mode, weight norm or time group norm, LSTM with skip), and
//! SoundStream as SEANet's causal, LSTM-free variant. Registered as the acoustic parts `encodec` and
//! `soundstream`. Checkpoint names follow transformers (`encoder.layers.N.conv.weight_g`, ...); only the LSTM's
//! `weight_ih_l{k}` become `lstm.layers.{k}.weight_ih` (see [`lstm`]).

mod carry;
mod config;
mod conv;
mod film;
pub mod lstm;
mod seanet;

pub use carry::SeanetStream;
pub use config::{EncodecConfig, NormType, PadMode, SoundStreamConfig};
pub use conv::{ConvTransposeWeights, ConvWeights, SeanetConv1d, SeanetConvTranspose1d, TimeGroupNorm, pad1d};
pub use film::BitrateFilm;
pub use lstm::{Lstm, LstmLayer, SeanetLstm};
pub use seanet::{ResnetLayer, SeanetDecoder, SeanetEncoder, SeanetLayer, SeanetResnetBlock};

/// The acoustic part name of EnCodec's SEANet.
pub const ENCODEC: &str = "encodec";
/// The acoustic part name of SoundStream's causal SEANet.
pub const SOUNDSTREAM: &str = "soundstream";

/// Key map from a transformers `EncodecModel` checkpoint to the module paths here (the LSTM's per-layer names;
/// weight norm as torch parametrizations or as the older `weight_g`/`weight_v`).
pub const LSTM_KEY_MAP: (&str, &str) = (r"\.lstm\.(weight|bias)_(ih|hh)_l(\d+)$", ".lstm.layers.$3.${1}_$2");

inventory::submit! {
    xcodec_core::PartEntry {
        role: xcodec_core::Role::Acoustic,
        name: ENCODEC,
        description: "EnCodec's SEANet encoder/decoder (ELU residual blocks, LSTM, weight or time-group norm)",
        default_params: || xcodec_core::config::params_table(&EncodecConfig::default()),
        check_params: |p| EncodecConfig::from_params(p).map(|_| ()),
    }
}

inventory::submit! {
    xcodec_core::PartEntry {
        role: xcodec_core::Role::Acoustic,
        name: SOUNDSTREAM,
        description: "SoundStream encoder/decoder: causal SEANet, residual units with dilations 1/3/9, no LSTM",
        default_params: || xcodec_core::config::params_table(&SoundStreamConfig::default()),
        check_params: |p| SoundStreamConfig::from_params(p).map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution, Tensor};
    use proptest::prelude::*;
    use xcodec_core::{AcousticDecoder, AcousticEncoder, StreamState};

    fn tiny_soundstream() -> SoundStreamConfig {
        SoundStreamConfig { hidden_size: 4, num_filters: 2, strides: vec![2, 3, 2], ..SoundStreamConfig::default() }
    }

    fn tiny_encodec(causal: bool, pad_mode: PadMode) -> EncodecConfig {
        EncodecConfig {
            hidden_size: 4,
            num_filters: 2,
            upsampling_ratios: vec![2, 3, 2],
            use_causal_conv: causal,
            pad_mode,
            ..EncodecConfig::default()
        }
    }

    fn values(t: Tensor<3>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    /// Encoder frame `t` must not move when samples from `(t + 1) * hop` on change; the decoder's samples before
    /// `f * hop` must not move when latent frames from `f` on change. Both must move after the change.
    fn assert_causal(enc: &SeanetEncoder, dec: &SeanetDecoder, device: &Device) {
        let hop = enc.hop_length();
        let (samples, cut) = (hop * 20, hop * 11 + 5);
        let audio = Tensor::<3>::random([1, 1, samples], Distribution::Normal(0.0, 0.3), device);
        let noise = Tensor::<3>::random([1, 1, samples - cut], Distribution::Normal(0.0, 0.3), device);
        let changed = Tensor::cat(vec![audio.clone().narrow(2, 0, cut), noise], 2);
        let (a, b) = (enc.forward(audio), enc.forward(changed));
        let whole = cut / hop;
        assert_eq!(values(a.clone().narrow(2, 0, whole)), values(b.clone().narrow(2, 0, whole)), "past frames moved");
        assert_ne!(
            values(a.clone().narrow(2, whole, 1)),
            values(b.clone().narrow(2, whole, 1)),
            "the cut frame did not move"
        );

        let frames = a.dims()[2];
        let latent = Tensor::<3>::random([1, enc.latent_dim(), frames], Distribution::Normal(0.0, 1.0), device);
        let later = Tensor::<3>::random([1, enc.latent_dim(), frames - 7], Distribution::Normal(0.0, 1.0), device);
        let changed = Tensor::cat(vec![latent.clone().narrow(2, 0, 7), later], 2);
        let (x, y) = (dec.forward(latent), dec.forward(changed));
        assert_eq!(x.dims(), [1, 1, frames * hop]);
        assert_eq!(
            values(x.clone().narrow(2, 0, 7 * hop)),
            values(y.clone().narrow(2, 0, 7 * hop)),
            "decoded past moved"
        );
        assert_ne!(values(x.narrow(2, 7 * hop, hop)), values(y.narrow(2, 7 * hop, hop)));
    }

    #[test]
    fn soundstream_is_causal_in_encoder_and_decoder() {
        let device = Device::flex();
        device.seed(1);
        let cfg = tiny_soundstream().to_seanet();
        let (enc, dec) = (SeanetEncoder::new(&cfg, &device), SeanetDecoder::new(&cfg, &device));
        assert!(enc.is_causal());
        assert_eq!((enc.hop_length(), dec.hop_length(), enc.latent_dim(), dec.latent_dim()), (12, 12, 4, 4));
        // No LSTM, dilations 1/3/9 in every block.
        assert!(!enc.layers.iter().any(|l| matches!(l, SeanetLayer::Lstm(_))));
        let resnets = enc.layers.iter().filter(|l| matches!(l, SeanetLayer::Resnet(_))).count();
        assert_eq!(resnets, 9);
        assert_causal(&enc, &dec, &device);
    }

    #[test]
    fn causal_encodec_with_constant_padding_is_causal_and_reflect_is_not_claimed() {
        let device = Device::flex();
        device.seed(2);
        let cfg = tiny_encodec(true, PadMode::Constant);
        let (enc, dec) = (SeanetEncoder::new(&cfg, &device), SeanetDecoder::new(&cfg, &device));
        assert!(enc.is_causal());
        assert_causal(&enc, &dec, &device);
        assert!(!SeanetEncoder::new(&tiny_encodec(true, PadMode::Reflect), &device).is_causal());
        assert!(!SeanetEncoder::new(&tiny_encodec(false, PadMode::Constant), &device).is_causal());
    }

    #[test]
    fn config_rejects_what_cannot_be_built() {
        let table = |s: &str| -> toml::Table { toml::from_str(s).unwrap() };
        assert_eq!(EncodecConfig::from_params(&toml::Table::new()).unwrap(), EncodecConfig::default());
        assert_eq!(EncodecConfig::default().hop_length(), 320);
        assert_eq!(SoundStreamConfig::default().to_seanet().hop_length(), 320);
        assert!(EncodecConfig::from_params(&table("upsampling_ratios = []")).is_err());
        let err = EncodecConfig::from_params(&table("pad_mode = \"circular\"")).unwrap_err().to_string();
        assert!(err.contains("[encodec] params") && err.contains("circular"), "{err}");
        let err = EncodecConfig::from_params(&table("use_causal_conv = false\ntrim_right_ratio = 0.5")).unwrap_err();
        assert!(err.to_string().contains("trim_right_ratio"), "{err}");
        assert!(SoundStreamConfig::from_params(&table("lstm = 2")).unwrap_err().to_string().contains("unknown field"));
        assert!(
            SoundStreamConfig::from_params(&table("strides = [2, 0]"))
                .unwrap_err()
                .to_string()
                .contains("[soundstream]")
        );
    }

    /// Streams `chunk` frames at a time (the last chunk `tail` samples past whole frames when `tail > 0`) and
    /// compares with the whole-clip forward, bit for bit: encoder latent on 21 frames (+ tail), RVQ-free decoder
    /// audio.
    fn assert_streams_like_offline(cfg: &EncodecConfig, chunk: usize, tail: usize, device: &Device) {
        let (enc, dec) = (SeanetEncoder::new(cfg, device), SeanetDecoder::new(cfg, device));
        let hop = enc.hop_length();
        let samples = 21 * hop + tail;
        let audio = Tensor::<3>::random([2, 1, samples], Distribution::Normal(0.0, 0.3), device);
        let offline = enc.forward(audio.clone());
        let mut state = StreamState::default();
        let mut parts = Vec::new();
        for start in (0..samples).step_by(chunk * hop) {
            let n = (chunk * hop).min(samples - start);
            parts.push(enc.encode_step(audio.clone().narrow(2, start, n), &mut state).unwrap());
        }
        let streamed = Tensor::cat(parts, 2);
        assert_eq!(streamed.dims(), offline.dims(), "chunks of {chunk}, tail {tail}");
        assert_eq!(
            values(streamed),
            values(offline.clone()),
            "encoder, chunks of {chunk}, tail {tail}: not bit for bit"
        );
        if tail > 0 {
            let more = enc.encode_step(audio.narrow(2, 0, hop), &mut state).unwrap_err().to_string();
            assert!(more.contains("already ended with a partial frame"), "{more}");
            return;
        }

        let frames = offline.dims()[2];
        let audio_offline = dec.forward(offline.clone());
        let mut state = StreamState::default();
        let mut parts = Vec::new();
        for start in (0..frames).step_by(chunk) {
            let n = chunk.min(frames - start);
            parts.push(dec.decode_step(offline.clone().narrow(2, start, n), 8, &mut state).unwrap());
        }
        assert_eq!(values(Tensor::cat(parts, 2)), values(audio_offline), "decoder, chunks of {chunk}: not bit for bit");
    }

    #[test]
    fn causal_backbones_stream_like_offline() {
        let device = Device::flex();
        device.seed(4);
        let with_lstm = tiny_encodec(true, PadMode::Constant);
        let replicate = EncodecConfig { num_residual_layers: 2, ..tiny_encodec(true, PadMode::Replicate) };
        for cfg in [tiny_soundstream().to_seanet(), with_lstm, replicate] {
            for chunk in [1, 3, 7] {
                assert_streams_like_offline(&cfg, chunk, 0, &device);
            }
            // A last chunk ending inside a frame (1, 5 and 11 samples past whole frames of hop 12).
            for (chunk, tail) in [(1, 1), (3, 5), (7, 11)] {
                assert_streams_like_offline(&cfg, chunk, tail, &device);
            }
        }
    }

    #[test]
    fn film_starts_as_identity_then_conditions_the_decoder_and_streams_exactly() {
        let device = Device::flex();
        device.seed(6);
        let cfg = SoundStreamConfig { film_codebooks: 4, ..tiny_soundstream() }.to_seanet();
        let mut dec = SeanetDecoder::new(&cfg, &device);
        assert_eq!((dec.film.len(), dec.film_codebooks()), (3, Some(4)));
        assert_eq!(SeanetDecoder::new(&tiny_soundstream().to_seanet(), &device).film_codebooks(), None);
        let latent = Tensor::<3>::random([2, 4, 9], Distribution::Normal(0.0, 1.0), &device);
        let at = |dec: &SeanetDecoder, n| values(dec.forward_with_codebooks(latent.clone(), n));
        assert_eq!(at(&dec, 1), at(&dec, 4), "identity at initialisation");

        for film in &mut dec.film {
            let [rows, channels] = film.scale.val().dims();
            film.scale = burn::module::Param::from_tensor(Tensor::random(
                [rows, channels],
                Distribution::Normal(1.0, 0.5),
                &device,
            ));
            film.shift = burn::module::Param::from_tensor(Tensor::random(
                [rows, channels],
                Distribution::Normal(0.0, 0.5),
                &device,
            ));
        }
        assert_ne!(at(&dec, 1), at(&dec, 4), "the bitrate changes the output");
        assert_eq!(values(dec.forward(latent.clone())), at(&dec, 4), "plain forward assumes all codebooks");
        let mut state = StreamState::default();
        let streamed: Vec<Tensor<3>> = (0..9)
            .step_by(2)
            .map(|f| dec.decode_step(latent.clone().narrow(2, f, 2.min(9 - f)), 2, &mut state).unwrap())
            .collect();
        assert_eq!(
            values(Tensor::cat(streamed, 2)),
            at(&dec, 2),
            "streamed FiLM decode is the offline one bit for bit"
        );
    }

    #[test]
    fn stream_state_stays_the_same_size() {
        let device = Device::flex();
        device.seed(5);
        let cfg = tiny_encodec(true, PadMode::Constant);
        let (enc, dec) = (SeanetEncoder::new(&cfg, &device), SeanetDecoder::new(&cfg, &device));
        let (mut enc_state, mut dec_state) = (StreamState::default(), StreamState::default());
        let mut sizes = Vec::new();
        for _ in 0..500 {
            let audio = Tensor::<3>::random([1, 1, 3 * 12], Distribution::Normal(0.0, 0.3), &device);
            let latent = enc.encode_step(audio, &mut enc_state).unwrap();
            dec.decode_step(latent, 8, &mut dec_state).unwrap();
            sizes.push((enc_state.carried_values(), dec_state.carried_values()));
        }
        assert!(sizes[0].0 > 0 && sizes[0].1 > 0);
        assert!(sizes.iter().all(|s| *s == sizes[0]), "state grew: {:?} -> {:?}", sizes[0], sizes[499]);
    }

    #[test]
    fn streaming_refuses_what_cannot_stream() {
        let device = Device::flex();
        let enc = SeanetEncoder::new(&tiny_encodec(true, PadMode::Reflect), &device);
        let err = enc.encode_step(Tensor::zeros([1, 1, 24], &device), &mut StreamState::default()).unwrap_err();
        assert!(err.to_string().contains("cannot stream"), "{err}");
        let enc = SeanetEncoder::new(&tiny_soundstream().to_seanet(), &device);
        let err = enc.encode_step(Tensor::zeros([1, 2, 24], &device), &mut StreamState::default()).unwrap_err();
        assert!(err.to_string().contains("[batch, 1, samples >= 1]"), "{err}");
        let cfg = EncodecConfig { trim_right_ratio: 0.5, ..tiny_encodec(true, PadMode::Constant) };
        let dec = SeanetDecoder::new(&cfg, &device);
        assert!(dec.decode_step(Tensor::zeros([1, 4, 2], &device), 8, &mut StreamState::default()).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn output_frames_predicts_the_encoder(samples in 1usize..200, causal: bool, reflect: bool) {
            let device = Device::flex();
            let pad = if reflect { PadMode::Reflect } else { PadMode::Constant };
            let enc = SeanetEncoder::new(&tiny_encodec(causal, pad), &device);
            let x = Tensor::<3>::random([1, 1, samples], Distribution::Normal(0.0, 1.0), &device);
            let z = enc.forward(x);
            prop_assert_eq!(z.dims()[2], enc.output_frames(samples));
            prop_assert_eq!(z.dims()[2], samples.div_ceil(12));
        }
    }
}
