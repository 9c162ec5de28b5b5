//! `xcodec eval`: scores models on audio files at their bandwidths and writes the report.

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use xcodec_builtin::{ExtraParts, Models, Parts};
use xcodec_core::pipeline;
use xcodec_trainer::eval::{self, EvalEvent, EvalModel, EvalOptions};

/// `xcodec eval` arguments.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A model to evaluate (repeatable): our directory, a Hugging Face-layout directory, an original .pth, or a
    /// hub id org/name[@rev].
    #[arg(long = "model", required = true)]
    models: Vec<String>,
    /// Bandwidths in kbps, comma separated, or `all` (every bandwidth each model offers).
    #[arg(long, default_value = "all")]
    bandwidth: String,
    /// Write pictures here: per file and bandwidth the original, decoded and difference spectrograms, per model
    /// each metric against the bitrate.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// The report's path without extension: writes REPORT.json, REPORT.csv and REPORT.md.
    #[arg(short = 'o', long = "output", default_value = "eval")]
    output: PathBuf,
    /// Device: cpu (default); wgpu (the best GPU), wgpu:N, wgpu:cpu (a software Vulkan) or cuda[:N] where compiled in.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Audio files, directories (searched recursively) or @lists.
    #[arg(required = true)]
    inputs: Vec<String>,
}

/// Parses `--bandwidth`: `all` or a comma-separated list of positive finite kbps values.
fn parse_bandwidths(spec: &str) -> anyhow::Result<Option<Vec<f64>>> {
    if spec.trim() == "all" {
        return Ok(None);
    }
    spec.split(',')
        .map(|s| match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
            _ => bail!("--bandwidth {spec}: '{}' is not a positive number of kbps; pass e.g. 1.5,4 or all", s.trim()),
        })
        .collect::<anyhow::Result<Vec<f64>>>()
        .map(Some)
}

/// A bar of scored file x model x bandwidth triples; hidden when stderr is not a terminal.
fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} scored {msg} [{elapsed_precise} < {eta}]")
            .expect("valid template"),
    );
    bar
}

/// Runs `xcodec eval`.
pub fn run<P: ExtraParts>(args: &EvalArgs) -> anyhow::Result<()> {
    let bandwidths = parse_bandwidths(&args.bandwidth)?;
    let device = xcodec_core::device::parse(&args.device)?;
    let jobs = pipeline::plan(&args.inputs, pipeline::AUDIO_EXTENSIONS, &std::env::temp_dir(), "wav")?;
    if jobs.is_empty() {
        bail!("no audio files in {}; pass audio files, directories holding some, or @lists", args.inputs.join(" "));
    }
    let files: Vec<PathBuf> = jobs.into_iter().map(|j| j.input).collect();
    let mut models = Vec::new();
    for spec in &args.models {
        let loaded = Models::<P>::load(spec, None, Parts::All, &device)?;
        if loaded.config.decoder_only {
            bail!("--model {spec} is decoder-only; evaluation encodes too: pass the full model");
        }
        models.push(EvalModel { name: spec.clone(), codec: loaded.codec });
    }
    if let Some(dir) = &args.plot {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create the plot directory", dir.display()))?;
    }
    let opts = EvalOptions { bandwidths, plot_dir: args.plot.clone() };
    let groups: usize = match &opts.bandwidths {
        Some(list) => list.len() * models.len(),
        None => models.iter().map(|m| m.codec.target_bandwidths_kbps.len()).sum(),
    };
    let bar = progress_bar((groups * files.len()) as u64);
    let mut failed = 0usize;
    let report = eval::evaluate(&models, &files, &opts, &device, &mut |event| match event {
        EvalEvent::Scored(row) => {
            bar.inc(1);
            bar.set_message(format!("{} ({}, {} kbps)", row.file, row.model, row.bandwidth_kbps));
        }
        EvalEvent::Failed { file, reason } => {
            failed += 1;
            bar.suspend(|| eprintln!("xcodec: skipping {}: {reason}", file.display()));
        }
    })?;
    bar.finish_and_clear();
    if report.rows.is_empty() {
        bail!("no file could be evaluated ({failed} failed); see the lines above");
    }
    report.write(&args.output)?;
    crate::out::text(&report.to_markdown())?;
    let out = args.output.display();
    eprintln!("wrote {out}.json, {out}.csv, {out}.md ({} rows, {failed} files skipped)", report.rows.len());
    if failed > 0 {
        bail!("{failed} of {} files could not be evaluated (listed above); the report holds the others", files.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_bandwidths;

    #[test]
    fn bandwidths_parse_or_name_the_bad_value() {
        assert_eq!(parse_bandwidths("all").unwrap(), None);
        assert_eq!(parse_bandwidths("1.5, 4").unwrap(), Some(vec![1.5, 4.0]));
        for bad in ["0", "-1", "nan", "x", "1,,2"] {
            assert!(parse_bandwidths(bad).unwrap_err().to_string().contains("--bandwidth"), "{bad}");
        }
    }
}
