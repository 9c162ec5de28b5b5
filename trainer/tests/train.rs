//! The training loop end to end on a tiny codec and the bundled speech clips.

use burn::tensor::Device;
use std::path::{Path, PathBuf};
use xcodec_core::CodecConfig;
use xcodec_trainer::TrainConfig;
use xcodec_trainer::metrics::{Record, read_records};
use xcodec_trainer::train::{Event, METRICS, Summary, TrainOptions, train};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data").join(name)
}

/// Writes the train and validation lists into `dir`.
fn lists(dir: &Path) -> (PathBuf, PathBuf) {
    let train: Vec<String> =
        ["speech_en_16k.wav", "speech_de_22k.mp3", "speech_fr_8k.ogg", "speech_en_44k_stereo.flac"]
            .iter()
            .map(|n| data(n).display().to_string())
            .collect();
    std::fs::write(dir.join("train.txt"), train.join("\n")).unwrap();
    std::fs::write(dir.join("valid.txt"), data("speech_en_16k.wav").display().to_string()).unwrap();
    (dir.join("train.txt"), dir.join("valid.txt"))
}

/// A codec of a few thousand parameters and a two-resolution MFD with 32 channels.
pub fn tiny_config(dir: &Path, sets: &[&str]) -> TrainConfig {
    let codec = CodecConfig::with_parts("dac", "none", "rvq")
        .unwrap()
        .with_overrides(&[
            "acoustic.params.encoder_width=2".into(),
            "acoustic.params.latent_dim=8".into(),
            "acoustic.params.decoder_width=16".into(),
            "quantizer.params.codebook_size=16".into(),
            "quantizer.params.num_quantizers=4".into(),
            "target_bandwidths_kbps=[0.2, 0.4, 0.8]".into(),
        ])
        .unwrap();
    let (train_list, valid_list) = lists(dir);
    let mut sets: Vec<String> = [
        format!("data.train_list={}", train_list.display()),
        format!("data.valid_list={}", valid_list.display()),
        "data.segment_samples=3200".into(),
        "data.workers=1".into(),
        "data.valid_max_seconds=1.0".into(),
        "train.batch_size=2".into(),
        "train.learning_rate=0.003".into(),
        "train.checkpoint_every=5".into(),
        "train.valid_every=0".into(),
        "discriminator.mfd.hop_lengths=[32, 64]".into(),
        "discriminator.mfd.hidden_channels=[32, 32]".into(),
    ]
    .into_iter()
    .chain(sets.iter().map(|s| s.to_string()))
    .collect();
    sets.push("train.seed=1".into());
    let cfg = TrainConfig { codec: Some(codec), ..TrainConfig::default() };
    cfg.with_overrides(&sets).unwrap()
}

/// Runs are serialised: initial weights come from the device's global seeded RNG, which tests running in
/// parallel threads would otherwise interleave. Anything else that builds a model (and so draws from that
/// RNG) takes the lock too.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn run(cfg: TrainConfig, run_dir: &Path, devices: Vec<Device>) -> Vec<Record> {
    run_with_summary(cfg, run_dir, devices).0
}

fn run_with_summary(cfg: TrainConfig, run_dir: &Path, devices: Vec<Device>) -> (Vec<Record>, Summary) {
    let _serial = serial();
    let opts = TrainOptions::new(cfg, run_dir.to_path_buf(), devices);
    let mut steps = Vec::new();
    let summary = train::<xcodec_builtin::NoExtra>(opts, &mut |e| {
        if let Event::Step(r) = e {
            steps.push(r)
        }
    })
    .unwrap();
    (steps, summary)
}

#[test]
fn loss_falls_over_20_steps_and_validation_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_config(dir.path(), &["train.max_steps=20", "train.quantizer_dropout=false", "train.valid_every=20"]);
    let steps = run(cfg, &dir.path().join("run"), vec![Device::flex()]);
    assert_eq!(steps.len(), 20);
    let mean = |rs: &[Record]| rs.iter().map(|r| r.get("stft").unwrap()).sum::<f64>() / rs.len() as f64;
    let (first, last) = (mean(&steps[..4]), mean(&steps[16..]));
    assert!(last < first * 0.9, "multi-resolution STFT loss {first:.4} -> {last:.4} over 20 steps");
    let records = read_records(&dir.path().join("run").join(METRICS));
    let valid: Vec<&Record> = records.iter().filter(|r| r.kind == "valid").collect();
    assert_eq!(valid.iter().map(|r| r.step).collect::<Vec<_>>(), [0, 20]);
    for name in ["mel_distance", "stft_distance", "si_sdr", "stoi"] {
        assert!(valid.iter().all(|r| r.get(name).is_some_and(f64::is_finite)), "{name} in {valid:?}");
    }
    let stft = |i: usize| valid[i].get("stft_distance").unwrap();
    assert!(stft(1) < stft(0), "validation STFT distance {} -> {}", stft(0), stft(1));
    assert!(dir.path().join("run/curves.png").is_file());
    // The last checkpoint is a model directory the encoder takes.
    let _serial = serial();
    let (_, codec) =
        xcodec_builtin::load_model_dir(&dir.path().join("run/checkpoints/step-00000020"), &Device::flex()).unwrap();
    assert_eq!(xcodec_core::Quantizer::num_quantizers(&codec.quantizer), 4);
}

/// Asserts two runs logged the same losses (relative 1e-4; wall-clock seconds aside).
fn assert_same_losses(a: &[Record], b: &[Record], what: &str) {
    assert_eq!(a.len(), b.len());
    for (ra, rb) in a.iter().zip(b) {
        for (name, va) in &ra.values {
            if name == "seconds" {
                continue;
            }
            let vb = rb.get(name).unwrap();
            assert!((va - vb).abs() <= 1e-4 * va.abs().max(1e-3), "step {} {name}: {what}: {va} vs {vb}", ra.step);
        }
    }
}

#[test]
fn two_cpu_replicas_and_accumulation_give_the_loss_of_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let losses = |devices: Vec<Device>, sets: &[&str], name: &str| {
        let cfg = tiny_config(dir.path(), &[&["train.max_steps=2"], sets].concat());
        run(cfg, &dir.path().join(name), devices)
    };
    let one = losses(vec![Device::flex()], &["train.batch_size=4"], "one");
    let cfg = tiny_config(dir.path(), &["train.max_steps=2", "train.batch_size=4"]);
    let (two, summary) = run_with_summary(cfg, &dir.path().join("two"), vec![Device::flex(), Device::flex()]);
    assert_same_losses(&one, &two, "one device vs two");
    assert_eq!(summary.replica_copies, 1, "the second replica is made once, not once a step");
    let accumulated = losses(vec![Device::flex()], &["train.batch_size=2", "train.accumulate=2"], "accumulated");
    assert_same_losses(&one, &accumulated, "batch 4 vs 2 x 2 accumulated");
}
