//! One generator step against PyTorch: the X-Codec training forward of the tiny HuBERT model, X-Codec's
//! generator loss with a tiny multi-frequency discriminator, and the gradients of a few generator parameters
//! (fixtures: tests/reference/gen_train_step.py).

mod common;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use common::{Fixtures as Fixture, fixture, max_abs_diff};
use std::collections::BTreeMap;
use xcodec_builtin::{Layout, Parts, load_model, load_weights};
use xcodec_trainer::TrainConfig;
use xcodec_trainer::grads::param_ids;
use xcodec_trainer::objective::Objective;

/// The id of the parameter at `path`.
fn id_of(ids: &BTreeMap<String, u64>, path: &str) -> burn::module::ParamId {
    let id = ids
        .get(path)
        .unwrap_or_else(|| panic!("no parameter {path}; the model has {:?}", ids.keys().collect::<Vec<_>>()));
    burn::module::ParamId::from(*id)
}

#[test]
fn one_generator_step_matches_pytorch() {
    generator_step_matches_pytorch(Device::flex());
}

/// The same step on wgpu: autodiff over the GPU fallbacks of every custom kernel.
#[cfg(feature = "wgpu")]
#[test]
fn one_generator_step_on_wgpu_matches_pytorch() {
    generator_step_matches_pytorch(common::gpu());
}

/// The step on `device` (with autodiff): decoded audio, losses (relative) and gradients (relative to their
/// scale) within 1e-4 of PyTorch's (on llvmpipe measured: losses 7.2e-7, gradients 1.7e-5 of their scale).
fn generator_step_matches_pytorch(device: Device) {
    let device = device.autodiff();
    let tol = 1e-4;
    let fx = Fixture::open("train_step/train_step.safetensors");
    let mut codec =
        load_model(&fixture("tiny_xcodec_hubert_wn").to_string_lossy(), None, Parts::All, &device).unwrap().codec;
    codec.semantic_teacher = codec.semantic_teacher.no_grad();
    let cfg = TrainConfig::default()
        .with_overrides(&[
            "discriminator.mfd.hop_lengths=[32, 64]".into(),
            "discriminator.mfd.hidden_channels=[32, 32]".into(),
        ])
        .unwrap();
    let objective = Objective::new(&cfg, 16_000, &device).unwrap();
    let mut disc = objective.build_discriminators(&device).unwrap();
    load_weights(&mut disc, &fixture("train_step/discriminators.safetensors"), Layout::Xcodec, "").unwrap();

    let audio: Tensor<3> = fx.float("audio", &device);
    let out = codec.forward_train(audio.clone(), 8);
    let decoded = max_abs_diff(out.audio.clone().inner(), fx.float::<3>("decoded", &device).inner());
    assert!(decoded < tol, "decoded audio differs by {decoded}");
    let norms = objective.step_norms(audio.clone()).unwrap();
    let (loss, terms) = objective.generator_loss(&out, audio, &norms, Some(&disc)).unwrap();
    let mut worst = (String::new(), 0.0);
    for (name, value) in &terms {
        let want = fx.float::<1>(&format!("loss.{name}"), &device).into_scalar::<f64>();
        let err = (value - want).abs() / want.abs().max(1.0);
        eprintln!("loss {name}: {value} vs PyTorch {want} (relative error {err:.2e})");
        if err > worst.1 {
            worst = (name.clone(), err);
        }
    }
    assert!(worst.1 < tol as f64, "loss {} differs from PyTorch's by {:.2e} (relative)", worst.0, worst.1);
    assert_eq!(terms.len(), 7, "every X-Codec term (and the total) is checked: {terms:?}");

    let grads = GradientsParams::from_grads(loss.backward(), &codec);
    let ids = param_ids(&codec);
    // (PyTorch name, our path, whether torch stores it transposed).
    let checked: [(&str, &str, bool); 10] = [
        ("fc.weight", "fc_prior.weight", true),
        ("fc.bias", "fc_prior.bias", false),
        ("fc1.weight", "fc_post1.weight", true),
        ("fc2.weight", "fc_post2.weight", true),
        ("acoustic_encoder.conv1.parametrizations.weight.original0", "acoustic_encoder.Dac.conv1.weight_g", false),
        (
            "acoustic_encoder.block.0.res_unit1.conv1.parametrizations.weight.original1",
            "acoustic_encoder.Dac.block.0.res_unit1.conv1.weight_v",
            false,
        ),
        (
            "acoustic_decoder.block.0.res_unit1.conv1.parametrizations.weight.original1",
            "acoustic_decoder.Dac.block.0.res_unit1.conv1.weight_v",
            false,
        ),
        ("acoustic_decoder.conv2.parametrizations.weight.original1", "acoustic_decoder.Dac.conv2.weight_v", false),
        ("encoder_semantic.conv.weight", "encoder_semantic.conv.weight", false),
        ("decoder_semantic.conv2.weight", "decoder_semantic.conv2.weight", false),
    ];
    for (torch_name, path, transposed) in checked {
        let id = id_of(&ids, path);
        let want_name = format!("grad.{torch_name}");
        let (err, scale) = if transposed || torch_name.ends_with("bias") {
            let ours: Tensor<2> = if torch_name.ends_with("bias") {
                grads.get::<1>(id).expect("bias gradient").unsqueeze::<2>()
            } else {
                grads.get::<2>(id).expect("weight gradient")
            };
            let want: Tensor<2> = if torch_name.ends_with("bias") {
                fx.float::<1>(&want_name, &device).unsqueeze::<2>()
            } else {
                fx.float::<2>(&want_name, &device).transpose()
            };
            let scale = want.clone().abs().max().into_scalar::<f32>();
            (max_abs_diff(ours.inner(), want.inner()), scale)
        } else {
            let ours: Tensor<3> = grads.get::<3>(id).unwrap_or_else(|| panic!("no gradient for {torch_name}"));
            let want: Tensor<3> = fx.float(&want_name, &device);
            let scale = want.clone().abs().max().into_scalar::<f32>();
            (max_abs_diff(ours.inner(), want.inner()), scale)
        };
        assert!(scale > 0.0, "{torch_name}: the reference gradient is zero, so the check would be empty");
        assert!(
            err <= tol * scale.max(1.0),
            "gradient of {torch_name}: max abs error {err:.2e} (largest value {scale:.3e})"
        );
        eprintln!("{torch_name}: max abs error {err:.2e}, largest {scale:.2e}");
    }
}
