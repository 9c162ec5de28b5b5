//! `xcodec train` end to end: a run killed with SIGKILL and resumed logs exactly the losses of an
//! uninterrupted run, and never leaves a half-written checkpoint.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn xcodec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xcodec"))
}

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "xcodec failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data").join(name).display().to_string()
}

/// A tiny model made by `xcodec build`, and the train list.
fn setup(dir: &Path) -> (PathBuf, Vec<String>) {
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
fn losses(run: &Path) -> Vec<(u64, Vec<(String, String)>)> {
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

#[test]
fn sigkill_and_resume_gives_the_uninterrupted_losses() {
    let dir = tempfile::tempdir().unwrap();
    let (model, sets) = setup(dir.path());
    let train = |run: &Path| {
        let mut c = xcodec();
        c.args(["train", "--model", model.to_str().unwrap(), "--max-steps", "12", "-o", run.to_str().unwrap()])
            .args(&sets);
        c
    };
    let straight = dir.path().join("straight");
    ok(train(&straight).output().unwrap());

    let killed = dir.path().join("killed");
    let mut child =
        train(&killed).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let first = killed.join("checkpoints/step-00000004/state.json");
    let start = Instant::now();
    while !first.exists() {
        assert!(start.elapsed() < Duration::from_secs(300), "no checkpoint after 300 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success(), "the run was killed before it finished");
    let logged = losses(&killed).len();
    assert!(logged < 12, "killed mid-run ({logged} steps logged)");

    // Every checkpoint that exists is complete; leftovers of the killed write are only temp dirs.
    for entry in std::fs::read_dir(killed.join("checkpoints")).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("step-") {
            for f in [
                "config.toml",
                "model.safetensors",
                "discriminators.safetensors",
                "optimizer_generator.bpk",
                "state.json",
            ] {
                assert!(entry.path().join(f).is_file(), "{name}/{f} missing");
            }
        } else {
            assert!(name.starts_with(".tmp-step-"), "unexpected {name}");
        }
    }

    let mut resume = xcodec();
    resume.args(["train", "--resume", "-o", killed.to_str().unwrap()]);
    ok(resume.output().unwrap());
    assert_eq!(losses(&killed), losses(&straight));
    let kept: Vec<String> = std::fs::read_dir(killed.join("checkpoints"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept.len(), 2, "keep_checkpoints = 2 and no leftovers: {kept:?}");

    // The last checkpoint is a model directory `encode` takes.
    let codes = dir.path().join("codes");
    ok(xcodec()
        .args([
            "encode",
            "--model",
            killed.join("checkpoints/step-00000012").to_str().unwrap(),
            "-o",
            codes.to_str().unwrap(),
        ])
        .arg(data("speech_en_16k.wav"))
        .output()
        .unwrap());
    assert!(codes.join("speech_en_16k.npy").is_file());
}

#[test]
fn train_errors_name_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = setup(dir.path());
    let run = dir.path().join("run");
    let out =
        xcodec().args(["train", "--model", model.to_str().unwrap(), "-o", run.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("data.train_list"), "{err}");
    assert!(!run.exists(), "nothing written for a run that cannot start");
    let out = xcodec().args(["train", "--resume", "-o", run.to_str().unwrap()]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to resume"));
    let out = xcodec()
        .args(["train", "--model", model.to_str().unwrap(), "--set", "train.batch_sise=2", "-o", run.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("batch_sise"));
}
