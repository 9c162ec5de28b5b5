//! Checkpoints: `RUN/checkpoints/step-NNNNNNNN/`, each a model directory (`config.toml` +
//! `model.safetensors`, so `xcodec encode --model` takes it as is) plus the discriminators, both optimiser
//! states and `state.json` (step, parameter ids). A checkpoint is written into a temporary directory and
//! renamed into place, so a killed run never leaves half of one; the last `keep` are kept.

use crate::error::Result;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use xcodec_builtin::{Codec, ExtraParts, Models, NoExtra};
use xcodec_core::{CodecConfig, XcodecError};

const DISCRIMINATORS: &str = "discriminators.safetensors";
const OPTIM_GENERATOR: &str = "optimizer_generator.bpk";
const OPTIM_DISCRIMINATORS: &str = "optimizer_discriminators.bpk";
const STATE: &str = "state.json";

/// What `state.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Steps completed.
    pub step: u64,
    /// Generator parameter ids by path (the optimiser state is keyed by them).
    pub generator_ids: BTreeMap<String, u64>,
    /// Discriminator parameter ids by path.
    pub discriminator_ids: BTreeMap<String, u64>,
}

/// Everything a checkpoint restores.
pub struct Restored<Disc, P: ExtraParts = NoExtra> {
    /// The codec's config.
    pub config: CodecConfig,
    /// The generator.
    pub generator: Codec<P>,
    /// The discriminators.
    pub discriminators: Disc,
    /// Generator optimiser.
    pub optim_generator: ModuleOptimizer,
    /// Discriminator optimiser.
    pub optim_discriminators: ModuleOptimizer,
    /// Steps completed.
    pub step: u64,
}

/// The checkpoints directory of a run.
pub fn checkpoints_dir(run: &Path) -> PathBuf {
    run.join("checkpoints")
}

/// The directory of the checkpoint after `step` steps.
pub fn checkpoint_dir(run: &Path, step: u64) -> PathBuf {
    checkpoints_dir(run).join(format!("step-{step:08}"))
}

/// Complete checkpoints of a run, oldest first.
pub fn list_checkpoints(run: &Path) -> Vec<(u64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(checkpoints_dir(run)) else { return Vec::new() };
    let mut found: Vec<(u64, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let step = name.strip_prefix("step-")?.parse().ok()?;
            e.path().join(STATE).is_file().then(|| (step, e.path()))
        })
        .collect();
    found.sort();
    found
}

fn io_err(path: &Path, what: &str, e: impl std::fmt::Display) -> XcodecError {
    XcodecError::file(path, format!("{what}: {e}"))
}

/// Writes a checkpoint atomically and prunes old ones (keeping `keep`). Leftovers of killed writes are removed.
#[allow(clippy::too_many_arguments)]
pub fn save<Disc: Module, P: ExtraParts>(
    run: &Path,
    step: u64,
    config: &CodecConfig,
    generator: &Codec<P>,
    discriminators: &Disc,
    optim_generator: &ModuleOptimizer,
    optim_discriminators: &ModuleOptimizer,
    keep: usize,
) -> Result<PathBuf> {
    let root = checkpoints_dir(run);
    std::fs::create_dir_all(&root).map_err(|e| io_err(&root, "cannot create", e))?;
    remove_leftovers(&root);
    let tmp = root.join(format!(".tmp-step-{step:08}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    xcodec_builtin::save_model_dir(&tmp, config, generator)?;
    let disc_path = tmp.join(DISCRIMINATORS);
    let mut store = SafetensorsStore::from_file(&disc_path).overwrite(true).skip_enum_variants(true).clear_metadata();
    discriminators.save_into(&mut store).map_err(|e| io_err(&disc_path, "cannot write", e))?;
    for (optim, name) in [(optim_generator, OPTIM_GENERATOR), (optim_discriminators, OPTIM_DISCRIMINATORS)] {
        let path = tmp.join(name);
        optim.save(&path).map_err(|e| io_err(&path, "cannot write the optimiser state", format!("{e:?}")))?;
    }
    let state = CheckpointState {
        step,
        generator_ids: crate::grads::param_ids(generator),
        discriminator_ids: crate::grads::param_ids(discriminators),
    };
    let state_path = tmp.join(STATE);
    std::fs::write(&state_path, serde_json::to_vec_pretty(&state).expect("state serializes"))
        .map_err(|e| io_err(&state_path, "cannot write", e))?;
    sync_dir(&tmp);
    let dest = checkpoint_dir(run, step);
    if dest.exists() {
        // Re-writing a step (a resumed run passing it again): move the old one aside first.
        let old = root.join(format!(".old-step-{step:08}-{}", std::process::id()));
        std::fs::rename(&dest, &old).map_err(|e| io_err(&dest, "cannot replace", e))?;
        std::fs::rename(&tmp, &dest).map_err(|e| io_err(&dest, "cannot rename into place", e))?;
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(&tmp, &dest).map_err(|e| io_err(&dest, "cannot rename into place", e))?;
    }
    sync_dir(&root);
    let all = list_checkpoints(run);
    for (_, dir) in all.iter().take(all.len().saturating_sub(keep)) {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(dest)
}

/// Loads a checkpoint written by [`save`]; `discriminators` is a freshly built module of the same shape.
pub fn load<Disc: Module, P: ExtraParts>(
    dir: &Path,
    discriminators: Disc,
    fresh_optims: [ModuleOptimizer; 2],
    device: &Device,
) -> Result<Restored<Disc, P>> {
    let state_path = dir.join(STATE);
    let text = std::fs::read(&state_path).map_err(|e| io_err(&state_path, "cannot read the checkpoint state", e))?;
    let state: CheckpointState =
        serde_json::from_slice(&text).map_err(|e| io_err(&state_path, "corrupt checkpoint state", e))?;
    let (config, generator) = Models::<P>::load_dir(dir, device)?;
    let generator = crate::grads::restore_param_ids(generator, &state.generator_ids);
    let disc_path = dir.join(DISCRIMINATORS);
    let mut discriminators = discriminators;
    let mut store = SafetensorsStore::from_file(&disc_path).skip_enum_variants(true);
    discriminators.load_from(&mut store).map_err(|e| {
        io_err(&disc_path, "cannot load the discriminators (was the [discriminator] config changed?)", e)
    })?;
    let discriminators = crate::grads::restore_param_ids(discriminators, &state.discriminator_ids);
    let [og, od] = fresh_optims;
    let load_optim = |optim: ModuleOptimizer, name: &str| {
        let path = dir.join(name);
        optim.load(&path).map_err(|e| io_err(&path, "cannot load the optimiser state", format!("{e:?}")))
    };
    Ok(Restored {
        config,
        generator,
        discriminators,
        optim_generator: load_optim(og, OPTIM_GENERATOR)?,
        optim_discriminators: load_optim(od, OPTIM_DISCRIMINATORS)?,
        step: state.step,
    })
}

/// Removes temporary directories that killed writes left behind.
fn remove_leftovers(root: &Path) {
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".tmp-step-") || name.starts_with(".old-step-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Flushes a directory's entries to disk (best effort; a no-op where directories cannot be opened).
fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}
