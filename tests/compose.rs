//! Every acoustic backbone composes with every teacher: `dac`, `encodec` and `soundstream` x `none`, `hubert`
//! and `wavlm` (tiny teachers from `tests/fixtures/teachers`) build, encode and decode a clip, and survive a
//! save/load round trip; a backbone whose frame rate cannot align with the teacher's is refused in one line.

mod common;

use burn::tensor::{Device, Distribution, Tensor};
use common::fixture;
use xcodec_builtin::{build_pretrained, load_model_dir, save_model_dir};
use xcodec_core::{AcousticEncoder, CodecConfig};

/// Tiny widths for each backbone (hop 320 as the defaults).
fn small(acoustic: &str) -> Vec<String> {
    let sets: &[&str] = match acoustic {
        "dac" => {
            &["acoustic.params.encoder_width=2", "acoustic.params.latent_dim=8", "acoustic.params.decoder_width=32"]
        }
        _ => &["acoustic.params.num_filters=2", "acoustic.params.hidden_size=8"],
    };
    sets.iter().map(|s| s.to_string()).collect()
}

fn config(acoustic: &str, semantic: &str, extra: &[&str]) -> CodecConfig {
    let mut sets = small(acoustic);
    sets.push("quantizer.params.codebook_size=64".into());
    // 6 bits x 50 Hz = 0.3 kbps a codebook: 1, 2 and 8 codebooks.
    sets.push("target_bandwidths_kbps=[0.3, 0.6, 2.4]".into());
    if semantic != "none" {
        let dir = fixture(&format!("teachers/{semantic}_base"));
        sets.push(format!("semantic.params.pretrained=\"{}\"", dir.display()));
    }
    sets.extend(extra.iter().map(|s| s.to_string()));
    CodecConfig::with_parts(acoustic, semantic, "rvq").unwrap().with_overrides(&sets).unwrap()
}

#[test]
fn every_backbone_composes_with_every_teacher_and_round_trips() {
    let device = Device::flex();
    device.seed(5);
    for acoustic in ["dac", "encodec", "soundstream"] {
        for semantic in ["none", "hubert", "wavlm"] {
            let cfg = config(acoustic, semantic, &[]);
            let (cfg, codec) =
                build_pretrained(&cfg, &device).unwrap_or_else(|e| panic!("{acoustic} x {semantic}: {e}"));
            assert_eq!(codec.frame_rate_hz(), 50.0);
            assert_eq!(codec.acoustic_encoder.is_causal(), acoustic == "soundstream", "{acoustic}");
            for samples in [8000, 8000 + 123] {
                let audio = Tensor::<3>::random([1, 1, samples], Distribution::Normal(0.0, 0.1), &device);
                let codes = codec.encode(audio.clone(), 2.4).unwrap();
                let frames = codec.output_frames(samples);
                assert_eq!(codes.dims(), [1, 8, frames], "{acoustic} x {semantic}, {samples} samples");
                assert_eq!(codec.decode(codes).unwrap().dims(), [1, 1, frames * 320]);
                let out = codec.forward_train(audio, 2);
                assert_eq!(out.semantic_loss.is_some(), semantic != "none");
            }
            let dir = tempfile::tempdir().unwrap();
            save_model_dir(dir.path(), &cfg, &codec).unwrap();
            let (_, loaded) = load_model_dir(dir.path(), &device).unwrap();
            let audio = Tensor::<3>::random([1, 1, 3200], Distribution::Normal(0.0, 0.1), &device);
            codec
                .encode(audio.clone(), 0.6)
                .unwrap()
                .into_data()
                .assert_eq(&loaded.encode(audio, 0.6).unwrap().into_data(), true);
        }
    }
}

#[test]
fn a_backbone_whose_frame_rate_cannot_align_with_the_teacher_is_refused() {
    let device = Device::flex();
    for (acoustic, strides) in [
        ("encodec", "acoustic.params.upsampling_ratios=[8, 5, 4, 3]"),
        ("soundstream", "acoustic.params.strides=[2, 4, 5, 4]"),
    ] {
        let cfg = config(acoustic, "hubert", &[strides]);
        let err = build_pretrained(&cfg, &device).err().unwrap_or_else(|| panic!("{acoustic}: built")).to_string();
        assert!(!err.contains('\n'), "{err}");
        assert!(
            err.contains("50.00 frames/s") && err.contains("cannot align") && err.contains("multiply to 320"),
            "{err}"
        );
        let acoustic_rate =
            if acoustic == "encodec" { "33.33 frames/s (hop 480)" } else { "100.00 frames/s (hop 160)" };
        assert!(err.contains(acoustic_rate), "{err}");
        // Without a teacher the same backbone is fine.
        let cfg = config(acoustic, "none", &[strides, "target_bandwidths_kbps=[0.1]"]);
        assert!(build_pretrained(&cfg, &device).is_ok(), "{acoustic} x none");
    }
}

#[test]
fn every_combination_takes_a_training_step() {
    use xcodec_trainer::train::{Event, TrainOptions, train};
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("train.txt");
    std::fs::write(&list, fixture("../data/speech_en_16k.wav").display().to_string()).unwrap();
    for acoustic in ["dac", "encodec", "soundstream"] {
        for semantic in ["none", "hubert", "wavlm"] {
            let mut cfg = xcodec_trainer::TrainConfig::default()
                .with_overrides(&[
                    format!("data.train_list={}", list.display()),
                    "data.segment_samples=3200".into(),
                    "data.workers=1".into(),
                    "train.batch_size=2".into(),
                    "train.max_steps=1".into(),
                    "train.valid_every=0".into(),
                    "discriminator.mfd.hop_lengths=[32, 64]".into(),
                    "discriminator.mfd.hidden_channels=[32, 32]".into(),
                ])
                .unwrap();
            cfg.codec = Some(config(acoustic, semantic, &[]));
            let run = dir.path().join(format!("{acoustic}-{semantic}"));
            let opts = TrainOptions::new(cfg, run.clone(), vec![Device::flex()]);
            let mut steps = Vec::new();
            train::<xcodec_builtin::NoExtra>(opts, &mut |e| {
                if let Event::Step(r) = e {
                    steps.push(r)
                }
            })
            .unwrap_or_else(|e| panic!("{acoustic} x {semantic}: {e}"));
            let step = &steps[0];
            assert!(step.values.iter().all(|(_, v)| v.is_finite()), "{acoustic} x {semantic}: {step:?}");
            assert_eq!(step.get("semantic").is_some(), semantic != "none", "{acoustic} x {semantic}: {step:?}");
            assert!(step.get("adversarial").is_some() && step.get("discriminators").is_some());
            assert!(run.join("checkpoints/step-00000001/model.safetensors").is_file());
        }
    }
}

/// SoundStream's bitrate FiLM through the composite: refused when it knows fewer codebooks than the quantizer
/// has; otherwise decoding and training modulate with the row of the codes' codebook count.
#[test]
fn soundstream_film_conditions_the_decoder_on_the_codebooks_used() {
    use xcodec_builtin::{AnyAcousticDecoder, build};
    let device = Device::flex();
    device.seed(7);
    let err = build(&config("soundstream", "none", &["acoustic.params.film_codebooks=4"]), &device)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("conditioned on up to 4 codebooks") && err.contains("film_codebooks = 8") && !err.contains('\n'),
        "{err}"
    );

    let ad = device.clone().autodiff();
    let codec = build(&config("soundstream", "none", &["acoustic.params.film_codebooks=8"]), &ad).unwrap();
    let AnyAcousticDecoder::Seanet(decoder) = &codec.acoustic_decoder else { panic!("a SEANet decoder") };
    assert_eq!(decoder.film.len(), 4, "one FiLM per up-sampling stage");
    let audio = Tensor::<3>::random([1, 1, 3200], Distribution::Normal(0.0, 0.1), &ad);
    let out = codec.forward_train(audio.clone(), 2);
    let grads = (out.audio - audio).powi_scalar(2).mean().backward();
    let grad = decoder.film[0].scale.grad(&grads).expect("the FiLM scale is trained");
    let rows: Vec<f32> = grad.abs().sum_dim(1).into_data().try_into_vec::<f32>().unwrap();
    assert!(rows[1] > 0.0, "2 codebooks train row 1: {rows:?}");
    assert!(rows.iter().enumerate().all(|(i, &g)| i == 1 || g == 0.0), "only row 1 gets a gradient: {rows:?}");
}
