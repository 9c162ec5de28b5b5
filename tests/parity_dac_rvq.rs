//! Parity of the DAC encoder, DAC decoder and RVQ with transformers' `XcodecModel` (5.24.0) on the tiny
//! seeded model made by `tests/reference/gen_dac_rvq.py`: activations within 1e-4, codes identical.

mod common;

use burn::tensor::{Device, Tensor};
use common::{Fixtures, fixture, max_abs_diff};
use xcodec_builtin::{Layout, load_weights};
use xcodec_core::{AcousticDecoder, AcousticEncoder, Quantizer};
use xcodec_dac::{DacConfig, DacDecoder, DacEncoder};
use xcodec_rvq::{ResidualVq, RvqConfig};

fn tiny_dac() -> DacConfig {
    DacConfig { encoder_width: 4, strides: vec![8, 5, 4, 2], latent_dim: 8, decoder_width: 32, ..DacConfig::default() }
}

fn weights() -> std::path::PathBuf {
    fixture("tiny_xcodec/model.safetensors")
}

#[test]
fn dac_encoder_and_decoder_match_transformers() {
    let device = Device::flex();
    let fx = Fixtures::open("dac_rvq_parity.safetensors");
    let mut encoder = DacEncoder::new(&tiny_dac(), &device);
    let mut decoder = DacDecoder::new(&tiny_dac(), &device);
    load_weights(&mut encoder, &weights(), Layout::HuggingFace, "acoustic_encoder.").unwrap();
    load_weights(&mut decoder, &weights(), Layout::HuggingFace, "acoustic_decoder.").unwrap();
    assert_eq!(encoder.hop_length(), 320);
    for tag in ["even", "ragged"] {
        let audio: Tensor<3> = fx.float(&format!("{tag}.audio"), &device);
        let want_latent: Tensor<3> = fx.float(&format!("{tag}.latent"), &device);
        let latent = encoder.forward(audio.clone());
        assert_eq!(latent.dims(), want_latent.dims(), "{tag} latent shape");
        assert_eq!(encoder.output_frames(audio.dims()[2]), latent.dims()[2]);
        let err = max_abs_diff(latent, want_latent.clone());
        eprintln!("{tag}: encoder max abs error {err:.2e}");
        assert!(err <= 1e-4, "{tag}: encoder max abs error {err}");
        // The decoder runs on the reference latent, so its error is its own.
        let want_audio: Tensor<3> = fx.float(&format!("{tag}.decoded"), &device);
        let audio_hat = decoder.forward(want_latent);
        assert_eq!(audio_hat.dims(), want_audio.dims(), "{tag} decoded shape");
        let err = max_abs_diff(audio_hat, want_audio);
        eprintln!("{tag}: decoder max abs error {err:.2e}");
        assert!(err <= 1e-4, "{tag}: decoder max abs error {err}");
    }
}

#[test]
fn rvq_codes_and_decode_match_transformers_at_every_bandwidth() {
    let device = Device::flex();
    let fx = Fixtures::open("dac_rvq_parity.safetensors");
    let cfg = RvqConfig { num_quantizers: 8, codebook_size: 32, ..RvqConfig::default() };
    let mut rvq = ResidualVq::new(&cfg, 24, &device);
    load_weights(&mut rvq, &weights(), Layout::HuggingFace, "quantizer.").unwrap();
    let input: Tensor<3> = fx.float("rvq.input", &device);
    for (i, n_q) in [1, 2, 3, 4, 8].into_iter().enumerate() {
        let want = fx.int(&format!("rvq.codes.{i}"));
        let codes = rvq.encode(input.clone(), n_q);
        assert_eq!(codes.dims()[0], n_q);
        let got: Vec<i64> = codes.clone().into_data().convert::<i64>().try_to_vec::<i64>().unwrap();
        assert_eq!(got, want, "codes differ with {n_q} codebooks");
        let quantized = rvq.decode(codes);
        let err = max_abs_diff(quantized, fx.float(&format!("rvq.quantized.{i}"), &device));
        assert!(err <= 1e-5, "{n_q} codebooks: decode max abs error {err}");
    }
}
