//! `RUN/curves.png`: training losses and validation distances against the step, drawn with `plotters`
//! (one panel per series, so losses of very different scales stay readable). Text needs a TrueType font:
//! the first of a few common system fonts is used; without one the panels are drawn unlabelled.

use crate::metrics::Record;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;
use xcodec_core::{Result, XcodecError};

const FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// Registers a system font with plotters once; whether one was found.
pub(crate) fn font_available() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        FONTS.iter().filter_map(|p| std::fs::read(p).ok()).any(|bytes| {
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
        })
    })
}

/// The series to draw: `(kind, name)` pairs present in the records, train losses first.
fn series(records: &[Record]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for r in records {
        for (name, _) in &r.values {
            let key = (r.kind.clone(), name.clone());
            let skip =
                matches!(name.as_str(), "lr" | "seconds" | "n_q" | "grad_norm_generator" | "grad_norm_discriminators");
            if !skip && !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out.sort_by_key(|(kind, _)| kind != "train");
    out
}

/// Draws every series of `records` into a PNG at `path` (written atomically).
pub fn plot(records: &[Record], path: &Path) -> Result<()> {
    let series = series(records);
    if series.is_empty() {
        return Ok(());
    }
    let cols = 3usize;
    let rows = series.len().div_ceil(cols);
    let (w, h) = (1200u32, 300 * rows as u32);
    let mut pixels = vec![255u8; (w * h * 3) as usize];
    let labels = font_available();
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        let panels = root.split_evenly((rows, cols));
        for ((kind, name), panel) in series.iter().zip(panels.iter()) {
            let points: Vec<(f64, f64)> = records
                .iter()
                .filter(|r| &r.kind == kind)
                .filter_map(|r| Some((r.step as f64, r.get(name)?)))
                .filter(|(_, v)| v.is_finite())
                .collect();
            draw_panel(panel, &format!("{kind} {name}"), &points, labels)
                .map_err(|e| XcodecError::file(path, format!("cannot plot: {e}")))?;
        }
        root.present().map_err(|e| XcodecError::file(path, format!("cannot plot: {e}")))?;
    }
    write_png(path, w, h, &pixels)
}

/// Writes RGB `pixels` of a `w` x `h` picture to `path` as a PNG (atomically).
pub(crate) fn write_png(path: &Path, w: u32, h: u32, pixels: &[u8]) -> Result<()> {
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| XcodecError::file(path, e.to_string()))?;
        writer.write_image_data(pixels).map_err(|e| XcodecError::file(path, e.to_string()))?;
    }
    xcodec_core::io::write_atomic(path, &png_bytes)
}

pub(crate) type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn draw_panel(
    area: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    title: &str,
    points: &[(f64, f64)],
    labels: bool,
) -> DrawResult {
    if points.is_empty() {
        return Ok(());
    }
    let (x0, x1) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), (x, _)| (a.min(*x), b.max(*x)));
    let (y0, y1) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), (_, y)| (a.min(*y), b.max(*y)));
    let pad = ((y1 - y0) * 0.05).max(1e-9);
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let mut builder = ChartBuilder::on(area);
    builder.margin(8);
    if labels {
        builder.caption(title, ("sans-serif", 16)).x_label_area_size(24).y_label_area_size(56);
    }
    let mut chart = builder.build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))?;
    let mut mesh = chart.configure_mesh();
    if !labels {
        mesh.disable_x_mesh().disable_y_mesh().x_labels(0).y_labels(0);
    }
    mesh.draw()?;
    chart.draw_series(LineSeries::new(points.iter().copied(), &BLUE))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_a_png_with_one_panel_per_series() {
        let records: Vec<Record> = (0..20)
            .map(|s| Record {
                step: s,
                kind: "train".into(),
                values: vec![("loss".into(), 1.0 / (1.0 + s as f64)), ("lr".into(), 1e-4)],
            })
            .chain([Record { step: 10, kind: "valid".into(), values: vec![("mel_distance".into(), 2.0)] }])
            .collect();
        assert_eq!(series(&records), vec![("train".into(), "loss".into()), ("valid".into(), "mel_distance".into())]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.png");
        plot(&records, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        // Something besides the white background was drawn.
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buf).unwrap();
        assert!(buf.iter().any(|&b| b < 200));
    }
}
