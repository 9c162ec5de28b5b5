//! The end-to-end parity check against `XcodecModel` reference outputs, shared by the tests that load the
//! same tiny model from different layouts.

use super::{Fixtures, max_abs_diff};
use burn::tensor::{Device, Int, Tensor, TensorData};
use xcodec_builtin::Codec;

/// A bundled clip (copies of `../shared/data`) as the reference read it (soundfile: int16 / 32768), `[1, 1, samples]`.
pub fn read_clip(name: &str, device: &Device) -> Tensor<3> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(name);
    let mut reader = hound::WavReader::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let samples: Vec<f32> = reader.samples::<i16>().map(|s| s.unwrap() as f32 / 32768.0).collect();
    let n = samples.len();
    Tensor::from_data(TensorData::new(samples, [1, 1, n]), device)
}

/// Decodes reference codes (`[1, n_q, frames]`) and compares with the stored reference audio; `full`
/// also re-encodes and checks the semantic features, the quantizer input and the codes, on `device` (the
/// codec's): within 1e-4 on the CPU (measured <= 5.1e-6), 5e-4 elsewhere. On wgpu (llvmpipe) the 9.4 s speech
/// clip measured 7.8e-5 (features) and 1.1e-4 (quantizer input), the 3 s music clip 1.7e-5: the error grows
/// with length, which points at the reductions over time (the first feature conv's group norm over every
/// sample: f32 in burn's op there, f64 in our CPU kernel). Decoded audio stays within 1e-4 (measured 1.6e-7).
pub fn assert_xcodec_parity(codec: &Codec, fixtures: &str, label: &str, full: bool, device: &Device) {
    let tol = if *device == Device::flex() { 1e-4 } else { 5e-4 };
    let fx = Fixtures::open(fixtures);
    let bandwidths = codec.target_bandwidths_kbps.clone();
    for (clip, file) in [("speech", "speech_en_16k.wav"), ("music", "music_chords_16k.wav")] {
        let audio = read_clip(file, device);
        if full {
            let semantic = codec.teacher_features(&audio).expect("teacher");
            let err = max_abs_diff(semantic.clone(), fx.float(&format!("{clip}.semantic"), device));
            eprintln!("{label} {clip}: semantic feature max abs error {err:.2e}");
            assert!(err <= tol, "{label} {clip}: semantic features, max abs error {err}");
            let joint = codec.joint_embedding(audio.clone(), Some(semantic));
            let err = max_abs_diff(joint, fx.float(&format!("{clip}.embeddings"), device));
            eprintln!("{label} {clip}: quantizer input max abs error {err:.2e}");
            assert!(err <= tol, "{label} {clip}: quantizer input, max abs error {err}");
        }
        for (i, &bw) in bandwidths.iter().enumerate() {
            let want = fx.int(&format!("{clip}.codes.{i}"));
            let n_q = codec.codebooks_for_bandwidth(bw);
            let shape = [1, n_q, want.len() / n_q];
            if full {
                let codes = codec.encode(audio.clone(), bw).unwrap();
                assert_eq!(codes.dims(), shape, "{label} {clip} at {bw} kbps: code shape");
                let got: Vec<i64> = codes.into_data().convert::<i64>().try_to_vec::<i64>().unwrap();
                let agree = got.iter().zip(&want).filter(|(a, b)| a == b).count() as f64 / want.len() as f64;
                eprintln!("{label} {clip} {bw} kbps: {shape:?} codes, agreement {:.4} %", agree * 100.0);
                assert!(agree >= 0.999, "{label} {clip} at {bw} kbps: codes agree on {:.3} %", agree * 100.0);
            }
            // Decoding the reference codes must give the reference audio.
            let codes = Tensor::<3, Int>::from_data(TensorData::new(want, shape), device);
            let decoded = codec.decode(codes).unwrap();
            let (key, start) = match clip {
                "speech" => (format!("speech.decoded_window.{i}"), 16000),
                _ if i + 1 == bandwidths.len() => ("music.decoded_full".to_string(), 0),
                _ => continue,
            };
            let want_audio: Tensor<3> = fx.float(&key, device);
            let len = want_audio.dims()[2];
            let err = max_abs_diff(decoded.narrow(2, start, len), want_audio);
            eprintln!("{label} {clip} {bw} kbps: decode max abs error {err:.2e}");
            assert!(err <= tol, "{label} {key}: decode max abs error {err}");
        }
    }
}
