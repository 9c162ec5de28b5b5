//! descript DAC as a codec of its own: the tiny seeded model of `tests/reference/gen_dac_codec.py`, loaded
//! through `load_model` from the transformers `DacModel` directory (folded weights, as `save_pretrained` writes
//! them) and from descript's own `.pth` (`DAC.save`, weight-normed), gives `DacModel.encode`'s codes at every
//! codebook count and `DacModel.decode`'s audio from them (max abs error <= 1e-4).

mod common;

use burn::tensor::{Device, Int, Tensor, TensorData};
use common::{Fixtures, assert_codes_match, fixture, max_abs_diff};
use xcodec_builtin::{Parts, load_model};
use xcodec_core::{AcousticEncoder, Quantizer};
use xcodec_dac::DacConfig;

const CASES: [&str; 2] = ["even", "ragged"];
const N_CODEBOOKS: usize = 4;
/// `DacModel.decode` gives `frames * hop - 8` samples (the odd stride 5 without output padding); ours pads the
/// rest with zeros.
const SHORT: usize = 8;

fn models() -> [(&'static str, String); 2] {
    [
        ("Hugging Face DAC", fixture("tiny_dac").display().to_string()),
        ("descript DAC", fixture("tiny_dac_descript/weights.pth").display().to_string()),
    ]
}

fn codes_vec(codes: Tensor<3, Int>) -> Vec<i64> {
    codes.into_data().convert::<i64>().try_to_vec::<i64>().unwrap()
}

#[test]
fn both_layouts_load_as_acoustic_codecs_of_the_models_shape() {
    let device = Device::flex();
    for (kind, spec) in models() {
        let loaded = load_model(&spec, None, Parts::All, &device).unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert!(loaded.source.contains(kind), "{}", loaded.source);
        let cfg = &loaded.config;
        assert_eq!(
            (cfg.acoustic.name.as_str(), cfg.semantic.name.as_str(), cfg.quantizer.name.as_str()),
            ("dac", "none", "dac_vq")
        );
        let dac = DacConfig::from_params(&cfg.acoustic.params).unwrap();
        assert_eq!(
            (dac.strides.as_slice(), dac.decoder_strides()),
            (&[2usize, 4, 5][..], &[5usize, 4, 2][..]),
            "{kind}"
        );
        assert_eq!((dac.encoder_width, dac.latent_dim, dac.decoder_width), (4, 32, 16), "{kind}");
        let codec = &loaded.codec;
        assert_eq!((codec.sample_rate_hz, codec.hop_length(), codec.frame_rate_hz()), (16000, 40, 400.0));
        assert_eq!(
            (codec.quantizer.num_quantizers(), codec.quantizer.codebook_size(), codec.quantizer.dim()),
            (4, 64, 32)
        );
        // 6 bits x 400 frames/s = 2.4 kbps a codebook; one bandwidth per codebook count.
        assert_eq!(codec.target_bandwidths_kbps, vec![2.4, 4.8, 7.2, 9.6], "{kind}");
        for (k, &bw) in codec.target_bandwidths_kbps.iter().enumerate() {
            assert_eq!(codec.checked_codebooks(bw).unwrap(), k + 1);
        }
    }
}

#[test]
fn codes_and_audio_match_dac_model_for_both_layouts() {
    codes_and_audio_match_dac_model(&Device::flex());
}

#[cfg(feature = "wgpu")]
#[test]
fn codes_and_audio_match_dac_model_on_wgpu() {
    codes_and_audio_match_dac_model(&common::gpu());
}

/// Codes equal (all of them on the CPU; >= 99.9 % elsewhere, where summation order may flip a near tie: 100 %
/// measured on llvmpipe) and audio within 1e-4 on `device`.
fn codes_and_audio_match_dac_model(device: &Device) {
    let fx = Fixtures::open("dac_codec_parity.safetensors");
    for (kind, spec) in models() {
        let loaded = load_model(&spec, None, Parts::All, device).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let codec = &loaded.codec;
        for case in CASES {
            let audio: Tensor<3> = fx.float(&format!("{case}.audio"), device);
            assert_eq!(codec.output_frames(audio.dims()[2]), codec.acoustic_encoder.output_frames(audio.dims()[2]));
            for n_q in 1..=N_CODEBOOKS {
                let bw = codec.target_bandwidths_kbps[n_q - 1];
                let want = fx.int(&format!("{case}.codes.{n_q}"));
                let codes = codec.encode(audio.clone(), bw).unwrap();
                let [_, got_n_q, frames] = codes.dims();
                assert_eq!((got_n_q, frames * n_q), (n_q, want.len()), "{kind} {case} {n_q} codebooks: shape");
                let got = codes_vec(codes);
                let same = got.iter().zip(&want).filter(|(a, b)| a == b).count();
                eprintln!("{kind} {case} {n_q} codebooks: {same}/{} codes equal", want.len());
                assert_codes_match(&got, &want, device, &format!("{kind} {case} with {n_q} codebooks"));

                // Decoding from the reference codes, so the decoder's error is its own.
                let reference = Tensor::<3, Int>::from_data(TensorData::new(want, [1, n_q, frames]), device);
                let decoded = codec.decode(reference).unwrap();
                let want_audio: Tensor<2> = fx.float(&format!("{case}.decoded.{n_q}"), device);
                let samples = want_audio.dims()[1];
                assert_eq!(
                    (decoded.dims()[2], samples),
                    (frames * codec.hop_length(), frames * codec.hop_length() - SHORT)
                );
                let tail = decoded.clone().narrow(2, samples, SHORT).abs().max().into_scalar::<f32>();
                assert_eq!(tail, 0.0, "{kind} {case}: the padding after DacModel's last sample is silence");
                let err = max_abs_diff(decoded.narrow(2, 0, samples).reshape([1, samples]), want_audio);
                eprintln!("{kind} {case} {n_q} codebooks: decode max abs error {err:.2e}");
                assert!(err <= 1e-4, "{kind} {case} {n_q} codebooks: decode max abs error {err}");
            }
        }
    }
}

#[test]
fn decoder_only_and_encoder_only_loads_work_on_both_layouts() {
    let device = Device::flex();
    let fx = Fixtures::open("dac_codec_parity.safetensors");
    let audio: Tensor<3> = fx.float("even.audio", &device);
    let want = fx.int("even.codes.4");
    for (kind, spec) in models() {
        let enc = load_model(&spec, None, Parts::EncoderOnly, &device).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let codes = enc.codec.encode(audio.clone(), 9.6).unwrap();
        assert_eq!(codes_vec(codes.clone()), want, "{kind}");
        let dec = load_model(&spec, None, Parts::DecoderOnly, &device).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let full = load_model(&spec, None, Parts::All, &device).unwrap();
        let err = max_abs_diff(dec.codec.decode(codes.clone()).unwrap(), full.codec.decode(codes).unwrap());
        assert_eq!(err, 0.0, "{kind}");
    }
}
