//! `xcodec eval`: encode, decode and score files with one or more models at one or more bandwidths.
//! Reconstruction metrics per file (log-mel and multi-resolution STFT distance as the trainer's validation
//! computes them, SI-SDR, STOI and extended STOI, real-time factor), token statistics per model x bandwidth
//! ([`tokens`]), and the report with its summary ([`report`]) and pictures ([`plots`]). PESQ is not offered:
//! it is licensed by the ITU-T and has no free implementation to match.

pub mod plots;
pub mod report;
pub mod stoi;
pub mod tokens;

use crate::config::TrainConfig;
use crate::objective::Objective;
use burn::tensor::{Device, Tensor, TensorData};
use report::{Report, Row, Tokens};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokens::CodeCounts;
use xcodec_builtin::{Codec, ExtraParts};
use xcodec_core::{Result, XcodecError};

/// The per-file metrics, in report order. `si_sdr` is in dB (high when the decoded audio matches; `1e-12`
/// regularisation makes a perfect match about 120 dB above the signal's energy rather than infinite); `rtf`
/// is encode + decode time over the audio's duration.
pub const METRICS: [&str; 6] = ["mel_distance", "stft_distance", "si_sdr", "stoi", "estoi", "rtf"];

/// A model to evaluate.
pub struct EvalModel<P: ExtraParts> {
    /// Its name in the report (as given on the command line).
    pub name: String,
    /// The codec.
    pub codec: Codec<P>,
}

/// What to evaluate besides the models and files.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// Bandwidths in kbps; `None`: every bandwidth each model offers.
    pub bandwidths: Option<Vec<f64>>,
    /// Where to write the pictures (none when unset).
    pub plot_dir: Option<PathBuf>,
}

/// Progress of an evaluation.
pub enum EvalEvent<'a> {
    /// A file was scored by a model at a bandwidth.
    Scored(&'a Row),
    /// A file could not be read; it is skipped for every model.
    Failed {
        /// The file.
        file: &'a Path,
        /// Why, in one line.
        reason: String,
    },
}

/// The bandwidths to evaluate `codec` at: `asked` (each must be offered) or all it offers.
fn bandwidths<P: ExtraParts>(name: &str, codec: &Codec<P>, asked: Option<&[f64]>) -> Result<Vec<f64>> {
    let offered = &codec.target_bandwidths_kbps;
    match asked {
        None => Ok(offered.clone()),
        Some(list) => {
            for b in list {
                if !offered.iter().any(|o| (o - b).abs() < 1e-9) {
                    let valid: Vec<String> = offered.iter().map(|b| b.to_string()).collect();
                    return Err(XcodecError::Config(format!(
                        "--bandwidth {b}: model {name} offers {} kbps; pass some of those or --bandwidth all",
                        valid.join(", ")
                    )));
                }
            }
            Ok(list.to_vec())
        }
    }
}

/// Evaluates every model on every file at each of its bandwidths (see [`EvalOptions`]); unreadable files
/// are reported through `on_event` and skipped.
pub fn evaluate<P: ExtraParts>(
    models: &[EvalModel<P>],
    files: &[PathBuf],
    opts: &EvalOptions,
    device: &Device,
    on_event: &mut dyn FnMut(EvalEvent),
) -> Result<Report> {
    let plans: Vec<Vec<f64>> =
        models.iter().map(|m| bandwidths(&m.name, &m.codec, opts.bandwidths.as_deref())).collect::<Result<_>>()?;
    let mut report = Report::default();
    let mut failed: Vec<&Path> = Vec::new();
    for (model, plan) in models.iter().zip(&plans) {
        let codec = &model.codec;
        let rate = codec.sample_rate_hz;
        let objective = Objective::new(&TrainConfig::default(), rate, device)?;
        let size = xcodec_core::Quantizer::codebook_size(&codec.quantizer);
        let mut counts: Vec<CodeCounts> =
            plan.iter().map(|&b| CodeCounts::new(codec.codebooks_for_bandwidth(b), size)).collect();
        for file in files {
            if failed.contains(&file.as_path()) {
                continue;
            }
            let read = xcodec_core::audio::read_audio(file, rate);
            let clip = match read
                .and_then(|c| if c.is_empty() { Err(XcodecError::file(file, "holds no audio")) } else { Ok(c) })
            {
                Ok(clip) => clip,
                Err(e) => {
                    on_event(EvalEvent::Failed { file, reason: e.to_string() });
                    failed.push(file);
                    continue;
                }
            };
            for (&bandwidth, counts) in plan.iter().zip(&mut counts) {
                let row = score(model, &objective, &clip, file, bandwidth, counts, opts, device)?;
                on_event(EvalEvent::Scored(&row));
                report.rows.push(row);
            }
        }
        for (&bandwidth_kbps, counts) in plan.iter().zip(&counts) {
            report.tokens.push(Tokens {
                model: model.name.clone(),
                bandwidth_kbps,
                codebooks: counts.stats(),
                entropy_bitrate_kbps: counts.entropy_bitrate_kbps(codec.frame_rate_hz()),
            });
        }
    }
    if let Some(dir) = &opts.plot_dir {
        let summary = report.summary();
        for model in models {
            plots::metrics_by_bitrate(&dir.join(format!("{}.png", safe(&model.name))), &model.name, &summary)?;
        }
    }
    Ok(report)
}

/// Encodes and decodes `clip` with `model` at `bandwidth`, adds its codes to `counts` and scores it.
#[allow(clippy::too_many_arguments)]
fn score<P: ExtraParts>(
    model: &EvalModel<P>,
    objective: &Objective,
    clip: &[f32],
    file: &Path,
    bandwidth: f64,
    counts: &mut CodeCounts,
    opts: &EvalOptions,
    device: &Device,
) -> Result<Row> {
    let codec = &model.codec;
    let rate = codec.sample_rate_hz;
    let x: Tensor<3> = Tensor::from_data(TensorData::new(clip.to_vec(), [1, 1, clip.len()]), device);
    let t0 = Instant::now();
    let codes = codec.encode(x.clone(), bandwidth)?;
    let decoded = codec.decode(codes.clone())?;
    let len = decoded.dims()[2].min(clip.len());
    let y = xcodec_core::nn::rows::host_values(decoded.narrow(2, 0, len));
    let elapsed = t0.elapsed().as_secs_f64();
    let [_, n_q, frames] = codes.dims();
    let flat: Vec<i64> =
        codes.into_data().convert::<i64>().try_into_vec::<i64>().map_err(|e| XcodecError::Input(format!("{e:?}")))?;
    debug_assert_eq!(flat.len(), n_q * frames);
    counts.add(&flat, frames).map_err(|e| XcodecError::file(file, e))?;
    let mut metrics =
        objective.distances(Tensor::from_data(TensorData::new(y.clone(), [1, 1, len]), device), x.narrow(2, 0, len))?;
    let reference = &clip[..len];
    let stoi_of =
        |extended| stoi::stoi(reference, &y, rate, extended).map_err(|e| XcodecError::file(file, e.to_string()));
    metrics.push(("stoi".into(), stoi_of(false)?));
    metrics.push(("estoi".into(), stoi_of(true)?));
    let seconds = clip.len() as f64 / rate as f64;
    metrics.push(("rtf".into(), elapsed / seconds));
    if let Some(dir) = &opts.plot_dir {
        let stem = file.file_stem().map_or(String::new(), |s| s.to_string_lossy().into_owned());
        let name = format!("{}__{}__{bandwidth}kbps.png", safe(&stem), safe(&model.name));
        let title = format!("{} ({}, {bandwidth} kbps)", file.display(), model.name);
        plots::spectrograms(&dir.join(name), reference, &y, rate, &title)?;
    }
    Ok(Row { file: file.display().to_string(), model: model.name.clone(), bandwidth_kbps: bandwidth, seconds, metrics })
}

/// `name` made safe as a file name: characters other than ASCII letters, digits, `-`, `_` and `.` as `_`.
fn safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clip_against_itself_scores_stoi_one_and_a_high_si_sdr() {
        let rate = 16_000;
        // Two seconds of a speech-like signal: harmonics under a syllable-rate envelope.
        let x: Vec<f32> = (0..2 * rate)
            .map(|i| {
                let t = i as f32 / rate as f32;
                let env = (std::f32::consts::PI * 4.0 * t).sin().abs();
                env * (1..6).map(|k| (2.0 * std::f32::consts::PI * 150.0 * k as f32 * t).sin() / k as f32).sum::<f32>()
            })
            .collect();
        assert!((stoi::stoi(&x, &x, rate as u32, false).unwrap() - 1.0).abs() < 1e-9);
        assert!((stoi::stoi(&x, &x, rate as u32, true).unwrap() - 1.0).abs() < 1e-9);
        assert!(crate::objective::si_sdr(&x, &x) > 100.0);
    }

    #[test]
    fn safe_names_keep_letters_digits_and_dots() {
        assert_eq!(safe("hf-audio/xcodec-hubert@main"), "hf-audio_xcodec-hubert_main");
    }
}
