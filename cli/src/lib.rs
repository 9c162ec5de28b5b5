//! `xcodec`: build, inspect, encode, decode and train semantically augmented neural audio codecs.
//! A thin layer over the library crates: argument parsing, device choice, printing, exit codes. The
//! `xcodec` binary is [`run`] with the built-in parts; a crate with parts of its own makes its own binary
//! with `xcodec_cli::run::<MyParts>()` (see `examples/custom-codec`).

mod args;
mod eval;
mod heap;
mod info;
mod jobs;
mod list;
mod live;
mod out;
mod ranks;
mod tokenize;
mod train;

use crate::out::say;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use xcodec_builtin::{ExtraParts, Models, Parts};
use xcodec_core::{CodecConfig, XcodecError};

/// Semantically augmented neural audio codecs (X-Codec) in Rust.
#[derive(Parser)]
#[command(name = "xcodec", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every registered part, grouped by role.
    List,
    /// Compose a codec from registered parts: writes DIR/config.toml and DIR/model.safetensors.
    Build(BuildArgs),
    /// Show a model's sample rate, frame rate, codebooks, bandwidths and parameter counts.
    Info {
        /// Model: our directory, a Hugging Face-layout directory, an original .pth, or a hub id org/name[@rev].
        model: String,
        #[command(flatten)]
        source: ModelArgs,
    },
    /// Encode audio files (WAV, FLAC, MP3, Ogg, ...; directories, @lists) into codes files.
    Encode(jobs::EncodeArgs),
    /// Decode codes files (.npy, .safetensors; directories, @lists) into WAV files.
    Decode(jobs::DecodeArgs),
    /// Tokenize a dataset: every file's codes (exactly `encode`'s) into Parquet parts a row per file, sharded
    /// over processes (--shard I/N, or SLURM/MPI ranks), resumable, failures listed in errors.jsonl.
    Tokenize(tokenize::TokenizeArgs),
    /// Convert any model to our layout (config.toml + model.safetensors).
    Convert {
        /// Model: our directory, a Hugging Face-layout directory, an original .pth, or a hub id org/name[@rev].
        #[arg(long)]
        model: String,
        #[command(flatten)]
        source: ModelArgs,
        /// Keep only what decoding needs (quantizer, fc_post2, acoustic decoder): a small decode-only model.
        #[arg(long)]
        decoder_only: bool,
        /// Replace a model already in the output directory (never the one being converted).
        #[arg(long)]
        overwrite: bool,
        /// Output directory.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Train a codec (GAN + STFT/mel + semantic + commitment losses), resumable, on one or several devices.
    Train(train::TrainArgs),
    /// Score models on audio files at their bandwidths: mel/STFT distance, SI-SDR, STOI, ESTOI, real-time
    /// factor, codebook usage and entropy; writes REPORT.json/.csv/.md and, with --plot, pictures.
    Eval(eval::EvalArgs),
}

/// Options that say how to read `--model`.
#[derive(clap::Args)]
pub struct ModelArgs {
    /// The yaml of an original .pth checkpoint (default: config.yaml beside it).
    #[arg(long = "config")]
    pub yaml: Option<PathBuf>,
    /// Device: cpu (default); wgpu (the best GPU), wgpu:N, wgpu:cpu (a software Vulkan) or cuda[:N] where compiled in.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

#[derive(clap::Args)]
struct BuildArgs {
    /// Acoustic backbone (see `xcodec list`; default dac, or the --init-acoustic model's).
    #[arg(long)]
    acoustic: Option<String>,
    /// Semantic teacher, or `none` for an acoustic-only codec.
    #[arg(long)]
    semantic: String,
    /// Quantizer.
    #[arg(long, default_value = xcodec_builtin::names::RVQ)]
    quantizer: String,
    /// Override a config value, e.g. `--set acoustic.params.latent_dim=128` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Start from this config file instead of the parts' defaults (then --set applies on top).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Start the acoustic encoder and decoder from this pretrained codec (a DAC port, one of our model
    /// directories, an X-Codec checkpoint): its acoustic part, widths and sample rate are taken, its weights
    /// copied, and `xcodec train` fine-tunes from there.
    #[arg(long, value_name = "MODEL")]
    init_acoustic: Option<String>,
    /// Seed of the initial weights.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Replace a model already in the output directory.
    #[arg(long)]
    overwrite: bool,
    /// Output directory.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
}

fn build<P: ExtraParts>(args: &BuildArgs) -> anyhow::Result<()> {
    check_model_output(&args.output, args.init_acoustic.as_deref(), args.overwrite)?;
    let device = xcodec_core::device::parse("cpu")?;
    let source = match &args.init_acoustic {
        Some(model) => Some(Models::<P>::load(model, None, Parts::All, &device)?),
        None => None,
    };
    let acoustic = match (&args.acoustic, &source) {
        (Some(name), Some(src)) if *name != src.config.acoustic.name => anyhow::bail!(
            "--acoustic {name} but --init-acoustic gives a '{}' acoustic part; drop --acoustic or pick a {name} model",
            src.config.acoustic.name
        ),
        (Some(name), _) => name.clone(),
        (None, Some(src)) => src.config.acoustic.name.clone(),
        (None, None) => xcodec_builtin::names::DAC.to_string(),
    };
    let base = match &args.config {
        Some(path) => CodecConfig::load(path)?,
        None => {
            let mut cfg = CodecConfig::with_parts(&acoustic, &args.semantic, &args.quantizer)?;
            if let Some(src) = &source {
                cfg.acoustic = src.config.acoustic.clone();
                cfg.sample_rate_hz = src.config.sample_rate_hz;
            }
            cfg
        }
    };
    let cfg = base.with_overrides(&args.sets)?;
    device.seed(args.seed);
    let (cfg, mut codec) = Models::<P>::build_pretrained(&cfg, &device)?;
    if let (Some(src), Some(name)) = (&source, &args.init_acoustic) {
        xcodec_builtin::copy_acoustic(&mut codec, &src.codec, name)?;
    }
    xcodec_builtin::save_model_dir(&args.output, &cfg, &codec)?;
    // A training config to fill in: `xcodec train --model DIR --set data.train_list=...` reads it.
    let train_toml = args.output.join(xcodec_trainer::train::RUN_CONFIG);
    if !train_toml.exists() {
        xcodec_core::io::write_atomic(&train_toml, xcodec_trainer::TrainConfig::default().to_toml().as_bytes())?;
    }
    let params: usize = codec.parameter_counts().iter().map(|(_, n)| n).sum();
    let init = source.map(|s| format!(", acoustic weights from {}", s.source)).unwrap_or_default();
    say!(
        "built {} + {} + {} ({:.1} M parameters{init}) -> {}",
        cfg.acoustic.name,
        cfg.semantic.name,
        cfg.quantizer.name,
        params as f64 / 1e6,
        args.output.display()
    )?;
    Ok(())
}

fn dispatch<P: ExtraParts>(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::List => list::print(),
        Command::Build(args) => build::<P>(&args),
        Command::Info { model, source } => {
            let loaded = load::<P>(&model, &source, Parts::All)?;
            info::print(&loaded)
        }
        Command::Encode(args) => {
            let loaded = load::<P>(&args.model, &args.source, Parts::EncoderOnly)?;
            jobs::encode(&loaded, &args)
        }
        Command::Decode(args) => {
            let loaded = load::<P>(&args.model, &args.source, Parts::DecoderOnly)?;
            jobs::decode(&loaded, &args)
        }
        Command::Tokenize(args) => {
            let loaded = load::<P>(&args.model, &args.source, Parts::EncoderOnly)?;
            tokenize::run(&loaded, &args)
        }
        Command::Convert { model, source, decoder_only, overwrite, output } => {
            check_model_output(&output, Some(&model), overwrite)?;
            let parts = if decoder_only { Parts::DecoderOnly } else { Parts::All };
            let mut loaded = load::<P>(&model, &source, parts)?;
            loaded.config.decoder_only = decoder_only;
            xcodec_builtin::save_model_dir(&output, &loaded.config, &loaded.codec)?;
            say!(
                "converted {} -> {}{}",
                loaded.source,
                output.display(),
                if decoder_only { " (decoder only)" } else { "" }
            )?;
            Ok(())
        }
        Command::Train(args) => train::run::<P>(&args),
        Command::Eval(args) => eval::run::<P>(&args),
    }
}

/// Refuses to write a model into `output` when that would replace the model being read (`source`, always)
/// or, unless `overwrite`, a model already there; one line with the fix.
fn check_model_output(output: &Path, source: Option<&str>, overwrite: bool) -> anyhow::Result<()> {
    let model_there =
        output.join(xcodec_builtin::CONFIG_FILE).exists() || output.join(xcodec_builtin::WEIGHTS_FILE).exists();
    if !model_there {
        return Ok(());
    }
    let canon = |p: &Path| p.canonicalize().ok();
    if let Some(src) = source.map(Path::new) {
        let src_dir = if src.is_file() { src.parent().unwrap_or(src) } else { src };
        if canon(src_dir).is_some() && canon(src_dir) == canon(output) {
            anyhow::bail!("{}: is the model being read and would be replaced; pass another -o", output.display());
        }
    }
    if !overwrite {
        anyhow::bail!("{}: holds a model already; pass --overwrite to replace it, or another -o", output.display());
    }
    Ok(())
}

fn load<P: ExtraParts>(
    model: &str,
    source: &ModelArgs,
    parts: Parts,
) -> anyhow::Result<xcodec_builtin::LoadedModel<P>> {
    let device = xcodec_core::device::parse(&source.device)?;
    Ok(Models::<P>::load(model, source.yaml.as_deref(), parts, &device)?)
}

/// The codec's own error behind `err`, whichever library crate reported it.
fn core_error(err: &anyhow::Error) -> Option<&XcodecError> {
    err.downcast_ref::<XcodecError>()
        .or_else(|| err.downcast_ref::<xcodec_builtin::BuiltinError>().and_then(|e| e.as_core()))
        .or_else(|| err.downcast_ref::<xcodec_trainer::TrainError>().and_then(|e| e.as_core()))
        .or_else(|| match err.downcast_ref::<xcodec_dataset::DatasetError>() {
            Some(xcodec_dataset::DatasetError::Core(e)) => Some(e),
            _ => None,
        })
}

/// Runs the command line of this process with the built-in parts and `P`'s (`NoExtra`: the built-ins only);
/// a binary's whole `main`.
pub fn run<P: ExtraParts>() -> ExitCode {
    heap::keep_freed_memory();
    let cli = Cli::parse();
    match dispatch::<P>(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line per failure; a wrong name is a usage error (exit 2), anything else exit 1.
            // stderr itself may be closed: then the exit code alone tells.
            let _ = writeln!(std::io::stderr(), "xcodec: {err}");
            match core_error(&err) {
                Some(XcodecError::UnknownPart { .. }) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}
