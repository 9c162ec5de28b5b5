//! What `tokenize` reads: files, directories (recursive), `@lists` of paths and `@manifests` (CSV, TSV, JSONL)
//! whose other columns are carried into the dataset. One [`Item`] per audio file, sorted by path.

use crate::{DatasetError, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Column names a manifest's path column may have, in order of preference.
pub const PATH_COLUMNS: &[&str] = &["path", "audio_path", "audio", "file", "filepath", "filename"];

/// One input file and the manifest columns that came with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The path as the dataset records it: as written in the list or manifest, or as found under a directory.
    pub path: String,
    /// Where to open it (a relative list entry resolved against the list's directory).
    pub file: PathBuf,
    /// The manifest's other columns (text; JSONL numbers and booleans as their JSON text).
    pub columns: BTreeMap<String, String>,
}

/// Expands `inputs` (see the module doc); directories are searched for `extensions` (lower case, no dot).
/// The items come sorted by path; a path given twice is an error naming it.
pub fn expand(inputs: &[String], extensions: &[&str]) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for spec in inputs {
        if let Some(list) = spec.strip_prefix('@') {
            items.extend(read_list(Path::new(list))?);
        } else if Path::new(spec).is_dir() {
            for file in xcodec_core::pipeline::find_files(Path::new(spec), extensions)? {
                items.push(Item { path: file.display().to_string(), file, columns: BTreeMap::new() });
            }
        } else {
            items.push(Item { path: spec.clone(), file: PathBuf::from(spec), columns: BTreeMap::new() });
        }
    }
    items.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(w) = items.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(DatasetError::Input(format!(
            "{} is listed twice; each input becomes one row, so list it once",
            w[0].path
        )));
    }
    Ok(items)
}

/// The audio files `inputs` name ([`expand`] with the audio extensions `encode` searches directories for), as
/// `xcodec tokenize` takes them; none at all is an error.
pub fn expand_audio(inputs: &[String]) -> Result<Vec<Item>> {
    let items = expand(inputs, xcodec_core::pipeline::AUDIO_EXTENSIONS)?;
    if items.is_empty() {
        return Err(DatasetError::Input(format!(
            "no audio files in {}; pass files, directories or @lists",
            inputs.join(" ")
        )));
    }
    Ok(items)
}

/// The column names, in order, that `items` carry besides the path.
pub fn column_names(items: &[Item]) -> Vec<String> {
    let mut names: Vec<String> = items.iter().flat_map(|i| i.columns.keys().cloned()).collect();
    names.sort();
    names.dedup();
    names
}

/// A list or manifest by its extension: `.csv`, `.tsv`, `.jsonl`, else one path a line (`#` comments; a
/// tab or `|` ends the path, as in training lists).
fn read_list(list: &Path) -> Result<Vec<Item>> {
    let text = std::fs::read_to_string(list)
        .map_err(|e| DatasetError::Input(format!("{}: cannot read the list: {e}", list.display())))?;
    let base = list.parent().unwrap_or(Path::new(""));
    let ext = list.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let rows = match ext.as_deref() {
        Some("csv") => delimited(&text, b',', list)?,
        Some("tsv") => delimited(&text, b'\t', list)?,
        Some("jsonl") => jsonl(&text, list)?,
        _ => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| (l.split(['\t', '|']).next().unwrap_or(l).trim().to_string(), BTreeMap::new()))
            .collect(),
    };
    Ok(rows.into_iter().map(|(path, columns)| Item { file: base.join(&path), path, columns }).collect())
}

/// The path column of a manifest's header, or an error naming the columns it has.
fn path_column(header: &[String], list: &Path) -> Result<String> {
    PATH_COLUMNS.iter().find(|c| header.iter().any(|h| h == *c)).map(|c| c.to_string()).ok_or_else(|| {
        DatasetError::Input(format!(
            "{}: no path column (looked for {}; it has {}); rename the column that holds the audio paths",
            list.display(),
            PATH_COLUMNS.join(", "),
            header.join(", ")
        ))
    })
}

type Rows = Vec<(String, BTreeMap<String, String>)>;

fn delimited(text: &str, delimiter: u8, list: &Path) -> Result<Rows> {
    let bad = |e: csv::Error| DatasetError::Input(format!("{}: {e}", list.display()));
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().map_err(bad)?.iter().map(str::to_string).collect();
    let key = path_column(&header, list)?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(bad)?;
        let mut columns: BTreeMap<String, String> =
            header.iter().cloned().zip(record.iter().map(str::to_string)).collect();
        let path = columns.remove(&key).unwrap_or_default();
        rows.push((path, columns));
    }
    Ok(rows)
}

fn jsonl(text: &str, list: &Path) -> Result<Rows> {
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = || format!("{} line {}", list.display(), n + 1);
        let value: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| DatasetError::Input(format!("{}: not JSON ({e}); one object a line", at())))?;
        let serde_json::Value::Object(object) = value else {
            return Err(DatasetError::Input(format!("{}: not a JSON object; one object a line", at())));
        };
        let header: Vec<String> = object.keys().cloned().collect();
        let key = path_column(&header, list)?;
        let mut columns = BTreeMap::new();
        let mut path = None;
        for (k, v) in object {
            let text = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            if k == key {
                path = Some(text);
            } else {
                columns.insert(k, text);
            }
        }
        rows.push((path.unwrap_or_default(), columns));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_directories_lists_and_manifests() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir_all(data.join("a")).unwrap();
        for f in ["x.wav", "a/y.FLAC", "a/notes.txt"] {
            std::fs::write(data.join(f), b"").unwrap();
        }
        let csv = root.path().join("m.csv");
        std::fs::write(&csv, "speaker,path,text\ns1,clips/one.wav,\"hello, world\"\ns2,/abs/two.wav,bye\n").unwrap();
        let jsonl = root.path().join("m.jsonl");
        std::fs::write(&jsonl, "{\"audio\": \"three.wav\", \"speaker\": 3, \"ok\": true}\n\n").unwrap();
        let items = expand(
            &[data.display().to_string(), format!("@{}", csv.display()), format!("@{}", jsonl.display())],
            &["wav", "flac"],
        )
        .unwrap();
        let paths: Vec<&str> = items.iter().map(|i| i.path.as_str()).collect();
        let d = data.display().to_string();
        let mut want = vec![
            "/abs/two.wav".to_string(),
            format!("{d}/a/y.FLAC"),
            format!("{d}/x.wav"),
            "clips/one.wav".into(),
            "three.wav".into(),
        ];
        want.sort();
        assert_eq!(paths, want);
        let one = items.iter().find(|i| i.path == "clips/one.wav").unwrap();
        assert_eq!(one.file, root.path().join("clips/one.wav"));
        assert_eq!(one.columns["text"], "hello, world");
        assert_eq!(items.iter().find(|i| i.path == "/abs/two.wav").unwrap().file, PathBuf::from("/abs/two.wav"));
        let three = items.iter().find(|i| i.path == "three.wav").unwrap();
        assert_eq!((three.columns["speaker"].as_str(), three.columns["ok"].as_str()), ("3", "true"));
        assert_eq!(column_names(&items), ["ok", "speaker", "text"]);
    }

    #[test]
    fn bad_lists_get_one_line_naming_the_fix() {
        let root = tempfile::tempdir().unwrap();
        let csv = root.path().join("m.csv");
        std::fs::write(&csv, "speaker,wav\ns1,a.wav\n").unwrap();
        let err = expand(&[format!("@{}", csv.display())], &[]).unwrap_err().to_string();
        assert!(err.contains("no path column") && err.contains("speaker, wav"), "{err}");
        let jsonl = root.path().join("m.jsonl");
        std::fs::write(&jsonl, "{\"path\": \"a.wav\"}\n[1]\n").unwrap();
        let err = expand(&[format!("@{}", jsonl.display())], &[]).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("not a JSON object"), "{err}");
        let err = expand(&["a.wav".into(), "a.wav".into()], &[]).unwrap_err().to_string();
        assert!(err.contains("listed twice"), "{err}");
    }
}
