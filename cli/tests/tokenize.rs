//! `xcodec tokenize` end to end: a mixed set (formats, rates, 0.3 s to 2 min) gives every file the codes
//! `xcodec encode` gives it alone, exactly, for a DAC + HuBERT X-Codec and for EnCodec; shards split the inputs
//! with each in exactly one; a SIGKILLed run resumed ends with the same files as an uninterrupted one;
//! failures are listed and set the exit code; manifests' columns are carried.

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::UInt16Type;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod support;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> String {
    repo().join("tests/fixtures").join(name).display().to_string()
}

fn xcodec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xcodec")).args(args).output().expect("xcodec runs")
}

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// `seconds` of the bundled speech clip (tiled) at 16 kHz, written to `path`.
fn speech(path: &Path, seconds: f64) {
    support::speech_wav(path, seconds, 7, 0);
}

/// A mixed set: the bundled clips (WAV, MP3, FLAC 44.1 kHz stereo, Ogg 8 kHz) and WAVs of 0.3 s, 0.97 s, 1 s
/// and 1.03 s (different lengths in one length bucket: one padded, masked batch), 2.5 s, 45 s and 2 min (both
/// past one window: streamed in windows).
fn mixed_set(dir: &Path) -> PathBuf {
    let inputs = dir.join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    for entry in std::fs::read_dir(repo().join("tests/data")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e != "md") {
            std::fs::copy(&path, inputs.join(path.file_name().unwrap())).unwrap();
        }
    }
    for (name, seconds) in [
        ("a_short", 0.3),
        ("b_near", 0.97),
        ("b_one", 1.0),
        ("c_one", 1.03),
        ("d", 2.5),
        ("e_long", 45.0),
        ("f_2min", 120.0),
    ] {
        speech(&inputs.join(format!("{name}.wav")), seconds);
    }
    inputs
}

/// Every row of a dataset: path -> (n_q, frames, codes).
fn read_dataset(ds: &Path) -> BTreeMap<String, (usize, usize, Vec<i64>)> {
    let mut rows = BTreeMap::new();
    for part in parts(ds) {
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&part).unwrap()).unwrap().build().unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let paths = batch.column_by_name("path").unwrap().as_string::<i32>();
            let codes = batch.column_by_name("codes").unwrap().as_list::<i32>();
            for r in 0..batch.num_rows() {
                let per_q = codes.value(r);
                let per_q = per_q.as_list::<i32>();
                let mut values = Vec::new();
                for q in 0..per_q.len() {
                    values.extend(per_q.value(q).as_primitive::<UInt16Type>().values().iter().map(|&c| c as i64));
                }
                let n_q = per_q.len();
                let frames = values.len() / n_q.max(1);
                assert!(rows.insert(paths.value(r).to_string(), (n_q, frames, values)).is_none(), "duplicate row");
            }
        }
    }
    rows
}

fn parts(ds: &Path) -> Vec<PathBuf> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(ds.join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    parts.sort();
    parts
}

/// Tokenized with small batches and parts, every row equals `encode`'s codes of the file alone (`encode`'s
/// default `--batch-size 1`: one file per batch).
fn tokenize_equals_encode(model: &str) {
    let dir = tempfile::tempdir().unwrap();
    let inputs = mixed_set(dir.path());
    let (ds, npy) = (dir.path().join("ds"), dir.path().join("npy"));
    let (ds_s, in_s) = (ds.to_str().unwrap(), inputs.to_str().unwrap());
    let out = ok(xcodec(&[
        "tokenize",
        "--model",
        model,
        "--batch-seconds",
        "5",
        "--rows-per-part",
        "4",
        "--workers",
        "3",
        "-o",
        ds_s,
        in_s,
    ]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("tokenized 12 files"), "{:?}", out);
    ok(xcodec(&["encode", "--model", model, "-o", npy.to_str().unwrap(), in_s]));
    let rows = read_dataset(&ds);
    assert_eq!(rows.len(), 12);
    assert_eq!(parts(&ds).len(), 3);
    for (path, (n_q, frames, values)) in rows {
        let stem = Path::new(&path).file_stem().unwrap().to_str().unwrap().to_string();
        let want = xcodec_core::codes::read_codes(&npy.join(format!("{stem}.npy"))).unwrap();
        assert_eq!((n_q, frames), (want.n_q, want.frames), "{path}");
        assert!(values == want.values, "{path}: tokenize's codes differ from encode's");
    }
}

#[test]
fn dac_hubert_xcodec_codes_equal_encode_alone() {
    tokenize_equals_encode(&fixture("tiny_xcodec_hubert"));
}

#[test]
fn encodec_codes_equal_encode_alone() {
    tokenize_equals_encode(&fixture("encodec/causal_wn"));
}

#[test]
fn shards_hold_each_input_exactly_once_and_launchers_set_the_shard() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    for i in 0..7 {
        speech(&inputs.join(format!("clip{i}.wav")), 0.2 + 0.1 * i as f64);
    }
    let ds = dir.path().join("ds");
    let (ds_s, in_s, model) = (ds.to_str().unwrap(), inputs.to_str().unwrap(), fixture("tiny_xcodec_hubert"));
    ok(xcodec(&["tokenize", "--model", &model, "--shard", "0/2", "-o", ds_s, in_s]));
    // Shard 1 from OpenMPI's variables, as under `mpirun -np 2`.
    let out = Command::new(env!("CARGO_BIN_EXE_xcodec"))
        .args(["tokenize", "--model", &model, "-o", ds_s, in_s])
        .env("OMPI_COMM_WORLD_RANK", "1")
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .output()
        .unwrap();
    let out = ok(out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("tokenized 3 files of shard 1/2"), "{out:?}");
    let rows = read_dataset(&ds);
    let want: Vec<String> = (0..7).map(|i| inputs.join(format!("clip{i}.wav")).display().to_string()).collect();
    assert_eq!(rows.keys().cloned().collect::<Vec<_>>(), want);
    assert_eq!(parts(&ds).len(), 2);
    let err = xcodec(&["tokenize", "--model", &model, "--shard", "2/2", "-o", ds_s, in_s]);
    assert!(String::from_utf8_lossy(&err.stderr).contains("expected I/N"));
}

#[test]
fn a_killed_run_resumed_ends_with_the_files_of_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir_all(&inputs).unwrap();
    for i in 0..24 {
        speech(&inputs.join(format!("clip{i:02}.wav")), 1.0 + 0.25 * i as f64);
    }
    let model = fixture("tiny_xcodec_hubert");
    let args = |ds: &Path| {
        ["tokenize", "--model", &model, "--rows-per-part", "2", "-o", ds.to_str().unwrap(), inputs.to_str().unwrap()]
            .map(String::from)
    };
    let whole = dir.path().join("whole");
    ok(xcodec(&args(&whole).each_ref().map(String::as_str)));
    let killed = dir.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_xcodec")).args(args(&killed)).spawn().unwrap();
    let started = std::time::Instant::now();
    while !killed.join("data").exists() || parts(&killed).is_empty() {
        assert!(started.elapsed().as_secs() < 120, "no part written in 2 minutes");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done = parts(&killed).len();
    assert!(done < 12, "the run ended before it was killed ({done} parts)");
    let out = ok(xcodec(&args(&killed).each_ref().map(String::as_str)));
    assert!(String::from_utf8_lossy(&out.stdout).contains("already done"), "{out:?}");
    let names = |ds: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(ds.join("data")).unwrap().map(|e| e.unwrap().path()).collect();
        files.push(ds.join("errors.jsonl"));
        files.sort();
        files
            .iter()
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(p).unwrap()))
            .collect()
    };
    let (a, b) = (names(&whole), names(&killed));
    assert_eq!(a.iter().map(|f| &f.0).collect::<Vec<_>>(), b.iter().map(|f| &f.0).collect::<Vec<_>>());
    assert!(a == b, "a resumed dataset differs from an uninterrupted one");
}

#[test]
fn failures_are_listed_with_their_reason_and_set_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.wav");
    speech(&good, 0.5);
    let bad = dir.path().join("bad.wav");
    std::fs::write(&bad, b"RIFF not really a wav").unwrap();
    let manifest = dir.path().join("m.csv");
    std::fs::write(&manifest, "path,speaker\ngood.wav,alice\nbad.wav,bob\nmissing.wav,carol\n").unwrap();
    let ds = dir.path().join("ds");
    let model = fixture("tiny_xcodec_hubert");
    let m = format!("@{}", manifest.display());
    let out = xcodec(&["tokenize", "--model", &model, "-o", ds.to_str().unwrap(), &m]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 of 3 files failed"), "{stderr}");
    let errors = std::fs::read_to_string(ds.join("errors.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = errors.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.iter().map(|l| l["path"].as_str().unwrap()).collect::<Vec<_>>(), ["bad.wav", "missing.wav"]);
    assert!(lines.iter().all(|l| !l["error"].as_str().unwrap().contains('\n')));
    // The good file's row carries the manifest's column.
    let part = &parts(&ds)[0];
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(part).unwrap()).unwrap();
    let batch = reader.build().unwrap().next().unwrap().unwrap();
    assert_eq!(batch.num_rows(), 1);
    assert_eq!(batch.column_by_name("speaker").unwrap().as_string::<i32>().value(0), "alice");
    // A rerun keeps the list (the failed files are in a written part) and says so again.
    let again = xcodec(&["tokenize", "--model", &model, "-o", ds.to_str().unwrap(), &m]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(ds.join("errors.jsonl")).unwrap(), errors);
    // Other settings into the same dataset are refused.
    let other = xcodec(&["tokenize", "--model", &model, "--bandwidth", "1", "-o", ds.to_str().unwrap(), &m]);
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert!(stderr.contains("tokenized otherwise") && stderr.contains("bandwidth_kbps 2.0 -> 1.0"), "{stderr}");
}
