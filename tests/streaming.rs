//! Streaming codecs end to end in the library: for causal, teacher-free codecs (SoundStream; causal EnCodec
//! with constant padding and an LSTM), `XCodec::encode_step` gives exactly `encode`'s codes and
//! `XCodec::decode_step` exactly `decode`'s audio, bit for bit, for chunks of 1, 3 and 7 frames and a last chunk
//! ending inside a frame; the carried state does not grow over 500 chunks; codecs that cannot stream say why.

mod common;

use burn::tensor::{Device, Distribution, Int, Tensor};
use common::fixture;
use xcodec_builtin::{Codec, build, build_pretrained};
use xcodec_core::{CodecConfig, CodecStream};

/// 2.4 kbps = 8 codebooks of 64 entries at 50 frames/s.
const BANDWIDTH: f64 = 2.4;

fn config(acoustic: &str, semantic: &str, extra: &[&str]) -> CodecConfig {
    let widths: &[&str] = match acoustic {
        "dac" => {
            &["acoustic.params.encoder_width=2", "acoustic.params.latent_dim=8", "acoustic.params.decoder_width=16"]
        }
        _ => &["acoustic.params.num_filters=2", "acoustic.params.hidden_size=8"],
    };
    let mut sets: Vec<String> = ["quantizer.params.codebook_size=64", "target_bandwidths_kbps=[0.3, 0.6, 2.4]"]
        .iter()
        .chain(widths)
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
    if semantic != "none" {
        sets.push(format!(
            "semantic.params.pretrained=\"{}\"",
            fixture(&format!("teachers/{semantic}_base")).display()
        ));
    }
    CodecConfig::with_parts(acoustic, semantic, "rvq").unwrap().with_overrides(&sets).unwrap()
}

/// The causal, teacher-free codecs: SoundStream, and EnCodec with causal constant-padded convs and 2 LSTM layers.
fn causal_codecs(device: &Device) -> Vec<(&'static str, Codec)> {
    let encodec = [
        "acoustic.params.use_causal_conv=true",
        "acoustic.params.pad_mode=\"constant\"",
        "acoustic.params.num_lstm_layers=2",
    ];
    vec![
        ("soundstream", build(&config("soundstream", "none", &[]), device).unwrap()),
        ("causal encodec", build(&config("encodec", "none", &encodec), device).unwrap()),
    ]
}

fn samples_of(t: Tensor<3>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

fn ints(t: Tensor<3, Int>) -> Vec<i64> {
    t.into_data().convert::<i64>().try_into_vec::<i64>().unwrap()
}

/// Streams `samples` samples `chunk` frames at a time and compares codes and decoded audio with offline: bit
/// for bit on the CPU (its length-invariant kernels); on a GPU, where composed burn ops need not sum a chunk as
/// they sum the clip, codes agree on >= 99.9 % and audio within 1e-4 (llvmpipe measured: equal, bit for bit).
fn assert_streams_like_offline(name: &str, codec: &Codec, samples: usize, chunk: usize, device: &Device) {
    let exact = *device == Device::flex();
    let hop = codec.hop_length();
    let audio = Tensor::<3>::random([1, 1, samples], Distribution::Normal(0.0, 0.2), device);
    let offline = codec.encode(audio.clone(), BANDWIDTH).unwrap();
    let mut stream = CodecStream::default();
    let mut codes = Vec::new();
    for start in (0..samples).step_by(chunk * hop) {
        let n = (chunk * hop).min(samples - start);
        codes.push(codec.encode_step(audio.clone().narrow(2, start, n), BANDWIDTH, &mut stream).unwrap());
    }
    let streamed = Tensor::cat(codes, 2);
    let what = format!("{name}, {samples} samples in chunks of {chunk} frames");
    assert_eq!(streamed.dims(), offline.dims(), "{what}");
    assert_eq!(stream.frames_encoded, offline.dims()[2] as u64, "{what}");
    common::assert_codes_match(
        &ints(streamed),
        &ints(offline.clone()),
        device,
        &format!("{what}, streamed vs offline"),
    );

    let frames = offline.dims()[2];
    let audio_offline = codec.decode(offline.clone()).unwrap();
    let mut parts = Vec::new();
    for start in (0..frames).step_by(chunk) {
        let n = chunk.min(frames - start);
        parts.push(codec.decode_step(offline.clone().narrow(2, start, n), &mut stream).unwrap());
    }
    let streamed = Tensor::cat(parts, 2);
    assert_eq!(streamed.dims(), audio_offline.dims(), "{what}");
    if exact {
        assert_eq!(samples_of(streamed), samples_of(audio_offline), "{what}: streamed audio differs from offline");
    } else {
        let err = common::max_abs_diff(streamed, audio_offline);
        eprintln!("{what}: streamed audio within {err:.2e} of offline");
        assert!(err <= 1e-4, "{what}: streamed audio differs from offline by {err}");
    }
}

#[test]
fn causal_codecs_stream_exactly_like_offline() {
    let device = Device::flex();
    device.seed(11);
    for (name, codec) in causal_codecs(&device) {
        assert_eq!(codec.hop_length(), 320);
        for chunk in [1, 3, 7] {
            // Whole frames, and a stream ending 123 samples into a frame (offline pads that frame; so does the stream).
            for samples in [21 * 320, 21 * 320 + 123] {
                assert_streams_like_offline(name, &codec, samples, chunk, &device);
            }
        }
    }
}

/// A streamed encode and decode on wgpu (one chunk size; the software Vulkan is slow).
#[cfg(feature = "wgpu")]
#[test]
fn causal_codecs_stream_like_offline_on_wgpu() {
    let device = common::gpu();
    device.seed(11);
    for (name, codec) in causal_codecs(&device) {
        assert_streams_like_offline(name, &codec, 9 * 320 + 123, 3, &device);
    }
}

#[test]
fn stream_state_does_not_grow() {
    let device = Device::flex();
    device.seed(12);
    for (name, codec) in causal_codecs(&device) {
        let mut stream = CodecStream::default();
        let mut sizes = Vec::new();
        for _ in 0..500 {
            let chunk = Tensor::<3>::random([1, 1, 320], Distribution::Normal(0.0, 0.2), &device);
            let codes = codec.encode_step(chunk, BANDWIDTH, &mut stream).unwrap();
            codec.decode_step(codes, &mut stream).unwrap();
            sizes.push((stream.encoder.carried_values(), stream.decoder.carried_values()));
        }
        assert!(sizes[0].0 > 0 && sizes[0].1 > 0, "{name}: nothing carried");
        assert!(sizes.iter().all(|s| *s == sizes[0]), "{name}: state grew from {:?} to {:?}", sizes[0], sizes[499]);
        assert_eq!((stream.frames_encoded, stream.frames_decoded), (500, 500));
        eprintln!("{name}: {} + {} values carried after every chunk", sizes[0].0, sizes[0].1);
    }
}

#[test]
fn codecs_that_cannot_stream_say_why() {
    let device = Device::flex();
    device.seed(13);
    let chunk = Tensor::<3>::zeros([1, 1, 640], &device);
    let codes = Tensor::<3, Int>::zeros([1, 8, 2], &device);

    // DAC is non-causal: neither side streams.
    let dac = build(&config("dac", "none", &[]), &device).unwrap();
    let err = dac.encode_step(chunk.clone(), BANDWIDTH, &mut CodecStream::default()).unwrap_err().to_string();
    assert!(
        err.contains("encoder cannot stream (non-causal") && err.contains("soundstream") && !err.contains('\n'),
        "{err}"
    );
    let err = dac.decode_step(codes.clone(), &mut CodecStream::default()).unwrap_err().to_string();
    assert!(err.contains("decoder cannot stream (non-causal"), "{err}");

    // A teacher attends over the whole clip: no stream encoding, though the causal decoder still streams.
    let (_, hubert) = build_pretrained(&config("soundstream", "hubert", &[]), &device).unwrap();
    let err = hubert.encode_step(chunk.clone(), BANDWIDTH, &mut CodecStream::default()).unwrap_err().to_string();
    assert!(err.contains("semantic teacher") && err.contains("--semantic none") && !err.contains('\n'), "{err}");
    let offline = hubert.decode(codes.clone()).unwrap();
    let streamed = hubert.decode_step(codes, &mut CodecStream::default()).unwrap();
    assert_eq!(samples_of(streamed), samples_of(offline));

    // A non-causal EnCodec (reflect padding) refuses in the plugin with its reason.
    let reflect = build(&config("encodec", "none", &[]), &device).unwrap();
    let err = reflect.encode_step(chunk.clone(), BANDWIDTH, &mut CodecStream::default()).unwrap_err().to_string();
    assert!(err.contains("cannot stream"), "{err}");

    // After a partial frame the stream is over; a bandwidth the model does not offer is refused.
    let (_, codec) = causal_codecs(&device).swap_remove(0);
    let mut stream = CodecStream::default();
    codec.encode_step(chunk.clone().narrow(2, 0, 100), BANDWIDTH, &mut stream).unwrap();
    let err = codec.encode_step(chunk.clone(), BANDWIDTH, &mut stream).unwrap_err().to_string();
    assert!(err.contains("already ended with a partial frame"), "{err}");
    let err = codec.encode_step(chunk, 1.0, &mut CodecStream::default()).unwrap_err().to_string();
    assert!(err.contains("0.3, 0.6, 2.4"), "{err}");
}
