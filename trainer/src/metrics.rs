//! `RUN/metrics.jsonl`: one JSON object a line (`{"step": .., "kind": "train"|"valid", ...}`), appended and
//! flushed as training goes. On resume the lines after the checkpoint's step are dropped, so the file reads
//! as one uninterrupted run.

use serde_json::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use xcodec_core::{Result, XcodecError};

/// An open metrics file.
pub struct MetricsLog {
    path: PathBuf,
    file: std::fs::File,
}

/// One record: its step, kind and named values.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Step the values belong to.
    pub step: u64,
    /// `train` or `valid`.
    pub kind: String,
    /// Named values (losses, learning rate, seconds, ...).
    pub values: Vec<(String, f64)>,
}

impl Record {
    /// The value named `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }

    fn to_json(&self) -> String {
        let mut m = Map::new();
        m.insert("step".into(), Value::from(self.step));
        m.insert("kind".into(), Value::from(self.kind.clone()));
        for (k, v) in &self.values {
            m.insert(k.clone(), Value::from(*v));
        }
        Value::Object(m).to_string()
    }

    fn from_json(line: &str) -> Option<Self> {
        let Value::Object(m) = serde_json::from_str(line).ok()? else { return None };
        let step = m.get("step")?.as_u64()?;
        let kind = m.get("kind")?.as_str()?.to_string();
        let values = m
            .iter()
            .filter(|(k, _)| *k != "step" && *k != "kind")
            .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
            .collect();
        Some(Self { step, kind, values })
    }
}

/// Reads every complete record of a metrics file (a torn last line is skipped).
pub fn read_records(path: &Path) -> Vec<Record> {
    std::fs::read_to_string(path).map(|t| t.lines().filter_map(Record::from_json).collect()).unwrap_or_default()
}

impl MetricsLog {
    /// Opens `path` keeping only records up to `keep_through_step` (all of them for a fresh run: pass
    /// `None`, which also empties an existing file).
    pub fn open(path: &Path, keep_through_step: Option<u64>) -> Result<Self> {
        let kept: Vec<Record> = match keep_through_step {
            Some(step) => read_records(path).into_iter().filter(|r| r.step <= step).collect(),
            None => Vec::new(),
        };
        let text: String = kept.iter().map(|r| r.to_json() + "\n").collect();
        xcodec_core::io::write_atomic(path, text.as_bytes())?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| XcodecError::file(path, format!("cannot open for appending: {e}")))?;
        Ok(Self { path: path.to_path_buf(), file })
    }

    /// Appends one record and flushes it.
    pub fn append(&mut self, record: &Record) -> Result<()> {
        writeln!(self.file, "{}", record.to_json())
            .and_then(|_| self.file.flush())
            .map_err(|e| XcodecError::file(&self.path, format!("cannot append: {e}")))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(step: u64, kind: &str, loss: f64) -> Record {
        Record { step, kind: kind.into(), values: vec![("loss".into(), loss)] }
    }

    #[test]
    fn resume_drops_later_records_and_torn_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let mut log = MetricsLog::open(&path, None).unwrap();
        for s in 1..=5 {
            log.append(&rec(s, "train", s as f64)).unwrap();
        }
        drop(log);
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        write!(f, "{{\"step\": 6, \"ki").unwrap();
        let mut log = MetricsLog::open(&path, Some(3)).unwrap();
        log.append(&rec(4, "valid", 0.5)).unwrap();
        assert_eq!(
            read_records(&path),
            vec![rec(1, "train", 1.0), rec(2, "train", 2.0), rec(3, "train", 3.0), rec(4, "valid", 0.5)]
        );
        assert_eq!(read_records(&path)[3].get("loss"), Some(0.5));
    }
}
