//! `xcodec build --init-acoustic MODEL`: the X-Codec recipe on a pretrained codec. The composed codec's
//! acoustic encoder and decoder are the source's bit for bit, a shape that does not fit is refused with every
//! mismatch in one line, and the result trains.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn xcodec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xcodec")).args(args).output().expect("xcodec runs")
}

fn ok(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "xcodec failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// The acoustic tensors (name -> raw bytes) of one of our model directories.
fn acoustic_tensors(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    file.tensors()
        .into_iter()
        .filter(|(name, _)| name.starts_with("acoustic_encoder.") || name.starts_with("acoustic_decoder."))
        .map(|(name, view)| (name, view.data().to_vec()))
        .collect()
}

#[test]
fn the_acoustic_half_comes_from_the_source_bit_for_bit_and_trains() {
    let dir = tempfile::tempdir().unwrap();
    let source = repo("tests/fixtures/tiny_xcodec_hubert"); // a published-style (folded) X-Codec port
    let teacher = format!("semantic.params.pretrained=\"{}\"", repo("tests/fixtures/teachers/hubert_base").display());
    let (converted, built) = (dir.path().join("source"), dir.path().join("built"));
    ok(xcodec(&["convert", "--model", source.to_str().unwrap(), "-o", converted.to_str().unwrap()]));
    let said = ok(xcodec(&[
        "build",
        "--semantic",
        "hubert",
        "--init-acoustic",
        source.to_str().unwrap(),
        "--set",
        &teacher,
        "-o",
        built.to_str().unwrap(),
    ]));
    assert!(said.contains("acoustic weights from Hugging Face model"), "{said}");
    let (want, got) = (acoustic_tensors(&converted), acoustic_tensors(&built));
    assert!(!want.is_empty());
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "the same acoustic tensors");
    for (name, bytes) in &want {
        assert!(got[name] == *bytes, "{name} differs from the source");
    }

    // One training step from there.
    let list = dir.path().join("train.txt");
    std::fs::write(&list, repo("tests/data/speech_en_16k.wav").display().to_string()).unwrap();
    let run = dir.path().join("run");
    let sets = [
        format!("data.train_list={}", list.display()),
        "data.segment_samples=3200".into(),
        "data.workers=1".into(),
        "train.batch_size=2".into(),
        "train.valid_every=0".into(),
        "discriminator.mfd.hop_lengths=[32, 64]".into(),
        "discriminator.mfd.hidden_channels=[32, 32]".into(),
    ];
    let mut args = vec!["train", "--model", built.to_str().unwrap(), "--max-steps", "1", "-o", run.to_str().unwrap()];
    for s in &sets {
        args.extend(["--set", s.as_str()]);
    }
    ok(xcodec(&args));
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert!(metrics.lines().any(|l| l.contains("\"step\":1")), "one step logged: {metrics}");
}

#[test]
fn a_shape_that_does_not_fit_is_listed_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let source = repo("tests/fixtures/tiny_xcodec_hubert");
    let out = xcodec(&[
        "build",
        "--semantic",
        "none",
        "--init-acoustic",
        source.to_str().unwrap(),
        "--set",
        "acoustic.params.latent_dim=6",
        "-o",
        dir.path().join("m").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--init-acoustic") && stderr.contains("acoustic_encoder.conv2"), "{stderr}");
    assert!(!dir.path().join("m").exists(), "nothing written");

    let out = xcodec(&[
        "build",
        "--acoustic",
        "soundstream",
        "--semantic",
        "none",
        "--init-acoustic",
        source.to_str().unwrap(),
        "-o",
        dir.path().join("n").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("'dac' acoustic part"), "{stderr}");
}
