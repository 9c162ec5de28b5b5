//! A third-party xcodec plugin, complete: a toy acoustic backbone (`toy`), a weightless semantic teacher
//! (`bands`) and a finite scalar quantizer (`fsq`). Each part implements its `xcodec_core` trait and is
//! registered with `inventory` (so `xcodec list` and config checks know it); [`ToyParts`] tells the model
//! type how to build them, and `src/main.rs` turns the whole `xcodec` command line into a binary with them.
//! The plugin guide (`docs/src/plugins.md`) walks through this crate.

pub mod acoustic;
pub mod fsq;
pub mod teacher;

use acoustic::{ToyConfig, ToyDecoder, ToyEncoder};
use burn::module::Module;
use burn::tensor::Device;
use fsq::{Fsq, FsqConfig};
use teacher::{BandsConfig, BandsTeacher};
use xcodec_builtin::ExtraParts;
use xcodec_core::config::params_table;
use xcodec_core::{PartConfig, PartEntry, Result, Role};

inventory::submit! {
    PartEntry {
        role: Role::Acoustic,
        name: "toy",
        description: "toy strided-conv encoder/decoder (example plugin; hop 320)",
        default_params: || params_table(&ToyConfig::default()),
        check_params: |p| ToyConfig::from_params(p).map(|_| ()),
    }
}

inventory::submit! {
    PartEntry {
        role: Role::Semantic,
        name: "bands",
        description: "log band energies of each hop, weightless (example plugin)",
        default_params: || params_table(&BandsConfig::default()),
        check_params: |p| BandsConfig::from_params(p).map(|_| ()),
    }
}

inventory::submit! {
    PartEntry {
        role: Role::Quantizer,
        name: "fsq",
        description: "finite scalar quantization, 5 levels x 4 values a code (example plugin)",
        default_params: || params_table(&FsqConfig::default()),
        check_params: |p| FsqConfig::from_params(p).map(|_| ()),
    }
}

/// The toy parts, as the model type sees them: one type per role, and a constructor that answers for
/// its own names only. A marker that is never built (a stateless module, as [`ExtraParts`] asks).
#[derive(Module, Debug)]
pub struct ToyParts;

impl ExtraParts for ToyParts {
    type Encoder = ToyEncoder;
    type Decoder = ToyDecoder;
    type Teacher = BandsTeacher;
    type Quantizer = Fsq;

    fn acoustic(part: &PartConfig, device: &Device) -> Option<Result<(ToyEncoder, ToyDecoder)>> {
        (part.name == "toy").then(|| {
            let cfg = ToyConfig::from_params(&part.params)?;
            Ok((ToyEncoder::new(&cfg, device), ToyDecoder::new(&cfg, device)))
        })
    }

    fn semantic(part: &PartConfig, _device: &Device) -> Option<Result<BandsTeacher>> {
        (part.name == "bands").then(|| BandsConfig::from_params(&part.params).map(|cfg| BandsTeacher::new(&cfg)))
    }

    fn semantic_width(part: &PartConfig) -> Option<Result<usize>> {
        (part.name == "bands").then(|| BandsConfig::from_params(&part.params).map(|cfg| cfg.bands))
    }

    fn quantizer(part: &PartConfig, dim: usize, _device: &Device) -> Option<Result<Fsq>> {
        (part.name == "fsq").then(|| FsqConfig::from_params(&part.params).and_then(|cfg| Fsq::new(&cfg, dim)))
    }
}
