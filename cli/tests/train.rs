//! `xcodec train` end to end: a run killed with SIGKILL and resumed logs exactly the losses of an
//! uninterrupted run, and never leaves a half-written checkpoint.

use std::path::Path;
use std::time::{Duration, Instant};

mod support;
use support::{data, losses, ok, setup, xcodec};

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
