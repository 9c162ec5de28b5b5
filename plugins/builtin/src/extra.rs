//! Parts from outside this crate: [`ExtraParts`] names a binary's own part types and builds them;
//! [`NoExtra`] is the plain binary's (none), its types the uninhabited [`NoPart`].

use burn::module::{Content, Module, ModuleDisplay, ModuleDisplayDefault};
use burn::tensor::{Device, Int, Tensor};
use xcodec_core::{
    AcousticDecoder, AcousticEncoder, PartConfig, Quantizer, QuantizerTrainOutput, Result, SemanticTeacher,
};

/// Third-party parts built into a binary beside the built-in ones: the `Extra` variant of each `Any*` enum
/// holds one of these types, and the constructors here are asked for every name the built-ins do not know.
/// Each constructor returns `None` for a name that is not its own; the defaults answer `None` to every
/// name, so a crate with, say, only a quantizer sets the other types to [`NoPart`] and leaves their
/// constructors out. A binary with no extra parts uses [`NoExtra`]; one with its own parts passes its
/// implementation to `xcodec_cli::run` (see `examples/custom-codec`).
///
/// The implementing type is a marker that is never built, but burn's `Module` derive asks every type
/// parameter of a module enum to be a module itself, so derive `Module` on a unit struct:
/// `#[derive(Module, Debug)] pub struct MyParts;` (a stateless module).
pub trait ExtraParts: Module + ModuleDisplay + 'static {
    /// The acoustic encoder type (one type; an enum of its own if it offers several backbones). `Sync`
    /// because the trainer runs replicas on threads.
    type Encoder: AcousticEncoder + ModuleDisplay + Sync;
    /// The acoustic decoder type.
    type Decoder: AcousticDecoder + ModuleDisplay + Sync;
    /// The semantic teacher type.
    type Teacher: SemanticTeacher + ModuleDisplay + Sync;
    /// The quantizer type.
    type Quantizer: Quantizer + ModuleDisplay + Sync;
    /// Builds the encoder/decoder pair named by `part`, or `None` if the name is not one of these parts.
    fn acoustic(part: &PartConfig, device: &Device) -> Option<Result<(Self::Encoder, Self::Decoder)>> {
        let _ = (part, device);
        None
    }
    /// Builds the teacher named by `part`, or `None`.
    fn semantic(part: &PartConfig, device: &Device) -> Option<Result<Self::Teacher>> {
        let _ = (part, device);
        None
    }
    /// The feature width of the teacher named by `part` without building it (for decode-only loading), or `None`.
    fn semantic_width(part: &PartConfig) -> Option<Result<usize>> {
        let _ = part;
        None
    }
    /// Builds the quantizer named by `part` for vectors of width `dim`, or `None`.
    fn quantizer(part: &PartConfig, dim: usize, device: &Device) -> Option<Result<Self::Quantizer>> {
        let _ = (part, dim, device);
        None
    }
}

/// No extra parts: the built-ins only (the plain `xcodec` binary).
#[derive(Module, Debug)]
pub struct NoExtra;

/// The part type of [`NoExtra`], and of any role a crate has no part for: uninhabited, so an `Extra(NoPart)`
/// variant can never be built, and every trait method below is an empty `match` the compiler proves
/// unreachable.
#[derive(Debug, Clone)]
pub enum NoPart {}

impl ExtraParts for NoExtra {
    type Encoder = NoPart;
    type Decoder = NoPart;
    type Teacher = NoPart;
    type Quantizer = NoPart;
}

impl Module for NoPart {
    burn::empty!(module);
}

impl ModuleDisplayDefault for NoPart {
    fn content(&self, _: Content) -> Option<Content> {
        match *self {}
    }
}

impl ModuleDisplay for NoPart {}

impl AcousticEncoder for NoPart {
    fn forward(&self, _: Tensor<3>) -> Tensor<3> {
        match *self {}
    }
    fn latent_dim(&self) -> usize {
        match *self {}
    }
    fn hop_length(&self) -> usize {
        match *self {}
    }
    fn output_frames(&self, _: usize) -> usize {
        match *self {}
    }
}

impl AcousticDecoder for NoPart {
    fn forward(&self, _: Tensor<3>) -> Tensor<3> {
        match *self {}
    }
    fn latent_dim(&self) -> usize {
        match *self {}
    }
    fn hop_length(&self) -> usize {
        match *self {}
    }
}

impl SemanticTeacher for NoPart {
    fn hidden_size(&self) -> usize {
        match *self {}
    }
    fn features(&self, _: Tensor<2>) -> Option<Tensor<3>> {
        match *self {}
    }
    fn output_frames(&self, _: usize) -> usize {
        match *self {}
    }
}

impl Quantizer for NoPart {
    fn dim(&self) -> usize {
        match *self {}
    }
    fn codebook_size(&self) -> usize {
        match *self {}
    }
    fn num_quantizers(&self) -> usize {
        match *self {}
    }
    fn encode(&self, _: Tensor<3>, _: usize) -> Tensor<3, Int> {
        match *self {}
    }
    fn decode(&self, _: Tensor<3, Int>) -> Tensor<3> {
        match *self {}
    }
    fn forward_train(&self, _: Tensor<3>, _: usize) -> QuantizerTrainOutput {
        match *self {}
    }
}
