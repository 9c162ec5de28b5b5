//! Exact variable-length batching: clips of mixed lengths encoded in one call (padded to their length
//! buckets, masked) get, every one, the codes they get alone, bit for bit on the CPU, for every built-in part:
//! DAC + HuBERT and DAC + WavLM X-Codecs (Hugging Face layout fixtures), the three EnCodec fixtures (causal
//! weight norm, non-causal time group norm, constant padding with an LSTM) and SEANet beside a large-style
//! HuBERT (layer-norm feature extractor, pre-norm encoder). The masked codes also agree with the unpadded
//! `XCodec::encode` of each clip (the masks make padding invisible, up to rounding).

mod common;

use burn::tensor::{Device, Int, Tensor, TensorData};
use common::fixture;
use xcodec_builtin::{Codec, Parts, build_pretrained, load_model};
use xcodec_core::CodecConfig;
use xcodec_core::pipeline::ClipEncoder;

/// Lengths in frames of `hop` (plus a remainder): pairs that share a bucket, one of a single frame, one just
/// under two frames, and longer ones.
fn lengths(hop: usize) -> Vec<usize> {
    vec![10 * hop + 3, 11 * hop, hop, 2 * hop - 1, 37 * hop + hop / 2, 39 * hop + 5, 123 * hop + 17, 5 * hop + 1]
}

/// A deterministic clip: two tones and a little pseudo-random noise.
fn clip(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|i| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let noise = ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.1;
            let t = i as f32 / 16000.0;
            0.4 * (2.0 * std::f32::consts::PI * (180.0 + seed as f32 * 37.0) * t).sin()
                + 0.2 * (2.0 * std::f32::consts::PI * 1250.0 * t).sin()
                + noise
        })
        .collect()
}

fn codes_vec(codes: Tensor<3, Int>) -> Vec<i64> {
    codes.into_data().convert::<i64>().try_to_vec::<i64>().unwrap()
}

/// Batched == alone exactly for every clip; returns the share of codes equal to the unpadded encode.
fn check(codec: &Codec, label: &str) -> f64 {
    let device = Device::flex();
    let enc = ClipEncoder::new(codec, None, 1.0, 30.0, 2.0).unwrap();
    let clips: Vec<Vec<f32>> =
        lengths(codec.hop_length()).iter().enumerate().map(|(i, &n)| clip(n, i as u64)).collect();
    let rows: Vec<&[f32]> = clips.iter().map(|c| c.as_slice()).collect();
    let batched = enc.encode_batch(&rows).unwrap();
    let (mut same, mut total) = (0usize, 0usize);
    for (i, row) in rows.iter().enumerate() {
        let alone = enc.encode_batch(&[row]).unwrap().remove(0);
        assert_eq!(batched[i], alone, "{label}: clip {i} ({} samples) batched differs from alone", row.len());
        let audio = Tensor::<3>::from_data(TensorData::new(row.to_vec(), [1, 1, row.len()]), &device);
        let unpadded = codes_vec(codec.encode(audio, enc.bandwidth_kbps()).unwrap());
        assert_eq!(unpadded.len(), alone.values.len(), "{label}: clip {i} frames");
        same += unpadded.iter().zip(&alone.values).filter(|(a, b)| a == b).count();
        total += unpadded.len();
    }
    let agree = same as f64 / total as f64;
    eprintln!("{label}: masked codes agree with unpadded encode on {:.2} % of {total}", agree * 100.0);
    agree
}

fn load(dir: &str) -> Codec {
    load_model(fixture(dir).to_str().unwrap(), None, Parts::All, &Device::flex()).unwrap().codec
}

#[test]
fn dac_with_hubert_and_wavlm_batch_exactly() {
    for dir in ["tiny_xcodec_hubert", "tiny_xcodec_wavlm"] {
        assert!(check(&load(dir), dir) >= 0.99, "{dir}: masked codes drift from the unpadded ones");
    }
}

#[test]
fn encodec_batches_exactly() {
    for model in ["causal_wn", "noncausal_tgn", "variant"] {
        let label = format!("encodec/{model}");
        assert!(check(&load(&label), &label) >= 0.99, "{label}: masked codes drift from the unpadded ones");
    }
}

#[test]
fn seanet_with_a_large_teacher_batches_exactly() {
    let teacher = fixture("teachers/hubert_large");
    let sets = [
        "acoustic.params.num_filters=2".to_string(),
        "acoustic.params.hidden_size=8".into(),
        "quantizer.params.codebook_size=64".into(),
        "target_bandwidths_kbps=[0.3, 2.4]".into(),
        format!("semantic.params.pretrained=\"{}\"", teacher.display()),
    ];
    let cfg = CodecConfig::with_parts("encodec", "hubert", "rvq").unwrap().with_overrides(&sets).unwrap();
    Device::flex().seed(3);
    let (_, codec) = build_pretrained(&cfg, &Device::flex()).unwrap();
    assert!(check(&codec, "encodec+hubert_large") >= 0.99, "masked codes drift from the unpadded ones");
}
