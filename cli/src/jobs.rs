//! `xcodec encode` / `xcodec decode`: arguments, the progress bar, the summary and the exit status.
//! The work itself is `xcodec_core::pipeline`; with `--stream` it is handed to [`crate::live`].

use crate::ModelArgs;
use crate::live::{self, AudioFormat, StreamArgs};
use crate::out::say;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;
use xcodec_builtin::{ExtraParts, LoadedModel};
use xcodec_core::audio::SampleFormat;
use xcodec_core::codes::CodesFormat;
use xcodec_core::pipeline::{self, DecodeOptions, EncodeOptions, Event, Existing, Outcome, Report};

/// `xcodec encode`.
#[derive(clap::Args)]
pub struct EncodeArgs {
    /// Model: our directory, a Hugging Face-layout directory, an original .pth, or a hub id org/name[@rev].
    #[arg(long)]
    pub model: String,
    #[command(flatten)]
    pub source: ModelArgs,
    /// Bandwidth in kbps (default: the model's highest).
    #[arg(long, value_parser = crate::args::positive)]
    pub bandwidth: Option<f64>,
    /// Codes file format.
    #[arg(long, value_enum, default_value = "npy")]
    pub format: Format,
    /// Files encoded together (any lengths: padded to a length bucket and masked, codes as if alone).
    #[arg(long, default_value_t = 1, value_parser = crate::args::at_least_one)]
    pub batch_size: usize,
    /// Multiply the samples by this before encoding.
    #[arg(long, default_value_t = 1.0, value_parser = crate::args::finite_f32)]
    pub gain: f32,
    /// With --stream: the input's format (raw mono PCM at the model's rate, or a WAV at the model's rate).
    #[arg(long, value_enum, default_value = "wav", requires = "stream")]
    pub input_format: AudioFormat,
    #[command(flatten)]
    pub stream: StreamArgs,
    #[command(flatten)]
    pub job: JobArgs,
    /// Audio files, directories (searched recursively) and @lists (one path a line); with --stream one file or `-`.
    #[arg(required = true)]
    pub inputs: Vec<String>,
}

/// Options both `encode` and `decode` take.
#[derive(clap::Args)]
pub struct JobArgs {
    /// Seconds each window of a long file keeps (files up to window + 2 x context run whole).
    #[arg(long, default_value_t = 30.0, value_parser = crate::args::positive)]
    pub window_seconds: f64,
    /// Seconds of context computed around each window and thrown away.
    #[arg(long, default_value_t = 2.0, value_parser = crate::args::non_negative)]
    pub context_seconds: f64,
    /// Leave inputs whose output already exists and is complete (resume an interrupted run).
    #[arg(long, conflicts_with = "overwrite")]
    pub skip_existing: bool,
    /// Replace outputs that exist already (by default a run that would replace a file is refused).
    #[arg(long)]
    pub overwrite: bool,
    /// Output directory (a directory input's tree is mirrored under it; default `.`). With --stream: the output
    /// file, `-` for stdout (the default).
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

impl JobArgs {
    /// `--skip-existing` / `--overwrite`.
    fn existing(&self) -> Existing {
        match (self.skip_existing, self.overwrite) {
            (true, _) => Existing::Skip,
            (_, true) => Existing::Overwrite,
            _ => Existing::Refuse,
        }
    }

    /// The jobs of a files run, checked against the files already there.
    fn plan(&self, inputs: &[String], extensions: &[&str], out_ext: &str) -> anyhow::Result<Vec<pipeline::Job>> {
        let out = self.output_dir();
        if out.exists() && !out.is_dir() {
            anyhow::bail!("{}: -o names a file; give a directory (created when missing)", out.display());
        }
        let jobs = pipeline::plan(inputs, extensions, &out, out_ext)?;
        pipeline::check_outputs(&jobs, self.existing())?;
        Ok(jobs)
    }

    /// The output directory of a files job.
    fn output_dir(&self) -> PathBuf {
        self.output.clone().unwrap_or_else(|| PathBuf::from("."))
    }

    /// What a `--stream` run is given: these options with the command's inputs, stream format and bandwidth.
    fn streamed<'a>(
        &'a self,
        inputs: &'a [String],
        format: AudioFormat,
        bandwidth: Option<f64>,
        stream: &'a StreamArgs,
    ) -> live::StreamJob<'a> {
        live::StreamJob { inputs, format, bandwidth, stream, output: self.output.as_deref(), overwrite: self.overwrite }
    }
}

/// `xcodec decode`.
#[derive(clap::Args)]
pub struct DecodeArgs {
    /// Model: our directory, a Hugging Face-layout directory, an original .pth, or a hub id org/name[@rev].
    #[arg(long)]
    pub model: String,
    #[command(flatten)]
    pub source: ModelArgs,
    /// WAV sample format.
    #[arg(long, value_enum, default_value = "pcm16")]
    pub sample_format: WavFormat,
    /// With --stream: bandwidth in kbps the codes were encoded at (default: the model's highest); sets the
    /// codebooks per frame.
    #[arg(long, requires = "stream", value_parser = crate::args::positive)]
    pub bandwidth: Option<f64>,
    /// With --stream: the output's format (raw mono PCM, or a WAV whose samples --sample-format sets).
    #[arg(long, value_enum, default_value = "wav", requires = "stream")]
    pub output_format: AudioFormat,
    #[command(flatten)]
    pub stream: StreamArgs,
    #[command(flatten)]
    pub job: JobArgs,
    /// Codes files (.npy, .safetensors), directories and @lists; with --stream one raw codes file or `-`.
    #[arg(required = true)]
    pub inputs: Vec<String>,
}

/// `--format`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// NumPy array (n_codebooks, frames), uint16 when the codebook allows.
    Npy,
    /// safetensors with the codes and metadata (model, rates, bandwidth, original length).
    Safetensors,
}

/// `--sample-format`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum WavFormat {
    /// 16-bit PCM (clipping reported).
    Pcm16,
    /// 32-bit float.
    F32,
}

/// Runs an encode.
pub fn encode<P: ExtraParts>(model: &LoadedModel<P>, args: &EncodeArgs) -> anyhow::Result<()> {
    if args.stream.stream {
        let job = args.job.streamed(&args.inputs, args.input_format, args.bandwidth, &args.stream);
        return live::encode(model, job, args.gain);
    }
    let format = match args.format {
        Format::Npy => CodesFormat::Npy,
        Format::Safetensors => CodesFormat::Safetensors,
    };
    let jobs = args.job.plan(&args.inputs, pipeline::AUDIO_EXTENSIONS, format.extension())?;
    let opts = EncodeOptions {
        bandwidth_kbps: args.bandwidth,
        format,
        batch_size: args.batch_size,
        window_seconds: args.job.window_seconds,
        context_seconds: args.job.context_seconds,
        gain: args.gain,
        skip_existing: args.job.skip_existing,
        model_id: args.model.clone(),
    };
    let mut progress = Progress::new(jobs.len(), "encoded");
    let report = pipeline::encode_files(&model.codec, &jobs, &opts, &mut |e| progress.event(e))?;
    progress.finish(&report)
}

/// Runs a decode.
pub fn decode<P: ExtraParts>(model: &LoadedModel<P>, args: &DecodeArgs) -> anyhow::Result<()> {
    let sample_format = match args.sample_format {
        WavFormat::Pcm16 => SampleFormat::Pcm16,
        WavFormat::F32 => SampleFormat::F32,
    };
    if args.stream.stream {
        let job = args.job.streamed(&args.inputs, args.output_format, args.bandwidth, &args.stream);
        return live::decode(model, job, sample_format);
    }
    let jobs = args.job.plan(&args.inputs, pipeline::CODES_EXTENSIONS, "wav")?;
    let opts = DecodeOptions {
        sample_format,
        window_seconds: args.job.window_seconds,
        context_seconds: args.job.context_seconds,
        skip_existing: args.job.skip_existing,
    };
    let mut progress = Progress::new(jobs.len(), "decoded");
    let report = pipeline::decode_files(&model.codec, &jobs, &opts, &mut |e| progress.event(e));
    progress.finish(&report)
}

/// A bar of files with audio seconds and the real-time factor; hidden when stderr is not a terminal.
pub(crate) struct Progress {
    bar: ProgressBar,
    started: Instant,
    audio_seconds: f64,
    verb: &'static str,
    files: usize,
}

impl Progress {
    pub(crate) fn new(files: usize, verb: &'static str) -> Self {
        let bar = if std::io::stderr().is_terminal() && files > 0 {
            ProgressBar::with_draw_target(Some(files as u64), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} files {msg} [{elapsed_precise} < {eta}]")
                .expect("valid template"),
        );
        Self { bar, started: Instant::now(), audio_seconds: 0.0, verb, files }
    }

    pub(crate) fn event(&mut self, event: Event) {
        match event {
            Event::Started { input, .. } => self.bar.set_message(input.display().to_string()),
            Event::Progress { seconds } => {
                self.audio_seconds += seconds;
                let rtf = self.audio_seconds / self.started.elapsed().as_secs_f64().max(1e-9);
                self.bar.set_message(format!("{:.1} s audio, {rtf:.1}x real time", self.audio_seconds));
            }
            Event::Finished { input, outcome } => {
                self.bar.inc(1);
                match outcome {
                    // One line per failure, above the bar.
                    // A run of one file says its failure once, as the command's error.
                    Outcome::Failed(reason) if self.files > 1 => self.bar.suspend(|| eprintln!("xcodec: {reason}")),
                    Outcome::Done { clipped, .. } if *clipped > 0 => self.bar.suspend(|| {
                        eprintln!(
                            "xcodec: {}: {clipped} samples clipped to [-1, 1] (use --sample-format f32 to keep them)",
                            input.display()
                        )
                    }),
                    _ => {}
                }
            }
        }
    }

    /// The summary line; an error (non-zero exit) when any file failed.
    pub(crate) fn finish(self, report: &Report) -> anyhow::Result<()> {
        self.bar.finish_and_clear();
        let count = |f: fn(&Outcome) -> bool| report.iter().filter(|(_, o)| f(o)).count();
        let done = count(|o| matches!(o, Outcome::Done { .. }));
        let skipped = count(|o| matches!(o, Outcome::Skipped));
        let failed = count(|o| matches!(o, Outcome::Failed(_)));
        let seconds = self.started.elapsed().as_secs_f64();
        let rtf = self.audio_seconds / seconds.max(1e-9);
        say!(
            "{} {done} files ({:.1} s of audio in {seconds:.1} s, {rtf:.1}x real time = {rtf:.1} h of audio per hour){}{}",
            self.verb,
            self.audio_seconds,
            if skipped > 0 { format!(", {skipped} skipped") } else { String::new() },
            if failed > 0 { format!(", {failed} failed") } else { String::new() },
        )?;
        if let [(_, Outcome::Failed(reason))] = report.as_slice() {
            anyhow::bail!("{reason}");
        }
        if failed > 0 {
            anyhow::bail!("{failed} of {} files failed", report.len());
        }
        Ok(())
    }
}
