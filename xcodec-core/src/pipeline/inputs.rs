//! Expanding command-line inputs (files, directories, `@list.txt`) into (input, output) pairs: a
//! directory's tree is mirrored under the output directory; files and list entries land flat in it.

use crate::{Result, XcodecError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One file to process and where its result goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The input file.
    pub input: PathBuf,
    /// The output file.
    pub output: PathBuf,
}

/// Expands `inputs` into jobs. Directories are searched recursively for files whose extension is in
/// `extensions` (lower-case, no dot); files and list entries are taken whatever their extension (a bad one
/// fails later, alone). Outputs get extension `out_ext`. Two inputs that would write the same output are an
/// error naming both.
pub fn plan(inputs: &[String], extensions: &[&str], out_dir: &Path, out_ext: &str) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for spec in inputs {
        if let Some(list) = spec.strip_prefix('@') {
            let text = std::fs::read_to_string(list)
                .map_err(|e| XcodecError::file(list, format!("cannot read the list: {e}")))?;
            // Relative entries are relative to the list's directory, as in training lists.
            let base = Path::new(list).parent().unwrap_or(Path::new(""));
            let before = jobs.len();
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                // Training lists may carry extra columns after a tab or '|': the path is the first one.
                let path = base.join(line.split(['\t', '|']).next().unwrap_or(line).trim());
                jobs.push(flat(&path, out_dir, out_ext));
            }
            if jobs.len() == before {
                return Err(XcodecError::file(list, "the list names no file; put one path a line in it"));
            }
            continue;
        }
        let path = Path::new(spec);
        if path.is_dir() {
            let found = find_files(path, extensions)?;
            if found.is_empty() {
                return Err(XcodecError::file(
                    path,
                    format!("holds no file ending in .{}; pass files or another directory", extensions.join(", .")),
                ));
            }
            for file in found {
                let rel = file.strip_prefix(path).expect("walked under the root");
                jobs.push(Job { output: out_dir.join(rel).with_extension(out_ext), input: file });
            }
        } else {
            jobs.push(flat(path, out_dir, out_ext));
        }
    }
    let mut seen: HashMap<&Path, &Path> = HashMap::new();
    for job in &jobs {
        if let Some(first) = seen.insert(&job.output, &job.input) {
            return Err(XcodecError::Input(format!(
                "{} and {} would both write {}; give them distinct names or pass their directory",
                first.display(),
                job.input.display(),
                job.output.display()
            )));
        }
    }
    Ok(jobs)
}

/// What to do with outputs that exist already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// Refuse the run before any work (the default: never replace a file silently).
    #[default]
    Refuse,
    /// Leave inputs whose output exists and is complete (resume an interrupted run).
    Skip,
    /// Replace them.
    Overwrite,
}

/// Checks the jobs' outputs before any work: an output that is one of the inputs is refused always; one
/// that exists is refused under [`Existing::Refuse`] with the fix, one line.
pub fn check_outputs(jobs: &[Job], existing: Existing) -> Result<()> {
    let inputs: std::collections::HashSet<PathBuf> = jobs.iter().filter_map(|j| j.input.canonicalize().ok()).collect();
    if let Some(job) = jobs.iter().find(|j| j.output.canonicalize().is_ok_and(|o| inputs.contains(&o))) {
        return Err(XcodecError::file(
            &job.output,
            "is an input of this run and would be replaced by an output; pass another -o",
        ));
    }
    let present: Vec<&Job> = jobs.iter().filter(|j| j.output.exists()).collect();
    match (existing, present.first()) {
        (Existing::Refuse, Some(first)) => Err(XcodecError::file(
            &first.output,
            format!(
                "exists already{}; pass --overwrite to replace, --skip-existing to keep, or another -o",
                if present.len() > 1 { format!(" (and {} more outputs)", present.len() - 1) } else { String::new() }
            ),
        )),
        _ => Ok(()),
    }
}

/// Whether `path` is a whole output file that `--skip-existing` may keep: a codes file that reads back,
/// or a WAV whose header and size agree. A partial or damaged file is redone.
pub fn is_complete(path: &Path) -> bool {
    if !path.is_file() {
        return false;
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("wav") => crate::audio::wav_is_complete(path),
        _ => crate::codes::read_codes(path).is_ok(),
    }
}

fn flat(input: &Path, out_dir: &Path, out_ext: &str) -> Job {
    let stem = input.file_stem().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("output"));
    Job { input: input.to_path_buf(), output: out_dir.join(stem).with_extension(out_ext) }
}

/// Files under `dir` (recursively) whose extension, lower-cased, is in `extensions`; sorted.
pub fn find_files(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    walk(dir, extensions, &mut found)?;
    found.sort();
    Ok(found)
}

fn walk(dir: &Path, extensions: &[&str], found: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| XcodecError::file(dir, format!("cannot list: {e}")))?;
    for entry in entries {
        let path = entry.map_err(|e| XcodecError::file(dir, e.to_string()))?.path();
        if path.is_dir() {
            walk(&path, extensions, found)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e.to_ascii_lowercase().as_str()))
        {
            found.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_directories_and_lists() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir_all(data.join("a/b")).unwrap();
        for f in ["x.wav", "a/y.FLAC", "a/b/z.mp3", "a/notes.txt"] {
            std::fs::write(data.join(f), b"").unwrap();
        }
        let list = root.path().join("list.txt");
        std::fs::write(&list, format!("# a training list\n{}\t123\n\n", data.join("a/b/z.mp3").display())).unwrap();
        let out = root.path().join("out");
        let jobs = plan(&[data.display().to_string()], &["wav", "flac", "mp3"], &out, "npy").unwrap();
        let outs: Vec<_> = jobs.iter().map(|j| j.output.strip_prefix(&out).unwrap().to_path_buf()).collect();
        assert_eq!(outs, [PathBuf::from("a/b/z.npy"), PathBuf::from("a/y.npy"), PathBuf::from("x.npy")]);
        let jobs = plan(&[format!("@{}", list.display())], &[], &out, "wav").unwrap();
        assert_eq!(jobs, [Job { input: data.join("a/b/z.mp3"), output: out.join("z.wav") }]);
        let err = plan(
            &[data.join("x.wav").display().to_string(), data.join("x.wav").display().to_string()],
            &[],
            &out,
            "npy",
        );
        assert!(err.unwrap_err().to_string().contains("would both write"));
        assert!(plan(&["@/nonexistent/list.txt".into()], &[], &out, "npy").is_err());
    }
}
