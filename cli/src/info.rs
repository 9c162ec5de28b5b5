//! `xcodec info`.

use crate::out::say;
use xcodec_builtin::{ExtraParts, LoadedModel};
use xcodec_core::bandwidth;
use xcodec_core::{AcousticEncoder, Quantizer};

/// Prints a loaded model's shape, bandwidths and parameter counts per part.
pub fn print<P: ExtraParts>(model: &LoadedModel<P>) -> anyhow::Result<()> {
    let (cfg, codec) = (&model.config, &model.codec);
    let q = &codec.quantizer;
    let frame_rate = codec.frame_rate_hz();
    say!("model:        {}{}", model.source, if cfg.decoder_only { " (decoder only)" } else { "" })?;
    say!(
        "parts:        acoustic {}, semantic {}, quantizer {}",
        cfg.acoustic.name,
        cfg.semantic.name,
        cfg.quantizer.name
    )?;
    say!("sample rate:  {} Hz", codec.sample_rate_hz)?;
    say!("hop:          {} samples", codec.acoustic_encoder.hop_length())?;
    say!("frame rate:   {frame_rate} Hz")?;
    say!(
        "codebooks:    {} x {} ({} bits, {} kbps each); vectors of {}",
        q.num_quantizers(),
        q.codebook_size(),
        bandwidth::bits_per_codebook(q.codebook_size()),
        bandwidth::kbps_per_codebook(q.codebook_size(), frame_rate),
        q.dim()
    )?;
    let bws: Vec<String> = codec
        .target_bandwidths_kbps
        .iter()
        .map(|&b| format!("{b} kbps ({} cb)", codec.codebooks_for_bandwidth(b)))
        .collect();
    say!("bandwidths:   {}", bws.join(", "))?;
    say!("parameters:")?;
    let counts = codec.parameter_counts();
    // A decoder-only model holds weights for the decoder side only; the rest is not worth counting.
    let counts: Vec<_> = counts
        .into_iter()
        .filter(|(name, _)| !cfg.decoder_only || matches!(*name, "quantizer" | "fc_post2" | "acoustic_decoder"))
        .collect();
    for (name, n) in &counts {
        if *n > 0 {
            say!("  {name:<18} {n:>12}")?;
        }
    }
    say!("  {:<18} {:>12}", "total", counts.iter().map(|(_, n)| n).sum::<usize>())?;
    Ok(())
}
