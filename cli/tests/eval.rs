//! `xcodec eval` end to end: two tiny models (a transformers `DacModel` and a transformers `XcodecModel` with
//! a HuBERT teacher) x every bandwidth each offers x the bundled clips, with pictures; and its failures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn xcodec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xcodec")).args(args).output().expect("xcodec runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const METRICS: [&str; 6] = ["mel_distance", "stft_distance", "si_sdr", "stoi", "estoi", "rtf"];

#[test]
fn two_models_at_every_bandwidth_write_json_csv_markdown_and_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let (dac, xc) = (repo().join("tests/fixtures/tiny_dac"), repo().join("tests/fixtures/tiny_xcodec_hubert"));
    let (dac, xc) = (dac.display().to_string(), xc.display().to_string());
    let data = repo().join("tests/data").display().to_string();
    let stem = dir.path().join("report");
    let plots = dir.path().join("plots");
    let out = xcodec(&[
        "eval",
        "--model",
        &dac,
        "--model",
        &xc,
        "--plot",
        plots.to_str().unwrap(),
        "-o",
        stem.to_str().unwrap(),
        &data,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap()).unwrap();
    let rows = json["rows"].as_array().unwrap();
    let tokens = json["tokens"].as_array().unwrap();
    // Every model x bandwidth has token statistics; every file x model x bandwidth a row.
    let clips = std::fs::read_dir(repo().join("tests/data"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x != "md"));
    let clips = clips.count();
    assert!(tokens.len() >= 2 * 2, "{} model x bandwidth groups", tokens.len());
    assert_eq!(rows.len(), tokens.len() * clips);
    for row in rows {
        for key in ["file", "model", "bandwidth_kbps", "seconds", "metrics"] {
            assert!(!row[key].is_null(), "{key} in {row}");
        }
        for m in METRICS {
            assert!(row["metrics"][m].as_f64().is_some_and(f64::is_finite), "{m} in {row}");
        }
        let stoi = row["metrics"]["stoi"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&stoi), "{row}");
    }
    for t in tokens {
        let books = t["codebooks"].as_array().unwrap();
        assert!(!books.is_empty());
        for b in books {
            let usage = b["usage"].as_f64().unwrap();
            assert!(usage > 0.0 && usage <= 1.0, "{b}");
            assert!((b["perplexity"].as_f64().unwrap() - b["entropy_bits"].as_f64().unwrap().exp2()).abs() < 1e-9);
        }
        assert!(t["entropy_bitrate_kbps"].as_f64().unwrap() <= t["bandwidth_kbps"].as_f64().unwrap() + 1e-9, "{t}");
    }
    assert_eq!(json["summary"].as_array().unwrap().len(), tokens.len() * METRICS.len());
    let csv = std::fs::read_to_string(dir.path().join("report.csv")).unwrap();
    assert_eq!(csv.lines().count(), rows.len() + 1);
    assert!(csv.starts_with("file,model,bandwidth_kbps,seconds,mel_distance,stft_distance,si_sdr,stoi,estoi,rtf\n"));
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert_eq!(md.lines().count(), tokens.len() + 2, "{md}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), md);
    // A spectrogram per row and a metrics-by-bitrate picture per model.
    let pngs = std::fs::read_dir(&plots).unwrap().filter(|e| e.as_ref().unwrap().path().extension().unwrap() == "png");
    assert_eq!(pngs.count(), rows.len() + 2);
}

#[test]
fn a_bandwidth_not_offered_and_an_unreadable_file_are_one_line_each() {
    let dir = tempfile::tempdir().unwrap();
    let dac = repo().join("tests/fixtures/tiny_dac").display().to_string();
    let clip = repo().join("tests/data/speech_en_16k.wav").display().to_string();
    let stem = dir.path().join("r").display().to_string();
    let out = xcodec(&["eval", "--model", &dac, "--bandwidth", "99", "-o", &stem, &clip]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("--bandwidth 99") && err.contains("offers"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = xcodec(&["eval", "--model", &dac, "--bandwidth", "fast", "-o", &stem, &clip]);
    assert!(stderr(&out).contains("'fast' is not a positive number"), "{}", stderr(&out));

    let junk = dir.path().join("junk.wav");
    std::fs::write(&junk, b"not audio").unwrap();
    let out = xcodec(&["eval", "--model", &dac, "-o", &stem, &clip, junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("skipping") && err.contains("junk.wav"), "{err}");
    assert!(err.contains("1 of 2 files could not be evaluated"), "{err}");
    // The report still holds the readable file.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{stem}.json")).unwrap()).unwrap();
    assert!(
        json["rows"].as_array().unwrap().iter().all(|r| r["file"].as_str().unwrap().ends_with("speech_en_16k.wav"))
    );
}
