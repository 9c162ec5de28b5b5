//! Kill-safety: `encode` of a directory, `decode` and `convert` SIGKILLed at ten points spread over an
//! uninterrupted run's duration; after each kill every final path is complete or absent, and a rerun
//! removes the dead run's temp files and ends with exactly the files of an uninterrupted run.
//! (`tokenize` and `train` have their own kill-and-resume tests in tokenize.rs and train.rs.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod support;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn xcodec() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xcodec"))
}

fn run_ok(args: &[String]) {
    let out = xcodec().args(args).output().unwrap();
    assert!(out.status.success(), "xcodec {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// Every file under `dir` (relative path -> bytes).
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            out.insert(path.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&path).unwrap());
        }
    }
    out
}

/// Runs `args` to the end once for its duration and its files, then kills it at ten points over that
/// duration: `check` sees the output after each kill; the rerun (`rerun` args) must end with the same files.
fn kill_at_ten_points(out: &Path, args: &[String], rerun: &[String], check: &dyn Fn(&Path)) {
    let started = Instant::now();
    run_ok(args);
    let whole = started.elapsed();
    let want = files(out);
    assert!(!want.is_empty());
    for k in 0..10 {
        std::fs::remove_dir_all(out).unwrap();
        let mut child = xcodec().args(args).spawn().unwrap();
        std::thread::sleep(whole.mul_f64(k as f64 / 10.0 + 0.02).max(Duration::from_millis(5)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        check(out);
        run_ok(rerun);
        let got = files(out);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "point {k}: the rerun's files differ (temp files left?)"
        );
        assert!(got == want, "point {k}: a rerun after a kill gives other bytes");
    }
}

/// Six clips of 2 to 12 s.
fn clips(dir: &Path) -> PathBuf {
    let inputs = dir.join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    for i in 0..6 {
        support::speech_wav(&inputs.join(format!("c{i}.wav")), (2 + 2 * i) as f64, 3, i);
    }
    inputs
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn encode_and_decode_killed_anywhere_leave_whole_files_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = clips(dir.path());
    let model = repo().join("tests/fixtures/tiny_xcodec_hubert").display().to_string();
    let codes = dir.path().join("codes");
    let (i, c) = (inputs.to_str().unwrap(), codes.to_str().unwrap());
    let encode = strings(&["encode", "--model", &model, "-o", c, i]);
    let resume = strings(&["encode", "--model", &model, "--skip-existing", "-o", c, i]);
    kill_at_ten_points(&codes, &encode, &resume, &|out| {
        for (name, _) in files(out) {
            let path = out.join(&name);
            let hidden = name.to_string_lossy().starts_with('.');
            assert!(hidden || xcodec_core::codes::read_codes(&path).is_ok(), "{} is not whole", path.display());
        }
    });
    let audio = dir.path().join("audio");
    let a = audio.to_str().unwrap();
    let decode = strings(&["decode", "--model", &model, "-o", a, c]);
    let resume = strings(&["decode", "--model", &model, "--skip-existing", "-o", a, c]);
    kill_at_ten_points(&audio, &decode, &resume, &|out| {
        for (name, _) in files(out) {
            let path = out.join(&name);
            let hidden = name.to_string_lossy().starts_with('.');
            assert!(hidden || xcodec_core::audio::wav_is_complete(&path), "{} is not whole", path.display());
        }
    });
}

#[test]
fn convert_killed_anywhere_leaves_a_loadable_model_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let model = repo().join("tests/fixtures/tiny_xcodec_hubert").display().to_string();
    let out = dir.path().join("converted");
    let o = out.to_str().unwrap();
    let convert = strings(&["convert", "--model", &model, "-o", o]);
    let rerun = strings(&["convert", "--model", &model, "--overwrite", "-o", o]);
    kill_at_ten_points(&out, &convert, &rerun, &|out| {
        // The config is written last: when it is there, the model loads.
        if out.join("config.toml").exists() {
            let info = xcodec().args(["info", out.to_str().unwrap()]).output().unwrap();
            assert!(info.status.success(), "{}", String::from_utf8_lossy(&info.stderr));
        }
    });
}
