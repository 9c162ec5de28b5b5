//! Teacher shape: the `hubert`/`wavlm` part params, readable from a Hugging Face `config.json` too.

use serde::{Deserialize, Serialize};
use xcodec_core::{Result, XcodecError};

/// Which self-supervised model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TeacherKind {
    /// HuBERT (plain multi-head attention).
    Hubert,
    /// WavLM (gated relative position bias).
    Wavlm,
}

/// Shape of a HuBERT/WavLM teacher, in transformers' config names. Defaults are the base models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherConfig {
    /// Where `xcodec build` takes the teacher's weights (and this shape) from: a local directory with
    /// `config.json` + `model.safetensors`/`pytorch_model.bin`, or a hub id `org/name[@revision]` resolved
    /// through the Hugging Face cache. Empty: keep the randomly initialised weights (tests only).
    #[serde(default)]
    pub pretrained: String,
    /// Width of the transformer (768 for base models): the semantic feature size.
    pub hidden_size: usize,
    /// Transformer layers (12 for base models); the feature is the mean of all layers plus the embedding.
    pub num_hidden_layers: usize,
    /// Attention heads.
    pub num_attention_heads: usize,
    /// Feed-forward width.
    pub intermediate_size: usize,
    /// Layer-norm epsilon.
    pub layer_norm_eps: f64,
    /// `group`: group norm on the first conv only (base models); `layer`: layer norm after every conv (large).
    pub feat_extract_norm: String,
    /// Channels of each feature-extractor conv.
    pub conv_dim: Vec<usize>,
    /// Stride of each feature-extractor conv (product = samples per frame, 320).
    pub conv_stride: Vec<usize>,
    /// Kernel of each feature-extractor conv.
    pub conv_kernel: Vec<usize>,
    /// Whether the feature-extractor convs have a bias.
    pub conv_bias: bool,
    /// Taps of the positional conv (128).
    pub num_conv_pos_embeddings: usize,
    /// Groups of the positional conv (16).
    pub num_conv_pos_embedding_groups: usize,
    /// Pre-norm transformer with a final layer norm (large models) instead of post-norm.
    pub do_stable_layer_norm: bool,
    /// Layer norm before the feature projection (HuBERT's option; WavLM always has it).
    pub feat_proj_layer_norm: bool,
    /// Relative-position buckets (WavLM).
    pub num_buckets: usize,
    /// Largest relative distance told apart (WavLM).
    pub max_bucket_distance: usize,
}

/// The subset of a transformers `config.json` we read (other keys are ignored there).
#[derive(Deserialize)]
struct HfConfig {
    model_type: String,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    feat_extract_norm: String,
    #[serde(default = "default_gelu")]
    feat_extract_activation: String,
    #[serde(default = "default_gelu")]
    hidden_act: String,
    conv_dim: Vec<usize>,
    conv_stride: Vec<usize>,
    conv_kernel: Vec<usize>,
    #[serde(default)]
    conv_bias: bool,
    num_conv_pos_embeddings: usize,
    num_conv_pos_embedding_groups: usize,
    #[serde(default)]
    do_stable_layer_norm: bool,
    #[serde(default = "default_true")]
    feat_proj_layer_norm: bool,
    #[serde(default)]
    conv_pos_batch_norm: bool,
    #[serde(default = "default_buckets")]
    num_buckets: usize,
    #[serde(default = "default_distance")]
    max_bucket_distance: usize,
}

fn default_eps() -> f64 {
    1e-5
}
fn default_gelu() -> String {
    "gelu".into()
}
fn default_true() -> bool {
    true
}
fn default_buckets() -> usize {
    320
}
fn default_distance() -> usize {
    800
}

impl TeacherConfig {
    /// `facebook/hubert-base-ls960`.
    pub fn hubert_base() -> Self {
        Self {
            pretrained: "facebook/hubert-base-ls960".into(),
            hidden_size: 768,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            intermediate_size: 3072,
            layer_norm_eps: 1e-5,
            feat_extract_norm: "group".into(),
            conv_dim: vec![512; 7],
            conv_stride: vec![5, 2, 2, 2, 2, 2, 2],
            conv_kernel: vec![10, 3, 3, 3, 3, 2, 2],
            conv_bias: false,
            num_conv_pos_embeddings: 128,
            num_conv_pos_embedding_groups: 16,
            do_stable_layer_norm: false,
            feat_proj_layer_norm: true,
            num_buckets: 320,
            max_bucket_distance: 800,
        }
    }

    /// `microsoft/wavlm-base-plus`.
    pub fn wavlm_base_plus() -> Self {
        Self { pretrained: "microsoft/wavlm-base-plus".into(), ..Self::hubert_base() }
    }

    /// Parses and checks the params of part `name` (`hubert` or `wavlm`); missing keys take that part's defaults.
    pub fn from_params(name: &str, params: &toml::Table) -> Result<Self> {
        let mut full = xcodec_core::config::params_table(&match name {
            crate::WAVLM => Self::wavlm_base_plus(),
            _ => Self::hubert_base(),
        });
        full.extend(params.clone());
        let cfg: Self = xcodec_core::config::parse_params(name, &full)?;
        cfg.check(name)?;
        Ok(cfg)
    }

    /// Reads the shape from a transformers `config.json` (`pretrained` is left empty).
    pub fn from_hf_json(text: &str, expect: TeacherKind) -> Result<Self> {
        let hf: HfConfig =
            serde_json::from_str(text).map_err(|e| XcodecError::Config(format!("teacher config.json: {e}")))?;
        let kind = match hf.model_type.as_str() {
            "hubert" => TeacherKind::Hubert,
            "wavlm" => TeacherKind::Wavlm,
            other => {
                return Err(XcodecError::Config(format!(
                    "teacher config.json has model_type '{other}'; expected hubert or wavlm"
                )));
            }
        };
        if kind != expect {
            return Err(XcodecError::Config(format!(
                "teacher config.json is a {} model but the part is {}; use --semantic {}",
                hf.model_type,
                expect.part_name(),
                hf.model_type
            )));
        }
        if hf.feat_extract_activation != "gelu" || hf.hidden_act != "gelu" || hf.conv_pos_batch_norm {
            return Err(XcodecError::Config(
                "teacher config.json uses activations other than gelu or a batch-norm positional conv; not supported"
                    .into(),
            ));
        }
        let cfg = Self {
            pretrained: String::new(),
            hidden_size: hf.hidden_size,
            num_hidden_layers: hf.num_hidden_layers,
            num_attention_heads: hf.num_attention_heads,
            intermediate_size: hf.intermediate_size,
            layer_norm_eps: hf.layer_norm_eps,
            feat_extract_norm: hf.feat_extract_norm,
            conv_dim: hf.conv_dim,
            conv_stride: hf.conv_stride,
            conv_kernel: hf.conv_kernel,
            conv_bias: hf.conv_bias,
            num_conv_pos_embeddings: hf.num_conv_pos_embeddings,
            num_conv_pos_embedding_groups: hf.num_conv_pos_embedding_groups,
            do_stable_layer_norm: hf.do_stable_layer_norm,
            feat_proj_layer_norm: hf.feat_proj_layer_norm || kind == TeacherKind::Wavlm,
            num_buckets: hf.num_buckets,
            max_bucket_distance: hf.max_bucket_distance,
        };
        cfg.check(kind.part_name())?;
        Ok(cfg)
    }

    fn check(&self, name: &str) -> Result<()> {
        let bad = |m: &str| Err(XcodecError::Config(format!("[{name}] params: {m}")));
        if self.hidden_size == 0
            || self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return bad("hidden_size must be a positive multiple of num_attention_heads");
        }
        if self.conv_dim.is_empty()
            || self.conv_dim.len() != self.conv_stride.len()
            || self.conv_dim.len() != self.conv_kernel.len()
        {
            return bad("conv_dim, conv_stride and conv_kernel need one entry per conv");
        }
        if self.feat_extract_norm != "group" && self.feat_extract_norm != "layer" {
            return bad("feat_extract_norm must be \"group\" or \"layer\"");
        }
        if !self.hidden_size.is_multiple_of(self.num_conv_pos_embedding_groups) {
            return bad("hidden_size must be divisible by num_conv_pos_embedding_groups");
        }
        if self.num_buckets < 4 || self.max_bucket_distance <= self.num_buckets / 4 {
            return bad("need num_buckets >= 4 and max_bucket_distance > num_buckets / 4");
        }
        Ok(())
    }

    /// Samples per output frame (product of the conv strides).
    pub fn hop_length(&self) -> usize {
        self.conv_stride.iter().product()
    }
}

impl TeacherKind {
    /// The part name of this kind ([`crate::HUBERT`] or [`crate::WAVLM`]).
    pub fn part_name(self) -> &'static str {
        match self {
            Self::Hubert => crate::HUBERT,
            Self::Wavlm => crate::WAVLM,
        }
    }
}
