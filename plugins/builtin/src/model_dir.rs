//! Our model directory: `config.toml` + `model.safetensors`, both written atomically.

use crate::error::Result;
use crate::{Codec, ExtraParts};
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use std::path::Path;
use xcodec_core::{CodecConfig, XcodecError};

/// Config file name in a model directory.
pub const CONFIG_FILE: &str = "config.toml";
/// Weights file name in a model directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";

/// Writes `dir/config.toml` and `dir/model.safetensors` (each via a temp file + rename). With
/// `cfg.decoder_only`, only the tensors decoding needs are written.
pub fn save_model_dir<P: ExtraParts>(dir: &Path, cfg: &CodecConfig, codec: &Codec<P>) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| XcodecError::file(dir, format!("cannot create directory: {e}")))?;
    let weights = dir.join(WEIGHTS_FILE);
    let mut store = SafetensorsStore::from_file(&weights)
        .overwrite(true)
        .skip_enum_variants(true)
        // One metadata entry only: burn-store keeps metadata in a hash map, so several entries would be
        // written in a random order and the same weights would not give the same bytes.
        .clear_metadata()
        .metadata("format", concat!("xcodec ", env!("CARGO_PKG_VERSION")));
    if cfg.decoder_only {
        store = store.with_regex(crate::resolve::DECODER_PARTS);
    }
    codec.save_into(&mut store).map_err(|e| XcodecError::file(&weights, format!("cannot write weights: {e}")))?;
    let config = dir.join(CONFIG_FILE);
    xcodec_core::io::write_atomic(&config, cfg.to_toml().as_bytes())?;
    // burn-store writes the weights through a private (0600) temp file: give them the config's mode, the
    // one the user's umask gives new files, so that a shared model directory is readable as a whole.
    if let Ok(meta) = std::fs::metadata(&config) {
        let _ = std::fs::set_permissions(&weights, meta.permissions());
    }
    Ok(())
}

/// Reads a model directory written by [`save_model_dir`] (a decoder-only one loads for decoding only).
pub(crate) fn load_model_dir<P: ExtraParts>(dir: &Path, device: &Device) -> Result<(CodecConfig, Codec<P>)> {
    if !dir.join(CONFIG_FILE).is_file() {
        return Err(XcodecError::file(
            dir,
            format!("no {CONFIG_FILE} here; pass a model directory made by `xcodec build` or `xcodec convert`"),
        )
        .into());
    }
    let loaded = crate::Models::<P>::load(&dir.to_string_lossy(), None, crate::Parts::All, device)?;
    Ok((loaded.config, loaded.codec))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{build, load_model_dir};
    use burn::tensor::Tensor;
    use xcodec_core::AcousticEncoder;

    fn tiny() -> CodecConfig {
        CodecConfig::with_parts("dac", "none", "rvq")
            .unwrap()
            .with_overrides(&[
                "acoustic.params.encoder_width=2".into(),
                "acoustic.params.latent_dim=4".into(),
                "acoustic.params.decoder_width=32".into(),
                "quantizer.params.codebook_size=16".into(),
                "target_bandwidths_kbps=[0.2, 0.4, 1.6]".into(),
            ])
            .unwrap()
    }

    #[test]
    fn save_then_load_gives_the_same_codec() {
        let device = Device::flex();
        device.seed(7);
        let cfg = tiny();
        let codec = build(&cfg, &device).unwrap();
        let dir = tempfile::tempdir().unwrap();
        save_model_dir(dir.path(), &cfg, &codec).unwrap();
        let (cfg2, loaded) = load_model_dir(dir.path(), &device).unwrap();
        assert_eq!(cfg, cfg2);
        let audio = Tensor::<3>::random([1, 1, 1280], burn::tensor::Distribution::Normal(0.0, 0.1), &device);
        let a = codec.acoustic_encoder.forward(audio.clone()).into_data();
        let b = loaded.acoustic_encoder.forward(audio.clone()).into_data();
        a.assert_eq(&b, true);
        let ca = codec.encode(audio.clone(), 1.6).unwrap().into_data();
        let cb = loaded.encode(audio, 1.6).unwrap().into_data();
        ca.assert_eq(&cb, true);
    }

    #[test]
    fn a_config_for_another_shape_is_refused_with_the_names() {
        let device = Device::flex();
        let cfg = tiny();
        let dir = tempfile::tempdir().unwrap();
        save_model_dir(dir.path(), &cfg, &build(&cfg, &device).unwrap()).unwrap();
        let other = cfg.with_overrides(&["acoustic.params.latent_dim=8".into()]).unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), other.to_toml()).unwrap();
        let err = load_model_dir(dir.path(), &device).unwrap_err().to_string();
        assert!(err.contains("do not fit") || err.contains("missing"), "{err}");
    }
}
