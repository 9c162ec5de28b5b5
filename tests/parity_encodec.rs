//! Parity of the SEANet encoder/decoder and RVQ with transformers' `EncodecModel` (5.24.0) on the three tiny
//! seeded models made by `tests/reference/gen_encodec.py` (causal + weight norm like 24 kHz, non-causal + time
//! group norm like 48 kHz, and a variant with the remaining knobs): activations within 1e-4, codes identical;
//! and each Hugging Face-layout directory loaded as a codec gives EnCodec's codes and audio.

mod common;

use burn::tensor::{Device, Int, Tensor};
use common::{Fixtures, assert_codes_match, fixture, max_abs_diff};
use xcodec_builtin::{Layout, Parts, load_model, load_weights};
use xcodec_core::{AcousticDecoder, AcousticEncoder, Quantizer};
use xcodec_encodec::{EncodecConfig, NormType, PadMode, SeanetDecoder, SeanetEncoder};
use xcodec_rvq::{ResidualVq, RvqConfig};

const CASES: [&str; 3] = ["even", "ragged", "short"];

/// A fixture model: directory name, SEANet shape, (codebook size, codebooks), codebooks per bandwidth.
type Model = (&'static str, EncodecConfig, (usize, usize), Vec<usize>);

/// The three fixture models.
fn models() -> Vec<Model> {
    let base = EncodecConfig { hidden_size: 8, num_filters: 2, ..EncodecConfig::default() };
    vec![
        ("causal_wn", base.clone(), (32, 8), vec![1, 2, 4, 8]),
        (
            "noncausal_tgn",
            EncodecConfig {
                upsampling_ratios: vec![5, 4, 2],
                norm_type: NormType::TimeGroupNorm,
                use_causal_conv: false,
                ..base.clone()
            },
            (32, 8),
            vec![1, 2, 4, 8],
        ),
        (
            "variant",
            EncodecConfig {
                hidden_size: 6,
                upsampling_ratios: vec![4, 3, 2],
                pad_mode: PadMode::Constant,
                trim_right_ratio: 0.5,
                num_residual_layers: 2,
                dilation_growth_rate: 3,
                residual_kernel_size: 5,
                compress: 1,
                use_conv_shortcut: false,
                num_lstm_layers: 1,
                kernel_size: 5,
                last_kernel_size: 3,
                ..base
            },
            (16, 4),
            vec![1, 2, 4],
        ),
    ]
}

fn codes_vec(codes: Tensor<3, Int>) -> Vec<i64> {
    codes.into_data().convert::<i64>().try_to_vec::<i64>().unwrap()
}

#[test]
fn seanet_encoder_and_decoder_match_transformers() {
    let device = Device::flex();
    let fx = Fixtures::open("encodec/parity.safetensors");
    for (name, cfg, _, _) in models() {
        let weights = fixture(&format!("encodec/{name}/model.safetensors"));
        let mut encoder = SeanetEncoder::new(&cfg, &device);
        let mut decoder = SeanetDecoder::new(&cfg, &device);
        load_weights(&mut encoder, &weights, Layout::Encodec, "acoustic_encoder.").unwrap();
        load_weights(&mut decoder, &weights, Layout::Encodec, "acoustic_decoder.").unwrap();
        for case in CASES {
            let audio: Tensor<3> = fx.float(&format!("{case}.audio"), &device);
            let want: Tensor<3> = fx.float(&format!("{name}.{case}.latent"), &device);
            let latent = encoder.forward(audio.clone());
            assert_eq!(latent.dims(), want.dims(), "{name} {case} latent shape");
            assert_eq!(encoder.output_frames(audio.dims()[2]), latent.dims()[2]);
            let err = max_abs_diff(latent, want.clone());
            eprintln!("{name} {case}: encoder max abs error {err:.2e}");
            assert!(err <= 1e-4, "{name} {case}: encoder max abs error {err}");
            // The decoder runs on the reference latent, so its error is its own.
            let want_audio: Tensor<3> = fx.float(&format!("{name}.{case}.decoded"), &device);
            let decoded = decoder.forward(want);
            assert_eq!(decoded.dims(), want_audio.dims(), "{name} {case} decoded shape");
            let err = max_abs_diff(decoded, want_audio);
            eprintln!("{name} {case}: decoder max abs error {err:.2e}");
            assert!(err <= 1e-4, "{name} {case}: decoder max abs error {err}");
        }
    }
}

#[test]
fn rvq_with_encodec_codebooks_gives_encodec_codes() {
    let device = Device::flex();
    let fx = Fixtures::open("encodec/parity.safetensors");
    for (name, cfg, (size, n), per_bandwidth) in models() {
        let rvq_cfg = RvqConfig { num_quantizers: n, codebook_size: size, ..RvqConfig::default() };
        let mut rvq = ResidualVq::new(&rvq_cfg, cfg.hidden_size, &device);
        load_weights(&mut rvq, &fixture(&format!("encodec/{name}/model.safetensors")), Layout::Encodec, "quantizer.")
            .unwrap();
        for case in CASES {
            let latent: Tensor<3> = fx.float(&format!("{name}.{case}.latent"), &device);
            for (i, &n_q) in per_bandwidth.iter().enumerate() {
                // Ours are [n_q, batch, frames]; the fixture's [batch, n_q, frames].
                let codes = rvq.encode(latent.clone(), n_q).swap_dims(0, 1);
                assert_eq!(
                    codes_vec(codes),
                    fx.int(&format!("{name}.{case}.codes.{i}")),
                    "{name} {case} {n_q} codebooks"
                );
            }
        }
    }
}

#[test]
fn hugging_face_encodec_directories_encode_and_decode_like_transformers() {
    encodec_directories_encode_and_decode_like_transformers(&Device::flex());
}

#[cfg(feature = "wgpu")]
#[test]
fn hugging_face_encodec_directories_encode_and_decode_like_transformers_on_wgpu() {
    encodec_directories_encode_and_decode_like_transformers(&common::gpu());
}

/// Each fixture directory loaded as a codec on `device`: codes equal (>= 99.9 % off the CPU, where summation
/// order may flip a near tie: 100 % measured on llvmpipe), audio within 1e-4.
fn encodec_directories_encode_and_decode_like_transformers(device: &Device) {
    let fx = Fixtures::open("encodec/parity.safetensors");
    for (name, _, (_, n), per_bandwidth) in models() {
        let dir = fixture(&format!("encodec/{name}"));
        let loaded = load_model(dir.to_str().unwrap(), None, Parts::All, device).unwrap();
        let codec = &loaded.codec;
        assert!(loaded.source.contains("EnCodec"), "{}", loaded.source);
        assert_eq!((loaded.config.acoustic.name.as_str(), loaded.config.semantic.name.as_str()), ("encodec", "none"));
        assert_eq!(codec.quantizer.num_quantizers(), n);
        let bandwidths = codec.target_bandwidths_kbps.clone();
        assert_eq!(bandwidths.len(), per_bandwidth.len());
        for case in CASES {
            let audio: Tensor<3> = fx.float(&format!("{case}.audio"), device);
            if audio.dims()[2] < codec.hop_length() {
                continue; // shorter than a frame: the codec refuses it (EnCodec would not)
            }
            for (i, (&bw, &n_q)) in bandwidths.iter().zip(&per_bandwidth).enumerate() {
                assert_eq!(codec.checked_codebooks(bw).unwrap(), n_q);
                let codes = codec.encode(audio.clone(), bw).unwrap();
                let (got, want) = (codes_vec(codes.clone()), fx.int(&format!("{name}.{case}.codes.{i}")));
                assert_codes_match(&got, &want, device, &format!("{name} {case} at {bw} kbps"));
                if i + 1 == bandwidths.len() {
                    let decoded = codec.decode(codes).unwrap();
                    let err = max_abs_diff(decoded, fx.float(&format!("{name}.{case}.audio_values"), device));
                    eprintln!("{name} {case}: codec decode max abs error {err:.2e}");
                    assert!(err <= 1e-4, "{name} {case}: decode max abs error {err}");
                }
            }
        }
    }
    // EnCodec 24 kHz's frame rate and bandwidth steps: 75 Hz, 5 bits a code here -> 0.375 kbps a codebook.
    let loaded = load_model(fixture("encodec/causal_wn").to_str().unwrap(), None, Parts::DecoderOnly, device).unwrap();
    assert_eq!(loaded.codec.frame_rate_hz(), 75.0);
    assert!(loaded.codec.encode(Tensor::zeros([1, 1, 960], device), 0.375).is_err());
}

#[test]
fn unsupported_encodec_configs_are_refused_in_one_line() {
    let text = std::fs::read_to_string(fixture("encodec/causal_wn/config.json")).unwrap();
    for (from, to, what) in [
        ("\"audio_channels\": 1", "\"audio_channels\": 2", "2 audio channels"),
        ("\"normalize\": false", "\"normalize\": true", "normalize"),
        ("\"chunk_length_s\": null", "\"chunk_length_s\": 1.0", "chunk_length_s"),
        ("\"pad_mode\": \"reflect\"", "\"pad_mode\": \"circular\"", "circular"),
    ] {
        assert!(text.contains(from), "{from}");
        let err = xcodec_builtin::codec_config_from_hf(&text.replace(from, to)).unwrap_err().to_string();
        assert!(err.contains(what) && !err.contains('\n'), "{err}");
    }
}
