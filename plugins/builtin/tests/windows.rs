//! Long files run in windows with context; the stitched codes and audio must equal whole-file results
//! where the codec's receptive field allows (a convolutional codec: exactly), and nearly so with a
//! transformer teacher (which attends to the whole input).

use burn::tensor::Device;
use std::path::{Path, PathBuf};
use xcodec_builtin::{Codec, Parts, load_model};
use xcodec_core::CodecConfig;
use xcodec_core::audio::{SampleFormat, read_audio};
use xcodec_core::codes::read_codes;
use xcodec_core::pipeline::{DecodeOptions, EncodeOptions, Job, Outcome, decode_files, encode_files};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// 14 s of speech at 16 kHz (the bundled clip and a piece of it again), written as a WAV.
fn long_wav(dir: &Path) -> PathBuf {
    let clip = read_audio(&repo().join("tests/data/speech_en_16k.wav"), 16000).unwrap();
    let mut samples = clip.clone();
    samples.extend_from_slice(&clip[..14 * 16000 - clip.len() + 123]);
    let path = dir.join("long.wav");
    xcodec_core::audio::write_wav(&path, &samples, 16000, SampleFormat::F32).unwrap();
    path
}

fn encode(codec: &Codec, input: &Path, out: &Path, window: f64, context: f64) -> Vec<i64> {
    let job = Job { input: input.to_path_buf(), output: out.to_path_buf() };
    let opts = EncodeOptions { window_seconds: window, context_seconds: context, ..EncodeOptions::default() };
    let report = encode_files(codec, &[job], &opts, &mut |_| {}).unwrap();
    assert!(matches!(report[0].1, Outcome::Done { .. }), "{:?}", report[0].1);
    read_codes(out).unwrap().values
}

fn conv_codec() -> Codec {
    let cfg = CodecConfig::with_parts("dac", "none", "rvq")
        .unwrap()
        .with_overrides(&[
            "acoustic.params.encoder_width=4".into(),
            "acoustic.params.latent_dim=8".into(),
            "acoustic.params.decoder_width=32".into(),
        ])
        .unwrap();
    let device = Device::flex();
    device.seed(11);
    xcodec_builtin::build(&cfg, &device).unwrap()
}

#[test]
fn windowed_codes_and_audio_equal_whole_file_for_a_convolutional_codec() {
    let dir = tempfile::tempdir().unwrap();
    let input = long_wav(dir.path());
    let codec = conv_codec();
    let whole = encode(&codec, &input, &dir.path().join("whole.npy"), 60.0, 2.0);
    let windowed = encode(&codec, &input, &dir.path().join("win.npy"), 2.0, 1.0);
    assert_eq!(whole.len(), windowed.len());
    assert!(whole == windowed, "stitched codes differ from whole-file codes");

    let decode = |window: f64, name: &str| {
        let job = Job { input: dir.path().join("whole.npy"), output: dir.path().join(name) };
        let opts = DecodeOptions {
            window_seconds: window,
            context_seconds: 1.0,
            sample_format: SampleFormat::F32,
            ..DecodeOptions::default()
        };
        let report = decode_files(&codec, &[job], &opts, &mut |_| {});
        assert!(matches!(report[0].1, Outcome::Done { .. }), "{:?}", report[0].1);
        read_audio(&dir.path().join(name), 16000).unwrap()
    };
    let (a, b) = (decode(60.0, "whole.wav"), decode(2.0, "win.wav"));
    assert_eq!(a.len(), b.len());
    let err = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(err <= 1e-5, "stitched audio differs by {err}");
}

#[test]
fn windowed_codes_nearly_equal_whole_file_with_a_transformer_teacher() {
    let dir = tempfile::tempdir().unwrap();
    let input = long_wav(dir.path());
    let model = repo().join("tests/fixtures/tiny_xcodec_hubert");
    let codec = load_model(model.to_str().unwrap(), None, Parts::All, &Device::flex()).unwrap().codec;
    let whole = encode(&codec, &input, &dir.path().join("whole.npy"), 60.0, 2.0);
    let windowed = encode(&codec, &input, &dir.path().join("win.npy"), 4.0, 2.0);
    assert_eq!(whole.len(), windowed.len());
    let frames = whole.len() / 8;
    let agree = |q: usize| {
        let (a, b) = (&whole[q * frames..(q + 1) * frames], &windowed[q * frames..(q + 1) * frames]);
        a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / frames as f64
    };
    let per_codebook: Vec<String> = (0..8).map(|q| format!("{:.1}", agree(q) * 100.0)).collect();
    eprintln!(
        "HuBERT teacher, 4 s windows with 2 s context: % codes equal to whole-file, per codebook: {per_codebook:?}"
    );
    assert!(agree(0) >= 0.9, "first codebook: only {:.2} % agree", agree(0) * 100.0);
}

#[test]
fn an_overflowing_gain_fails_each_file_alone_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    // Float WAVs may hold samples beyond 1; x f32::MAX they overflow to infinity.
    let input = dir.path().join("loud.wav");
    xcodec_core::audio::write_wav(&input, &vec![2.0f32; 16000], 16000, SampleFormat::F32).unwrap();
    let jobs: Vec<Job> =
        (0..2).map(|i| Job { input: input.clone(), output: dir.path().join(format!("{i}.npy")) }).collect();
    let opts = EncodeOptions { gain: f32::MAX, batch_size: 2, ..EncodeOptions::default() };
    let report = encode_files(&conv_codec(), &jobs, &opts, &mut |_| {}).unwrap();
    for (job, outcome) in &report {
        let Outcome::Failed(reason) = outcome else { panic!("{outcome:?}") };
        assert!(reason.contains("not finite") && reason.contains("gain"), "{reason}");
        assert!(!job.output.exists());
    }
    let opts = EncodeOptions { gain: f32::NAN, ..EncodeOptions::default() };
    let err = encode_files(&conv_codec(), &jobs, &opts, &mut |_| {}).unwrap_err().to_string();
    assert!(err.contains("--gain"), "{err}");
}
