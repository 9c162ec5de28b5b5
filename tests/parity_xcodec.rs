//! End-to-end parity with transformers 5.24.0 `XcodecModel` (tiny seeded models with hop 320, a HuBERT and
//! a WavLM teacher; `tests/reference/gen_teachers.py`) on `speech_en_16k.wav` and `music_chords_16k.wav`
//! at all five bandwidths: semantic features and the quantizer input within 1e-4, codes agree on >= 99.9 %
//! of entries, and decoding the reference codes matches the reference audio within 1e-4. The models load
//! through `load_model` from their Hugging Face-layout directories.

mod common;

use burn::tensor::Device;
use common::fixture;
use common::parity::assert_xcodec_parity;
use xcodec_builtin::{Parts, load_model};

fn check(model: &str, fixtures: &str) {
    let loaded = load_model(fixture(model).to_str().unwrap(), None, Parts::All, &Device::flex()).unwrap();
    assert!(loaded.source.starts_with("Hugging Face model"), "{}", loaded.source);
    assert_xcodec_parity(&loaded.codec, fixtures, model, true);
}

#[test]
fn xcodec_with_hubert_matches_transformers() {
    check("tiny_xcodec_hubert", "xcodec_hubert_e2e.safetensors");
}

#[test]
fn xcodec_with_wavlm_matches_transformers() {
    check("tiny_xcodec_wavlm", "xcodec_wavlm_e2e.safetensors");
}
