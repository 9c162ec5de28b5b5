//! Resolving `pretrained` sources: a local directory, or a Hugging Face hub id `org/name[@revision]` looked
//! up in the standard cache (`HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`) first and
//! downloaded only when missing and `HF_HUB_OFFLINE` is not set.

use crate::error::{BuiltinError, Result};
use hf_hub::{Cache, Repo, RepoType};
use std::path::{Path, PathBuf};
use xcodec_core::XcodecError;

/// One file to fetch, given as alternatives in order of preference (e.g. safetensors, then a torch pickle).
pub type Alternatives<'a> = &'a [&'a str];

/// The standard cache location.
fn cache() -> Cache {
    match std::env::var_os("HF_HUB_CACHE") {
        Some(dir) => Cache::new(dir.into()),
        None => Cache::from_env(),
    }
}

fn offline() -> bool {
    std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Paths of `files` (one per entry: the first alternative found) in `spec`.
pub fn resolve(spec: &str, files: &[Alternatives]) -> Result<Vec<PathBuf>> {
    let local = Path::new(spec);
    if local.is_dir() {
        return files.iter().map(|alts| local_file(local, alts)).collect();
    }
    let (id, revision) = spec.split_once('@').unwrap_or((spec, "main"));
    if id.split('/').count() != 2 || id.split('/').any(str::is_empty) {
        return Err(hub_error(spec, "is neither a directory nor a hub id like org/name[@revision]".into(), None));
    }
    let repo = Repo::with_revision(id.to_string(), RepoType::Model, revision.to_string());
    files.iter().map(|alts| hub_file(spec, &repo, alts)).collect()
}

fn local_file(dir: &Path, alts: Alternatives) -> Result<PathBuf> {
    alts.iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
        .ok_or_else(|| XcodecError::file(dir, format!("has no {}", alts.join(" or "))).into())
}

fn hub_file(spec: &str, repo: &Repo, alts: Alternatives) -> Result<PathBuf> {
    let cached = cache().repo(repo.clone());
    // A revision given as a commit hash has no ref file: look in its snapshot directly.
    let snapshot = cache().path().join(repo.folder_name()).join("snapshots").join(repo.revision());
    for file in alts {
        if let Some(path) = cached.get(file).or_else(|| Some(snapshot.join(file)).filter(|p| p.is_file())) {
            return Ok(path);
        }
    }
    if offline() {
        let message = format!(
            "{} is not in the Hugging Face cache ({}) and HF_HUB_OFFLINE is set; download it first or pass a local directory",
            alts.join(" or "),
            cache().path().display()
        );
        return Err(hub_error(spec, message, None));
    }
    let api = hf_hub::api::sync::ApiBuilder::from_cache(cache())
        .build()
        .map_err(|e| hub_error(spec, format!("cannot reach the Hugging Face hub: {e}"), Some(e)))?;
    let remote = api.repo(repo.clone());
    let mut last = None;
    for file in alts {
        match remote.get(file) {
            Ok(path) => return Ok(path),
            Err(e) => last = Some(e),
        }
    }
    let reason = last.as_ref().map(ToString::to_string).unwrap_or_default();
    let message = format!(
        "could not get {} from the cache ({}) or the hub ({reason}); pass a local directory or fill the cache",
        alts.join(" or "),
        cache().path().display()
    );
    Err(hub_error(spec, message, last))
}

/// A [`BuiltinError::Hub`] for `spec`.
fn hub_error(spec: &str, message: String, source: Option<hf_hub::api::sync::ApiError>) -> BuiltinError {
    BuiltinError::Hub { spec: spec.to_string(), message, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lays out a cache entry the way huggingface_hub does: refs/main -> snapshots/<hash>/<files>.
    fn fake_cache(root: &Path, id: &str, files: &[&str]) {
        let repo = root.join(format!("models--{}", id.replace('/', "--")));
        let hash = "0123456789abcdef0123456789abcdef01234567";
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), hash).unwrap();
        let snap = repo.join("snapshots").join(hash);
        std::fs::create_dir_all(&snap).unwrap();
        for f in files {
            std::fs::write(snap.join(f), b"x").unwrap();
        }
    }

    #[test]
    fn local_dirs_hub_ids_and_their_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), b"{}").unwrap();
        std::fs::write(dir.path().join("pytorch_model.bin"), b"x").unwrap();
        let local = dir.path().to_str().unwrap();
        let got = resolve(local, &[&["config.json"], &["model.safetensors", "pytorch_model.bin"]]).unwrap();
        assert!(got[1].ends_with("pytorch_model.bin"));
        let err = resolve(local, &[&["model.safetensors"]]).unwrap_err().to_string();
        assert!(err.contains("has no model.safetensors"), "{err}");
        assert!(resolve("not-a-hub-id", &[&["x"]]).unwrap_err().to_string().contains("org/name"));

        // The cache, found through HF_HUB_CACHE, and offline mode. (Env vars are process-wide: this is the
        // only test in the crate that sets them.)
        let cache_dir = tempfile::tempdir().unwrap();
        fake_cache(cache_dir.path(), "org/tiny", &["config.json", "model.safetensors"]);
        unsafe {
            std::env::set_var("HF_HUB_CACHE", cache_dir.path());
            std::env::set_var("HF_HUB_OFFLINE", "1");
        }
        let got = resolve("org/tiny", &[&["config.json"], &["model.safetensors", "pytorch_model.bin"]]).unwrap();
        assert!(got[1].ends_with("snapshots/0123456789abcdef0123456789abcdef01234567/model.safetensors"));
        let pinned = resolve("org/tiny@0123456789abcdef0123456789abcdef01234567", &[&["config.json"]]).unwrap();
        assert_eq!(pinned[0], got[0]);
        let err = resolve("org/other", &[&["config.json"]]).unwrap_err().to_string();
        assert!(err.contains("HF_HUB_OFFLINE is set"), "{err}");
    }
}
