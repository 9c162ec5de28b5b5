//! The tokenize run: this shard's inputs cut into parts of `rows_per_part` files (by position, so a part's
//! inputs never change between runs), audio decoded on worker threads ahead of the model, codes computed by
//! [`ClipEncoder`] (whole files batched by exact length, long files in windows), each part written atomically
//! once all its files are done. A rerun skips the parts that exist and redoes the others, so a killed run
//! ends with the same files as an uninterrupted one.

use crate::parquet_part::{Failure, PartSchema, Row, read_failures};
use crate::{DatasetError, Item, Result, Shard};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use xcodec_core::pipeline::{ClipEncoder, FileCodes, Opened};
use xcodec_core::{AcousticDecoder, AcousticEncoder, Quantizer, SemanticTeacher, XCodec};

/// What [`tokenize`] does.
#[derive(Debug, Clone)]
pub struct TokenizeOptions {
    /// Bandwidth in kbps; `None` = the model's highest.
    pub bandwidth_kbps: Option<f64>,
    /// Seconds of audio per batch (files of one length bucket encoded together up to this much).
    pub batch_seconds: f64,
    /// Files per Parquet part.
    pub rows_per_part: usize,
    /// Which of the inputs this process takes.
    pub shard: Shard,
    /// Threads decoding audio ahead of the model.
    pub workers: usize,
    /// Seconds each window of a long file keeps (as `encode`).
    pub window_seconds: f64,
    /// Seconds of context around each window (as `encode`).
    pub context_seconds: f64,
    /// Gain applied to the samples.
    pub gain: f32,
    /// The model as the user named it.
    pub model_id: String,
    /// SHA-256 of the model's config ([`sha256`] of its TOML).
    pub config_sha256: String,
}

impl Default for TokenizeOptions {
    fn default() -> Self {
        Self {
            bandwidth_kbps: None,
            batch_seconds: 60.0,
            rows_per_part: 1000,
            shard: Shard::ALL,
            workers: 2,
            window_seconds: 30.0,
            context_seconds: 2.0,
            gain: 1.0,
            model_id: String::new(),
            config_sha256: String::new(),
        }
    }
}

/// Progress of a run.
#[derive(Debug)]
pub enum TokenizeEvent<'a> {
    /// The plan: this shard's files, and how many of them earlier runs already did.
    Planned {
        /// Files this shard holds.
        files: usize,
        /// Of them, in parts already written.
        done: usize,
    },
    /// Seconds of audio just encoded.
    Progress {
        /// Seconds.
        seconds: f64,
    },
    /// A file is finished; `error` is its one-line reason when it failed.
    Finished {
        /// The input's path.
        path: &'a str,
        /// Why it failed, if it did.
        error: Option<&'a str>,
    },
}

/// How a run went.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Files this shard holds.
    pub files: usize,
    /// Files encoded by this run.
    pub encoded: usize,
    /// Files found done by an earlier run.
    pub resumed: usize,
    /// Files that failed, this run's and earlier runs' (listed in the errors file).
    pub failed: usize,
    /// Seconds of audio encoded by this run.
    pub audio_seconds: f64,
    /// Codes written by this run.
    pub codes: u64,
    /// Wall-clock seconds.
    pub elapsed_seconds: f64,
    /// Where the failures are listed.
    pub errors_file: PathBuf,
}

/// Hex SHA-256 of `bytes` (model configs, input lists).
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The folder of the parts, `DS/data` (where `datasets.load_dataset(DS)` looks; `pyarrow.dataset(DS/data)`
/// reads it whole).
pub const DATA_DIR: &str = "data";

/// The file of part `k` of `shard`.
pub fn part_path(out: &Path, shard: Shard, k: usize) -> PathBuf {
    out.join(DATA_DIR).join(format!("part-{}-{k:06}.parquet", shard.tag()))
}

/// The errors file of `shard`: `errors.jsonl` for a single shard, `errors-I-of-N.jsonl` otherwise.
pub fn errors_path(out: &Path, shard: Shard) -> PathBuf {
    if shard.count == 1 { out.join("errors.jsonl") } else { out.join(format!("errors-{}.jsonl", shard.tag())) }
}

/// Tokenizes this shard of `items` (sorted, as [`crate::expand`] gives them) into `out`.
pub fn tokenize<A: AcousticEncoder + Sync, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer>(
    codec: &XCodec<A, D, S, Q>,
    items: &[Item],
    out: &Path,
    opts: &TokenizeOptions,
    on_event: &mut dyn FnMut(TokenizeEvent),
) -> Result<Summary> {
    let started = Instant::now();
    check_options(opts)?;
    let enc = ClipEncoder::new(codec, opts.bandwidth_kbps, opts.gain, opts.window_seconds, opts.context_seconds)?;
    let mine: Vec<&Item> = items.iter().enumerate().filter(|(i, _)| opts.shard.takes(*i)).map(|(_, it)| it).collect();
    std::fs::create_dir_all(out.join(DATA_DIR))
        .map_err(|e| DatasetError::Output(format!("{}: cannot create the dataset directory: {e}", out.display())))?;
    let _lock = lock(out, opts.shard)?;
    check_identity(out, opts, &enc, &mine)?;
    remove_stale_temps(out, opts.shard);

    let rows_per_part = opts.rows_per_part;
    let parts: Vec<&[&Item]> = mine.chunks(rows_per_part).collect();
    let mut summary = Summary { files: mine.len(), errors_file: errors_path(out, opts.shard), ..Summary::default() };
    let mut failures = Vec::new();
    let mut todo = Vec::new(); // (part, position in part)
    for (k, part) in parts.iter().enumerate() {
        let path = part_path(out, opts.shard, k);
        if path.is_file() {
            failures.extend(read_failures(&path)?);
            summary.resumed += part.len();
        } else {
            todo.extend((0..part.len()).map(|p| (k, p)));
        }
    }
    write_errors(&summary.errors_file, &failures)?;
    on_event(TokenizeEvent::Planned { files: mine.len(), done: summary.resumed });

    let schema = PartSchema {
        columns: crate::inputs::column_names(items),
        sample_rate_hz: codec.sample_rate_hz,
        codebook_size: codec.quantizer.codebook_size(),
        metadata: metadata(opts, &enc, codec),
    };
    let mut run = Run {
        enc: &enc,
        parts: &parts,
        todo: &todo,
        out,
        shard: opts.shard,
        schema: &schema,
        outcomes: BTreeMap::new(),
        failures,
        summary: &mut summary,
        batch_samples: ((opts.batch_seconds * codec.sample_rate_hz as f64) as usize).max(1),
        pending: BTreeMap::new(),
        pending_samples: 0,
    };
    let (rate, max_whole, gain) = (codec.sample_rate_hz, enc.max_whole(), opts.gain);
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = std::sync::mpsc::sync_channel(2 * opts.workers);
        for _ in 0..opts.workers {
            let (tx, next, todo, parts) = (tx.clone(), &next, &todo, &parts);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(k, p)) = todo.get(i) else { break };
                    let opened = ClipEncoder::<A, D, S, Q>::open(&parts[k][p].file, rate, max_whole, gain);
                    if tx.send((i, opened)).is_err() {
                        break; // the model side stopped
                    }
                }
            });
        }
        drop(tx);
        let mut received = vec![0usize; parts.len()];
        for (i, opened) in rx {
            let (k, _) = todo[i];
            received[k] += 1;
            run.take(i, opened, on_event)?;
            if received[k] == parts[k].len() || run.pending_samples > 4 * run.batch_samples {
                run.flush(on_event)?;
            }
        }
        run.flush(on_event)
    })?;
    summary.failed = run.failures.len();
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// One run's state on the model side.
struct Run<'a, 'c, A, D, S, Q> {
    enc: &'a ClipEncoder<'c, A, D, S, Q>,
    parts: &'a [&'a [&'a Item]],
    todo: &'a [(usize, usize)],
    out: &'a Path,
    shard: Shard,
    schema: &'a PartSchema,
    /// Finished files of unwritten parts: part -> position -> codes or failure.
    outcomes: BTreeMap<usize, BTreeMap<usize, std::result::Result<FileCodes, String>>>,
    failures: Vec<Failure>,
    summary: &'a mut Summary,
    batch_samples: usize,
    /// Whole files waiting for a batch, by length: (todo index, samples).
    pending: BTreeMap<usize, Vec<(usize, Vec<f32>)>>,
    pending_samples: usize,
}

impl<A: AcousticEncoder + Sync, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer> Run<'_, '_, A, D, S, Q> {
    fn item(&self, i: usize) -> &Item {
        let (k, p) = self.todo[i];
        self.parts[k][p]
    }

    /// A decoded (or failed) file from a worker.
    fn take(
        &mut self,
        i: usize,
        opened: xcodec_core::Result<Opened>,
        on_event: &mut dyn FnMut(TokenizeEvent),
    ) -> Result<()> {
        match opened {
            Err(e) => self.finish(i, Err(one_line(&self.item(i).path, &e.to_string())), on_event),
            Ok(Opened::Long(reader, head)) => {
                let file = self.item(i).file.clone();
                let codes = self
                    .enc
                    .encode_long(&file, *reader, head, &mut |seconds| on_event(TokenizeEvent::Progress { seconds }));
                let codes = codes.map_err(|e| one_line(&self.item(i).path, &e.to_string()));
                self.finish(i, codes, on_event)
            }
            Ok(Opened::Whole(samples)) => {
                let bucket = self.enc.bucket(samples.len());
                self.pending_samples += samples.len();
                let group = self.pending.entry(bucket).or_default();
                group.push((i, samples));
                if group.len() * bucket.max(1) >= self.batch_samples {
                    let group = self.pending.remove(&bucket).expect("just filled");
                    self.encode_group(group, on_event)?;
                }
                Ok(())
            }
        }
    }

    /// Encodes every waiting file.
    fn flush(&mut self, on_event: &mut dyn FnMut(TokenizeEvent)) -> Result<()> {
        for (_, group) in std::mem::take(&mut self.pending) {
            self.encode_group(group, on_event)?;
        }
        Ok(())
    }

    /// Files of one length bucket, in batches of at most `batch_samples` padded samples (at least one file).
    fn encode_group(&mut self, group: Vec<(usize, Vec<f32>)>, on_event: &mut dyn FnMut(TokenizeEvent)) -> Result<()> {
        let bucket = group.first().map_or(0, |(_, s)| self.enc.bucket(s.len()));
        for batch in group.chunks((self.batch_samples / bucket.max(1)).max(1)) {
            let rows: Vec<&[f32]> = batch.iter().map(|(_, s)| s.as_slice()).collect();
            let samples: usize = rows.iter().map(|r| r.len()).sum();
            self.pending_samples -= samples;
            let result = self.enc.encode_batch(&rows);
            on_event(TokenizeEvent::Progress { seconds: samples as f64 / self.schema.sample_rate_hz as f64 });
            for (row, (i, _)) in batch.iter().enumerate() {
                let codes = match &result {
                    Ok(codes) => Ok(codes[row].clone()),
                    Err(e) => Err(one_line(&self.item(*i).path, &e.to_string())),
                };
                self.finish(*i, codes, on_event)?;
            }
        }
        Ok(())
    }

    /// Records a file's outcome; writes its part when that was the part's last file.
    fn finish(
        &mut self,
        i: usize,
        outcome: std::result::Result<FileCodes, String>,
        on_event: &mut dyn FnMut(TokenizeEvent),
    ) -> Result<()> {
        let (k, p) = self.todo[i];
        let path = self.parts[k][p].path.as_str();
        match &outcome {
            Ok(codes) => {
                self.summary.encoded += 1;
                self.summary.audio_seconds += codes.num_samples as f64 / self.schema.sample_rate_hz as f64;
                self.summary.codes += codes.values.len() as u64;
                on_event(TokenizeEvent::Finished { path, error: None });
            }
            Err(reason) => on_event(TokenizeEvent::Finished { path, error: Some(reason) }),
        }
        let part = self.outcomes.entry(k).or_default();
        part.insert(p, outcome);
        if part.len() == self.parts[k].len() {
            let part = self.outcomes.remove(&k).expect("just filled");
            self.write_part(k, part)?;
        }
        Ok(())
    }

    fn write_part(&mut self, k: usize, part: BTreeMap<usize, std::result::Result<FileCodes, String>>) -> Result<()> {
        let (mut rows, mut failures) = (Vec::new(), Vec::new());
        for (p, outcome) in part {
            let item = self.parts[k][p];
            match outcome {
                Ok(c) => rows.push(Row {
                    path: item.path.clone(),
                    columns: item.columns.clone(),
                    num_samples: c.num_samples as u64,
                    n_q: c.n_q,
                    frames: c.frames,
                    values: c.values,
                }),
                Err(error) => failures.push(Failure { path: item.path.clone(), error }),
            }
        }
        self.schema.write(&part_path(self.out, self.shard, k), &rows, &failures)?;
        self.failures.extend(failures);
        write_errors(&self.summary.errors_file, &self.failures)
    }
}

/// `path: reason` on one line (the reason already naming the path is left as it is).
fn one_line(path: &str, reason: &str) -> String {
    let reason = reason.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    if reason.contains(path) { reason } else { format!("{path}: {reason}") }
}

fn check_options(opts: &TokenizeOptions) -> Result<()> {
    let positive = |name: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(DatasetError::Input(format!("--{name} {v}: expected a positive number of seconds")))
        }
    };
    positive("batch-seconds", opts.batch_seconds)?;
    positive("window-seconds", opts.window_seconds)?;
    if !(opts.context_seconds.is_finite() && opts.context_seconds >= 0.0) {
        return Err(DatasetError::Input(format!(
            "--context-seconds {}: expected zero or a positive number of seconds",
            opts.context_seconds
        )));
    }
    if opts.rows_per_part == 0 || opts.workers == 0 {
        return Err(DatasetError::Input("--rows-per-part and --workers must be at least 1".into()));
    }
    Ok(())
}

/// Holds the shard's lock file for the run: a second run writing the same shard of the same dataset stops.
fn lock(out: &Path, shard: Shard) -> Result<std::fs::File> {
    xcodec_core::io::try_lock(&out.join(format!(".lock-{}", shard.tag())))?.ok_or_else(|| {
        DatasetError::Output(format!(
            "{}: another tokenize is writing shard {shard} of this dataset; wait for it or pass another -o",
            out.display()
        ))
    })
}

/// The settings a dataset's parts depend on, stored beside them: a rerun with other settings is refused
/// instead of mixing two tokenizations.
fn check_identity<A: AcousticEncoder + Sync, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer>(
    out: &Path,
    opts: &TokenizeOptions,
    enc: &ClipEncoder<A, D, S, Q>,
    mine: &[&Item],
) -> Result<()> {
    let paths: Vec<&str> = mine.iter().map(|i| i.path.as_str()).collect();
    let identity = serde_json::json!({
        "model": opts.model_id,
        "config_sha256": opts.config_sha256,
        "bandwidth_kbps": enc.bandwidth_kbps(),
        "window_seconds": opts.window_seconds,
        "context_seconds": opts.context_seconds,
        "gain": opts.gain,
        "rows_per_part": opts.rows_per_part,
        "shard": opts.shard.to_string(),
        "inputs": paths.len(),
        "inputs_sha256": sha256(paths.join("\n").as_bytes()),
    });
    let path = out.join(format!("tokenize-{}.json", opts.shard.tag()));
    if let Ok(text) = std::fs::read_to_string(&path) {
        let before: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            DatasetError::Output(format!("{}: unreadable ({e}); delete it to start over", path.display()))
        })?;
        let differ: Vec<String> = identity
            .as_object()
            .expect("an object")
            .iter()
            .filter(|(k, v)| before.get(k.as_str()) != Some(v))
            .map(|(k, v)| format!("{k} {} -> {v}", before.get(k.as_str()).unwrap_or(&serde_json::Value::Null)))
            .collect();
        if !differ.is_empty() {
            return Err(DatasetError::Output(format!(
                "{} holds shard {} tokenized otherwise ({}); rerun with the same model, options and inputs, or pass a new -o",
                out.display(),
                opts.shard,
                differ.join(", ")
            )));
        }
        return Ok(());
    }
    let text = serde_json::to_string_pretty(&identity).expect("json");
    Ok(xcodec_core::io::write_atomic(&path, text.as_bytes())?)
}

/// Temp files of this shard's parts left by a killed run.
fn remove_stale_temps(out: &Path, shard: Shard) {
    let prefix = format!(".part-{}-", shard.tag());
    for entry in std::fs::read_dir(out.join(DATA_DIR)).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The key-value metadata of every part.
fn metadata<A: AcousticEncoder + Sync, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer>(
    opts: &TokenizeOptions,
    enc: &ClipEncoder<A, D, S, Q>,
    codec: &XCodec<A, D, S, Q>,
) -> Vec<(String, String)> {
    [
        ("xcodec.model", opts.model_id.clone()),
        ("xcodec.config_sha256", opts.config_sha256.clone()),
        ("xcodec.bandwidth_kbps", enc.bandwidth_kbps().to_string()),
        ("xcodec.n_q", enc.codebooks().to_string()),
        ("xcodec.codebook_size", codec.quantizer.codebook_size().to_string()),
        ("xcodec.sample_rate", codec.sample_rate_hz.to_string()),
        ("xcodec.frame_rate_hz", codec.frame_rate_hz().to_string()),
        ("xcodec.codes_layout", "codes[q][t]: n_q lists of frames (codebook-major)".to_string()),
        ("xcodec.version", env!("CARGO_PKG_VERSION").to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Writes the failures, one JSON object a line, sorted by path, atomically.
fn write_errors(path: &Path, failures: &[Failure]) -> Result<()> {
    let mut sorted: Vec<&Failure> = failures.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut text = Vec::new();
    for f in sorted {
        serde_json::to_writer(&mut text, f).expect("json");
        text.write_all(b"\n").expect("in memory");
    }
    Ok(xcodec_core::io::write_atomic(path, &text)?)
}
