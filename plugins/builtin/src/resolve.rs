//! One model-resolution path for every command: `--model` may be our directory, a Hugging Face-layout
//! directory (X-Codec, EnCodec, DAC), an original X-Codec `.pth` (with its yaml), descript's DAC `.pth`, or a
//! hub id `org/name[@revision]`.

use crate::error::{BuiltinError, Result};
use crate::layout::{Layout, load_weights_except, load_weights_only};
use crate::{Codec, ExtraParts, Models, NoExtra, codec_config_from_hf, dac_config, hf_config, hub, original};
use burn::module::Param;
use burn::nn::Linear;
use burn::store::{ModuleStore, PytorchStore};
use burn::tensor::{Device, Tensor};
use std::path::Path;
use xcodec_core::{CodecConfig, XcodecError};

/// Which parts to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    /// Everything (encode and decode).
    All,
    /// What decoding needs: quantizer, `fc_post2`, acoustic decoder. The teacher is not built, nothing else
    /// is read, and `encode` refuses.
    DecoderOnly,
    /// What encoding needs: teacher, acoustic encoder, semantic encoder, `fc_prior`, quantizer. The decoder
    /// side is not read (a quarter of the X-Codec speech model), and `decode` refuses.
    EncoderOnly,
}

/// Keys decoding does not need (whole-model names).
pub const ENCODER_SIDE: &str =
    r"^(semantic_teacher|acoustic_encoder|encoder_semantic|decoder_semantic|fc_prior|fc_post1)\.";

/// Keys encoding does not need (whole-model names).
pub const DECODER_SIDE: &str = r"^(acoustic_decoder|decoder_semantic|fc_post1|fc_post2)\.";

/// Keys encoding needs: every top-level part but the decoder side (a positive filter: the store loads
/// only what it matches).
const ENCODER_PARTS: &str = r"^(semantic_teacher|acoustic_encoder|encoder_semantic|fc_prior|quantizer)\.";

/// Keys decoding needs (the rest is never read for decoding, and a decoder-only model keeps only these).
pub(crate) const DECODER_PARTS: &str = r"^(acoustic_decoder|quantizer|fc_post2)\.";

/// A loaded model and where it came from.
pub struct LoadedModel<P: ExtraParts = NoExtra> {
    /// Its config (our format).
    pub config: CodecConfig,
    /// The codec.
    pub codec: Codec<P>,
    /// What was loaded, for messages ("xcodec directory m", "original checkpoint x.pth", ...).
    pub source: String,
}

/// Resolves and loads `spec`. `yaml` is the original checkpoint's config (default: `config.yaml` beside it).
pub(crate) fn load_model<P: ExtraParts>(
    spec: &str,
    yaml: Option<&Path>,
    parts: Parts,
    device: &Device,
) -> Result<LoadedModel<P>> {
    let path = Path::new(spec);
    if path.is_dir() {
        if path.join(crate::model_dir::CONFIG_FILE).is_file() {
            return load_xcodec_dir(path, parts, device);
        }
        if path.join("config.json").is_file() {
            return load_hf(&path.join("config.json"), &path.join("model.safetensors"), spec, parts, device);
        }
        return Err(XcodecError::file(
            path,
            "is not a model directory: expected config.toml + model.safetensors (xcodec) or config.json + model.safetensors (Hugging Face)",
        ).into());
    }
    if path.is_file() {
        return match path.extension().and_then(|e| e.to_str()) {
            Some("pth" | "pt" | "ckpt") if dac_config::is_descript_pth(path)? => load_descript(path, parts, device),
            Some("pth" | "pt" | "ckpt") => load_original(path, yaml, parts, device),
            _ => Err(XcodecError::file(
                path,
                "is not a model: give a model directory, an original X-Codec .pth, a descript DAC .pth, or a hub id org/name",
            ).into()),
        };
    }
    if looks_like_hub_id(spec) {
        let files = hub::resolve(spec, &[&["config.json"], &["model.safetensors"]]).map_err(|e| {
            XcodecError::Input(format!("{spec}: no such local file or directory, and as a hub id: {e}"))
        })?;
        return load_hf(&files[0], &files[1], spec, parts, device);
    }
    Err(XcodecError::file(path, "no such file or directory (nor a hub id like org/name)").into())
}

/// The loaded model, its weights checked for NaN and infinite values (which would encode to all-zero codes).
/// `org/name[@rev]`: one slash, no path-like start, and `org` not a local directory (then `models/x` is a
/// missing path, not a hub id).
fn looks_like_hub_id(spec: &str) -> bool {
    let Some((org, name)) = spec.split_once('/') else { return false };
    !org.is_empty() && !name.is_empty() && !name.contains('/') && !org.starts_with('.') && !Path::new(org).is_dir()
}

fn finish<P: ExtraParts>(config: CodecConfig, codec: Codec<P>, source: String) -> Result<LoadedModel<P>> {
    xcodec_core::finite::check_weights(&codec).map_err(|e| XcodecError::Input(format!("{source}: {e}")))?;
    Ok(LoadedModel { config, codec, source })
}

fn load_xcodec_dir<P: ExtraParts>(dir: &Path, parts: Parts, device: &Device) -> Result<LoadedModel<P>> {
    let config = CodecConfig::load(dir.join(crate::model_dir::CONFIG_FILE))?;
    let parts = if config.decoder_only { Parts::DecoderOnly } else { parts };
    let codec = load_into(&config, &dir.join(crate::model_dir::WEIGHTS_FILE), Layout::Xcodec, parts, device)?;
    finish(config, codec, format!("xcodec model {}", dir.display()))
}

fn load_hf<P: ExtraParts>(
    config_json: &Path,
    weights: &Path,
    spec: &str,
    parts: Parts,
    device: &Device,
) -> Result<LoadedModel<P>> {
    let text = std::fs::read_to_string(config_json).map_err(|e| XcodecError::file(config_json, e.to_string()))?;
    let config = codec_config_from_hf(&text).map_err(|e| XcodecError::file(config_json, e.to_string()))?;
    if hf_config::is_encodec(&text) {
        let source = format!("Hugging Face EnCodec model {spec}");
        return load_acoustic_only(config, weights, Layout::Encodec, source, parts, device);
    }
    if dac_config::is_dac(&text) {
        return load_acoustic_only(
            config,
            weights,
            Layout::Dac,
            format!("Hugging Face DAC model {spec}"),
            parts,
            device,
        );
    }
    let codec = load_into(&config, weights, Layout::HuggingFace, parts, device)?;
    check_codebooks_trained(&codec, weights)?;
    finish(config, codec, format!("Hugging Face model {spec}"))
}

/// A plain acoustic codec (transformers `EncodecModel` or `DacModel`, descript's DAC `.pth`): its encoder,
/// decoder and quantizer, no teacher, and the composite's `fc_prior`/`fc_post2` (absent from these codecs) set
/// to the identity, so encode/decode are the codec's own. Without a teacher the composite does not pad the
/// input (as `EncodecModel.encode` and `DacModel.encode` do not).
fn load_acoustic_only<P: ExtraParts>(
    config: CodecConfig,
    weights: &Path,
    layout: Layout,
    source: String,
    parts: Parts,
    device: &Device,
) -> Result<LoadedModel<P>> {
    let mut codec = Models::<P>::build_with(&config, parts, device)?;
    let optional = match parts {
        Parts::All => r"^(fc_prior|fc_post2)\.".to_string(),
        Parts::DecoderOnly => format!(r"^(fc_prior|fc_post2)\.|{ENCODER_SIDE}"),
        Parts::EncoderOnly => format!(r"^(fc_prior|fc_post2)\.|{DECODER_SIDE}"),
    };
    load_weights_except(&mut codec, weights, layout, &optional)?;
    set_identity(&mut codec.fc_prior, device);
    set_identity(&mut codec.fc_post2, device);
    check_codebooks_trained(&codec, weights)?;
    finish(config, codec, source)
}

/// descript's own DAC `.pth` (`DAC.save`: `{"metadata": {"kwargs"}, "state_dict"}`) as a plain acoustic codec.
fn load_descript<P: ExtraParts>(pth: &Path, parts: Parts, device: &Device) -> Result<LoadedModel<P>> {
    let (config, n_blocks) = dac_config::dac_config_from_descript(pth)?;
    let source = format!("descript DAC checkpoint {}", pth.display());
    load_acoustic_only(config, pth, Layout::Descript { n_blocks }, source, parts, device)
}

/// Makes a square `Linear` the identity (weight I, bias 0).
fn set_identity(linear: &mut Linear, device: &Device) {
    let n = linear.weight.lazy_shape().dims::<2>()[0];
    linear.weight = Param::from_tensor(Tensor::eye(n, device));
    linear.bias = Some(Param::from_tensor(Tensor::zeros([n], device)));
}

fn load_original<P: ExtraParts>(
    pth: &Path,
    yaml: Option<&Path>,
    parts: Parts,
    device: &Device,
) -> Result<LoadedModel<P>> {
    let yaml = original::yaml_path(pth, yaml)?;
    let (encoder_width, decoder_width, n_blocks) = original_widths(pth)?;
    let config = original::codec_config_from_original(&yaml, encoder_width, decoder_width)?;
    let codec = load_into(&config, pth, Layout::Original { n_blocks }, parts, device)?;
    check_codebooks_trained(&codec, pth)?;
    finish(config, codec, format!("original X-Codec checkpoint {}", pth.display()))
}

/// DAC widths and block count, read off an original checkpoint's tensors (the original code hard-codes
/// the widths, so its yaml does not carry them).
fn original_widths(pth: &Path) -> Result<(usize, usize, usize)> {
    let mut store = PytorchStore::from_file(pth);
    let keys = store.keys().map_err(|e| XcodecError::file(pth, format!("not a readable PyTorch checkpoint: {e}")))?;
    let out_channels = |store: &mut PytorchStore, stem: &str| -> Option<usize> {
        [format!("{stem}.weight_v"), format!("{stem}.parametrizations.weight.original1"), format!("{stem}.weight")]
            .iter()
            .find_map(|k| store.get_tensor(k).ok().flatten().map(|t| t.shape[0]))
    };
    let enc = out_channels(&mut store, "encoder.block.0");
    let dec = out_channels(&mut store, "decoder_2.model.0");
    let blocks =
        keys.iter().filter_map(|k| k.strip_prefix("encoder.block.")?.split('.').next()?.parse::<usize>().ok()).max();
    match (enc, dec, blocks) {
        (Some(e), Some(d), Some(last)) if last >= 2 => Ok((e, d, last - 2)),
        _ => Err(BuiltinError::weights(
            pth,
            "has no encoder.block.0 / decoder_2.model.0 convs: not an original X-Codec checkpoint (a Hugging Face model is a directory with config.json)",
        )),
    }
}

/// Imported checkpoints must hold trained codebooks: `inited = 0` means one was never initialised.
fn check_codebooks_trained<P: ExtraParts>(codec: &Codec<P>, path: &Path) -> Result<()> {
    // Imports are always RVQ models; anything else has no `inited` flags to check.
    let crate::AnyQuantizer::Rvq(rvq) = &codec.quantizer else { return Ok(()) };
    for (i, layer) in rvq.layers.iter().enumerate() {
        if layer.inited.val().into_scalar::<f32>() == 0.0 {
            return Err(BuiltinError::weights(
                path,
                format!("codebook {i} was never initialised (inited = 0): the checkpoint is untrained or damaged"),
            ));
        }
    }
    Ok(())
}

/// Builds the codec for `config` (without a teacher when decoding only) and loads the `parts` of `weights` into it.
fn load_into<P: ExtraParts>(
    config: &CodecConfig,
    weights: &Path,
    layout: Layout,
    parts: Parts,
    device: &Device,
) -> Result<Codec<P>> {
    let mut codec = Models::<P>::build_with(config, parts, device)?;
    // Nothing is optional in a full load; a one-side load reads only that side and may lack the other.
    match parts {
        Parts::All => load_weights_except(&mut codec, weights, layout, "$^")?,
        Parts::DecoderOnly => load_weights_only(&mut codec, weights, layout, DECODER_PARTS, ENCODER_SIDE)?,
        Parts::EncoderOnly => load_weights_only(&mut codec, weights, layout, ENCODER_PARTS, DECODER_SIDE)?,
    }
    Ok(codec)
}
