//! xcodec's trainer (losses, discriminators, data pipeline, the GAN training loop). It lands with the
//! training issue; the crate exists now so the workspace has its final shape and the CLI links it.
