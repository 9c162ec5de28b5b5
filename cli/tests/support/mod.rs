//! What the `xcodec train` tests share: the binary, a tiny model and its training data, the logged losses.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The tool under test.
pub fn xcodec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xcodec"))
}

/// `out`, after asserting it succeeded.
pub fn ok(out: Output) -> Output {
    assert!(out.status.success(), "xcodec failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// A bundled clip.
pub fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data").join(name).display().to_string()
}

/// A tiny model made by `xcodec build`, and the train list.
pub fn setup(dir: &Path) -> (PathBuf, Vec<String>) {
    let model = dir.join("model");
    ok(xcodec()
        .args(["build", "--acoustic", "dac", "--semantic", "none", "-o", model.to_str().unwrap()])
        .args(["--set", "acoustic.params.encoder_width=2", "--set", "acoustic.params.latent_dim=8"])
        .args(["--set", "acoustic.params.decoder_width=16", "--set", "quantizer.params.codebook_size=16"])
        .args(["--set", "quantizer.params.num_quantizers=4", "--set", "target_bandwidths_kbps=[0.2, 0.4, 0.8]"])
        .output()
        .unwrap());
    assert!(model.join("train.toml").is_file(), "build writes a train.toml to fill in");
    let list = dir.join("train.txt");
    std::fs::write(
        &list,
        [data("speech_en_16k.wav"), data("speech_de_22k.mp3"), data("music_chords_16k.wav")].join("\n"),
    )
    .unwrap();
    let sets = [
        format!("data.train_list={}", list.display()),
        "data.segment_samples=3200".into(),
        "data.workers=1".into(),
        "train.batch_size=2".into(),
        "train.checkpoint_every=4".into(),
        "train.keep_checkpoints=2".into(),
        "train.valid_every=0".into(),
        "discriminator.mfd.hop_lengths=[32, 64]".into(),
        "discriminator.mfd.hidden_channels=[32, 32]".into(),
    ];
    (model, sets.into_iter().flat_map(|s| ["--set".to_string(), s]).collect())
}

/// Train records as `(step, [(name, value)])`, wall-clock seconds left out.
pub fn losses(run: &Path) -> Vec<(u64, Vec<(String, String)>)> {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let m = v.as_object().unwrap();
            let step = m["step"].as_u64().unwrap();
            let vals = m.iter().filter(|(k, _)| *k != "seconds").map(|(k, v)| (k.clone(), v.to_string())).collect();
            (step, vals)
        })
        .collect()
}
