//! Fuzzed readers, on stable Rust with proptest: arbitrary bytes and mutated valid files (bytes flipped,
//! runs overwritten, the file cut) fed to every reader of outside data — codes files (npy, safetensors, raw
//! streams), configs (our TOML, Hugging Face JSON, the original yaml), checkpoints (safetensors, `.pth`
//! zip/pickle) and the audio decoder — each must give `Ok` or a clean error, never a panic or a hang.
//! `PROPTEST_CASES` sets the cases per target (default here 64; `bench/fuzz.sh` runs many more).

use burn::tensor::Device;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use xcodec_builtin::{Parts, load_model};
use xcodec_core::codes::{Codes, CodesFormat, CodesMeta, read_codes, write_codes};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// A mutation of a valid file: some bytes set, a run overwritten, then maybe cut.
#[derive(Debug, Clone)]
struct Mutation {
    flips: Vec<(usize, u8)>,
    run: Option<(usize, Vec<u8>)>,
    cut: Option<usize>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        prop::option::of((any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))),
        prop::option::of(any::<usize>()),
    )
        .prop_map(|(flips, run, cut)| Mutation { flips, run, cut })
}

impl Mutation {
    /// Mutates `bytes`, with positions biased to the first `hot` bytes (headers) half of the time.
    fn apply(&self, bytes: &[u8], hot: usize) -> Vec<u8> {
        let mut out = bytes.to_vec();
        if out.is_empty() {
            return out;
        }
        let len = out.len();
        let at = |i: usize| if i.is_multiple_of(2) { i / 2 % hot.clamp(1, len) } else { i / 2 % len };
        for &(i, b) in &self.flips {
            let p = at(i);
            out[p] = b;
        }
        if let Some((i, run)) = &self.run {
            let p = at(*i);
            for (k, &b) in run.iter().enumerate() {
                if let Some(x) = out.get_mut(p + k) {
                    *x = b;
                }
            }
        }
        if let Some(c) = self.cut {
            out.truncate(c % (out.len() + 1));
        }
        out
    }
}

/// Writes `bytes` as `name` in a fresh directory (kept alive by the returned guard).
fn file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn valid_codes(format: CodesFormat) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("c.{}", format.extension()));
    let meta = CodesMeta {
        model: "m".into(),
        sample_rate_hz: 16000,
        frame_rate_hz: 50.0,
        bandwidth_kbps: 1.0,
        num_samples: 3200,
        tool_version: "fuzz".into(),
    };
    let codes = Codes { n_q: 2, frames: 10, values: (0..20).collect(), meta: Some(meta) };
    write_codes(&path, &codes, 1024, format).unwrap();
    std::fs::read(path).unwrap()
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn codes_files_read_or_fail_cleanly(m in mutation(), junk in prop::collection::vec(any::<u8>(), 0..256)) {
        for format in [CodesFormat::Npy, CodesFormat::Safetensors] {
            let name = format!("c.{}", format.extension());
            let (_d, path) = file(&name, &m.apply(&valid_codes(format), 128));
            let _ = read_codes(&path);
            let (_d, path) = file(&name, &junk);
            prop_assert!(read_codes(&path).is_err());
        }
    }

    #[test]
    fn raw_code_streams_read_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..512), n_q in 1usize..9) {
        let mut reader = xcodec_core::codes::raw::RawCodesReader::new(&bytes[..], n_q);
        let mut frames = 0;
        while let Ok(chunk) = reader.read(7) {
            if chunk.is_empty() {
                break;
            }
            frames += chunk.len() / n_q;
            prop_assert!(frames <= bytes.len() / 2);
        }
    }

    #[test]
    fn configs_parse_or_fail_cleanly(m in mutation(), text in ".{0,200}") {
        let ours = xcodec_core::CodecConfig::with_parts("dac", "hubert", "rvq").unwrap().to_toml();
        let train = xcodec_trainer::TrainConfig::default().to_toml();
        let hf = std::fs::read(fixture("fixtures/tiny_xcodec/config.json")).unwrap();
        let texts = [&ours.as_bytes().to_vec(), &train.as_bytes().to_vec(), &hf].map(|b| String::from_utf8_lossy(&m.apply(b, 256)).into_owned());
        for t in texts.iter().chain([&text]) {
            if let Ok(cfg) = xcodec_core::CodecConfig::from_toml(t) {
                let _ = cfg.validate();
            }
            if let Ok(cfg) = xcodec_trainer::TrainConfig::from_toml(t) {
                let _ = cfg.validate();
            }
            let _ = xcodec_builtin::codec_config_from_hf(t);
        }
        let yaml = std::fs::read(fixture("fixtures/original_hubert/config.yaml")).unwrap();
        let (_d, path) = file("config.yaml", &m.apply(&yaml, 256));
        let _ = xcodec_builtin::original::codec_config_from_original(&path, 4, 4);
    }

    #[test]
    fn audio_files_decode_or_fail_cleanly(m in mutation(), which in 0usize..5) {
        let names = ["speech_en_16k.wav", "speech_de_22k.mp3", "speech_en_44k_stereo.flac", "speech_fr_8k.ogg", "music_chords_16k.wav"];
        let bytes = std::fs::read(fixture("data").join(names[which])).unwrap();
        // Keep the cases quick: the first 64 KiB, mutated.
        let head = &bytes[..bytes.len().min(64 << 10)];
        let (_d, path) = file(names[which], &m.apply(head, 512));
        if let Ok(samples) = xcodec_core::audio::read_audio(&path, 16000) {
            prop_assert!(samples.iter().all(|x| x.is_finite()));
        }
    }
}

proptest! {
    // Each case loads a model: fewer of them.
    #![proptest_config(cases(24))]

    #[test]
    fn checkpoints_load_or_fail_cleanly(m in mutation(), which in 0usize..3) {
        let (src, name, hot) = [
            ("fixtures/tiny_xcodec", "model.safetensors", 4096),
            ("fixtures/original_hubert", "xcodec_tiny.pth", 4096),
            ("fixtures/tiny_dac_descript", "weights.pth", 4096),
        ][which];
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(fixture(src)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
        let target = dir.path().join(name);
        let bytes = std::fs::read(&target).unwrap();
        std::fs::write(&target, m.apply(&bytes, hot)).unwrap();
        let spec = if name.ends_with(".pth") { target } else { dir.path().to_path_buf() };
        let _ = load_model(spec.to_str().unwrap(), None, Parts::All, &Device::flex());
    }
}
