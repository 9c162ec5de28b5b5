//! Checkpoint formats: the original X-Codec `.pth` (+ yaml), the Hugging Face layout (directory or hub id
//! from the cache), our own layout after `convert`, decode-only loading, and the errors for mismatched files.
//! The original-layout fixture holds the same weights as `tiny_xcodec_hubert` (renamed by
//! `tests/reference/gen_original.py`), so the same reference outputs apply.

mod common;

use burn::tensor::{Device, Distribution, Tensor};
use common::fixture;
use common::parity::assert_xcodec_parity;
use std::path::Path;
use xcodec_builtin::{AnySemanticTeacher, Parts, load_model, save_model_dir};

const PTH: &str = "original_hubert/xcodec_tiny.pth";
const E2E: &str = "xcodec_hubert_e2e.safetensors";

fn load(spec: &Path, parts: Parts) -> xcodec_builtin::LoadedModel {
    load_model(spec.to_str().unwrap(), None, parts, &Device::flex()).unwrap()
}

#[test]
fn original_pth_with_its_yaml_matches_the_reference() {
    let loaded = load(&fixture(PTH), Parts::All);
    assert!(loaded.source.starts_with("original X-Codec checkpoint"));
    let dac = &loaded.config.acoustic.params;
    assert_eq!((dac["encoder_width"].as_integer(), dac["decoder_width"].as_integer()), (Some(4), Some(32)));
    assert_xcodec_parity(&loaded.codec, E2E, "original .pth", true, &Device::flex());
}

#[test]
fn converted_models_match_the_reference_and_decoder_only_is_small() {
    let loaded = load(&fixture(PTH), Parts::All);
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    save_model_dir(&full, &loaded.config, &loaded.codec).unwrap();
    let converted = load(&full, Parts::All);
    assert!(converted.source.starts_with("xcodec model"));
    assert_xcodec_parity(&converted.codec, E2E, "converted", true, &Device::flex());

    let mut config = loaded.config.clone();
    config.decoder_only = true;
    let small = dir.path().join("decoder");
    save_model_dir(&small, &config, &loaded.codec).unwrap();
    let size = |d: &Path| std::fs::metadata(d.join("model.safetensors")).unwrap().len();
    assert!(size(&small) * 3 < size(&full), "decoder-only {} vs full {} bytes", size(&small), size(&full));
    let decoder = load(&small, Parts::All);
    assert!(decoder.codec.decoder_only && decoder.config.decoder_only);
    assert!(matches!(decoder.codec.semantic_teacher, AnySemanticTeacher::Absent(_)), "no teacher is built");
    assert_xcodec_parity(&decoder.codec, E2E, "decoder-only", false, &Device::flex());
    let audio = Tensor::<3>::random([1, 1, 3200], Distribution::Normal(0.0, 0.1), &Device::flex());
    let err = decoder.codec.encode(audio, 2.0).unwrap_err().to_string();
    assert!(err.contains("decoding only"), "{err}");
}

#[test]
fn decode_only_loading_skips_the_teacher_of_a_full_checkpoint() {
    let loaded = load(&fixture(PTH), Parts::DecoderOnly);
    assert!(matches!(loaded.codec.semantic_teacher, AnySemanticTeacher::Absent(_)));
    assert_xcodec_parity(&loaded.codec, E2E, "original .pth, decode only", false, &Device::flex());
}

#[test]
fn a_hub_id_resolves_from_the_cache_without_network() {
    // The layout huggingface_hub (and hf-hub) write: models--org--name/{refs/main, snapshots/<hash>/...}.
    let cache = tempfile::tempdir().unwrap();
    let repo = cache.path().join("models--hf-audio--xcodec-tiny");
    let hash = "2222222222222222222222222222222222222222";
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), hash).unwrap();
    let snapshot = repo.join("snapshots").join(hash);
    std::fs::create_dir_all(&snapshot).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(fixture("tiny_xcodec_hubert").join(f), snapshot.join(f)).unwrap();
    }
    // SAFETY: the only test in this binary that touches the environment; others use paths, not hub ids.
    unsafe {
        std::env::set_var("HF_HUB_CACHE", cache.path());
        std::env::set_var("HF_HUB_OFFLINE", "1");
    }
    let loaded = load_model("hf-audio/xcodec-tiny", None, Parts::All, &Device::flex()).unwrap();
    assert_eq!(loaded.source, "Hugging Face model hf-audio/xcodec-tiny");
    assert_xcodec_parity(&loaded.codec, E2E, "hub id", false, &Device::flex());
    let pinned = format!("hf-audio/xcodec-tiny@{hash}");
    assert!(load_model(&pinned, None, Parts::DecoderOnly, &Device::flex()).is_ok());
    let err = load_model("hf-audio/not-cached", None, Parts::All, &Device::flex()).err().unwrap().to_string();
    assert!(err.contains("not in the Hugging Face cache"), "{err}");
}

#[test]
fn the_wrong_teacher_and_an_untrained_codebook_are_named() {
    let dir = tempfile::tempdir().unwrap();
    // WavLM config with HuBERT weights: the WavLM-only tensors are missing.
    let mixed = dir.path().join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    std::fs::copy(fixture("tiny_xcodec_wavlm/config.json"), mixed.join("config.json")).unwrap();
    std::fs::copy(fixture("tiny_xcodec_hubert/model.safetensors"), mixed.join("model.safetensors")).unwrap();
    let err = load_model(mixed.to_str().unwrap(), None, Parts::All, &Device::flex()).err().unwrap().to_string();
    assert!(
        err.contains("missing from the file") && err.contains("gru_rel_pos") && err.contains("wrong teacher"),
        "{err}"
    );

    // A codebook with inited = 0.
    let bytes = std::fs::read(fixture("tiny_xcodec_hubert/model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let zero = 0f32.to_le_bytes();
    let tensors: Vec<(String, safetensors::tensor::TensorView)> = st
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            if name == "quantizer.quantizers.3.codebook.inited" {
                (name, safetensors::tensor::TensorView::new(view.dtype(), view.shape().to_vec(), &zero).unwrap())
            } else {
                (name, view)
            }
        })
        .collect();
    let untrained = dir.path().join("untrained");
    std::fs::create_dir_all(&untrained).unwrap();
    std::fs::copy(fixture("tiny_xcodec_hubert/config.json"), untrained.join("config.json")).unwrap();
    safetensors::serialize_to_file(tensors, None, &untrained.join("model.safetensors")).unwrap();
    let err = load_model(untrained.to_str().unwrap(), None, Parts::All, &Device::flex()).err().unwrap().to_string();
    assert!(err.contains("codebook 3 was never initialised"), "{err}");

    // A .pth without its yaml, and a path that is nothing.
    let lonely = dir.path().join("x.pth");
    std::fs::copy(fixture(PTH), &lonely).unwrap();
    let err = load_model(lonely.to_str().unwrap(), None, Parts::All, &Device::flex()).err().unwrap().to_string();
    assert!(err.contains("needs its yaml config") && err.contains("--config"), "{err}");
    let yaml = fixture("original_hubert/config.yaml");
    // With --config the yaml's relative teacher path resolves next to the yaml, not the .pth.
    assert!(load_model(lonely.to_str().unwrap(), Some(&yaml), Parts::DecoderOnly, &Device::flex()).is_ok());
    let err = load_model("./nowhere", None, Parts::All, &Device::flex()).err().unwrap().to_string();
    assert!(err.contains("no such file or directory"), "{err}");
}

#[test]
fn encode_only_loading_gives_the_full_models_codes_and_refuses_to_decode() {
    let device = Device::flex();
    device.seed(5);
    let audio = Tensor::<3>::random([1, 1, 8000], Distribution::Normal(0.0, 0.1), &device);
    for spec in [fixture(PTH), fixture("tiny_xcodec_hubert")] {
        let full = load(&spec, Parts::All).codec;
        let encoder = load(&spec, Parts::EncoderOnly).codec;
        assert!(encoder.encoder_only && !full.encoder_only);
        let codes = |codec: &xcodec_builtin::Codec| {
            codec.encode(audio.clone(), 2.0).unwrap().into_data().convert::<i64>().try_to_vec::<i64>().unwrap()
        };
        assert_eq!(codes(&encoder), codes(&full), "{}", spec.display());
        let err = encoder.decode(full.encode(audio.clone(), 2.0).unwrap()).unwrap_err().to_string();
        assert!(err.contains("loaded for encoding only") && !err.contains('\n'), "{err}");
    }
}
