//! HuBERT and WavLM hidden-state parity with transformers 5.24.0 (`HubertModel`, `WavLMModel`) on four
//! tiny seeded teachers (base: group norm + post-norm; large: layer norm + pre-norm), made by
//! `tests/reference/gen_teachers.py`: every hidden state within 1e-4, and the X-Codec feature (mean of all
//! hidden states of the hop/2-padded input) too.

mod common;

use burn::tensor::ops::PadMode;
use burn::tensor::{Device, Tensor};
use common::{Fixtures, fixture, max_abs_diff};
use xcodec_builtin::{Layout, load_weights};
use xcodec_core::SemanticTeacher;
use xcodec_hubert::{SslTeacher, TeacherConfig, TeacherKind};

fn teacher(name: &str, kind: TeacherKind, weights_file: &str, device: &Device) -> SslTeacher {
    let dir = fixture(&format!("teachers/{name}"));
    let text = std::fs::read_to_string(dir.join("config.json")).unwrap();
    let cfg = TeacherConfig::from_hf_json(&text, kind).unwrap();
    let mut model = SslTeacher::new(&cfg, kind, device);
    load_weights(&mut model, &dir.join(weights_file), Layout::HuggingFace, "").unwrap();
    model
}

fn check(name: &str, kind: TeacherKind, weights_file: &str) {
    let device = Device::flex();
    let fx = Fixtures::open("teachers_parity.safetensors");
    let fx_name = name.trim_end_matches("_bin").trim_end_matches("_folded");
    let model = teacher(name, kind, weights_file, &device);
    for tag in ["even", "ragged"] {
        let input: Tensor<2> = fx.float(&format!("{tag}.input"), &device);
        let hidden = model.hidden_states(input.clone());
        assert_eq!(hidden.len(), 4, "embedding output + 3 layers");
        for (i, h) in hidden.into_iter().enumerate() {
            let want: Tensor<3> = fx.float(&format!("{fx_name}.{tag}.hidden.{i}"), &device);
            let err = max_abs_diff(h, want);
            eprintln!("{name} {tag} hidden {i}: max abs error {err:.2e}");
            assert!(err <= 1e-4, "{name} {tag} hidden state {i}: max abs error {err}");
        }
        let padded = input.pad([(160, 160)], PadMode::Constant(0.0));
        let feature = model.features(padded).expect("a teacher gives features");
        let err = max_abs_diff(feature, fx.float(&format!("{fx_name}.{tag}.xcodec_feature"), &device));
        assert!(err <= 1e-4, "{name} {tag} X-Codec feature: max abs error {err}");
    }
}

#[test]
fn hubert_base_matches_transformers() {
    check("hubert_base", TeacherKind::Hubert, "model.safetensors");
}

/// The positional conv's weight norm (`dim=2`) folded into one plain `weight`.
#[test]
fn hubert_base_with_a_folded_positional_conv_matches_transformers() {
    check("hubert_base_folded", TeacherKind::Hubert, "model.safetensors");
}

#[test]
fn hubert_large_matches_transformers() {
    check("hubert_large", TeacherKind::Hubert, "model.safetensors");
}

#[test]
fn wavlm_base_matches_transformers() {
    check("wavlm_base", TeacherKind::Wavlm, "model.safetensors");
}

#[test]
fn wavlm_large_matches_transformers() {
    check("wavlm_large", TeacherKind::Wavlm, "model.safetensors");
}

#[test]
fn a_legacy_pytorch_model_bin_loads_the_same_teacher() {
    check("hubert_base_bin", TeacherKind::Hubert, "pytorch_model.bin");
}

#[test]
fn a_config_of_the_other_kind_is_refused() {
    let text = std::fs::read_to_string(fixture("teachers/wavlm_base/config.json")).unwrap();
    let err = TeacherConfig::from_hf_json(&text, TeacherKind::Hubert).unwrap_err().to_string();
    assert!(err.contains("use --semantic wavlm"), "{err}");
}
