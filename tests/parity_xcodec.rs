//! End-to-end parity with transformers 5.24.0 `XcodecModel` (tiny seeded models with hop 320, a HuBERT and
//! a WavLM teacher; `tests/reference/gen_teachers.py`) on `speech_en_16k.wav` and `music_chords_16k.wav`
//! at all five bandwidths: semantic features and the quantizer input within 1e-4, codes agree on >= 99.9 %
//! of entries, and decoding the reference codes matches the reference audio within 1e-4. The models load
//! through `load_model` from their Hugging Face-layout directories, in both spellings the world writes:
//! folded conv weights (`remove_weight_norm()` + `save_pretrained`, as the hf-audio/xcodec-* ports are) and
//! the weight-normed state dict (`parametrizations.weight.original0/1`); the two give the same codes.

mod common;

use burn::tensor::{Device, Int, Tensor};
use common::fixture;
use common::parity::assert_xcodec_parity;
use xcodec_builtin::{Parts, load_model};

fn check(model: &str, fixtures: &str, device: &Device) {
    let loaded = load_model(fixture(model).to_str().unwrap(), None, Parts::All, device).unwrap();
    assert!(loaded.source.starts_with("Hugging Face model"), "{}", loaded.source);
    assert_xcodec_parity(&loaded.codec, fixtures, model, true, device);
}

#[test]
fn xcodec_with_hubert_matches_transformers() {
    check("tiny_xcodec_hubert", "xcodec_hubert_e2e.safetensors", &Device::flex());
}

#[test]
fn xcodec_with_wavlm_matches_transformers() {
    check("tiny_xcodec_wavlm", "xcodec_wavlm_e2e.safetensors", &Device::flex());
}

/// The same on wgpu: every custom CPU kernel hands the GPU's tensors to composed burn ops there.
#[cfg(feature = "wgpu")]
#[test]
fn xcodec_with_hubert_matches_transformers_on_wgpu() {
    check("tiny_xcodec_hubert", "xcodec_hubert_e2e.safetensors", &common::gpu());
}

#[cfg(feature = "wgpu")]
#[test]
fn xcodec_with_wavlm_matches_transformers_on_wgpu() {
    check("tiny_xcodec_wavlm", "xcodec_wavlm_e2e.safetensors", &common::gpu());
}

#[test]
fn weight_normed_xcodec_with_hubert_matches_transformers() {
    check("tiny_xcodec_hubert_wn", "xcodec_hubert_e2e.safetensors", &Device::flex());
}

#[test]
fn weight_normed_xcodec_with_wavlm_matches_transformers() {
    check("tiny_xcodec_wavlm_wn", "xcodec_wavlm_e2e.safetensors", &Device::flex());
}

fn codes(model: &str, audio: &Tensor<3>, bandwidth_kbps: f64) -> Vec<i64> {
    let loaded = load_model(fixture(model).to_str().unwrap(), None, Parts::EncoderOnly, &Device::flex()).unwrap();
    let codes: Tensor<3, Int> = loaded.codec.encode(audio.clone(), bandwidth_kbps).unwrap();
    codes.into_data().convert::<i64>().try_into_vec::<i64>().unwrap()
}

/// The published (folded) file and the weight-normed one are the same model: every code equal.
#[test]
fn folded_and_weight_normed_files_give_identical_codes() {
    let audio = common::parity::read_clip("speech_en_16k.wav", &Device::flex());
    for teacher in ["hubert", "wavlm"] {
        for bandwidth_kbps in [0.25, 2.0] {
            let folded = codes(&format!("tiny_xcodec_{teacher}"), &audio, bandwidth_kbps);
            let weight_normed = codes(&format!("tiny_xcodec_{teacher}_wn"), &audio, bandwidth_kbps);
            assert_eq!(folded, weight_normed, "{teacher} at {bandwidth_kbps} kbps");
        }
    }
}

/// A folded file has no `weight_g`: the magnitudes are recovered from the weights, so the loaded `g * v / ||v||`
/// is the file's weight.
#[test]
fn a_folded_file_holds_plain_weights_and_loads_into_weight_normed_convs() {
    let path = fixture("tiny_xcodec_hubert/model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let names: Vec<String> = file.names().into_iter().map(|s| s.to_string()).collect();
    assert!(names.iter().any(|n| n == "acoustic_encoder.block.0.conv1.weight"), "a folded fixture");
    assert!(!names.iter().any(|n| n.starts_with("acoustic_") && n.contains("original0")), "no acoustic weight norm");
    let loaded =
        load_model(fixture("tiny_xcodec_hubert").to_str().unwrap(), None, Parts::All, &Device::flex()).unwrap();
    let xcodec_builtin::AnyAcousticEncoder::Dac(encoder) = &loaded.codec.acoustic_encoder else {
        panic!("a DAC encoder")
    };
    let view = file.tensor("acoustic_encoder.block.0.conv1.weight").unwrap();
    let want: Vec<f32> = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let got: Vec<f32> = encoder.block[0].conv1.weight().into_data().try_into_vec::<f32>().unwrap();
    let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst <= 1e-6 * want.iter().fold(0f32, |m, x| m.max(x.abs())), "refolded weight differs by {worst}");
}
