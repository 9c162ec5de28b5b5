//! `xcodec train`: argument handling and progress for the trainer library.

use crate::out::say;
use crate::ranks::Ranks;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use xcodec_builtin::ExtraParts;
use xcodec_trainer::TrainConfig;
use xcodec_trainer::metrics::Record;
use xcodec_trainer::replicas::DeviceReduce;
use xcodec_trainer::train::{Event, RUN_CONFIG, TrainOptions};

/// `xcodec train` arguments.
#[derive(clap::Args)]
pub struct TrainArgs {
    /// Training config (TOML: [data], [train], [loss], [discriminator], optional [codec]). Default: the
    /// `train.toml` of --model when it has one (written by `xcodec build`), else the built-in defaults.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Start from this model directory (made by `xcodec build` or `xcodec convert`) instead of a [codec] section.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Override a config value, e.g. `--set data.train_list=train.txt` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Continue the run in -o from its last checkpoint (its own train.toml; --set still applies).
    #[arg(long)]
    resume: bool,
    /// Stop after this many steps (same as --set train.max_steps=N).
    #[arg(long)]
    max_steps: Option<u64>,
    /// Devices, comma separated, one replica each: cpu (default), cpu,cpu (two CPU replicas), cuda:0,cuda:1, wgpu, wgpu:cpu.
    /// Under mpirun/srun the index `L` is the rank's local rank on its node (`--devices cuda:L`: a GPU a rank).
    #[arg(long, default_value = "cpu")]
    devices: String,
    /// Run directory: train.toml, metrics.jsonl, curves.png, checkpoints/.
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
}

/// A new run writes its resolved config to `-o/train.toml`: refused when that is the config being read (the
/// user's own file, comments and all, would be replaced).
fn refuse_replacing_the_config(args: &TrainArgs) -> anyhow::Result<()> {
    let read = args.config.clone().or_else(|| args.model.as_ref().map(|m| m.join(RUN_CONFIG)));
    let written = args.output.join(RUN_CONFIG);
    let same = read.and_then(|r| r.canonicalize().ok()).is_some_and(|r| written.canonicalize().ok() == Some(r));
    if same {
        anyhow::bail!(
            "{}: is the config this run reads and would be replaced by the run's own; copy it out of -o \
             (e.g. cp {} my-train.toml and pass --config my-train.toml) or choose another -o",
            written.display(),
            written.display()
        );
    }
    Ok(())
}

/// Runs `xcodec train`.
pub fn run<P: ExtraParts>(args: &TrainArgs) -> anyhow::Result<()> {
    let mut sets = args.sets.clone();
    if let Some(n) = args.max_steps {
        sets.push(format!("train.max_steps={n}"));
    }
    let base = if args.resume {
        if args.config.is_some() || args.model.is_some() {
            anyhow::bail!(
                "--resume continues the run in {} with its own train.toml and model; drop --config/--model (change values with --set)",
                args.output.display()
            );
        }
        let path = args.output.join(RUN_CONFIG);
        if !path.is_file() {
            anyhow::bail!(
                "{}: no {RUN_CONFIG} here, so nothing to resume; start the run without --resume",
                args.output.display()
            );
        }
        TrainConfig::load(&path)?
    } else {
        refuse_replacing_the_config(args)?;
        match (&args.config, &args.model) {
            (Some(path), _) => TrainConfig::load(path)?,
            (None, Some(dir)) if dir.join(RUN_CONFIG).is_file() => TrainConfig::load(&dir.join(RUN_CONFIG))?,
            _ => TrainConfig::default(),
        }
    };
    let config = base.with_overrides(&sets)?;
    if config.data.train_list.as_os_str().is_empty() {
        anyhow::bail!(
            "no training data: set data.train_list (a text file with one audio path a line), e.g. --set data.train_list=train.txt"
        );
    }
    let ranks = Ranks::start()?;
    let specs: Vec<String> = args.devices.split(',').map(|d| ranks.local_device(d.trim())).collect();
    let devices = specs.iter().map(|d| xcodec_core::device::parse(d)).collect::<xcodec_core::Result<Vec<_>>>()?;
    // burn 0.22.1 has collectives between CUDA devices only (NCCL); other backends add up through the host.
    let device_reduce = if specs.len() > 1 && specs.iter().all(|s| s.starts_with("cuda")) {
        DeviceReduce::Collective
    } else {
        DeviceReduce::Host
    };
    let opts = TrainOptions {
        config,
        model: args.model.clone(),
        run_dir: args.output.clone(),
        resume: args.resume,
        devices,
        device_reduce,
        world: ranks.world(),
    };
    let mut bar = ProgressBar::hidden();
    let summary = match xcodec_trainer::train::train::<P>(opts, &mut |event| report(&mut bar, event)) {
        Ok(summary) => summary,
        Err(e) => return Err(ranks.fail(e.into())),
    };
    bar.finish_and_clear();
    if ranks.is_root() {
        say!("trained {} steps -> {}", summary.steps, summary.checkpoint.display())?;
    }
    Ok(())
}

/// The main losses of a step, short.
fn brief(record: &Record) -> String {
    ["total", "stft", "mel", "semantic", "commitment", "adversarial", "discriminators"]
        .iter()
        .filter_map(|name| Some(format!("{name} {:.3}", record.get(name)?)))
        .collect::<Vec<_>>()
        .join(" | ")
}

fn report(bar: &mut ProgressBar, event: Event) {
    match event {
        Event::Started { start, end, trainable } => {
            eprintln!(
                "training steps {start}..{end}: {:.2} M generator + {:.2} M discriminator parameters",
                trainable.0 as f64 / 1e6,
                trainable.1 as f64 / 1e6
            );
            if std::io::stderr().is_terminal() {
                *bar = ProgressBar::with_draw_target(Some(end.saturating_sub(start)), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template("{bar:30} step {pos}/{len} {msg} [{elapsed_precise} < {eta}]")
                        .expect("valid template"),
                );
            }
        }
        Event::Step(record) => {
            bar.inc(1);
            bar.set_message(brief(&record));
        }
        Event::Validated(record) => {
            let values: Vec<String> = record.values.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
            bar.suspend(|| eprintln!("step {} validation: {}", record.step, values.join(", ")));
        }
        Event::Checkpoint { step, dir } => bar.suspend(|| eprintln!("step {step}: checkpoint {}", dir.display())),
    }
}
