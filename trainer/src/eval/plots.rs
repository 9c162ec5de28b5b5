//! Pictures of an evaluation: per file, the original, decoded and difference log-mel spectrograms stacked
//! (time in seconds, frequency in Hz on the mel scale); per model, each metric's mean against the bitrate.

use crate::curves::{DrawResult, font_available, write_png};
use crate::eval::report::Summary;
use crate::mel::{hz_to_mel_slaney, mel_to_hz_slaney, slaney_mel_filterbank};
use plotters::prelude::*;
use realfft::RealFftPlanner;
use std::path::Path;
use xcodec_core::{Result, XcodecError};

/// FFT size, hop and mel bands of the pictured spectrograms.
const N_FFT: usize = 1024;
const HOP: usize = 256;
const N_MELS: usize = 80;

/// A log10-mel spectrogram, `frames` rows of [`N_MELS`] values (a periodic Hann window, magnitudes floored
/// at 1e-5); a clip shorter than one window gives one frame of its zero-padded samples.
pub fn log_mel(samples: &[f32], sample_rate_hz: u32) -> Vec<[f32; N_MELS]> {
    let bins = N_FFT / 2 + 1;
    let fb = slaney_mel_filterbank(sample_rate_hz as f64, N_FFT, N_MELS, 0.0, sample_rate_hz as f64 / 2.0);
    let window: Vec<f32> =
        (0..N_FFT).map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N_FFT as f64).cos()) as f32).collect();
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
    let (mut input, mut spectrum) = (fft.make_input_vec(), fft.make_output_vec());
    let frames = if samples.len() <= N_FFT { 1 } else { 1 + (samples.len() - N_FFT) / HOP };
    (0..frames)
        .map(|f| {
            for (i, x) in input.iter_mut().enumerate() {
                *x = samples.get(f * HOP + i).copied().unwrap_or(0.0) * window[i];
            }
            fft.process(&mut input, &mut spectrum).expect("buffers of the planned size");
            let mag: Vec<f32> = spectrum.iter().map(|c| c.norm()).collect();
            let mut row = [0f32; N_MELS];
            for (m, v) in row.iter_mut().enumerate() {
                let energy: f32 = fb[m * bins..(m + 1) * bins].iter().zip(&mag).map(|(w, a)| w * a).sum();
                *v = energy.max(1e-5).log10();
            }
            row
        })
        .collect()
}

/// A colour for `t` in [0, 1]: dark blue through green to yellow (a viridis-like ramp).
fn ramp(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] =
        [(68.0, 1.0, 84.0), (59.0, 82.0, 139.0), (33.0, 145.0, 140.0), (94.0, 201.0, 98.0), (253.0, 231.0, 37.0)];
    let x = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let (i, f) = ((x.floor() as usize).min(STOPS.len() - 2), x - x.floor());
    let mix = |a: f64, b: f64| (a + (b - a) * f) as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Writes `path`: the log-mel spectrograms of `original` and `decoded` and their difference, stacked.
pub fn spectrograms(path: &Path, original: &[f32], decoded: &[f32], sample_rate_hz: u32, title: &str) -> Result<()> {
    let (a, b) = (log_mel(original, sample_rate_hz), log_mel(decoded, sample_rate_hz));
    let frames = a.len().min(b.len());
    let diff: Vec<[f32; N_MELS]> = (0..frames).map(|f| std::array::from_fn(|m| b[f][m] - a[f][m])).collect();
    let (lo, hi) = a.iter().flatten().fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
    let (w, h) = (1000u32, 900u32);
    let mut pixels = vec![255u8; (w * h * 3) as usize];
    let labels = font_available();
    let seconds = frames as f64 * HOP as f64 / sample_rate_hz as f64;
    let panels: [(&str, &[[f32; N_MELS]], f64, f64); 3] = [
        ("original", &a[..frames], lo as f64, hi as f64),
        ("decoded", &b[..frames], lo as f64, hi as f64),
        ("decoded - original (log10)", &diff, -2.0, 2.0),
    ];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        let areas = root.split_evenly((3, 1));
        for ((name, data, lo, hi), area) in panels.iter().zip(areas.iter()) {
            let caption = format!("{title}: {name}");
            draw_spectrogram(area, &caption, data, seconds, sample_rate_hz, (*lo, *hi), labels)
                .map_err(|e| XcodecError::file(path, format!("cannot plot: {e}")))?;
        }
        root.present().map_err(|e| XcodecError::file(path, format!("cannot plot: {e}")))?;
    }
    write_png(path, w, h, &pixels)
}

fn draw_spectrogram(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    caption: &str,
    data: &[[f32; N_MELS]],
    seconds: f64,
    sample_rate_hz: u32,
    (lo, hi): (f64, f64),
    labels: bool,
) -> DrawResult {
    let mel_max = hz_to_mel_slaney(sample_rate_hz as f64 / 2.0);
    let mut builder = ChartBuilder::on(area);
    builder.margin(8);
    if labels {
        builder.caption(caption, ("sans-serif", 16)).x_label_area_size(28).y_label_area_size(60);
    }
    let mut chart = builder.build_cartesian_2d(0.0..seconds.max(1e-3), 0.0..N_MELS as f64)?;
    let mut mesh = chart.configure_mesh();
    let to_hz = |bin: &f64| format!("{:.0}", mel_to_hz_slaney(bin / N_MELS as f64 * mel_max));
    if labels {
        mesh.x_desc("seconds").y_desc("Hz").y_label_formatter(&to_hz);
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.disable_mesh().draw()?;
    let dt = HOP as f64 / sample_rate_hz as f64;
    let span = (hi - lo).max(1e-9);
    chart.draw_series(data.iter().enumerate().flat_map(|(f, row)| {
        row.iter().enumerate().map(move |(m, &v)| {
            let (x, y) = (f as f64 * dt, m as f64);
            Rectangle::new([(x, y), (x + dt, y + 1.0)], ramp((v as f64 - lo) / span).filled())
        })
    }))?;
    Ok(())
}

/// Writes `path`: one panel per metric, its mean (and 95 % interval) against the bitrate, for `model`.
pub fn metrics_by_bitrate(path: &Path, model: &str, summary: &[Summary]) -> Result<()> {
    let rows: Vec<&Summary> = summary.iter().filter(|s| s.model == model && s.mean.is_finite()).collect();
    let mut metrics: Vec<&str> = Vec::new();
    for s in &rows {
        if !metrics.contains(&s.metric.as_str()) {
            metrics.push(&s.metric);
        }
    }
    if metrics.is_empty() {
        return Ok(());
    }
    let cols = 3usize;
    let (w, h) = (1200u32, 300 * metrics.len().div_ceil(cols) as u32);
    let mut pixels = vec![255u8; (w * h * 3) as usize];
    let labels = font_available();
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        let areas = root.split_evenly((metrics.len().div_ceil(cols), cols));
        for (metric, area) in metrics.iter().zip(areas.iter()) {
            let points: Vec<(f64, f64, f64)> =
                rows.iter().filter(|s| s.metric == *metric).map(|s| (s.bandwidth_kbps, s.mean, s.ci95)).collect();
            draw_metric(area, &format!("{model}: {metric}"), &points, labels)
                .map_err(|e| XcodecError::file(path, format!("cannot plot: {e}")))?;
        }
        root.present().map_err(|e| XcodecError::file(path, format!("cannot plot: {e}")))?;
    }
    write_png(path, w, h, &pixels)
}

fn draw_metric(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    title: &str,
    points: &[(f64, f64, f64)],
    labels: bool,
) -> DrawResult {
    let x1 = points.iter().map(|p| p.0).fold(0.0, f64::max) * 1.1 + 1e-3;
    let lo = points.iter().map(|p| p.1 - p.2).fold(f64::MAX, f64::min);
    let hi = points.iter().map(|p| p.1 + p.2).fold(f64::MIN, f64::max);
    let pad = ((hi - lo) * 0.1).max(1e-6);
    let mut builder = ChartBuilder::on(area);
    builder.margin(8);
    if labels {
        builder.caption(title, ("sans-serif", 16)).x_label_area_size(28).y_label_area_size(56);
    }
    let mut chart = builder.build_cartesian_2d(0.0..x1, (lo - pad)..(hi + pad))?;
    let mut mesh = chart.configure_mesh();
    if labels {
        mesh.x_desc("kbps");
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw()?;
    chart.draw_series(LineSeries::new(points.iter().map(|p| (p.0, p.1)), &BLUE))?;
    chart.draw_series(points.iter().map(|&(x, y, ci)| ErrorBar::new_vertical(x, y - ci, y, y + ci, BLUE, 6)))?;
    chart.draw_series(points.iter().map(|&(x, y, _)| Circle::new((x, y), 3, BLUE.filled())))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_peaks_in_its_mel_band() {
        let rate = 16_000;
        let tone: Vec<f32> =
            (0..8000).map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / rate as f32).sin()).collect();
        let mel = log_mel(&tone, rate);
        assert_eq!(mel.len(), 1 + (8000 - N_FFT) / HOP);
        let peak = (0..N_MELS).max_by(|&a, &b| mel[5][a].total_cmp(&mel[5][b])).unwrap();
        let mel_max = hz_to_mel_slaney(8000.0);
        let centre = |m: usize| mel_to_hz_slaney((m as f64 + 1.0) / (N_MELS + 1) as f64 * mel_max);
        assert!((centre(peak) - 1000.0).abs() < 120.0, "peak band {peak} at {} Hz", centre(peak));
        assert_eq!(log_mel(&[0.0; 10], rate).len(), 1);
    }

    #[test]
    fn pictures_are_pngs() {
        let dir = tempfile::tempdir().unwrap();
        let x: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.05).sin()).collect();
        let y: Vec<f32> = x.iter().map(|v| v * 0.9).collect();
        let p = dir.path().join("a.png");
        spectrograms(&p, &x, &y, 16_000, "a.wav").unwrap();
        assert_eq!(&std::fs::read(&p).unwrap()[1..4], b"PNG");
        let s = |kbps: f64, mean: f64| Summary {
            model: "m".into(),
            bandwidth_kbps: kbps,
            metric: "stoi".into(),
            mean,
            ci95: 0.01,
            files: 3,
        };
        let q = dir.path().join("m.png");
        metrics_by_bitrate(&q, "m", &[s(1.0, 0.8), s(2.0, 0.9)]).unwrap();
        assert_eq!(&std::fs::read(&q).unwrap()[1..4], b"PNG");
    }
}
