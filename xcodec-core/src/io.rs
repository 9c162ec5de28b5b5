//! File and stream I/O shared by every format: the one atomic writer (a temp file beside the target,
//! renamed into place, so that readers never see half a file) and the pipe helpers of the streamed formats.
//!
//! [`write_atomic`] writes a whole buffer (model configs, codes files, training metrics and curves);
//! [`TempFile`] is the same thing for writers that stream (WAV files of any length).

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Result, XcodecError};

/// Writes `bytes` to `path` through a temp file in its directory and a rename, so readers never see half a
/// file (parent directories are created; the temp file is removed on error).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut temp = TempFile::beside(path)?;
    temp.file.write_all(bytes).map_err(|e| write_error(path, e))?;
    temp.persist(path)
}

/// A file in the target's directory that is removed on drop unless it was renamed into place.
pub struct TempFile {
    path: PathBuf,
    /// The open file; write through it (or a clone of it), then [`TempFile::persist`].
    pub file: File,
    persisted: bool,
}

impl TempFile {
    /// A temp file for `target`, in its directory (created with its parents when missing).
    pub fn beside(target: &Path) -> Result<Self> {
        let name = target.file_name().ok_or_else(|| {
            XcodecError::file(target, format!("has no file name; pass a path such as {}", example(target)))
        })?;
        let dir = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        fs::create_dir_all(dir).map_err(|e| {
            XcodecError::io(dir, "cannot create the directory", "check the path and its permissions", e)
        })?;
        remove_stale(dir, &name.to_string_lossy());
        Self::create(dir, &name.to_string_lossy())
    }

    /// Creates `.{name}.{pid}-{n}.tmp` in `dir`, never reusing an existing file.
    pub fn create(dir: &Path, name: &str) -> Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
        let file = OpenOptions::new().write(true).create_new(true).open(&path).map_err(|e| {
            XcodecError::io(dir, "cannot create a file in this directory", "check its permissions and free space", e)
        })?;
        Ok(Self { path, file, persisted: false })
    }

    /// Renames the temp file to `target`, replacing what was there.
    pub fn persist(mut self, target: &Path) -> Result<()> {
        fs::rename(&self.path, target).map_err(|e| {
            if target.is_dir() {
                XcodecError::file(target, format!("is a directory; pass a file path such as {}", example(target)))
            } else {
                XcodecError::io(target, "cannot be replaced", "check its permissions", e)
            }
        })?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Takes an exclusive lock on `path` (created, with its directory, if missing) for as long as the returned file
/// lives; the OS releases it on any exit, `kill -9` included. `Ok(None)` when another process holds it.
pub fn try_lock(path: &Path) -> Result<Option<File>> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| {
            XcodecError::io(dir, "cannot create the directory", "check the path and its permissions", e)
        })?;
    }
    let file =
        OpenOptions::new().create(true).truncate(false).write(true).open(path).map_err(|e| {
            XcodecError::io(path, "cannot create the lock file", "check the directory's permissions", e)
        })?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(e)) => {
            Err(XcodecError::io(path, "cannot be locked", "put the directory on a filesystem with locks", e))
        }
    }
}

/// Removes the temp files of `name` in `dir` left by processes that no longer run (killed with `kill -9`, or
/// a machine that went down), so that a rerun cleans up after the run it replaces. Linux only (`/proc`).
fn remove_stale(dir: &Path, name: &str) {
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(&prefix)).and_then(|r| r.strip_suffix(".tmp"))
        else {
            continue;
        };
        let pid = rest.split_once('-').and_then(|(pid, n)| n.parse::<u64>().ok().and(pid.parse::<u32>().ok()));
        if let Some(pid) = pid
            && pid != std::process::id()
            && Path::new("/proc/self").exists()
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// A file name to suggest in place of `target`: `out` with its extension (`out.wav` when it has none).
fn example(target: &Path) -> String {
    format!("out.{}", target.extension().and_then(|e| e.to_str()).unwrap_or("wav"))
}

/// The error of a failed write to `path`.
pub(crate) fn write_error(path: &Path, e: std::io::Error) -> XcodecError {
    XcodecError::io(path, "cannot be written", "check free space and permissions", e)
}

/// The error of a failed pipe read or write, `doing` saying what ("reading the codes").
pub(crate) fn stream_error(doing: &str, e: std::io::Error) -> XcodecError {
    XcodecError::Stream { doing: doing.into(), source: e }
}

/// Reads until `buf` is full or the input ends (a pipe hands out what it has); returns the bytes read.
pub(crate) fn read_full(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The names in `dir`, sorted (tests check that no temp file is left behind).
#[cfg(test)]
pub(crate) fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rerun_removes_the_temp_files_of_dead_runs() {
        let dir = tempfile::tempdir().unwrap();
        // pid 0 never names a user process; our own live pid is kept.
        let dead = dir.path().join(".x.npy.0-3.tmp");
        let alive = dir.path().join(format!(".x.npy.{}-99.tmp", std::process::id()));
        let other = dir.path().join(".y.npy.0-1.tmp");
        for p in [&dead, &alive, &other] {
            fs::write(p, "partial").unwrap();
        }
        write_atomic(&dir.path().join("x.npy"), b"whole").unwrap();
        assert!(!dead.exists() && alive.exists() && other.exists());
    }

    #[test]
    fn write_atomic_creates_parents_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/config.toml");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(names_in(&dir.path().join("a/b")), vec!["config.toml"]);
    }

    #[test]
    fn write_atomic_onto_a_directory_is_an_error_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("taken.npy");
        fs::create_dir(&target).unwrap();
        let msg = write_atomic(&target, b"x").unwrap_err().to_string();
        assert!(msg.contains("is a directory; pass a file path such as out.npy") && !msg.contains('\n'), "{msg}");
        assert_eq!(names_in(dir.path()), vec!["taken.npy"]);
    }

    #[test]
    fn read_full_gathers_short_reads() {
        /// A reader that hands out one byte a call, as a slow pipe may.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let Some((&first, rest)) = self.0.split_first() else { return Ok(0) };
                buf[0] = first;
                self.0 = rest;
                Ok(1)
            }
        }
        let mut buf = [0u8; 4];
        assert_eq!(read_full(&mut Trickle(b"abcdef"), &mut buf).unwrap(), 4);
        assert_eq!(&buf, b"abcd");
        assert_eq!(read_full(&mut Trickle(b"ab"), &mut buf).unwrap(), 2);
    }
}
