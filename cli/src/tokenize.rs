//! `xcodec tokenize`: arguments, the shard (given or from the launcher), the progress bar in hours of audio
//! per hour, the summary and the exit status. The work is `xcodec_dataset::tokenize` (Parquet) or, with
//! `--format npy`, `encode`'s pipeline over this shard's files.

use crate::ModelArgs;
use crate::out::say;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;
use xcodec_builtin::{ExtraParts, LoadedModel};
use xcodec_core::codes::CodesFormat;
use xcodec_core::pipeline::{self, EncodeOptions, Job};
use xcodec_dataset::{Item, Shard, Summary, TokenizeEvent, TokenizeOptions};

/// `xcodec tokenize`.
#[derive(clap::Args)]
pub struct TokenizeArgs {
    /// Model: our directory, a Hugging Face-layout directory, an original .pth, or a hub id org/name[@rev].
    #[arg(long)]
    pub model: String,
    #[command(flatten)]
    pub source: ModelArgs,
    /// Bandwidth in kbps (default: the model's highest).
    #[arg(long, value_parser = crate::args::positive)]
    pub bandwidth: Option<f64>,
    /// Seconds of audio per batch (files of one length bucket are encoded together up to this much).
    #[arg(long, default_value_t = 60.0, value_parser = crate::args::positive)]
    pub batch_seconds: f64,
    /// This process's share, I/N: the inputs at positions I, I+N, ... of the sorted list (default: from
    /// SLURM or MPI when launched by them, else all).
    #[arg(long)]
    pub shard: Option<String>,
    /// Threads decoding audio ahead of the model.
    #[arg(long, default_value_t = 2, value_parser = crate::args::at_least_one)]
    pub workers: usize,
    /// Files per Parquet part (each part is written once complete; a killed run redoes at most one).
    #[arg(long, default_value_t = 1000, value_parser = crate::args::at_least_one)]
    pub rows_per_part: usize,
    /// Output: Parquet parts, or one .npy per input (mirroring the input paths under the output).
    #[arg(long, value_enum, default_value = "parquet")]
    pub format: DatasetFormat,
    /// Multiply the samples by this before encoding.
    #[arg(long, default_value_t = 1.0, value_parser = crate::args::finite_f32)]
    pub gain: f32,
    /// Seconds each window of a long file keeps (as `encode`).
    #[arg(long, default_value_t = 30.0, value_parser = crate::args::positive)]
    pub window_seconds: f64,
    /// Seconds of context computed around each window (as `encode`).
    #[arg(long, default_value_t = 2.0, value_parser = crate::args::non_negative)]
    pub context_seconds: f64,
    /// The dataset directory (created; rerun with the same arguments to resume).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Audio files, directories (recursive), @lists (one path a line) and @manifests (.csv, .tsv, .jsonl with
    /// a path column; their other columns are carried into the dataset).
    #[arg(required = true)]
    pub inputs: Vec<String>,
}

/// `--format` of `tokenize`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DatasetFormat {
    /// Parquet parts, a row per file (see docs/src/tokenize.md).
    Parquet,
    /// One .npy per input, as `encode` writes them.
    Npy,
}

/// Runs a tokenize.
pub fn run<P: ExtraParts>(model: &LoadedModel<P>, args: &TokenizeArgs) -> anyhow::Result<()> {
    let shard = Shard::resolve(args.shard.as_deref())?;
    let items = xcodec_dataset::expand_audio(&args.inputs)?;
    if args.format == DatasetFormat::Npy {
        return npy(model, args, &items, shard);
    }
    let opts = TokenizeOptions {
        bandwidth_kbps: args.bandwidth,
        batch_seconds: args.batch_seconds,
        rows_per_part: args.rows_per_part,
        shard,
        workers: args.workers,
        window_seconds: args.window_seconds,
        context_seconds: args.context_seconds,
        gain: args.gain,
        model_id: args.model.clone(),
        config_sha256: xcodec_dataset::tokenize::sha256(model.config.to_toml().as_bytes()),
    };
    let mut bar = Bar::new();
    let summary = xcodec_dataset::tokenize(&model.codec, &items, &args.output, &opts, &mut |e| bar.event(e))?;
    bar.bar.finish_and_clear();
    report(&summary, shard, &args.output)
}

/// The summary line; an error (non-zero exit) when any file of the shard failed.
fn report(s: &Summary, shard: Shard, out: &Path) -> anyhow::Result<()> {
    let hours = s.audio_seconds / 3600.0;
    let per_hour = s.audio_seconds / s.elapsed_seconds.max(1e-9);
    say!(
        "tokenized {} files{} ({hours:.3} h of audio in {:.1} s: {per_hour:.0} h/h, {:.0} codes/s) into {}{}{}",
        s.encoded,
        if shard.count > 1 { format!(" of shard {shard}") } else { String::new() },
        s.elapsed_seconds,
        s.codes as f64 / s.elapsed_seconds.max(1e-9),
        out.display(),
        if s.resumed > 0 { format!(", {} already done", s.resumed) } else { String::new() },
        if s.failed > 0 { format!(", {} failed (see {})", s.failed, s.errors_file.display()) } else { String::new() },
    )?;
    if s.failed > 0 {
        anyhow::bail!("{} of {} files failed; their reasons are in {}", s.failed, s.files, s.errors_file.display());
    }
    Ok(())
}

/// `--format npy`: this shard's files through `encode`'s pipeline, resuming by skipping written files.
fn npy<P: ExtraParts>(model: &LoadedModel<P>, args: &TokenizeArgs, items: &[Item], shard: Shard) -> anyhow::Result<()> {
    let jobs: Vec<Job> = items
        .iter()
        .enumerate()
        .filter(|(i, _)| shard.takes(*i))
        .map(|(_, it)| {
            let rel = Path::new(&it.path).components().filter(|c| matches!(c, std::path::Component::Normal(_)));
            Job { input: it.file.clone(), output: args.output.join(rel.collect::<PathBuf>()).with_extension("npy") }
        })
        .collect();
    if let Some(w) = jobs.windows(2).find(|w| w[0].output == w[1].output) {
        anyhow::bail!(
            "{} and {} would both write {}",
            w[0].input.display(),
            w[1].input.display(),
            w[0].output.display()
        );
    }
    let opts = EncodeOptions {
        bandwidth_kbps: args.bandwidth,
        format: CodesFormat::Npy,
        batch_size: usize::MAX,
        window_seconds: args.window_seconds,
        context_seconds: args.context_seconds,
        gain: args.gain,
        skip_existing: true,
        model_id: args.model.clone(),
    };
    let mut progress = crate::jobs::Progress::new(jobs.len(), "tokenized");
    let report = pipeline::encode_files(&model.codec, &jobs, &opts, &mut |e| progress.event(e))?;
    progress.finish(&report)
}

/// Files done of the shard, hours of audio and hours of audio per hour; hidden off a terminal.
struct Bar {
    bar: ProgressBar,
    started: Instant,
    seconds: f64,
}

impl Bar {
    fn new() -> Self {
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} files {msg} [{elapsed_precise} < {eta}]")
                .expect("valid template"),
        );
        Self { bar, started: Instant::now(), seconds: 0.0 }
    }

    fn event(&mut self, event: TokenizeEvent) {
        match event {
            TokenizeEvent::Planned { files, done } => {
                self.bar.set_length(files as u64);
                self.bar.set_position(done as u64);
                self.bar.reset_eta();
            }
            TokenizeEvent::Progress { seconds } => {
                self.seconds += seconds;
                let per_hour = self.seconds / self.started.elapsed().as_secs_f64().max(1e-9);
                self.bar.set_message(format!("{:.2} h audio, {per_hour:.0} h/h", self.seconds / 3600.0));
            }
            TokenizeEvent::Finished { error, .. } => {
                self.bar.inc(1);
                if let Some(reason) = error {
                    self.bar.suspend(|| eprintln!("xcodec: {reason}"));
                }
            }
        }
    }
}
