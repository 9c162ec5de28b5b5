//! Weight layouts and their key tables. Our own layout is the module tree's paths; other layouts map
//! onto it through one regex table each, applied in order.

use crate::error::{BuiltinError, Result};
use burn::module::Module;
use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{
    ApplyError, ApplyResult, KeyRemapper, ModuleAdapter, ModuleContext, ModuleSnapshot, ModuleStore,
    PyTorchToBurnAdapter, PytorchStore, SafetensorsStore, bridge,
};
use burn::tensor::{DType, Shape, TensorData};
use std::path::Path;

/// Where a weights file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Written by xcodec (`xcodec build`, training checkpoints, `xcodec convert`).
    Xcodec,
    /// transformers (`XcodecModel`, `HubertModel`, `WavLMModel`): torch tensor layouts, their key names.
    HuggingFace,
    /// transformers `EncodecModel`: `encoder.`/`decoder.`/`quantizer.layers.N.codebook.` keys.
    Encodec,
    /// The original X-Codec research code's `.pth`, for a DAC with this many strided blocks.
    Original {
        /// Strided DAC blocks (4 in the released models).
        n_blocks: usize,
    },
    /// transformers `DacModel` (`descript/dac_*`): `encoder.`/`decoder.`/`quantizer.quantizers.N.` keys.
    Dac,
    /// descript's own `.pth` (`dac.DAC.save`): `state_dict.` + `nn.Sequential` indices, for this many blocks.
    Descript {
        /// Strided blocks of the encoder (and of the decoder).
        n_blocks: usize,
    },
}

/// Hugging Face `XcodecModel` (and teacher) key -> our key. Weight norm arrives as torch parametrizations.
pub const HF_KEY_MAP: &[(&str, &str)] = &[
    (r"^fc\.", "fc_prior."),
    (r"^fc1\.", "fc_post1."),
    (r"^fc2\.", "fc_post2."),
    (r"^quantizer\.quantizers\.(\d+)\.codebook\.", "quantizer.layers.$1."),
    (r"^semantic_model\.", "semantic_teacher."),
    (r"\.parametrizations\.weight\.original0$", ".weight_g"),
    (r"\.parametrizations\.weight\.original1$", ".weight_v"),
];

/// Hugging Face `EncodecModel` key -> our key (weight norm as torch parametrizations or `weight_g`/`weight_v`).
pub const ENCODEC_KEY_MAP: &[(&str, &str)] = &[
    (r"^encoder\.", "acoustic_encoder."),
    (r"^decoder\.", "acoustic_decoder."),
    (r"^quantizer\.layers\.(\d+)\.codebook\.", "quantizer.layers.$1."),
    xcodec_encodec::LSTM_KEY_MAP,
    (r"\.parametrizations\.weight\.original0$", ".weight_g"),
    (r"\.parametrizations\.weight\.original1$", ".weight_v"),
];

/// Hugging Face `DacModel` key -> our key. The DAC plugin's and the quantizer's field names are transformers'
/// (`block.0.res_unit1.conv1`, `quantizers.0.in_proj`, `codebook.weight`); weight norm, where a file has it,
/// as torch parametrizations.
pub const DAC_KEY_MAP: &[(&str, &str)] = &[
    (r"^encoder\.", "acoustic_encoder."),
    (r"^decoder\.", "acoustic_decoder."),
    (r"\.parametrizations\.weight\.original0$", ".weight_g"),
    (r"\.parametrizations\.weight\.original1$", ".weight_v"),
];

/// descript `.pth` key -> the original X-Codec layout's, whose table ([`crate::original::original_key_map`])
/// then applies: X-Codec's acoustic half is descript's DAC module for module, with the decoder named
/// `decoder_2`. The quantizer's keys (`quantizer.quantizers.N.in_proj.weight_g`, ...) are ours already.
pub const DESCRIPT_KEY_MAP: &[(&str, &str)] = &[(r"^state_dict\.", ""), (r"^decoder\.model\.", "decoder_2.model.")];

/// File tensors that inference has no use for and that are not an error to find: the teachers'
/// pre-training mask embedding.
pub const IGNORED_KEYS: &[&str] = &[r"(^|\.)masked_spec_embed$"];

impl Layout {
    /// The layout's key table (file key -> our key), applied in order.
    pub fn key_map(self) -> Vec<(String, String)> {
        match self {
            Layout::Xcodec => vec![],
            Layout::HuggingFace => HF_KEY_MAP.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
            Layout::Encodec => ENCODEC_KEY_MAP.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
            Layout::Original { n_blocks } => crate::original::original_key_map(n_blocks),
            Layout::Dac => DAC_KEY_MAP.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
            Layout::Descript { n_blocks } => DESCRIPT_KEY_MAP
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .chain(crate::original::original_key_map(n_blocks))
                .collect(),
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

/// Loads `path` (in `layout`; safetensors, or a torch pickle for `.bin`/`.pth`/`.pt`) into `module`, whose
/// keys are prefixed by `prefix` in the file (e.g. `"acoustic_encoder."` to load one part; `""` for the
/// whole file). Every module tensor must be found and, with an empty prefix, every file tensor used;
/// otherwise the error lists the first few names.
pub fn load_weights<M: Module>(module: &mut M, path: &Path, layout: Layout, prefix: &str) -> Result<()> {
    load(module, path, layout, prefix, None, None)
}

/// Loads a whole file into `module`, except that model tensors missing from the file and file tensors the
/// model lacks are fine when their (mapped) name matches `optional` (e.g. the encoder side when loading
/// for decoding only).
pub fn load_weights_except<M: Module>(module: &mut M, path: &Path, layout: Layout, optional: &str) -> Result<()> {
    let optional = regex::Regex::new(optional).expect("optional-keys regex is valid");
    load(module, path, layout, "", Some(&optional), None)
}

/// Loads only the model tensors whose (mapped) name matches `only` (the rest is never read from the file),
/// with the others' absence fine where they match `optional` (e.g. the decoder side for encoding only).
pub fn load_weights_only<M: Module>(
    module: &mut M,
    path: &Path,
    layout: Layout,
    only: &str,
    optional: &str,
) -> Result<()> {
    let optional = regex::Regex::new(optional).expect("optional-keys regex is valid");
    load(module, path, layout, "", Some(&optional), Some(only))
}

fn load<M: Module>(
    module: &mut M,
    path: &Path,
    layout: Layout,
    prefix: &str,
    optional: Option<&regex::Regex>,
    only: Option<&str>,
) -> Result<()> {
    if !path.is_file() {
        return Err(BuiltinError::weights(path, "no such weights file"));
    }
    let mut remap = KeyRemapper::new();
    for (from, to) in layout.key_map() {
        remap = remap.add_pattern(from, to).expect("key map regexes are valid");
    }
    if !prefix.is_empty() {
        remap = remap.add_pattern(format!("^{}", regex::escape(prefix)), "").expect("escaped prefix is a valid regex");
    }
    let file_keys = WeightsFile::open(path, layout, remap.clone(), None).keys()?;
    let folded = crate::folded::folded_stems(module, &file_keys);
    if let Some(pattern) = crate::folded::folded_key_pattern(&folded) {
        remap = remap.add_pattern(pattern, "$1.weight_v").expect("escaped stems make a valid regex");
    }
    let mut result = WeightsFile::open(path, layout, remap, only).apply_to(module)?;
    crate::folded::restore_magnitudes(module, &folded, &mut result).map_err(|e| BuiltinError::weights(path, e))?;
    check_result(path, &result, prefix.is_empty(), optional)
}

/// A weights file opened with its key map: safetensors, or a torch pickle for `.bin`/`.pth`/`.pt`.
enum WeightsFile<'a> {
    Torch(PytorchStore, &'a Path),
    Safetensors(SafetensorsStore, &'a Path),
}

impl<'a> WeightsFile<'a> {
    /// Opens `path` (nothing is read yet) with `remap` applied to its keys; with `only`, just the model
    /// tensors whose name matches it are loaded.
    fn open(path: &'a Path, layout: Layout, remap: KeyRemapper, only: Option<&str>) -> Self {
        let torch_pickle = matches!(path.extension().and_then(|e| e.to_str()), Some("bin" | "pth" | "pt"));
        if torch_pickle {
            let mut store = PytorchStore::from_file(path)
                .remap(remap)
                .allow_partial(true)
                .validate(false)
                .skip_enum_variants(true)
                .map_indices_contiguous(false);
            if let Some(only) = only {
                store = store.with_regex(only);
            }
            WeightsFile::Torch(store, path)
        } else {
            let mut store = SafetensorsStore::from_file(path)
                .remap(remap)
                .allow_partial(true)
                .validate(false)
                .skip_enum_variants(true);
            if matches!(layout, Layout::HuggingFace | Layout::Encodec) {
                store = store.with_from_adapter(TorchToBurn);
            }
            if let Some(only) = only {
                store = store.with_regex(only);
            }
            WeightsFile::Safetensors(store, path)
        }
    }

    /// The file's tensor names after the key map.
    fn keys(mut self) -> Result<std::collections::HashSet<String>> {
        let keys = match &mut self {
            WeightsFile::Torch(store, _) => store.keys().map_err(|e| e.to_string()),
            WeightsFile::Safetensors(store, _) => store.keys().map_err(|e| e.to_string()),
        };
        keys.map(|k| k.into_iter().collect())
            .map_err(|e| BuiltinError::weights(self.path(), format!("cannot read weights: {e}")))
    }

    /// Loads the file into `module`.
    fn apply_to<M: Module>(mut self, module: &mut M) -> Result<ApplyResult> {
        let result = match &mut self {
            WeightsFile::Torch(store, _) => module.load_from(store).map_err(|e| e.to_string()),
            WeightsFile::Safetensors(store, _) => module.load_from(store).map_err(|e| e.to_string()),
        };
        result.map_err(|e| BuiltinError::weights(self.path(), format!("cannot read weights: {e}")))
    }

    fn path(&self) -> &'a Path {
        match self {
            WeightsFile::Torch(_, p) | WeightsFile::Safetensors(_, p) => p,
        }
    }
}

/// burn-store's `PyTorchToBurnAdapter` (linear weights transposed, norm parameters renamed), with f32
/// linear weights transposed in cache-sized tiles: burn-store's copies one element at a time, which was a
/// quarter of loading the full-size X-Codec.
#[derive(Debug, Clone, Copy, Default)]
struct TorchToBurn;

impl ModuleAdapter for TorchToBurn {
    fn adapt(&self, tensor: PackTensor, ctx: ModuleContext<'_>) -> PackTensor {
        let linear_weight =
            ctx.module_type() == Some("Struct:Linear") && tensor.name.rsplit('.').next() == Some("weight");
        if linear_weight && tensor.shape.len() == 2 && tensor.dtype == DType::F32 {
            let (name, shape) = (tensor.name.clone(), Shape::from([tensor.shape[1], tensor.shape[0]]));
            return bridge::map_data(tensor, name, DType::F32, shape, transpose_f32);
        }
        PyTorchToBurnAdapter.adapt(tensor, ctx)
    }

    fn get_alternative_param_name(&self, param_name: &str, container_type: &str) -> Option<String> {
        PyTorchToBurnAdapter.get_alternative_param_name(param_name, container_type)
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(*self)
    }
}

/// `[rows, cols]` -> `[cols, rows]`, in 32 x 32 tiles.
fn transpose_f32(data: TensorData) -> TensorData {
    const TILE: usize = 32;
    let (rows, cols) = (data.shape()[0], data.shape()[1]);
    let src = data.try_into_vec::<f32>().expect("f32 data (checked by the adapter)");
    let mut dst = vec![0f32; src.len()];
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
    TensorData::new(dst, [cols, rows])
}

fn check_result(path: &Path, result: &ApplyResult, whole_file: bool, optional: Option<&regex::Regex>) -> Result<()> {
    let required = |k: &String| !optional.is_some_and(|r| r.is_match(k));
    if !result.errors.is_empty() {
        let errs: Vec<String> = result.errors.iter().map(describe).collect();
        return Err(BuiltinError::weights(path, format!("weights do not fit the model: {}", first_few(&errs))));
    }
    let missing: Vec<String> = result.missing.iter().map(|(p, _)| p.clone()).filter(required).collect();
    if !missing.is_empty() {
        return Err(BuiltinError::weights(
            path,
            format!(
                "{} model tensors missing from the file ({}); wrong layout, wrong teacher or a truncated file?",
                missing.len(),
                first_few(&missing)
            ),
        ));
    }
    let ignored: Vec<regex::Regex> = IGNORED_KEYS.iter().map(|r| regex::Regex::new(r).expect("valid")).collect();
    let unused: Vec<String> =
        result.unused.iter().filter(|k| !ignored.iter().any(|r| r.is_match(k)) && required(k)).cloned().collect();
    // Loading one part from a whole-codec file leaves the other parts' tensors unused; that is fine.
    if whole_file && !unused.is_empty() {
        return Err(BuiltinError::weights(
            path,
            format!(
                "{} file tensors the model does not have ({}); is the config for another model?",
                unused.len(),
                first_few(&unused)
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
