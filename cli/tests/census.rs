//! The hostile-input census: commands run as a careless or hostile user would run them, each case asserting
//! the exit code, the one-line message (its key words), no panic, and that no input changed and no output
//! was left behind (the work directory is compared file by file before and after every refused case).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file under `dir` with its bytes (the state a refused command must leave unchanged).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.insert(path.clone(), Vec::new());
                walk(&path, out);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

/// The work directory of the census: a model, audio, codes, and damaged versions of each.
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let w = Self { dir };
        let root = w.root();
        copy_dir(&repo().join("tests/fixtures/tiny_xcodec_hubert"), &root.join("model"));
        std::fs::create_dir_all(root.join("audio")).unwrap();
        std::fs::copy(repo().join("tests/data/speech_en_16k.wav"), root.join("audio/x.wav")).unwrap();
        let wav = std::fs::read(root.join("audio/x.wav")).unwrap();
        std::fs::write(root.join("cut.wav"), &wav[..wav.len() / 3 + 1]).unwrap();
        std::fs::write(root.join("text.wav"), "not audio at all\n").unwrap();
        std::fs::create_dir_all(root.join("empty")).unwrap();
        std::fs::write(root.join("empty.txt"), "# nothing\n\n").unwrap();
        // Codes: an .npy and a .safetensors of x.wav, then damaged copies.
        let model = w.model();
        for format in ["npy", "safetensors"] {
            let out =
                xcodec(&["encode", "--model", &model, "--format", format, "-o", w.p("codes"), w.p("audio/x.wav")]);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        let npy = std::fs::read(root.join("codes/x.npy")).unwrap();
        std::fs::write(root.join("audio/x.npy"), &npy).unwrap(); // codes beside their audio, as after `encode -o .`
        std::fs::write(
            root.join("garbled.npy"),
            [&b"\x93NUMPY\x01\x00\x10\x00{'descr': '<u2'"[..], &npy[30..]].concat(),
        )
        .unwrap();
        std::fs::write(root.join("cutcodes.npy"), &npy[..npy.len() - 7]).unwrap();
        let mut big = npy.clone();
        let n = big.len();
        big[n - 2..].copy_from_slice(&60000u16.to_le_bytes());
        std::fs::write(root.join("range.npy"), big).unwrap();
        let st = std::fs::read(root.join("codes/x.safetensors")).unwrap();
        for (name, key, value) in [
            ("zero_samples", "num_samples", "0"),
            ("short_samples", "num_samples", "100"),
            ("fps75", "frame_rate_hz", "75"),
            ("bw", "bandwidth_kbps", "0.5"),
        ] {
            std::fs::write(root.join(format!("{name}.safetensors")), with_meta(&st, key, value)).unwrap();
        }
        // A model whose first float weight holds a NaN.
        copy_dir(&root.join("model"), &root.join("nan_model"));
        let weights = root.join("nan_model/model.safetensors");
        std::fs::write(&weights, with_nan(&std::fs::read(&weights).unwrap())).unwrap();
        std::fs::write(root.join("raw_odd.u16"), [1u8, 0, 2]).unwrap();
        w
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `rel` under the work directory, as a string argument.
    fn p(&self, rel: &str) -> &'static str {
        Box::leak(self.root().join(rel).display().to_string().into_boxed_str())
    }

    fn model(&self) -> String {
        self.p("model").to_string()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

/// A safetensors file with one `__metadata__` value replaced (the header re-serialised, data unchanged).
fn with_meta(bytes: &[u8], key: &str, value: &str) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header["__metadata__"][key] = serde_json::Value::String(value.into());
    let text = serde_json::to_vec(&header).unwrap();
    [&(text.len() as u64).to_le_bytes()[..], &text, &bytes[8 + n..]].concat()
}

/// A safetensors file whose first acoustic encoder weight starts with a NaN.
fn with_nan(bytes: &[u8]) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let start = header
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, t)| name.starts_with("acoustic_encoder.block.0.conv1.weight") && t["dtype"] == "F32")
        .map(|(_, t)| t)
        .map(|t| t["data_offsets"][0].as_u64().unwrap() as usize)
        .min()
        .unwrap();
    let mut out = bytes.to_vec();
    out[8 + n + start..8 + n + start + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    out
}

fn xcodec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xcodec")).args(args).output().expect("xcodec runs")
}

/// What a refused case must give: exit code, key words of stderr's first line (all of them, any case).
struct Case {
    args: Vec<&'static str>,
    code: i32,
    words: &'static [&'static str],
    /// The working directory (default: the work root).
    cwd: Option<&'static str>,
}

fn case(args: Vec<&'static str>, code: i32, words: &'static [&'static str]) -> Case {
    Case { args, code, words, cwd: None }
}

/// Runs every case, collecting all failures before failing.
fn run_all(w: &Work, cases: Vec<Case>) -> usize {
    let mut failures = Vec::new();
    for c in &cases {
        let before = snapshot(w.root());
        let out = Command::new(env!("CARGO_BIN_EXE_xcodec"))
            .args(&c.args)
            .current_dir(c.cwd.unwrap_or(w.p("")))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        let first = err.lines().next().unwrap_or("").to_lowercase();
        let code = out.status.code().unwrap_or(-1);
        let mut problems = Vec::new();
        if code != c.code {
            problems.push(format!("exit {code}, expected {}", c.code));
        }
        if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
            problems.push("panicked".into());
        }
        // Our errors are one line; clap's usage errors are a line and a hint after a blank line.
        // (A bare `xcodec` prints the help: the words are then looked for anywhere.)
        let lines = err.lines().filter(|l| !l.trim().is_empty()).count();
        if (c.code == 1 && lines != 1) || (c.code == 2 && !c.args.is_empty() && !(1..=4).contains(&lines)) {
            problems.push(format!("{lines} lines on stderr"));
        }
        let looked_in = if c.args.is_empty() { err.to_lowercase() } else { first.clone() };
        for word in c.words {
            if !looked_in.contains(&word.to_lowercase()) {
                problems.push(format!("no '{word}' in the first line"));
            }
        }
        if snapshot(w.root()) != before {
            problems.push("files changed or left behind".into());
        }
        if !problems.is_empty() {
            failures.push(format!("xcodec {}: {}\n    stderr: {}", c.args.join(" "), problems.join("; "), err.trim()));
        }
    }
    assert!(failures.is_empty(), "{} of {} census cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
    cases.len()
}

#[test]
fn census_of_hostile_inputs() {
    let w = Work::new();
    let m: &'static str = Box::leak(w.model().into_boxed_str());
    let x = w.p("audio/x.wav");
    let npy = w.p("codes/x.npy");
    let o = w.p("out");
    let cases = vec![
        // The command line itself.
        case(vec![], 2, &["usage"]),
        case(vec!["frobnicate"], 2, &["unrecognized subcommand"]),
        case(vec!["encode", "--model", m], 2, &["required arguments were not provided"]),
        // Models that are not there or not models.
        case(vec!["info", "./nope"], 1, &["nope", "no such file or directory"]),
        case(vec!["info", "models/nope"], 1, &["no such local file or directory"]),
        case(vec!["info", x], 1, &["is not a model"]),
        case(vec!["info", w.p("empty")], 1, &["is not a model directory"]),
        case(vec!["info", w.p("nan_model")], 1, &["nan", "weight"]),
        case(vec!["encode", "--model", w.p("nan_model"), "-o", o, x], 1, &["nan"]),
        case(vec!["info", m, "--device", "tpu"], 1, &["tpu"]),
        // Parts.
        case(vec!["build", "--acoustic", "DAC", "--semantic", "none", "-o", o], 2, &["did you mean 'dac'"]),
        case(vec!["build", "--semantic", "hubrt", "-o", o], 2, &["unknown semantic", "did you mean"]),
        case(vec!["build", "--semantic", "none", "--set", "nonsense", "-o", o], 1, &["key=value"]),
        case(vec!["build", "--semantic", "none", "--config", w.p("missing.toml"), "-o", o], 1, &["missing.toml"]),
        case(vec!["build", "--semantic", "none", "-o", m], 1, &["holds a model already", "--overwrite"]),
        // Convert onto itself or another model.
        case(vec!["convert", "--model", m, "--decoder-only", "-o", m], 1, &["is the model being read"]),
        case(vec!["convert", "--model", m, "--decoder-only", "-o", m, "--overwrite"], 1, &["is the model being read"]),
        case(vec!["convert", "--model", m, "-o", w.p("nan_model")], 1, &["holds a model already"]),
        // Numeric options that cannot run.
        case(vec!["encode", "--model", m, "--window-seconds", "0", x], 2, &["--window-seconds"]),
        case(vec!["encode", "--model", m, "--window-seconds", "nan", x], 2, &["--window-seconds"]),
        case(vec!["encode", "--model", m, "--window-seconds=-1", x], 2, &["--window-seconds"]),
        case(vec!["encode", "--model", m, "--context-seconds", "nan", x], 2, &["--context-seconds"]),
        case(vec!["encode", "--model", m, "--batch-size", "0", x], 2, &["--batch-size"]),
        case(vec!["encode", "--model", m, "--gain", "inf", x], 2, &["--gain"]),
        case(vec!["encode", "--model", m, "--bandwidth", "0", x], 2, &["--bandwidth"]),
        case(vec!["encode", "--model", m, "--bandwidth", "99", "-o", o, x], 1, &["99"]),
        case(vec!["decode", "--model", m, "--window-seconds", "0", npy], 2, &["--window-seconds"]),
        case(vec!["decode", "--model", m, "--context-seconds=-2", npy], 2, &["--context-seconds"]),
        case(vec!["tokenize", "--model", m, "--batch-seconds", "0", "-o", o, x], 2, &["--batch-seconds"]),
        case(vec!["tokenize", "--model", m, "--workers", "0", "-o", o, x], 2, &["--workers"]),
        case(vec!["tokenize", "--model", m, "--rows-per-part", "0", "-o", o, x], 2, &["--rows-per-part"]),
        case(vec!["tokenize", "--model", m, "--shard", "2/2", "-o", o, x], 1, &["expected i/n"]),
        case(vec!["encode", "--model", m, "--stream", "--chunk-frames", "0", x], 2, &["--chunk-frames"]),
        // Outputs that would replace files.
        case(vec!["decode", "--model", m, "-o", w.p("audio"), w.p("codes/x.npy")], 1, &["x.wav", "exists already"]),
        Case {
            args: vec!["decode", "--model", m, "x.npy"],
            code: 1,
            words: &["x.wav", "exists already", "--overwrite"],
            cwd: Some(w.p("audio")),
        },
        case(vec!["encode", "--model", m, "-o", w.p("codes"), x], 1, &["x.npy", "exists already"]),
        case(vec!["encode", "--model", m, "-o", w.p("text.wav"), x], 1, &["-o names a file"]),
        // Inputs that hold nothing.
        case(vec!["encode", "--model", m, "-o", o, w.p("empty")], 1, &["holds no file"]),
        case(vec!["encode", "--model", m, "-o", o, "@nothing.txt"], 1, &["cannot read the list"]),
        case(
            vec!["encode", "--model", m, "-o", o, &*Box::leak(format!("@{}", w.p("empty.txt")).into_boxed_str())],
            1,
            &["names no file"],
        ),
        // Stream misuse.
        case(vec!["encode", "--model", m, "--stream", x, x], 1, &["one input"]),
        case(vec!["encode", "--model", m, "--stream", "--gain", "2", x], 1, &["--gain"]),
        case(vec!["decode", "--model", m, "--stream", "-o", w.p("raw.wav"), w.p("raw_odd.u16")], 1, &[]),
        // Codes files that lie or are damaged.
        case(vec!["decode", "--model", m, "-o", o, w.p("garbled.npy")], 1, &["garbled.npy"]),
        case(vec!["decode", "--model", m, "-o", o, w.p("cutcodes.npy")], 1, &["cutcodes.npy"]),
        case(vec!["decode", "--model", m, "-o", o, w.p("range.npy")], 1, &["range.npy", "60000"]),
        case(vec!["decode", "--model", m, "-o", o, w.p("zero_samples.safetensors")], 1, &["0 samples", "damaged"]),
        case(vec!["decode", "--model", m, "-o", o, w.p("short_samples.safetensors")], 1, &["100 samples"]),
        case(vec!["decode", "--model", m, "-o", o, w.p("fps75.safetensors")], 1, &["75 frames/s"]),
        case(vec!["decode", "--model", m, "-o", o, w.p("bw.safetensors")], 1, &["0.5 kbps"]),
        case(vec!["decode", "--model", m, "-o", o, x], 1, &["x.wav"]),
        // Audio that is not audio.
        case(vec!["encode", "--model", m, "-o", o, w.p("text.wav")], 1, &["text.wav"]),
        case(vec!["encode", "--model", m, "-o", o, w.p("missing.wav")], 1, &["missing.wav"]),
        // Training.
        case(vec!["train", "-o", o], 1, &["no training data"]),
        case(vec!["train", "--resume", "-o", o], 1, &["nothing to resume"]),
        case(vec!["train", "--model", m, "--set", "train.learning_rate=inf", "-o", o], 1, &["learning_rate"]),
        case(vec!["train", "--model", m, "--set", "train.batch_size=0", "-o", o], 1, &["batch_size"]),
        case(vec!["train", "--model", m, "--set", "train.batch_sise=2", "-o", o], 1, &["batch_sise"]),
        case(vec!["train", "--model", m, "--set", "data.train_list=nope.txt", "-o", o], 1, &["nope.txt"]),
        case(vec!["train", "--model", m, "--resume", "-o", o], 1, &["--resume"]),
        // Evaluation.
        case(vec!["eval", "--model", w.p("nope"), x], 1, &["nope"]),
    ];
    let n = run_all(&w, cases);
    eprintln!("census: {n} refused cases");
}

/// `--skip-existing` keeps whole outputs only: an empty or cut codes file is redone.
#[test]
fn skip_existing_redoes_cut_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let model = repo().join("tests/fixtures/tiny_xcodec_hubert").display().to_string();
    let wav = repo().join("tests/data/speech_en_16k.wav").display().to_string();
    let out = dir.path().join("codes");
    let o = out.to_str().unwrap();
    assert!(xcodec(&["encode", "--model", &model, "-o", o, &wav]).status.success());
    let whole = std::fs::read(out.join("speech_en_16k.npy")).unwrap();
    for cut in [0, 10, whole.len() - 1] {
        std::fs::write(out.join("speech_en_16k.npy"), &whole[..cut]).unwrap();
        let run = xcodec(&["encode", "--model", &model, "--skip-existing", "-o", o, &wav]);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        assert!(String::from_utf8_lossy(&run.stdout).contains("encoded 1 files"), "cut at {cut}: not redone");
        assert_eq!(std::fs::read(out.join("speech_en_16k.npy")).unwrap(), whole);
    }
    let run = xcodec(&["encode", "--model", &model, "--skip-existing", "-o", o, &wav]);
    assert!(String::from_utf8_lossy(&run.stdout).contains("1 skipped"), "a whole output is kept");
}

/// Output that cannot be written: a closed pipe and a full disk end with one line, never a panic.
#[test]
fn a_closed_pipe_and_a_full_disk_are_one_line() {
    let model = repo().join("tests/fixtures/tiny_xcodec_hubert").display().to_string();
    for args in [vec!["list"], vec!["info", &model]] {
        let full = Command::new(env!("CARGO_BIN_EXE_xcodec"))
            .args(&args)
            .stdout(std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&full.stderr);
        assert_eq!(full.status.code(), Some(1), "{err}");
        assert!(err.trim().lines().count() == 1 && err.contains("disk is full"), "{err}");
        // `| head -1`: the reader is gone (closed before the child starts, so no write can slip in).
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_xcodec")).args(&args).stdout(writer).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.trim().lines().count() == 1 && err.contains("pipe closed"), "{err}");
    }
}

/// A stream that fails half way leaves nothing at the output path (raw codes have no header: a cut file
/// would look whole).
#[test]
fn a_failed_stream_leaves_no_partial_output() {
    let dir = tempfile::tempdir().unwrap();
    let built = dir.path().join("causal");
    let out = xcodec(&["build", "--acoustic", "soundstream", "--semantic", "none", "-o", built.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let wav = std::fs::read(repo().join("tests/data/speech_en_16k.wav")).unwrap();
    let cut = dir.path().join("cut.wav");
    std::fs::write(&cut, &wav[..wav.len() / 2 + 1]).unwrap(); // an odd byte count: a sample cut in half
    let codes = dir.path().join("codes.u16");
    let stream = |input: &Path| {
        let (b, c, i) = (built.to_str().unwrap(), codes.to_str().unwrap(), input.to_str().unwrap());
        xcodec(&["encode", "--model", b, "--stream", "-o", c, i])
    };
    let temps = || -> Vec<String> {
        let names =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned());
        names.filter(|n| n.ends_with(".tmp")).collect()
    };
    let out = stream(&cut);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!codes.exists() && temps().is_empty(), "{:?}", temps());
    // Decoding raw codes of an odd byte count (a value cut in half) to a WAV and to raw PCM.
    let odd = dir.path().join("odd.u16");
    std::fs::write(&odd, [1u8, 0, 2, 0, 3]).unwrap();
    for format in ["wav", "s16le"] {
        let audio = dir.path().join(format!("out.{format}"));
        let (b, a, o) = (built.to_str().unwrap(), audio.to_str().unwrap(), odd.to_str().unwrap());
        let out = xcodec(&["decode", "--model", b, "--stream", "--output-format", format, "-o", a, o]);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(!audio.exists(), "{format}: a partial output at the final path");
    }
    assert!(temps().is_empty(), "{:?}", temps());
    // An existing output is refused before the stream starts.
    std::fs::write(&codes, "mine").unwrap();
    let out = stream(&repo().join("tests/data/speech_en_16k.wav"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    assert_eq!(std::fs::read_to_string(&codes).unwrap(), "mine");
}

/// `train --config DIR/train.toml -o DIR` would replace the user's own file; two runs into one -o at once
/// would replace each other's files.
#[test]
fn a_run_never_replaces_its_config_or_another_run() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    let mine = run.join("train.toml");
    let text = "# my own config, with comments\n[train]\nmax_steps = 2\n";
    std::fs::write(&mine, text).unwrap();
    let model = repo().join("tests/fixtures/tiny_xcodec_hubert").display().to_string();
    let out = xcodec(&["train", "--model", &model, "--config", mine.to_str().unwrap(), "-o", run.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is the config this run reads"), "{err}");
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), text);

    // The lock: a second run while the first holds it stops with one line.
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(run.join(".lock")).unwrap();
    lock.try_lock().unwrap();
    let list = dir.path().join("train.txt");
    writeln!(std::fs::File::create(&list).unwrap(), "{}", repo().join("tests/data/speech_en_16k.wav").display())
        .unwrap();
    let out = xcodec(&[
        "train",
        "--model",
        &model,
        "--set",
        &format!("data.train_list={}", list.display()),
        "-o",
        run.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("another training run"), "{err}");
}
