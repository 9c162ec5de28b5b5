//! The `xcodec` binary end to end: list, build, info, and the one-line errors.

use std::process::{Command, Output};

fn xcodec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xcodec")).args(args).output().expect("xcodec runs")
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn list_groups_parts_by_role() {
    let out = xcodec(&["list"]);
    let (stdout, _) = text(&out);
    assert!(out.status.success());
    for needle in ["acoustic:", "  dac ", "semantic:", "  none ", "quantizer:", "  rvq "] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
}

#[test]
fn build_then_info_reports_the_xcodec_shape() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m");
    let m = model.to_str().unwrap();
    let out = xcodec(&["build", "--acoustic", "dac", "--semantic", "none", "-o", m]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(model.join("config.toml").is_file() && model.join("model.safetensors").is_file());
    let out = xcodec(&["info", m]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    for needle in [
        "sample rate:  16000 Hz",
        "hop:          320 samples",
        "frame rate:   50 Hz",
        "8 x 1024 (10 bits, 0.5 kbps each)",
        "0.5 kbps (1 cb), 1 kbps (2 cb), 1.5 kbps (3 cb), 2 kbps (4 cb), 4 kbps (8 cb)",
        "acoustic_encoder",
        "total",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in\n{stdout}");
    }
}

#[test]
fn build_is_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let small = ["--set", "acoustic.params.encoder_width=4", "--set", "acoustic.params.decoder_width=64"];
    let mut files = vec![];
    for (name, seed) in [("a", "5"), ("b", "5"), ("c", "6")] {
        let path = dir.path().join(name);
        let mut args = vec!["build", "--semantic", "none", "--seed", seed, "-o", path.to_str().unwrap()];
        args.extend(small);
        assert!(xcodec(&args).status.success());
        files.push(std::fs::read(path.join("model.safetensors")).unwrap());
    }
    assert!(files[0] == files[1], "same seed, same weights");
    assert!(files[0] != files[2], "another seed, other weights");
}

#[test]
fn unknown_names_get_one_line_with_the_alternatives_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("m");
    let out = xcodec(&["build", "--acoustic", "dca", "--semantic", "none", "-o", out_dir.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("unknown acoustic 'dca'") && stderr.contains("registered acoustic parts are dac"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean 'dac'"), "{stderr}");
    assert!(!out_dir.exists(), "nothing written on error");
}

#[test]
fn bad_config_values_and_missing_models_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m");
    let out = xcodec(&["build", "--semantic", "none", "--set", "acoustic.params.bogus=1", "-o", m.to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("unknown field `bogus`"), "{stderr}");
    let out = xcodec(&["info", dir.path().join("nowhere").to_str().unwrap()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no such file or directory"), "{stderr}");
}

/// Copies a fixture teacher into a fresh Hugging Face cache as `repo_id` (refs/main -> snapshots/<hash>).
fn cache_with(repo_id: &str, fixture: &str) -> tempfile::TempDir {
    let cache = tempfile::tempdir().unwrap();
    let repo = cache.path().join(format!("models--{}", repo_id.replace('/', "--")));
    let hash = "1111111111111111111111111111111111111111";
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), hash).unwrap();
    let snap = repo.join("snapshots").join(hash);
    std::fs::create_dir_all(&snap).unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/teachers").join(fixture);
    for f in std::fs::read_dir(src).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), snap.join(f.file_name())).unwrap();
    }
    cache
}

const SMALL_DAC: [&str; 4] = ["--set", "acoustic.params.encoder_width=4", "--set", "acoustic.params.decoder_width=64"];

/// Loads a built model and runs encode + decode on 0.5 s of noise: the model is usable.
fn encodes_and_decodes(model: &std::path::Path) -> usize {
    use burn::tensor::{Device, Distribution, Tensor};
    let device = Device::flex();
    let (_, codec) = xcodec_builtin::load_model_dir(model, &device).unwrap();
    let audio = Tensor::<3>::random([1, 1, 8000], Distribution::Normal(0.0, 0.1), &device);
    let codes = codec.encode(audio, 4.0).unwrap();
    assert_eq!(codes.dims(), [1, 8, 25]);
    assert_eq!(codec.decode(codes).unwrap().dims(), [1, 1, 8000]);
    xcodec_core::SemanticTeacher::hidden_size(&codec.semantic_teacher)
}

#[test]
fn build_with_a_cached_pretrained_teacher_takes_its_shape_and_weights() {
    for (part, repo_id, fixture) in
        [("hubert", "facebook/hubert-base-ls960", "hubert_base"), ("wavlm", "microsoft/wavlm-base-plus", "wavlm_base")]
    {
        let cache = cache_with(repo_id, fixture);
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m");
        let mut args = vec!["build", "--acoustic", "dac", "--semantic", part, "-o", model.to_str().unwrap()];
        args.extend(SMALL_DAC);
        let out = Command::new(env!("CARGO_BIN_EXE_xcodec"))
            .args(&args)
            .env("HF_HUB_CACHE", cache.path())
            .env("HF_HUB_OFFLINE", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{part}: {:?}", text(&out));
        let config = std::fs::read_to_string(model.join("config.toml")).unwrap();
        assert!(
            config.contains(&format!("pretrained = \"{repo_id}\"")) && config.contains("hidden_size = 32"),
            "{config}"
        );
        assert_eq!(encodes_and_decodes(&model), 32, "{part}: the teacher has the cached model's width");
    }
}

#[test]
fn build_with_a_random_teacher_and_the_missing_weights_error() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m");
    let mut args = vec!["build", "--semantic", "wavlm", "-o", model.to_str().unwrap()];
    args.extend(SMALL_DAC);
    args.extend([
        "--set",
        "semantic.params.pretrained=\"\"",
        "--set",
        "semantic.params.num_hidden_layers=2",
        "--set",
        "semantic.params.conv_dim=[32,32,32,32,32,32,32]",
    ]);
    let out = xcodec(&args);
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(encodes_and_decodes(&model), 768);

    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xcodec"))
        .args(["build", "--semantic", "hubert", "-o", dir.path().join("n").to_str().unwrap()])
        .env("HF_HUB_CACHE", empty.path())
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("facebook/hubert-base-ls960") && stderr.contains("HF_HUB_OFFLINE"), "{stderr}");
    assert!(
        stderr.contains("semantic.params.pretrained=") && stderr.contains("local directory"),
        "the way on offline: {stderr}"
    );
}
