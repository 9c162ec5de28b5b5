//! The part registry: plugins `inventory::submit!` a [`PartEntry`] per name, the CLI lists and resolves them.

use crate::error::{Result, XcodecError};
use std::fmt;

/// What a registered part does in the composite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// An acoustic backbone: encoder + decoder pair (dac, encodec, soundstream).
    Acoustic,
    /// A semantic teacher (hubert, wavlm, none).
    Semantic,
    /// A quantizer (rvq).
    Quantizer,
}

impl Role {
    /// All roles, in listing order.
    pub const ALL: [Role; 3] = [Role::Acoustic, Role::Semantic, Role::Quantizer];
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Acoustic => "acoustic",
            Role::Semantic => "semantic",
            Role::Quantizer => "quantizer",
        })
    }
}

/// One registered part: its name, a one-line description and its parameter schema.
pub struct PartEntry {
    /// Role in the composite.
    pub role: Role,
    /// Name used in configs and on the command line.
    pub name: &'static str,
    /// One line for `xcodec list`.
    pub description: &'static str,
    /// The default `params` table (the X-Codec speech model's shape).
    pub default_params: fn() -> toml::Table,
    /// Checks a `params` table (unknown keys, ranges); the error is one line.
    pub check_params: fn(&toml::Table) -> Result<()>,
}

impl fmt::Debug for PartEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} part '{}'", self.role, self.name)
    }
}

inventory::collect!(PartEntry);

/// Registered parts of `role`, sorted by name.
pub fn parts(role: Role) -> Vec<&'static PartEntry> {
    let mut v: Vec<_> = inventory::iter::<PartEntry>.into_iter().filter(|e| e.role == role).collect();
    v.sort_by_key(|e| e.name);
    v
}

/// The part `name` of `role`, or an error naming the registered ones and the closest match.
pub fn find(role: Role, name: &str) -> Result<&'static PartEntry> {
    let candidates = parts(role);
    if let Some(e) = candidates.iter().find(|e| e.name == name) {
        return Ok(e);
    }
    let closest = candidates
        .iter()
        // Case is compared too loosely to count: `DAC` is `dac`.
        .map(|e| (similarity(&name.to_lowercase(), e.name), e.name))
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    Err(XcodecError::UnknownPart {
        role: role.to_string(),
        name: name.to_string(),
        known: candidates.iter().map(|e| e.name).collect::<Vec<_>>().join(", "),
        hint: closest.map(|(_, n)| format!("; did you mean '{n}'?")).unwrap_or_default(),
    })
}

/// How alike two names are, 0..=1: the better of Jaro-Winkler (shared prefixes) and normalised
/// Damerau-Levenshtein (transposed letters such as `dca` for `dac`).
fn similarity(a: &str, b: &str) -> f64 {
    strsim::jaro_winkler(a, b).max(strsim::normalized_damerau_levenshtein(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_teacher_is_registered_and_typos_get_a_hint() {
        assert!(find(Role::Semantic, "none").is_ok());
        let err = find(Role::Semantic, "nne").unwrap_err().to_string();
        assert!(err.contains("unknown semantic 'nne'"), "{err}");
        assert!(err.contains("did you mean 'none'"), "{err}");
        let err = find(Role::Semantic, "zzzzzz").unwrap_err().to_string();
        assert!(!err.contains("did you mean"), "{err}");
    }
}
