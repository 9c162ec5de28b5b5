//! The X-Codec recipe on a pretrained codec ("enhance any existing acoustic codec"): a freshly composed codec
//! takes its acoustic encoder and decoder from a pretrained one (a DAC port, one of our model directories, an
//! X-Codec checkpoint), so training starts from a codec that already reconstructs. Nothing else is copied:
//! `fc_prior`, the quantizer and the semantic branch have other widths once a teacher joins.

use crate::error::Result;
use crate::{Codec, ExtraParts};
use burn::module::Module;
use burn::store::{ApplyError, ModuleSnapshot};
use xcodec_core::XcodecError;

/// Copies `source`'s acoustic encoder and decoder into `target`, bit for bit. Both must have been built from
/// the same acoustic part with the same widths; every mismatch is listed in one error.
pub fn copy_acoustic<P: ExtraParts>(target: &mut Codec<P>, source: &Codec<P>, source_name: &str) -> Result<()> {
    let mut problems = copy(&mut target.acoustic_encoder, &source.acoustic_encoder, "acoustic_encoder");
    problems.extend(copy(&mut target.acoustic_decoder, &source.acoustic_decoder, "acoustic_decoder"));
    if problems.is_empty() {
        return Ok(());
    }
    Err(XcodecError::Config(format!(
        "--init-acoustic {source_name}: its acoustic part does not fit the one being built ({}); build with the \
         source's acoustic part and widths (as `xcodec info {source_name}` shows), or drop the --set that changes them",
        problems.join("; ")
    ))
    .into())
}

/// Applies every tensor of `from` to `to`; returns what did not fit (`part.path` names).
fn copy<M: Module>(to: &mut M, from: &M, part: &str) -> Vec<String> {
    let result = to.apply(from.collect(None, None, true), None, None, true);
    let mut problems: Vec<String> = result
        .errors
        .iter()
        .map(|e| match e {
            ApplyError::ShapeMismatch { path, expected, found } => {
                format!("{part}.{path} is {:?} in the source but {:?} here", found.as_slice(), expected.as_slice())
            }
            other => format!("{part}: {other:?}"),
        })
        .collect();
    problems.extend(result.missing.iter().map(|(path, _)| format!("{part}.{path} is not in the source")));
    problems.extend(result.unused.iter().map(|path| format!("{part}.{path} of the source has no place here")));
    problems
}
