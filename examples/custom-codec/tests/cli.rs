//! The example binary end to end: `list` shows the toy parts, `build` composes toy + bands + fsq, `train`
//! runs two steps, and the checkpoint encodes a clip into FSQ codes and decodes them to whole frames of audio.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn xcodec_custom(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xcodec-custom")).args(args).output().expect("xcodec-custom runs")
}

/// `args`' output, which must have succeeded.
fn ok(args: &[&str]) -> String {
    let out = xcodec_custom(args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn clip(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data").join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn list_build_train_encode_decode_with_the_toy_parts() {
    let listed = ok(&["list"]);
    for line in ["toy ", "bands ", "fsq ", "dac ", "rvq "] {
        assert!(listed.contains(line), "`list` lacks {line:?}:\n{listed}");
    }

    let dir = tempfile::tempdir().unwrap();
    let (model, run) = (dir.path().join("model"), dir.path().join("run"));
    let built = ok(&["build", "--acoustic", "toy", "--semantic", "bands", "--quantizer", "fsq", "-o", s(&model)]);
    assert!(built.starts_with("built toy + bands + fsq"), "{built}");

    let list = dir.path().join("train.txt");
    std::fs::write(
        &list,
        [clip("speech_en_16k.wav"), clip("music_chords_16k.wav")].map(|p| p.display().to_string()).join("\n"),
    )
    .unwrap();
    let sets = [
        format!("data.train_list={}", list.display()),
        "data.segment_samples=3200".into(),
        "data.workers=1".into(),
        "train.batch_size=2".into(),
        "train.valid_every=0".into(),
        "discriminator.mfd.hop_lengths=[32, 64]".into(),
        "discriminator.mfd.hidden_channels=[32, 32]".into(),
    ];
    let mut args = vec!["train", "--model", s(&model), "--max-steps", "2", "-o", s(&run)];
    args.extend(sets.iter().flat_map(|v| ["--set", v.as_str()]));
    let trained = ok(&args);
    assert!(trained.starts_with("trained 2 steps"), "{trained}");
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let last = metrics.lines().last().expect("a metrics line");
    for key in ["\"total\":", "\"semantic\":", "\"commitment\":"] {
        let value: f64 = last
            .split(key)
            .nth(1)
            .and_then(|r| r.split([',', '}']).next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN);
        assert!(value.is_finite(), "{key} is not a finite number in {last}");
    }

    // Encode from the checkpoint at the top bandwidth: 8 groups (4 kbps / 0.5 kbps), 625-entry codes.
    let checkpoint = run.join("checkpoints/step-00000002");
    let (codes, audio) = (dir.path().join("codes"), dir.path().join("audio"));
    ok(&["encode", "--model", s(&checkpoint), "-o", s(&codes), s(&clip("music_chords_16k.wav"))]);
    let bytes = std::fs::read(codes.join("music_chords_16k.npy")).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    // 3 s at hop 320, plus one: with a teacher the composite pads the audio by half a hop on each side (as
    // X-Codec does), so both the teacher and the toy encoder see 48000 + 320 samples.
    let frames = 3 * 16000 / 320 + 1;
    assert_eq!(npy.shape(), &[8, frames as u64]);
    let values: Vec<u16> = npy.into_vec().unwrap();
    assert!(values.iter().all(|&c| c < 625), "codes out of range");
    assert!(values.iter().any(|&c| c != values[0]), "all codes are equal: the toy codec carries nothing");

    ok(&["decode", "--model", s(&checkpoint), "-o", s(&audio), s(&codes)]);
    let wav = hound::WavReader::open(audio.join("music_chords_16k.wav")).unwrap();
    assert_eq!(wav.spec().sample_rate, 16000);
    assert_eq!(wav.duration() as usize, frames * 320);

    // A wrong part name still lists the known ones, the toy parts among them, on one line.
    let out = xcodec_custom(&[
        "build",
        "--acoustic",
        "toyy",
        "--semantic",
        "bands",
        "--quantizer",
        "fsq",
        "-o",
        s(&dir.path().join("bad")),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("did you mean 'toy'") && err.lines().count() == 1, "{err}");
}
