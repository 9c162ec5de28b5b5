//! `CodecConfig`: the TOML description of a composed codec. Unknown keys are rejected everywhere:
//! core fields by serde, each part's `params` by the part's own typed config.

use crate::error::{Result, XcodecError, one_line};
use crate::registry::{self, Role};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A whole codec: sample rate, bandwidths, and the three registered parts with their parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodecConfig {
    /// Sample rate the codec works at, in Hz (audio is resampled to it).
    pub sample_rate_hz: u32,
    /// Bandwidths offered, in kbps, ascending; the highest fixes the number of codebooks.
    pub target_bandwidths_kbps: Vec<f64>,
    /// The acoustic backbone (encoder + decoder), e.g. `dac`.
    pub acoustic: PartConfig,
    /// The semantic teacher, e.g. `hubert`, `wavlm` or `none`.
    pub semantic: PartConfig,
    /// The quantizer, e.g. `rvq`.
    pub quantizer: PartConfig,
    /// The semantic encoder/decoder blocks between teacher and quantizer (unused with `none`).
    #[serde(default)]
    pub semantic_adapter: SemanticAdapterConfig,
    /// The weights hold only what decoding needs (quantizer, `fc_post2`, acoustic decoder): written by
    /// `xcodec convert --decoder-only`; such a model decodes but cannot encode.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub decoder_only: bool,
}

/// A registered part and its parameters (the part's own schema; see `xcodec list`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartConfig {
    /// Registered name.
    pub name: String,
    /// Parameters of that part; missing keys take the part's defaults.
    #[serde(default)]
    pub params: toml::Table,
}

/// RepCodec-style semantic encoder/decoder as in X-Codec: a conv, then blocks of ELU residual units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SemanticAdapterConfig {
    /// Kernel of the input/output convs.
    pub kernel_size: usize,
    /// Channel multiplier of each block (relative to the teacher width).
    pub channel_ratios: Vec<usize>,
    /// Stride of each block (1 keeps the teacher's frame rate).
    pub strides: Vec<usize>,
    /// Dilation of each residual unit inside a block (one unit per entry).
    pub block_dilations: Vec<usize>,
    /// Kernel of the residual units' first conv.
    pub unit_kernel_size: usize,
}

impl Default for SemanticAdapterConfig {
    fn default() -> Self {
        Self {
            kernel_size: 3,
            channel_ratios: vec![1, 1],
            strides: vec![1, 1],
            block_dilations: vec![1, 1],
            unit_kernel_size: 3,
        }
    }
}

/// The params of a part that takes none.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// Parses a part's `params` table into its typed config, with a one-line error naming the part.
pub fn parse_params<T: DeserializeOwned>(part: &str, params: &toml::Table) -> Result<T> {
    T::deserialize(toml::Value::Table(params.clone()))
        .map_err(|e| XcodecError::Config(format!("[{part}] params: {}", one_line(&e.to_string()))))
}

/// Turns a typed params struct into a table (for defaults and for writing configs).
pub fn params_table<T: Serialize>(params: &T) -> toml::Table {
    toml::Table::try_from(params).expect("part params serialize to a TOML table")
}

impl CodecConfig {
    /// The config `xcodec build` starts from: registered defaults of the named parts at 16 kHz with
    /// X-Codec's bandwidths (0.5/1/1.5/2/4 kbps).
    pub fn with_parts(acoustic: &str, semantic: &str, quantizer: &str) -> Result<Self> {
        let part = |role, name: &str| -> Result<PartConfig> {
            let entry = registry::find(role, name)?;
            Ok(PartConfig { name: name.to_string(), params: (entry.default_params)() })
        };
        Ok(Self {
            sample_rate_hz: 16000,
            target_bandwidths_kbps: vec![0.5, 1.0, 1.5, 2.0, 4.0],
            acoustic: part(Role::Acoustic, acoustic)?,
            semantic: part(Role::Semantic, semantic)?,
            quantizer: part(Role::Quantizer, quantizer)?,
            semantic_adapter: SemanticAdapterConfig::default(),
            decoder_only: false,
        })
    }

    /// Parses TOML and validates it.
    pub fn from_toml(text: &str) -> Result<Self> {
        let cfg: Self = toml::from_str(text).map_err(|e| XcodecError::Config(one_line(&e.to_string())))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and validates `path`.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).map_err(|e| XcodecError::file(path, format!("cannot read config: {e}")))?;
        Self::from_toml(&text).map_err(|e| XcodecError::file(path, e.to_string()))
    }

    /// Pretty TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serializes")
    }

    /// Applies `key.path=value` overrides (value parsed as TOML, else taken as a string), then validates.
    pub fn with_overrides(&self, sets: &[String]) -> Result<Self> {
        let cfg = apply_overrides(self, sets)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks names against the registry, each part's params against its schema, and the core fields.
    pub fn validate(&self) -> Result<()> {
        if !(1000..=384_000).contains(&self.sample_rate_hz) {
            return Err(XcodecError::Config(format!(
                "sample_rate_hz = {} is out of range; use a rate between 1000 and 384000",
                self.sample_rate_hz
            )));
        }
        let bw = &self.target_bandwidths_kbps;
        if bw.is_empty() || bw.iter().any(|b| !b.is_finite() || *b <= 0.0) || bw.windows(2).any(|w| w[0] >= w[1]) {
            return Err(XcodecError::Config(format!(
                "target_bandwidths_kbps = {bw:?}: give positive, strictly ascending kbps values, e.g. [0.5, 1, 1.5, 2, 4]"
            )));
        }
        for (role, part) in
            [(Role::Acoustic, &self.acoustic), (Role::Semantic, &self.semantic), (Role::Quantizer, &self.quantizer)]
        {
            (registry::find(role, &part.name)?.check_params)(&part.params)?;
        }
        let a = &self.semantic_adapter;
        if a.channel_ratios.len() != a.strides.len() || a.strides.contains(&0) || a.channel_ratios.contains(&0) {
            return Err(XcodecError::Config(
                "semantic_adapter: channel_ratios and strides need one positive entry per block".into(),
            ));
        }
        if a.kernel_size.is_multiple_of(2) || a.unit_kernel_size.is_multiple_of(2) {
            return Err(XcodecError::Config("semantic_adapter: kernel sizes must be odd".into()));
        }
        Ok(())
    }
}

/// Applies `KEY=VALUE` overrides (dotted keys, TOML values; bare words are strings) to any serde config and
/// parses the result back, so unknown keys and wrong types are rejected as in a file.
pub fn apply_overrides<T: Serialize + DeserializeOwned>(value: &T, sets: &[String]) -> Result<T> {
    let mut tree = toml::Value::try_from(value).expect("config serializes");
    for set in sets {
        let (key, raw) = set.split_once('=').ok_or_else(|| {
            XcodecError::Config(format!("--set '{set}': expected KEY=VALUE, e.g. acoustic.params.encoder_width=32"))
        })?;
        let value = parse_value(raw.trim());
        let mut node = &mut tree;
        let parts: Vec<&str> = key.trim().split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let table = node.as_table_mut().ok_or_else(|| {
                XcodecError::Config(format!("--set {key}: '{}' is not a table", parts[..i].join(".")))
            })?;
            if i + 1 == parts.len() {
                table.insert(part.to_string(), value.clone());
                break;
            }
            node = table.entry(part.to_string()).or_insert_with(|| toml::Value::Table(Default::default()));
        }
    }
    tree.try_into().map_err(|e: toml::de::Error| XcodecError::Config(one_line(&e.to_string())))
}

fn parse_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn base() -> CodecConfig {
        CodecConfig::with_parts_unchecked("dac", "none", "rvq")
    }

    impl CodecConfig {
        /// A config with free-form part names (the core crate's tests cannot link the plugins).
        fn with_parts_unchecked(a: &str, s: &str, q: &str) -> Self {
            let part = |n: &str| PartConfig { name: n.into(), params: toml::Table::new() };
            Self {
                sample_rate_hz: 16000,
                target_bandwidths_kbps: vec![0.5, 1.0, 1.5, 2.0, 4.0],
                acoustic: part(a),
                semantic: part(s),
                quantizer: part(q),
                semantic_adapter: SemanticAdapterConfig::default(),
                decoder_only: false,
            }
        }
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let mut text = base().to_toml();
        text.push_str("\nbogus_key = 3\n");
        let err = toml::from_str::<CodecConfig>(&text).unwrap_err().to_string();
        assert!(err.contains("bogus_key"), "{err}");
        let text = base().to_toml().replace("kernel_size = 3", "kernel_size = 3\nkernel = 5");
        assert!(toml::from_str::<CodecConfig>(&text).is_err());
    }

    #[test]
    fn set_overrides_parse_values_and_reject_unknown_parts() {
        let cfg = base();
        let mut tree = toml::Value::try_from(&cfg).unwrap();
        tree["sample_rate_hz"] = toml::Value::Integer(24000);
        assert_eq!(parse_value("24000"), toml::Value::Integer(24000));
        assert_eq!(parse_value("[1, 2]"), toml::Value::try_from(vec![1, 2]).unwrap());
        assert_eq!(parse_value("dac"), toml::Value::String("dac".into()));
        // `validate` needs the registry: only `none` is registered in the core crate.
        let err = cfg.with_overrides(&["sample_rate_hz=24000".into()]).unwrap_err().to_string();
        assert!(err.contains("unknown acoustic 'dac'"), "{err}");
        let err = cfg.with_overrides(&["no_equals_sign".into()]).unwrap_err().to_string();
        assert!(err.contains("KEY=VALUE"), "{err}");
    }

    fn arb_config() -> impl Strategy<Value = CodecConfig> {
        (
            1000u32..96000,
            proptest::collection::vec(0.01f64..10.0, 1..6),
            "[a-z]{1,8}",
            proptest::collection::btree_map("[a-z_]{1,8}", -1000i64..1000, 0..4),
            1usize..4,
        )
            .prop_map(|(sr, mut bws, name, params, blocks)| {
                bws.sort_by(f64::total_cmp);
                let mut cfg = CodecConfig::with_parts_unchecked(&name, "none", "rvq");
                cfg.sample_rate_hz = sr;
                cfg.target_bandwidths_kbps = bws;
                cfg.acoustic.params = params.into_iter().map(|(k, v)| (k, toml::Value::Integer(v))).collect();
                cfg.semantic_adapter.strides = vec![1; blocks];
                cfg.semantic_adapter.channel_ratios = vec![2; blocks];
                cfg
            })
    }

    proptest! {
        #[test]
        fn toml_round_trip(cfg in arb_config()) {
            let text = cfg.to_toml();
            let back: CodecConfig = toml::from_str(&text).unwrap();
            prop_assert_eq!(back, cfg);
        }
    }
}
