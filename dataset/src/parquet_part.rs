//! One Parquet file of a tokenized dataset ("a part"): a row per input file, written atomically, with the
//! model's identity and the part's failed inputs in the file's key-value metadata.
//!
//! Columns: `path` (string), the manifest's columns (string, null where a row has none), `sample_rate`
//! (uint32), `num_samples` (uint64), `duration_s` (float64), `n_q` (uint16), `frames` (uint32) and `codes`:
//! `list<list<uint16>>` (uint32 for codebooks over 65536 entries), codebook-major, `codes[q][t]`, so
//! `numpy.array(row["codes"])` has shape `(n_q, frames)` as `xcodec encode`'s `.npy` files do.

use crate::{DatasetError, Result};
use arrow_array::builder::{ListBuilder, UInt16Builder, UInt32Builder};
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt16Array, UInt32Array, UInt64Array};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Metadata key of a part's failed inputs (a JSON array of [`Failure`]).
pub const ERRORS_KEY: &str = "xcodec.errors";

/// One encoded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The input's path as the dataset records it.
    pub path: String,
    /// Manifest columns.
    pub columns: BTreeMap<String, String>,
    /// Samples at the model's rate.
    pub num_samples: u64,
    /// Codebooks per frame.
    pub n_q: usize,
    /// Frames.
    pub frames: usize,
    /// Codes, codebook-major (`values[q * frames + t]`).
    pub values: Vec<i64>,
}

/// An input that could not be encoded, with its one-line reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    /// The input's path.
    pub path: String,
    /// Why.
    pub error: String,
}

/// What every part of one dataset shares.
#[derive(Debug, Clone)]
pub struct PartSchema {
    /// Manifest column names, in order.
    pub columns: Vec<String>,
    /// The model's sample rate.
    pub sample_rate_hz: u32,
    /// Entries per codebook (sets uint16 or uint32 codes).
    pub codebook_size: usize,
    /// Key-value metadata of every part (model id, config hash, bandwidth, ...).
    pub metadata: Vec<(String, String)>,
}

impl PartSchema {
    fn wide_codes(&self) -> bool {
        self.codebook_size > 1 << 16
    }

    /// Writes `rows` and `failures` to `path` atomically (temp file beside it, then rename).
    pub fn write(&self, path: &Path, rows: &[Row], failures: &[Failure]) -> Result<()> {
        let errors = serde_json::to_string(failures).expect("failures serialize");
        let pairs: Vec<(String, String)> =
            self.metadata.iter().cloned().chain([(ERRORS_KEY.to_string(), errors)]).collect();
        // On the Arrow schema too: pyarrow, datasets and polars show a table's metadata from there.
        let batch = self.batch(rows)?;
        let schema = batch
            .schema()
            .as_ref()
            .clone()
            .with_metadata(pairs.iter().cloned().collect::<std::collections::HashMap<_, _>>());
        let batch =
            batch.with_schema(Arc::new(schema)).map_err(|e| DatasetError::Output(format!("building a part: {e}")))?;
        let metadata: Vec<KeyValue> = pairs.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect();
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_key_value_metadata(Some(metadata))
            .build();
        let tmp = xcodec_core::io::TempFile::beside(path)?;
        let file = tmp.file.try_clone().map_err(|e| DatasetError::Output(format!("{}: {e}", path.display())))?;
        let fail = |e: parquet::errors::ParquetError| DatasetError::Output(format!("{}: {e}", path.display()));
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(fail)?;
        writer.write(&batch).map_err(fail)?;
        writer.close().map_err(fail)?;
        tmp.persist(path)?;
        Ok(())
    }

    fn batch(&self, rows: &[Row]) -> Result<RecordBatch> {
        let mut arrays: Vec<(String, ArrayRef)> = Vec::new();
        arrays.push(("path".into(), Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.path.as_str())))));
        for name in &self.columns {
            let values: StringArray = rows.iter().map(|r| r.columns.get(name).map(String::as_str)).collect();
            arrays.push((name.clone(), Arc::new(values)));
        }
        let rate = self.sample_rate_hz;
        arrays.push(("sample_rate".into(), Arc::new(UInt32Array::from_iter_values(rows.iter().map(|_| rate)))));
        arrays
            .push(("num_samples".into(), Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.num_samples)))));
        let seconds = rows.iter().map(|r| r.num_samples as f64 / rate as f64);
        arrays.push(("duration_s".into(), Arc::new(Float64Array::from_iter_values(seconds))));
        let n_q = rows.iter().map(|r| u16::try_from(r.n_q).unwrap_or(u16::MAX));
        arrays.push(("n_q".into(), Arc::new(UInt16Array::from_iter_values(n_q))));
        arrays.push(("frames".into(), Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.frames as u32)))));
        arrays.push(("codes".into(), if self.wide_codes() { codes_u32(rows)? } else { codes_u16(rows)? }));
        RecordBatch::try_from_iter(arrays).map_err(|e| DatasetError::Output(format!("building a part: {e}")))
    }
}

/// A code that does not fit the column type: the codebook is larger than the model said.
fn out_of_range(row: &Row, code: i64) -> DatasetError {
    DatasetError::Output(format!("{}: code {code} is outside the codebook", row.path))
}

macro_rules! codes_column {
    ($name:ident, $builder:ident, $ty:ty) => {
        fn $name(rows: &[Row]) -> Result<ArrayRef> {
            let mut outer = ListBuilder::new(ListBuilder::new($builder::new()));
            for row in rows {
                for q in 0..row.n_q {
                    let inner = outer.values();
                    for &code in &row.values[q * row.frames..(q + 1) * row.frames] {
                        inner.values().append_value(<$ty>::try_from(code).map_err(|_| out_of_range(row, code))?);
                    }
                    inner.append(true);
                }
                outer.append(true);
            }
            Ok(Arc::new(outer.finish()))
        }
    };
}
codes_column!(codes_u16, UInt16Builder, u16);
codes_column!(codes_u32, UInt32Builder, u32);

/// The failed inputs a part records.
pub fn read_failures(path: &Path) -> Result<Vec<Failure>> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let bad = |e: String| {
        DatasetError::Output(format!("{}: not a readable part ({e}); delete it and rerun to redo it", path.display()))
    };
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let reader = SerializedFileReader::new(file).map_err(|e| bad(e.to_string()))?;
    let kv = reader.metadata().file_metadata().key_value_metadata().cloned().unwrap_or_default();
    match kv.into_iter().find(|kv| kv.key == ERRORS_KEY).and_then(|kv| kv.value) {
        Some(json) => serde_json::from_str(&json).map_err(|e| bad(e.to_string())),
        None => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::UInt16Type;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    #[test]
    fn rows_round_trip_with_their_columns_codes_and_failures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part.parquet");
        let schema = PartSchema {
            columns: vec!["speaker".into()],
            sample_rate_hz: 16000,
            codebook_size: 1024,
            metadata: vec![("xcodec.model".into(), "m".into())],
        };
        let rows = vec![
            Row {
                path: "a.wav".into(),
                columns: [("speaker".to_string(), "s1".to_string())].into(),
                num_samples: 8000,
                n_q: 2,
                frames: 3,
                values: vec![1, 2, 3, 4, 5, 1023],
            },
            Row { path: "b.wav".into(), columns: BTreeMap::new(), num_samples: 0, n_q: 2, frames: 0, values: vec![] },
        ];
        let failures = vec![Failure { path: "c.wav".into(), error: "c.wav: truncated".into() }];
        schema.write(&path, &rows, &failures).unwrap();
        assert_eq!(read_failures(&path).unwrap(), failures);
        let file = std::fs::File::open(&path).unwrap();
        let batch = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap().next().unwrap().unwrap();
        assert_eq!(batch.num_rows(), 2);
        let speaker = batch.column_by_name("speaker").unwrap().as_string::<i32>();
        assert_eq!((speaker.value(0), speaker.is_null(1)), ("s1", true));
        let codes = batch.column_by_name("codes").unwrap().as_list::<i32>();
        let first = codes.value(0);
        let q1 = first.as_list::<i32>().value(1);
        assert_eq!(q1.as_primitive::<UInt16Type>().values().to_vec(), [4, 5, 1023]);
        let bad = Row { values: vec![1, 2, 3, 4, 5, 70000], ..rows[0].clone() };
        let err = schema.write(&dir.path().join("bad.parquet"), &[bad], &[]).unwrap_err().to_string();
        assert!(err.contains("outside the codebook"), "{err}");
        assert!(!dir.path().join("bad.parquet").exists());
    }
}
