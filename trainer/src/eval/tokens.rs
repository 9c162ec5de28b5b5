//! Token statistics of a codec's codes, per codebook: usage (the share of its entries that occur), entropy
//! `H = -sum p log2 p` of the entry distribution in bits, perplexity `2^H`, and the bitrate an entropy coder
//! would reach, `sum_q H_q * frame_rate / 1000` kbps (against the nominal `n_q * log2(size) * frame_rate`).

use serde::Serialize;

/// Entry counts per codebook, accumulated over files.
#[derive(Debug, Clone)]
pub struct CodeCounts {
    codebook_size: usize,
    counts: Vec<Vec<u64>>,
}

/// One codebook's statistics.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CodebookStats {
    /// Codebook index (0 = the first residual stage).
    pub codebook: usize,
    /// Share of the codebook's entries that occur at least once, in [0, 1].
    pub usage: f64,
    /// Entropy of the entry distribution, bits per frame.
    pub entropy_bits: f64,
    /// `2^entropy`: the number of equally likely entries with the same entropy.
    pub perplexity: f64,
}

impl CodeCounts {
    /// Empty counts for `codebooks` codebooks of `codebook_size` entries.
    pub fn new(codebooks: usize, codebook_size: usize) -> Self {
        Self { codebook_size, counts: vec![vec![0; codebook_size]; codebooks] }
    }

    /// Adds one file's codes, `codebooks` rows of `frames` entries each (codebook-major). Entries outside
    /// `0..codebook_size` are an error naming the first.
    pub fn add(&mut self, codes: &[i64], frames: usize) -> Result<(), String> {
        if codes.len() != frames * self.counts.len() {
            return Err(format!("{} codes for {} codebooks x {frames} frames", codes.len(), self.counts.len()));
        }
        for (row, counts) in codes.chunks(frames.max(1)).zip(&mut self.counts) {
            for &c in row {
                let slot = usize::try_from(c).ok().and_then(|i| counts.get_mut(i));
                *slot.ok_or_else(|| format!("code {c} outside the codebook of {} entries", self.codebook_size))? += 1;
            }
        }
        Ok(())
    }

    /// Statistics of every codebook (all zero for a codebook that saw no frame).
    pub fn stats(&self) -> Vec<CodebookStats> {
        self.counts
            .iter()
            .enumerate()
            .map(|(codebook, counts)| {
                let total: u64 = counts.iter().sum();
                let used = counts.iter().filter(|&&n| n > 0).count();
                let entropy_bits = if total == 0 {
                    0.0
                } else {
                    counts
                        .iter()
                        .filter(|&&n| n > 0)
                        .map(|&n| {
                            let p = n as f64 / total as f64;
                            -p * p.log2()
                        })
                        .sum()
                };
                CodebookStats {
                    codebook,
                    usage: used as f64 / self.codebook_size as f64,
                    entropy_bits,
                    perplexity: entropy_bits.exp2(),
                }
            })
            .collect()
    }

    /// The bitrate an ideal entropy coder of each codebook's entries would need, kbps, at `frame_rate_hz`.
    pub fn entropy_bitrate_kbps(&self, frame_rate_hz: f64) -> f64 {
        self.stats().iter().map(|s| s.entropy_bits).sum::<f64>() * frame_rate_hz / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_codes_have_full_usage_and_log2_entropy() {
        let mut c = CodeCounts::new(2, 4);
        // Codebook 0 uses all four entries equally; codebook 1 only entry 3.
        c.add(&[0, 1, 2, 3, 3, 3, 3, 3], 4).unwrap();
        let s = c.stats();
        assert_eq!((s[0].usage, s[0].entropy_bits, s[0].perplexity), (1.0, 2.0, 4.0));
        assert_eq!((s[1].usage, s[1].entropy_bits, s[1].perplexity), (0.25, 0.0, 1.0));
        // 2 + 0 bits a frame at 50 frames/s = 0.1 kbps.
        assert!((c.entropy_bitrate_kbps(50.0) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn skewed_codes_have_the_entropy_by_hand() {
        let mut c = CodeCounts::new(1, 8);
        c.add(&[0, 0, 0, 1], 4).unwrap();
        let h = -(0.75f64 * 0.75f64.log2() + 0.25 * 0.25f64.log2());
        assert!((c.stats()[0].entropy_bits - h).abs() < 1e-12);
        assert_eq!(c.stats()[0].usage, 0.25);
    }

    #[test]
    fn bad_codes_are_errors() {
        let mut c = CodeCounts::new(1, 4);
        assert!(c.add(&[0, 4], 2).unwrap_err().contains("code 4 outside"));
        assert!(c.add(&[0, -1], 2).is_err());
        assert!(c.add(&[0, 1, 2], 2).unwrap_err().contains("3 codes"));
    }
}
