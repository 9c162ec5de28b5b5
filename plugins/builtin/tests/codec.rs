//! The composite built from registered parts: encode/decode shapes, bandwidths, bad input.

use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use xcodec_core::{CodecConfig, Quantizer};

fn tiny(semantic: &str) -> CodecConfig {
    CodecConfig::with_parts("dac", semantic, "rvq")
        .unwrap()
        .with_overrides(&[
            "acoustic.params.encoder_width=2".into(),
            "acoustic.params.latent_dim=4".into(),
            "acoustic.params.decoder_width=16".into(),
        ])
        .unwrap()
}

#[test]
fn encode_decode_shapes_and_codebooks_per_bandwidth() {
    let device = Device::flex();
    device.seed(1);
    let codec = xcodec_builtin::build(&tiny("none"), &device).unwrap();
    assert_eq!(codec.frame_rate_hz(), 50.0);
    let audio = Tensor::<3>::random([2, 1, 3200], Distribution::Normal(0.0, 0.1), &device);
    for (bw, n_q) in [(0.5, 1), (1.0, 2), (1.5, 3), (2.0, 4), (4.0, 8)] {
        let codes = codec.encode(audio.clone(), bw).unwrap();
        assert_eq!(codes.dims(), [2, n_q, 10], "{bw} kbps");
        let out = codec.decode(codes).unwrap();
        assert_eq!(out.dims(), [2, 1, 3200]);
    }
    let err = codec.encode(audio, 3.0).unwrap_err().to_string();
    assert!(err.contains("0.5, 1, 1.5, 2, 4"), "{err}");
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let device = Device::flex();
    let codec = xcodec_builtin::build(&tiny("none"), &device).unwrap();
    let size = codec.quantizer.codebook_size() as i64;
    let codes = |v: i64| Tensor::<3, Int>::from_data(TensorData::new(vec![v; 4], [1, 2, 2]), &device);
    let err = codec.decode(codes(size)).unwrap_err().to_string();
    assert!(err.contains("valid 0..=1023"), "{err}");
    assert!(codec.decode(codes(-1)).is_err());
    let nine = Tensor::<3, Int>::zeros([1, 9, 3], &device);
    assert!(codec.decode(nine).unwrap_err().to_string().contains("1..=8 codebooks"));
    let stereo = Tensor::<3>::zeros([1, 2, 640], &device);
    assert!(codec.encode(stereo, 4.0).unwrap_err().to_string().contains("mono"));
    let empty = Tensor::<3>::zeros([1, 1, 0], &device);
    assert!(codec.encode(empty, 4.0).unwrap_err().to_string().contains("empty"));
    let mut samples = vec![0.0f32; 640];
    samples[100] = f32::NAN;
    let nan = Tensor::<3>::from_data(TensorData::new(samples, [1, 1, 640]), &device);
    assert!(codec.encode(nan, 4.0).unwrap_err().to_string().contains("NaN"));
}

#[test]
fn training_forward_gives_audio_codes_and_losses() {
    let device = Device::flex().autodiff();
    device.seed(2);
    let codec = xcodec_builtin::build(&tiny("none"), &device).unwrap();
    let audio = Tensor::<3>::random([1, 1, 1000], Distribution::Normal(0.0, 0.1), &device);
    let out = codec.forward_train(audio, 4);
    // 1000 samples make 3 whole frames of 320: the reconstruction covers 960 samples, as in the reference.
    assert_eq!(out.audio.dims(), [1, 1, 960]);
    assert_eq!(out.codes.dims()[1], 4);
    assert!(out.semantic_loss.is_none());
    let loss = (out.audio.powi_scalar(2).mean() + out.commitment_loss).backward();
    let g = codec.fc_prior.weight.grad(&loss).expect("fc_prior gets a gradient through the straight-through RVQ");
    assert!(g.abs().sum().into_scalar::<f32>() > 0.0);
}

/// A codec with a small random HuBERT teacher (no pretrained weights).
fn tiny_with_teacher(semantic: &str) -> CodecConfig {
    tiny(semantic)
        .with_overrides(&[
            "semantic.params.pretrained=\"\"".into(),
            "semantic.params.hidden_size=16".into(),
            "semantic.params.num_hidden_layers=2".into(),
            "semantic.params.num_attention_heads=2".into(),
            "semantic.params.intermediate_size=32".into(),
            "semantic.params.conv_dim=[8,8,8,8,8,8,8]".into(),
            "semantic.params.num_conv_pos_embeddings=16".into(),
            "semantic.params.num_conv_pos_embedding_groups=4".into(),
        ])
        .unwrap()
}

#[test]
fn the_teacher_stays_frozen_and_the_semantic_branch_trains() {
    for semantic in ["hubert", "wavlm"] {
        let device = Device::flex().autodiff();
        device.seed(4);
        let codec = xcodec_builtin::build(&tiny_with_teacher(semantic), &device).unwrap();
        let audio = Tensor::<3>::random([2, 1, 3200], Distribution::Normal(0.0, 0.1), &device);
        let out = codec.forward_train(audio, 8);
        let semantic_loss = out.semantic_loss.expect("a teacher gives a semantic loss");
        let grads = (semantic_loss + out.audio.powi_scalar(2).mean()).backward();
        assert!(codec.fc_post1.as_ref().unwrap().weight.grad(&grads).is_some(), "{semantic}: fc_post1 trains");
        let xcodec_builtin::AnySemanticTeacher::Ssl(teacher) = &codec.semantic_teacher else { panic!() };
        let frozen = &teacher.feature_projection.projection.weight;
        assert!(frozen.grad(&grads).is_none(), "{semantic}: the teacher gets no gradient");
    }
}

#[test]
fn every_length_from_one_frame_up_encodes_and_shorter_is_an_error() {
    let device = Device::flex();
    let codec = xcodec_builtin::build(&tiny_with_teacher("hubert"), &device).unwrap();
    for samples in [320, 321, 479, 480, 481, 639, 640, 1000, 3333] {
        let audio = Tensor::<3>::random([1, 1, samples], Distribution::Normal(0.0, 0.1), &device);
        let codes = codec.encode(audio, 0.5).unwrap_or_else(|e| panic!("{samples} samples: {e}"));
        // The teacher sees the input padded by 160 on both sides (frames = (T + 320 - 400) / 320 + 1); the
        // reference pads the acoustic input by 160 too whenever its frame count would differ.
        assert_eq!(codes.dims()[2], (samples - 80) / 320 + 1, "{samples} samples");
    }
    let short = Tensor::<3>::zeros([1, 1, 319], &device);
    assert!(codec.encode(short, 0.5).unwrap_err().to_string().contains("shorter than one frame"));
}
