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

/// The codes of an `.npy` codes file (`(n_codebooks, frames)`, uint16).
pub fn npy_codes(path: &Path) -> Vec<u16> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    npyz::NpyFile::new(&bytes[..]).unwrap().into_vec::<u16>().unwrap()
}

/// `seconds` of the bundled speech clip at 16 kHz written to `path`, its sample `j` the clip's `(j * step + shift)`
/// (mod its length): distinct clips of any length from one file.
pub fn speech_wav(path: &Path, seconds: f64, step: usize, shift: usize) {
    let mut reader = hound::WavReader::open(data("speech_en_16k.wav")).unwrap();
    let clip: Vec<i16> = reader.samples::<i16>().map(|s| s.unwrap()).collect();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for j in 0..(seconds * 16000.0) as usize {
        w.write_sample(clip[(j * step + shift) % clip.len()]).unwrap();
    }
    w.finalize().unwrap();
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

/// `train` arguments for `model` into `run`: 4 crops a step, the discriminators from step 2, lr 2e-4.
pub fn train_args(model: &Path, sets: &[String], steps: u64, run: &Path) -> Vec<String> {
    let mut args: Vec<String> = ["train", "--model", model.to_str().unwrap(), "--max-steps", &steps.to_string()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(sets.iter().cloned());
    let fixed =
        ["--set", "train.batch_size=4", "--set", "train.disc_start_step=2", "--set", "train.learning_rate=2e-4"];
    args.extend(fixed.map(String::from));
    args.extend(["-o".to_string()]);
    args.push(run.display().to_string());
    args
}

/// Asserts two logs hold the same steps and, per step, values within `rel` of each other.
pub fn assert_close(a: &[(u64, Vec<(String, String)>)], b: &[(u64, Vec<(String, String)>)], rel: f64) {
    assert_eq!(a.len(), b.len(), "steps logged");
    for ((sa, va), (sb, vb)) in a.iter().zip(b) {
        assert_eq!(sa, sb);
        assert_eq!(va.len(), vb.len(), "step {sa}: {va:?} vs {vb:?}");
        for ((name, x), (_, y)) in va.iter().zip(vb) {
            let (Ok(x), Ok(y)) = (x.parse::<f64>(), y.parse::<f64>()) else {
                assert_eq!(x, y, "step {sa} {name}");
                continue;
            };
            // The commitment loss is |z - q|^2, a small difference of near-equal vectors: it amplifies the
            // rounding of z (measured 3.4e-4 relative by step 5), so it gets 1e-3.
            let rel = if name == "commitment" { 1e-3 } else { rel };
            assert!((x - y).abs() <= rel * x.abs().max(1e-3), "step {sa} {name}: {x} vs {y}");
        }
    }
}
