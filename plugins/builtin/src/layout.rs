//! Weight layouts and their key tables. Our own layout is the module tree's paths; other layouts map
//! onto it through one regex table each, applied in order.

use burn::module::Module;
use burn::store::{ApplyError, KeyRemapper, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use std::path::Path;
use xcodec_core::{Result, XcodecError};

/// Where a safetensors file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Written by xcodec (`xcodec build`, training checkpoints, `xcodec convert`).
    Xcodec,
    /// `transformers.XcodecModel` (`fc`, `fc1`, `fc2`, `quantizer.quantizers.N.codebook`, torch layouts).
    HuggingFace,
}

/// Hugging Face `XcodecModel` key -> our key. Weight norm arrives as torch parametrizations.
pub const HF_KEY_MAP: &[(&str, &str)] = &[
    (r"^fc\.", "fc_prior."),
    (r"^fc1\.", "fc_post1."),
    (r"^fc2\.", "fc_post2."),
    (r"^quantizer\.quantizers\.(\d+)\.codebook\.", "quantizer.layers.$1."),
    (r"^semantic_model\.", "semantic_teacher."),
    (r"\.parametrizations\.weight\.original0$", ".weight_g"),
    (r"\.parametrizations\.weight\.original1$", ".weight_v"),
];

impl Layout {
    fn key_map(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Layout::Xcodec => &[],
            Layout::HuggingFace => HF_KEY_MAP,
        }
    }
}

/// How many names to show when listing missing or unexpected keys.
const SHOW: usize = 5;

fn first_few(keys: &[String]) -> String {
    let mut s = keys.iter().take(SHOW).cloned().collect::<Vec<_>>().join(", ");
    if keys.len() > SHOW {
        s.push_str(&format!(" and {} more", keys.len() - SHOW));
    }
    s
}

/// Loads `path` (in `layout`) into `module`, whose keys are prefixed by `prefix` in the file (e.g.
/// `"acoustic_encoder."` to load one part; `""` for a whole codec). Every module tensor must be found and,
/// for a whole codec, every file tensor used; otherwise the error lists the first few names.
pub fn load_weights<M: Module>(module: &mut M, path: &Path, layout: Layout, prefix: &str) -> Result<()> {
    let mut remap = KeyRemapper::new();
    for (from, to) in layout.key_map() {
        remap = remap.add_pattern(*from, *to).expect("key map regexes are valid");
    }
    if !prefix.is_empty() {
        remap = remap.add_pattern(format!("^{}", regex_escape(prefix)), "").expect("escaped prefix is a valid regex");
    }
    let mut store = SafetensorsStore::from_file(path).remap(remap).allow_partial(true).validate(false).skip_enum_variants(true);
    if layout == Layout::HuggingFace {
        store = store.with_from_adapter(PyTorchToBurnAdapter);
    }
    let result = module
        .load_from(&mut store)
        .map_err(|e| XcodecError::file(path, format!("cannot read weights: {e}")))?;
    if !result.errors.is_empty() {
        let errs: Vec<String> = result.errors.iter().map(describe).collect();
        return Err(XcodecError::file(path, format!("weights do not fit the model: {}", first_few(&errs))));
    }
    if !result.missing.is_empty() {
        let missing: Vec<String> = result.missing.iter().map(|(p, _)| p.clone()).collect();
        return Err(XcodecError::file(
            path,
            format!(
                "{} model tensors missing from the file ({}); wrong layout, wrong teacher or a truncated file?",
                missing.len(),
                first_few(&missing)
            ),
        ));
    }
    // Loading one part from a whole-codec file leaves the other parts' tensors unused; that is fine.
    if prefix.is_empty() && !result.unused.is_empty() {
        return Err(XcodecError::file(
            path,
            format!(
                "{} file tensors the model does not have ({}); is the config for another model?",
                result.unused.len(),
                first_few(&result.unused)
            ),
        ));
    }
    Ok(())
}

fn describe(e: &ApplyError) -> String {
    match e {
        ApplyError::ShapeMismatch { path, expected, found } => {
            format!("{path} is {:?} in the file but {:?} in the model", found.as_slice(), expected.as_slice())
        }
        other => format!("{other:?}"),
    }
}

fn regex_escape(s: &str) -> String {
    s.chars().flat_map(|c| if "\\.+*?()|[]{}^$".contains(c) { vec!['\\', c] } else { vec![c] }).collect()
}
