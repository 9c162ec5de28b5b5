//! End-to-end parity with transformers 5.24.0 `XcodecModel` (tiny seeded models with hop 320, a HuBERT and
//! a WavLM teacher; `tests/reference/gen_teachers.py`) on `speech_en_16k.wav` and `music_chords_16k.wav`
//! at all five bandwidths: semantic features and the quantizer input within 1e-4, codes agree on >= 99.9 %
//! of entries, and decoding the reference codes matches the reference audio within 1e-4.

mod common;

use burn::tensor::{Device, Int, Tensor, TensorData};
use common::{Fixtures, fixture, max_abs_diff};
use xcodec_builtin::{Codec, Layout, codec_config_from_hf, load_weights};

/// A bundled clip (copies of `../shared/data`) as the reference read it (soundfile: int16 / 32768), `[1, 1, samples]`.
fn read_clip(name: &str, device: &Device) -> Tensor<3> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(name);
    let mut reader = hound::WavReader::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let samples: Vec<f32> = reader.samples::<i16>().map(|s| s.unwrap() as f32 / 32768.0).collect();
    let n = samples.len();
    Tensor::from_data(TensorData::new(samples, [1, 1, n]), device)
}

fn load(model: &str, device: &Device) -> Codec {
    let dir = fixture(model);
    let cfg = codec_config_from_hf(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let mut codec = xcodec_builtin::build(&cfg, device).unwrap();
    load_weights(&mut codec, &dir.join("model.safetensors"), Layout::HuggingFace, "").unwrap();
    codec
}

fn codes_tensor(values: Vec<i64>, shape: [usize; 3], device: &Device) -> Tensor<3, Int> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

fn check(model: &str, fixtures: &str) {
    let device = Device::flex();
    let codec = load(model, &device);
    let fx = Fixtures::open(fixtures);
    let bandwidths = codec.target_bandwidths_kbps.clone();
    for (clip, file) in [("speech", "speech_en_16k.wav"), ("music", "music_chords_16k.wav")] {
        let audio = read_clip(file, &device);
        let semantic = codec.teacher_features(&audio).expect("teacher");
        let err = max_abs_diff(semantic.clone(), fx.float(&format!("{clip}.semantic"), &device));
        eprintln!("{model} {clip}: semantic feature max abs error {err:.2e}");
        assert!(err <= 1e-4, "{model} {clip}: semantic features, max abs error {err}");
        let joint = codec.joint_embedding(audio.clone(), Some(semantic));
        let err = max_abs_diff(joint, fx.float(&format!("{clip}.embeddings"), &device));
        eprintln!("{model} {clip}: quantizer input max abs error {err:.2e}");
        assert!(err <= 1e-4, "{model} {clip}: quantizer input, max abs error {err}");

        for (i, &bw) in bandwidths.iter().enumerate() {
            let want = fx.int(&format!("{clip}.codes.{i}"));
            let codes = codec.encode(audio.clone(), bw).unwrap();
            let shape = codes.dims();
            let got: Vec<i64> = codes.into_data().convert::<i64>().try_to_vec::<i64>().unwrap();
            assert_eq!(got.len(), want.len(), "{clip} at {bw} kbps: code count");
            let agree = got.iter().zip(&want).filter(|(a, b)| a == b).count() as f64 / want.len() as f64;
            eprintln!("{model} {clip} {bw} kbps: {shape:?} codes, agreement {:.4} %", agree * 100.0);
            assert!(agree >= 0.999, "{clip} at {bw} kbps: codes agree on {:.3} %", agree * 100.0);

            // Decoding the reference codes must give the reference audio.
            let decoded = codec.decode(codes_tensor(want, shape, &device)).unwrap();
            let (key, start) = match clip {
                "speech" => (format!("speech.decoded_window.{i}"), 16000),
                _ if i + 1 == bandwidths.len() => ("music.decoded_full".to_string(), 0),
                _ => continue,
            };
            let want_audio: Tensor<3> = fx.float(&key, &device);
            let len = want_audio.dims()[2];
            let err = max_abs_diff(decoded.narrow(2, start, len), want_audio);
            eprintln!("{model} {clip} {bw} kbps: decode max abs error {err:.2e}");
            assert!(err <= 1e-4, "{key}: decode max abs error {err}");
        }
    }
}

#[test]
fn xcodec_with_hubert_matches_transformers() {
    check("tiny_xcodec_hubert", "xcodec_hubert_e2e.safetensors");
}

#[test]
fn xcodec_with_wavlm_matches_transformers() {
    check("tiny_xcodec_wavlm", "xcodec_wavlm_e2e.safetensors");
}
