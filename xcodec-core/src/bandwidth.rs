//! Bandwidth arithmetic: bits per codebook, kbps per codebook, codebooks for a bandwidth (as X-Codec does).

/// Bits one code of a `codebook_size`-entry codebook carries (`ceil(log2(size))`).
pub fn bits_per_codebook(codebook_size: usize) -> u32 {
    (codebook_size.max(2) as f64).log2().ceil() as u32
}

/// Frames per second for a sample rate and hop (`ceil(sample_rate / hop)`, as the reference).
pub fn frame_rate_hz(sample_rate_hz: u32, hop_length: usize) -> f64 {
    (sample_rate_hz as f64 / hop_length as f64).ceil()
}

/// Bandwidth one codebook adds, in kbps: bits x frame rate / 1000 (0.5 kbps for 1024 entries at 50 Hz).
pub fn kbps_per_codebook(codebook_size: usize, frame_rate_hz: f64) -> f64 {
    bits_per_codebook(codebook_size) as f64 * frame_rate_hz / 1000.0
}

/// Codebooks used at `bandwidth_kbps`: `max(1, floor(bandwidth / kbps_per_codebook))`.
/// A small tolerance keeps ratios like 1.5 / 0.5 from flooring to 2 through float rounding.
pub fn codebooks_for_bandwidth(bandwidth_kbps: f64, codebook_size: usize, frame_rate_hz: f64) -> usize {
    let per = kbps_per_codebook(codebook_size, frame_rate_hz);
    ((bandwidth_kbps / per + 1e-9).floor() as usize).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn xcodec_speech_model_mapping() {
        let fr = frame_rate_hz(16000, 320);
        assert_eq!(fr, 50.0);
        assert_eq!(kbps_per_codebook(1024, fr), 0.5);
        let n: Vec<usize> = [0.5, 1.0, 1.5, 2.0, 4.0].iter().map(|&b| codebooks_for_bandwidth(b, 1024, fr)).collect();
        assert_eq!(n, vec![1, 2, 3, 4, 8]);
    }

    proptest! {
        #[test]
        fn bandwidth_of_n_codebooks_maps_back_to_n(n in 1usize..64, bits in 1u32..16, hop in 1usize..1024) {
            let size = 1usize << bits;
            let fr = frame_rate_hz(16000, hop);
            let bw = n as f64 * kbps_per_codebook(size, fr);
            prop_assert_eq!(codebooks_for_bandwidth(bw, size, fr), n);
            // Just under the next step still gives n.
            let next = (n + 1) as f64 * kbps_per_codebook(size, fr);
            prop_assert_eq!(codebooks_for_bandwidth((bw + next) / 2.0, size, fr), n);
        }

        #[test]
        fn bits_cover_the_codebook(size in 2usize..100_000) {
            let bits = bits_per_codebook(size);
            prop_assert!(1usize << bits >= size);
            prop_assert!(1usize << (bits - 1) < size);
        }
    }
}
