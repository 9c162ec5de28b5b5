//! `xcodec encode` / `xcodec decode` end to end on the tiny X-Codec fixture (HuBERT teacher, hop 320,
//! 8 x 32 codebooks): every bundled clip format, batching, and bad inputs failing alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn model() -> String {
    repo().join("tests/fixtures/tiny_xcodec_hubert").display().to_string()
}

fn xcodec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xcodec")).args(args).output().expect("xcodec runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Duration in samples at 16 kHz of a decoded WAV.
fn wav_len(path: &Path) -> usize {
    hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).duration() as usize
}

#[test]
fn every_bundled_clip_encodes_and_decodes_to_its_duration() {
    let dir = tempfile::tempdir().unwrap();
    let (codes, audio) = (dir.path().join("codes"), dir.path().join("audio"));
    let data = repo().join("tests/data");
    let out = xcodec(&["encode", "--model", &model(), "-o", codes.to_str().unwrap(), data.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("encoded 5 files"), "{}", stdout(&out));
    let out = xcodec(&["decode", "--model", &model(), "-o", audio.to_str().unwrap(), codes.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Durations at 16 kHz of the inputs (seconds x 16000, from their headers / `soxi`).
    for (name, seconds) in [
        ("speech_en_16k", 150769.0 / 16000.0),
        ("music_chords_16k", 3.0),
        ("speech_en_44k_stereo", 438_222.0 / 44100.0),
        ("speech_de_22k", 3.8),
        ("speech_fr_8k", 3.5),
    ] {
        let got = wav_len(&audio.join(format!("{name}.wav"))) as f64;
        let want = seconds * 16000.0;
        // Within one frame (320 samples); MP3/Ogg durations above are rounded, so allow that rounding too.
        let slack = 320.0 + if name.ends_with("_16k") || name.ends_with("stereo") { 0.0 } else { 0.05 * 16000.0 };
        assert!((got - want).abs() <= slack, "{name}: decoded {got} samples, input {want}");
    }
}

#[test]
fn batched_codes_equal_single_file_codes() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    // Three files of one length (batched together) and one of another (alone).
    let clip = repo().join("tests/data/speech_en_16k.wav");
    let mut reader = hound::WavReader::open(&clip).unwrap();
    let samples: Vec<i16> = reader.samples::<i16>().map(|s| s.unwrap()).collect();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    for (i, (start, len)) in [(0, 32000), (20000, 32000), (50000, 32000), (70000, 25000)].into_iter().enumerate() {
        let mut w = hound::WavWriter::create(inputs.join(format!("part{i}.wav")), spec).unwrap();
        samples[start..start + len].iter().for_each(|&s| w.write_sample(s).unwrap());
        w.finalize().unwrap();
    }
    let mut runs = vec![];
    for batch in ["1", "3"] {
        let out_dir = dir.path().join(format!("b{batch}"));
        let out = xcodec(&[
            "encode",
            "--model",
            &model(),
            "--batch-size",
            batch,
            "-o",
            out_dir.to_str().unwrap(),
            inputs.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        runs.push(out_dir);
    }
    for i in 0..4 {
        let name = format!("part{i}.npy");
        let (a, b) = (std::fs::read(runs[0].join(&name)).unwrap(), std::fs::read(runs[1].join(&name)).unwrap());
        assert!(a == b, "{name}: batched codes differ from single-file codes");
    }
}

#[test]
fn bad_inputs_fail_alone_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = repo().join("tests/data/music_chords_16k.wav");
    std::fs::write(d.join("empty.wav"), b"").unwrap();
    std::fs::write(d.join("text.wav"), b"this is not audio, just some text that is long enough to probe").unwrap();
    std::fs::write(d.join("fake.mp3"), b"ID3 but then nothing that decodes as mpeg audio frames at all......").unwrap();
    let flac = std::fs::read(repo().join("tests/data/speech_en_44k_stereo.flac")).unwrap();
    std::fs::write(d.join("truncated.flac"), &flac[..flac.len() / 3]).unwrap();
    let spec =
        |fmt, bits| hound::WavSpec { channels: 1, sample_rate: 16000, bits_per_sample: bits, sample_format: fmt };
    let mut w = hound::WavWriter::create(d.join("nan.wav"), spec(hound::SampleFormat::Float, 32)).unwrap();
    (0..8000).for_each(|i| w.write_sample(if i == 4000 { f32::NAN } else { 0.1f32 }).unwrap());
    w.finalize().unwrap();
    hound::WavWriter::create(d.join("no_samples.wav"), spec(hound::SampleFormat::Int, 16)).unwrap().finalize().unwrap();
    let mut w = hound::WavWriter::create(d.join("too_short.wav"), spec(hound::SampleFormat::Int, 16)).unwrap();
    (0..100).for_each(|_| w.write_sample(1000i16).unwrap());
    w.finalize().unwrap();
    let cases: [(&str, &str); 7] = [
        ("missing.wav", "no such file"),
        ("empty.wav", ""),
        ("text.wav", ""),
        ("fake.mp3", ""),
        ("truncated.flac", ""),
        ("nan.wav", "NaN"),
        ("no_samples.wav", ""),
    ];
    let out_dir = d.join("codes");
    let mut args: Vec<String> =
        vec!["encode".into(), "--model".into(), model(), "-o".into(), out_dir.display().to_string()];
    args.push(good.display().to_string());
    args.extend(cases.iter().map(|(f, _)| d.join(f).display().to_string()));
    args.push(d.join("too_short.wav").display().to_string());
    let out = Command::new(env!("CARGO_BIN_EXE_xcodec")).args(&args).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out_dir.join("music_chords_16k.npy").is_file(), "the good file still ran: {err}");
    assert!(err.contains("8 of 9 files failed"), "{err}");
    for (file, needle) in cases.iter().chain([("too_short.wav", "shorter than one frame")].iter()) {
        let line = err.lines().find(|l| l.contains(file)).unwrap_or_else(|| panic!("no line for {file} in\n{err}"));
        assert!(line.contains(needle), "{file}: {line}");
        assert!(!out_dir.join(Path::new(file).with_extension("npy")).exists(), "{file}: no output for a failed file");
    }
    assert_eq!(
        err.lines().filter(|l| l.starts_with("xcodec: ")).count(),
        9,
        "one line per failure + the count:\n{err}"
    );

    // Decoding: a good codes file next to bad ones.
    let codes = d.join("decode_in");
    std::fs::create_dir_all(&codes).unwrap();
    std::fs::copy(out_dir.join("music_chords_16k.npy"), codes.join("good.npy")).unwrap();
    write_npy(&codes.join("range.npy"), &[40u16, 1, 2, 3], &[1, 4]);
    write_npy(&codes.join("nine.npy"), &[1u16; 18], &[9, 2]);
    std::fs::write(codes.join("float.npy"), npy_header("<f4", &[1, 2]).into_iter().chain([0u8; 8]).collect::<Vec<_>>())
        .unwrap();
    std::fs::write(codes.join("junk.safetensors"), b"not safetensors").unwrap();
    let audio = d.join("audio");
    let out = xcodec(&["decode", "--model", &model(), "-o", audio.to_str().unwrap(), codes.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(audio.join("good.wav").is_file(), "{err}");
    assert!(err.contains("4 of 5 files failed"), "{err}");
    for (file, needle) in [("range.npy", "40"), ("nine.npy", "9"), ("float.npy", "f4"), ("junk.safetensors", "")] {
        let line = err.lines().find(|l| l.contains(file)).unwrap_or_else(|| panic!("no line for {file} in\n{err}"));
        assert!(line.contains(needle), "{file}: {line}");
    }

    // A bandwidth the model does not offer fails the run up front, naming the valid ones.
    let out =
        xcodec(&["encode", "--model", &model(), "--bandwidth", "3", "-o", d.to_str().unwrap(), good.to_str().unwrap()]);
    assert!(stderr(&out).contains("0.25, 0.5, 0.75, 1, 2"), "{}", stderr(&out));
}

fn npy_header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims = shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ");
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((dict.len() as u16).to_le_bytes());
    out.extend(dict.as_bytes());
    out
}

fn write_npy(path: &Path, values: &[u16], shape: &[usize]) {
    let mut bytes = npy_header("<u2", shape);
    values.iter().for_each(|v| bytes.extend(v.to_le_bytes()));
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn skip_existing_resumes_and_safetensors_keeps_the_length() {
    let dir = tempfile::tempdir().unwrap();
    let clip = repo().join("tests/data/speech_fr_8k.ogg");
    let codes = dir.path().join("codes");
    let args = [
        "encode",
        "--model",
        &model(),
        "--format",
        "safetensors",
        "--bandwidth",
        "0.5",
        "-o",
        codes.to_str().unwrap(),
        clip.to_str().unwrap(),
    ];
    assert!(xcodec(&args).status.success());
    let st = codes.join("speech_fr_8k.safetensors");
    let before = std::fs::metadata(&st).unwrap().modified().unwrap();
    let mut again = args.to_vec();
    again.insert(1, "--skip-existing");
    let out = xcodec(&again);
    assert!(stdout(&out).contains("1 skipped"), "{}", stdout(&out));
    assert_eq!(std::fs::metadata(&st).unwrap().modified().unwrap(), before);
    let audio = dir.path().join("audio");
    let out = xcodec(&[
        "decode",
        "--model",
        &model(),
        "--sample-format",
        "f32",
        "-o",
        audio.to_str().unwrap(),
        st.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reader = hound::WavReader::open(audio.join("speech_fr_8k.wav")).unwrap();
    assert_eq!(reader.spec().sample_format, hound::SampleFormat::Float);
    // Trimmed to the original length recorded in the metadata (3.5 s at 16 kHz, whole frames cover a bit less).
    let n = reader.duration() as f64;
    assert!((n - 3.5 * 16000.0).abs() <= 320.0 + 800.0, "{n}");
}
