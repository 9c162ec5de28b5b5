//! `xcodec list`.

use crate::out::say;
use xcodec_core::registry::{self, Role};

/// Prints every registered part with its description, grouped by role.
pub fn print() -> anyhow::Result<()> {
    for role in Role::ALL {
        say!("{role}:")?;
        for part in registry::parts(role) {
            say!("  {:<12} {}", part.name, part.description)?;
        }
    }
    Ok(())
}
