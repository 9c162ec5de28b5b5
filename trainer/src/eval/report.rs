//! The evaluation report: one row per file x model x bandwidth, token statistics per model x bandwidth, and
//! their summary (means with 95 % confidence intervals), written as JSON, CSV and a markdown table.

use crate::eval::tokens::CodebookStats;
use serde::Serialize;
use std::path::Path;
use xcodec_core::Result;

/// The scores of one file decoded by one model at one bandwidth.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The input file.
    pub file: String,
    /// The model as given on the command line.
    pub model: String,
    /// The bandwidth, kbps.
    pub bandwidth_kbps: f64,
    /// The file's length, seconds.
    pub seconds: f64,
    /// `(metric, value)` in a fixed order (see [`crate::eval::METRICS`]).
    pub metrics: Vec<(String, f64)>,
}

/// Token statistics of one model at one bandwidth over every file.
#[derive(Debug, Clone, Serialize)]
pub struct Tokens {
    /// The model as given on the command line.
    pub model: String,
    /// The bandwidth, kbps.
    pub bandwidth_kbps: f64,
    /// Per codebook.
    pub codebooks: Vec<CodebookStats>,
    /// The bitrate an entropy coder of the codes would need, kbps.
    pub entropy_bitrate_kbps: f64,
}

/// A metric's mean over the files of one model x bandwidth.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// The model.
    pub model: String,
    /// The bandwidth, kbps.
    pub bandwidth_kbps: f64,
    /// The metric's name.
    pub metric: String,
    /// Mean over the files with a finite value.
    pub mean: f64,
    /// Half-width of the 95 % confidence interval of the mean (Student's t; 0 for a single file).
    pub ci95: f64,
    /// Files counted.
    pub files: usize,
}

/// Everything an evaluation run produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Per file x model x bandwidth.
    pub rows: Vec<Row>,
    /// Per model x bandwidth.
    pub tokens: Vec<Tokens>,
}

/// The 0.975 quantile of Student's t with `dof` degrees of freedom (table to 30, then the normal's 1.96 + a
/// first-order correction).
fn t_975(dof: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match dof {
        0 => f64::NAN,
        1..=30 => TABLE[dof - 1],
        _ => 1.959964 + 2.37 / dof as f64,
    }
}

/// Mean and 95 % confidence half-width of the finite `values`.
pub fn mean_ci95(values: &[f64]) -> (f64, f64, usize) {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, 0);
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, 0.0, 1);
    }
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, t_975(n - 1) * (var / n as f64).sqrt(), n)
}

impl Report {
    /// Every metric's mean per model x bandwidth, in the order the rows first name them.
    pub fn summary(&self) -> Vec<Summary> {
        let mut keys: Vec<(String, f64, String)> = Vec::new();
        for r in &self.rows {
            for (m, _) in &r.metrics {
                let key = (r.model.clone(), r.bandwidth_kbps, m.clone());
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
        keys.into_iter()
            .map(|(model, bandwidth_kbps, metric)| {
                let values: Vec<f64> = self
                    .rows
                    .iter()
                    .filter(|r| r.model == model && r.bandwidth_kbps == bandwidth_kbps)
                    .filter_map(|r| r.metrics.iter().find(|(m, _)| *m == metric).map(|(_, v)| *v))
                    .collect();
                let (mean, ci95, files) = mean_ci95(&values);
                Summary { model, bandwidth_kbps, metric, mean, ci95, files }
            })
            .collect()
    }

    /// The whole report as JSON: `{"rows": [...], "tokens": [...], "summary": [...]}` (non-finite numbers
    /// as `null`).
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Whole<'a> {
            rows: Vec<serde_json::Value>,
            tokens: &'a [Tokens],
            summary: Vec<Summary>,
        }
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let metrics: serde_json::Map<String, serde_json::Value> =
                    r.metrics.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect();
                serde_json::json!({"file": r.file, "model": r.model, "bandwidth_kbps": r.bandwidth_kbps,
                    "seconds": r.seconds, "metrics": metrics})
            })
            .collect();
        let whole = Whole { rows, tokens: &self.tokens, summary: self.summary() };
        serde_json::to_string_pretty(&whole).expect("a report serializes") + "\n"
    }

    /// One CSV line per row: `file,model,bandwidth_kbps,seconds,<metrics...>` (fields with a comma or quote
    /// quoted).
    pub fn to_csv(&self) -> String {
        let names: Vec<&str> =
            self.rows.first().map_or(Vec::new(), |r| r.metrics.iter().map(|(m, _)| m.as_str()).collect());
        let mut out = format!("file,model,bandwidth_kbps,seconds,{}\n", names.join(","));
        for r in &self.rows {
            let values: Vec<String> = r.metrics.iter().map(|(_, v)| format!("{v}")).collect();
            out += &format!(
                "{},{},{},{},{}\n",
                csv_field(&r.file),
                csv_field(&r.model),
                r.bandwidth_kbps,
                r.seconds,
                values.join(",")
            );
        }
        out
    }

    /// The summary as a markdown table: a row per model x bandwidth, a column per metric (`mean ± ci95`),
    /// and the entropy-coded bitrate.
    pub fn to_markdown(&self) -> String {
        let summary = self.summary();
        let mut metrics: Vec<&str> = Vec::new();
        let mut groups: Vec<(&str, f64)> = Vec::new();
        for s in &summary {
            if !metrics.contains(&s.metric.as_str()) {
                metrics.push(&s.metric);
            }
            if !groups.contains(&(s.model.as_str(), s.bandwidth_kbps)) {
                groups.push((&s.model, s.bandwidth_kbps));
            }
        }
        let mut out = format!("| model | kbps | files | {} | entropy kbps |\n", metrics.join(" | "));
        out += &format!("|---|---|---|{}---|\n", "---|".repeat(metrics.len()));
        for (model, kbps) in groups {
            let cells: Vec<String> = metrics
                .iter()
                .map(|m| {
                    summary
                        .iter()
                        .find(|s| s.model == model && s.bandwidth_kbps == kbps && s.metric == *m)
                        .map_or("-".into(), |s| format!("{:.4} ± {:.4}", s.mean, s.ci95))
                })
                .collect();
            let files = summary.iter().find(|s| s.model == model && s.bandwidth_kbps == kbps).map_or(0, |s| s.files);
            let entropy = self
                .tokens
                .iter()
                .find(|t| t.model == model && t.bandwidth_kbps == kbps)
                .map_or("-".into(), |t| format!("{:.3}", t.entropy_bitrate_kbps));
            out += &format!("| {model} | {kbps} | {files} | {} | {entropy} |\n", cells.join(" | "));
        }
        out
    }

    /// Writes `STEM.json`, `STEM.csv` and `STEM.md` (each atomically).
    pub fn write(&self, stem: &Path) -> Result<()> {
        let with = |ext: &str| {
            let mut name = stem.as_os_str().to_owned();
            name.push(format!(".{ext}"));
            std::path::PathBuf::from(name)
        };
        xcodec_core::io::write_atomic(&with("json"), self.to_json().as_bytes())?;
        xcodec_core::io::write_atomic(&with("csv"), self.to_csv().as_bytes())?;
        xcodec_core::io::write_atomic(&with("md"), self.to_markdown().as_bytes())
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(file: &str, kbps: f64, stoi: f64) -> Row {
        Row {
            file: file.into(),
            model: "m".into(),
            bandwidth_kbps: kbps,
            seconds: 1.0,
            metrics: vec![("stoi".into(), stoi)],
        }
    }

    #[test]
    fn confidence_interval_is_students() {
        let (mean, ci, n) = mean_ci95(&[1.0, 2.0, 3.0, f64::NAN]);
        assert_eq!((mean, n), (2.0, 3));
        // s = 1, t(2) = 4.303: 4.303 / sqrt(3).
        assert!((ci - 4.303 / 3f64.sqrt()).abs() < 1e-9);
        assert_eq!(mean_ci95(&[5.0]), (5.0, 0.0, 1));
        assert_eq!(mean_ci95(&[]).2, 0);
    }

    #[test]
    fn summary_csv_and_markdown_hold_every_group() {
        let report = Report {
            rows: vec![row("a,b.wav", 1.0, 0.8), row("c.wav", 1.0, 0.6), row("a,b.wav", 2.0, 0.9)],
            tokens: vec![],
        };
        let s = report.summary();
        assert_eq!(s.len(), 2);
        assert!((s[0].mean - 0.7).abs() < 1e-12 && s[0].files == 2);
        let csv = report.to_csv();
        assert!(csv.starts_with("file,model,bandwidth_kbps,seconds,stoi\n\"a,b.wav\",m,1,1,0.8\n"), "{csv}");
        let md = report.to_markdown();
        assert_eq!(md.lines().count(), 4, "{md}");
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["rows"][2]["metrics"]["stoi"], 0.9);
        assert_eq!(json["summary"].as_array().unwrap().len(), 2);
    }
}
