//! `xcodec encode --stream` / `xcodec decode --stream` end to end on a tiny SoundStream codec made with
//! `xcodec build`: audio piped through stdin/stdout (and files) gives exactly the codes of the offline
//! `xcodec encode`, and decodes to the offline `xcodec decode` audio within 1e-6; codecs that cannot stream,
//! and broken streams, fail in one line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn xcodec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xcodec")).args(args).output().expect("xcodec runs")
}

/// Runs xcodec with `input` on stdin (written from a thread, so that a full stdout pipe cannot deadlock).
fn piped(args: &[&str], input: Vec<u8>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xcodec"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xcodec runs");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input); // a refusing xcodec may close the pipe early
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "xcodec failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A tiny soundstream + none codec (hop 320 at 16 kHz; 8 codebooks of 64 at 2.4 kbps).
fn build(dir: &Path) -> String {
    let model = dir.join("model");
    let m = model.to_str().unwrap();
    let sets = [
        "acoustic.params.num_filters=2",
        "acoustic.params.hidden_size=8",
        "quantizer.params.codebook_size=64",
        "target_bandwidths_kbps=[0.3, 0.6, 2.4]",
    ];
    let mut args = vec!["build", "--acoustic", "soundstream", "--semantic", "none", "-o", m];
    sets.iter().for_each(|s| args.extend(["--set", s]));
    ok(xcodec(&args));
    m.to_string()
}

/// 2 s + 123 samples of chords with a little deterministic noise: 101 frames, the last one partial.
fn clip() -> Vec<i16> {
    let mut seed = 12345u32;
    (0..32123)
        .map(|i| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let t = i as f32 / 16000.0;
            let x = 0.3 * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
                + 0.2 * (2.0 * std::f32::consts::PI * 331.0 * t).sin();
            ((x + (seed >> 16) as f32 / 65536.0 * 0.02 - 0.01) * 32767.0) as i16
        })
        .collect()
}

fn le_u16(bytes: &[u8]) -> Vec<u16> {
    bytes.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect()
}

fn le_f32(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn streamed_codes_and_audio_equal_offline_through_pipes_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = build(d);
    let samples = clip();
    let wav = d.join("clip.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    samples.iter().for_each(|&s| w.write_sample(s).unwrap());
    w.finalize().unwrap();
    let raw: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let path = |p: &PathBuf| p.to_str().unwrap().to_string();

    // Offline: codes (8, 101) in an .npy, and the f32 WAV decoded from them (whole frames: .npy keeps no length).
    let (codes_dir, audio_dir) = (d.join("codes"), d.join("audio"));
    ok(xcodec(&["encode", "--model", &model, "-o", &path(&codes_dir), &path(&wav)]));
    let npy_bytes = std::fs::read(codes_dir.join("clip.npy")).unwrap();
    let npy = npyz::NpyFile::new(&npy_bytes[..]).unwrap();
    assert_eq!(npy.shape(), &[8, 101]);
    let offline: Vec<u16> = npy.into_vec().unwrap();
    ok(xcodec(&["decode", "--model", &model, "--sample-format", "f32", "-o", &path(&audio_dir), &path(&codes_dir)]));
    let offline_audio: Vec<f32> =
        hound::WavReader::open(audio_dir.join("clip.wav")).unwrap().samples::<f32>().map(|s| s.unwrap()).collect();
    assert_eq!(offline_audio.len(), 101 * 320);

    // Streamed: raw s16le on stdin -> codes on stdout, frame-major u16; equal to offline's (n_q, frames) exactly.
    let args = ["encode", "--model", &model, "--stream", "--input-format", "s16le", "--chunk-frames", "3", "-"];
    let out = ok(piped(&args, raw.clone()));
    assert!(stderr(&out).contains("encoded 101 frames x 8 codebooks"), "{}", stderr(&out));
    let streamed = le_u16(&out.stdout);
    assert_eq!(streamed.len(), 8 * 101);
    let transposed: Vec<u16> =
        (0..101).flat_map(|f| (0..8).map(move |q| (q, f))).map(|(q, f)| offline[q * 101 + f]).collect();
    assert!(streamed == transposed, "streamed codes differ from offline");
    // A WAV file in and a codes file out, other chunk sizes: the same bytes.
    for chunk in ["1", "7"] {
        let codes_file = d.join(format!("codes{chunk}.u16"));
        ok(xcodec(&[
            "encode",
            "--model",
            &model,
            "--stream",
            "--chunk-frames",
            chunk,
            "-o",
            &path(&codes_file),
            &path(&wav),
        ]));
        assert!(std::fs::read(&codes_file).unwrap() == out.stdout, "chunks of {chunk}: codes differ");
    }

    // Streamed decode: codes on stdin -> f32le on stdout, whole frames (101 x 320), offline's samples bit for bit.
    let args = ["decode", "--model", &model, "--stream", "--output-format", "f32le", "--chunk-frames", "3", "-"];
    let decoded = le_f32(&ok(piped(&args, out.stdout.clone())).stdout);
    assert_eq!(decoded.len(), 101 * 320);
    assert!(decoded == offline_audio, "streamed audio differs from offline by {}", max_diff(&decoded, &offline_audio));
    // To a WAV file (header completed at the end) and to a WAV on stdout (header of unknown length).
    let out_wav = d.join("streamed.wav");
    let codes_file = d.join("codes7.u16");
    ok(xcodec(&[
        "decode",
        "--model",
        &model,
        "--stream",
        "--sample-format",
        "f32",
        "-o",
        &path(&out_wav),
        &path(&codes_file),
    ]));
    let from_file: Vec<f32> = hound::WavReader::open(&out_wav).unwrap().samples::<f32>().map(|s| s.unwrap()).collect();
    assert_eq!(from_file.len(), decoded.len());
    assert!(from_file == decoded, "the WAV differs from the raw stream by {}", max_diff(&from_file, &decoded));
    let piped_wav = ok(piped(&["decode", "--model", &model, "--stream", "-", "-o", "-"], out.stdout)).stdout;
    assert_eq!(
        (&piped_wav[..4], &piped_wav[36..40], piped_wav.len()),
        (&b"RIFF"[..], &b"data"[..], 44 + 2 * decoded.len())
    );
}

#[test]
fn streams_that_cannot_run_fail_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let model = build(dir.path());
    let one_line = |out: &Output, needle: &str| {
        let err = stderr(out);
        assert!(!out.status.success() && err.contains(needle) && err.trim().lines().count() == 1, "{needle}: {err}");
    };
    // The HuBERT-taught DAC fixture: the teacher refuses stream encoding, the non-causal DAC stream decoding.
    let hubert = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tiny_xcodec_hubert");
    let hubert = hubert.to_str().unwrap();
    one_line(&piped(&["encode", "--model", hubert, "--stream", "-"], vec![0; 640]), "semantic teacher (HuBERT/WavLM)");
    one_line(&piped(&["decode", "--model", hubert, "--stream", "-"], vec![0; 32]), "decoder cannot stream (non-causal");
    one_line(&xcodec(&["encode", "--model", &model, "--stream", "a.wav", "b.wav"]), "--stream takes one input");
    let args = ["decode", "--model", &model, "--stream", "--output-format", "s16le", "-"];
    one_line(&piped(&args, vec![0; 16 * 5 + 3]), "ends inside a frame (3 bytes");
    one_line(&piped(&["encode", "--model", &model, "--stream", "-"], b"RIFF....WAVEjunk".to_vec()), "not a WAV");
    one_line(&piped(&["encode", "--model", &model, "--stream", "--input-format", "s16le", "-"], vec![]), "empty");
    // Stream options without --stream are a usage error.
    let out = xcodec(&["decode", "--model", &model, "--chunk-frames", "3", "x.npy"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
