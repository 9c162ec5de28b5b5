//! descript DAC through the `xcodec` binary: the tiny transformers `DacModel` directory and descript `.pth` of
//! `tests/reference/gen_dac_codec.py` (16 kHz, hop 40, 4 x 64 codebooks) encode and decode every bundled clip,
//! give the same codes, show in `info`, convert to our layout, and fine-tune.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;
use support::npy_codes;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn hf_model() -> String {
    repo().join("tests/fixtures/tiny_dac").display().to_string()
}

fn descript_model() -> String {
    repo().join("tests/fixtures/tiny_dac_descript/weights.pth").display().to_string()
}

fn xcodec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xcodec")).args(args).output().expect("xcodec runs")
}

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "xcodec failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Duration in samples of a decoded WAV.
fn wav_len(path: &Path) -> usize {
    hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).duration() as usize
}

/// Encodes and decodes the bundled clips with `model` into `dir/codes`, `dir/audio`.
fn round_trip(model: &str, dir: &Path) -> (PathBuf, PathBuf) {
    let (codes, audio) = (dir.join("codes"), dir.join("audio"));
    let data = repo().join("tests/data");
    let out = ok(xcodec(&["encode", "--model", model, "-o", codes.to_str().unwrap(), data.to_str().unwrap()]));
    assert!(stdout(&out).contains("encoded 5 files"), "{}", stdout(&out));
    ok(xcodec(&["decode", "--model", model, "-o", audio.to_str().unwrap(), codes.to_str().unwrap()]));
    (codes, audio)
}

const CLIPS: [(&str, f64); 5] = [
    ("speech_en_16k", 150769.0 / 16000.0),
    ("music_chords_16k", 3.0),
    ("speech_en_44k_stereo", 438_222.0 / 44100.0),
    ("speech_de_22k", 3.8),
    ("speech_fr_8k", 3.5),
];

#[test]
fn dac_models_round_trip_the_bundled_clips_with_the_same_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (hf_codes, hf_audio) = round_trip(&hf_model(), &dir.path().join("hf"));
    let (descript_codes, _) = round_trip(&descript_model(), &dir.path().join("descript"));
    for (name, seconds) in CLIPS {
        let got = wav_len(&hf_audio.join(format!("{name}.wav"))) as f64;
        let want = seconds * 16000.0;
        // Within one frame (40 samples); MP3/Ogg durations above are rounded, so allow that rounding too.
        let slack = 40.0 + if name.ends_with("_16k") || name.ends_with("stereo") { 0.0 } else { 0.05 * 16000.0 };
        assert!((got - want).abs() <= slack, "{name}: decoded {got} samples, input {want}");
        let codes = npy_codes(&hf_codes.join(format!("{name}.npy")));
        // 4 codebooks at the default (highest) bandwidth, 400 frames/s.
        assert!((codes.len() as f64 - 4.0 * seconds * 400.0).abs() <= 4.0 * 21.0, "{name}: {} codes", codes.len());
        assert!(codes.iter().all(|&c| c < 64));
        assert_eq!(codes, npy_codes(&descript_codes.join(format!("{name}.npy"))), "{name}: the two layouts' codes");
    }
}

#[test]
fn info_convert_and_fine_tune_work_on_a_dac_model() {
    let dir = tempfile::tempdir().unwrap();
    let info = stdout(&ok(xcodec(&["info", &hf_model()])));
    for want in [
        "Hugging Face DAC model",
        "acoustic dac, semantic none, quantizer dac_vq",
        "frame rate:   400 Hz",
        "4 x 64 (6 bits, 2.4 kbps each)",
        "2.4 kbps (1 cb), 4.8 kbps (2 cb), 7.2 kbps (3 cb), 9.6 kbps (4 cb)",
    ] {
        assert!(info.contains(want), "{want}: {info}");
    }
    assert!(stdout(&ok(xcodec(&["info", &descript_model()]))).contains("descript DAC checkpoint"));

    // Converted to our layout, the model gives the same codes.
    let converted = dir.path().join("converted");
    ok(xcodec(&["convert", "--model", &descript_model(), "-o", converted.to_str().unwrap()]));
    let clip = repo().join("tests/data/music_chords_16k.wav");
    let codes = |model: &str, out: &str| {
        let out_dir = dir.path().join(out);
        let (out_dir, clip) = (out_dir.to_str().unwrap(), clip.to_str().unwrap());
        ok(xcodec(&["encode", "--model", model, "--bandwidth", "4.8", "-o", out_dir, clip]));
        npy_codes(&Path::new(out_dir).join("music_chords_16k.npy"))
    };
    let from_converted = codes(converted.to_str().unwrap(), "c1");
    assert_eq!(from_converted, codes(&hf_model(), "c2"));
    assert_eq!(from_converted.len() % 2, 0, "two codebooks at 4.8 kbps");

    // Fine-tuning starts from the DAC model's weights (a Hugging Face directory, loaded like any model).
    let list = dir.path().join("train.txt");
    std::fs::write(&list, format!("{}\n{}\n", clip.display(), repo().join("tests/data/speech_en_16k.wav").display()))
        .unwrap();
    let (run, hf) = (dir.path().join("run"), hf_model());
    let sets = [
        format!("data.train_list={}", list.display()),
        "data.segment_samples=1600".into(),
        "data.workers=1".into(),
        "train.batch_size=2".into(),
        "train.checkpoint_every=2".into(),
        "train.valid_every=0".into(),
        "discriminator.mfd.hop_lengths=[32, 64]".into(),
        "discriminator.mfd.hidden_channels=[32, 32]".into(),
    ];
    let mut args = vec!["train", "--model", &hf, "--max-steps", "2", "-o", run.to_str().unwrap()];
    args.extend(sets.iter().flat_map(|s| ["--set", s.as_str()]));
    let out = ok(xcodec(&args));
    assert!(stdout(&out).contains("trained 2 steps"), "{}", stdout(&out));
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert!(metrics.contains("\"commitment\""), "{metrics}");
    // The checkpoint is a model directory of the same codec.
    let checkpoint = run.join("checkpoints/step-00000002");
    let info = stdout(&ok(xcodec(&["info", checkpoint.to_str().unwrap()])));
    assert!(info.contains("quantizer dac_vq"), "{info}");
}
