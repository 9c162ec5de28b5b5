//! The `none` semantic teacher: an acoustic-only codec.

use crate::traits::SemanticTeacher;
use burn::module::Module;
use burn::tensor::Tensor;

/// No teacher: the composite skips the semantic branch (no semantic encoder/decoder, no `fc_post1`).
#[derive(Module, Debug, Default)]
pub struct NoTeacher {
    /// Unused marker (a module needs a field).
    pub hidden_size: usize,
}

impl SemanticTeacher for NoTeacher {
    fn hidden_size(&self) -> usize {
        0
    }
    fn features(&self, _audio: Tensor<2>) -> Option<Tensor<3>> {
        None
    }
    fn output_frames(&self, _samples: usize) -> usize {
        0
    }
}

/// A teacher of known width whose weights were not loaded (decode-only models): it keeps the composite's
/// widths right without the memory of a real teacher. It gives no features.
#[derive(Module, Debug, Default)]
pub struct AbsentTeacher {
    /// Width of the teacher it stands in for.
    pub hidden_size: usize,
}

impl SemanticTeacher for AbsentTeacher {
    fn hidden_size(&self) -> usize {
        self.hidden_size
    }
    fn features(&self, _audio: Tensor<2>) -> Option<Tensor<3>> {
        None
    }
    fn output_frames(&self, _samples: usize) -> usize {
        0
    }
}

/// The semantic part name of "no teacher" (an acoustic-only codec).
pub const NO_TEACHER: &str = "none";

inventory::submit! {
    crate::registry::PartEntry {
        role: crate::registry::Role::Semantic,
        name: NO_TEACHER,
        description: "no semantic teacher: an acoustic-only codec (plain RVQ codec)",
        default_params: toml::Table::new,
        check_params: |p| crate::config::parse_params::<crate::config::NoParams>(NO_TEACHER, p).map(|_| ()),
    }
}
