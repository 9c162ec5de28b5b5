//! `xcodec list`.

use xcodec_core::registry::{self, Role};

/// Prints every registered part with its description, grouped by role.
pub fn print() -> anyhow::Result<()> {
    for role in Role::ALL {
        println!("{role}:");
        for part in registry::parts(role) {
            println!("  {:<12} {}", part.name, part.description);
        }
    }
    Ok(())
}
