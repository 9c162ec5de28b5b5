//! Parity of the trainer's STFT, mel filterbanks, PQMF, generator losses and discriminators with the
//! reference PyTorch code restated in `tests/reference/gen_losses.py` (ParallelWaveGAN, X-Codec, HiFi-GAN,
//! EnCodec, DAC/audiotools; torch 2.15): values and gradients within 1e-4 of the reference, absolute for
//! tensors whose largest magnitude is at most 1 and relative to that largest magnitude above it.

mod common;

use burn::module::Param;
use burn::tensor::{Device, Tensor};
use common::{Fixtures, fixture};
use xcodec_builtin::{Layout, load_weights};
use xcodec_trainer::discriminators::{
    DiscriminatorConfig, DiscriminatorOutput, Discriminators, MfdConfig, MpdConfig, MsStftConfig,
};
use xcodec_trainer::losses::{
    MultiResolutionStftLoss, MultiResolutionStftLossConfig, MultiScaleMelLoss, MultiScaleMelLossConfig, Reduction,
    SubbandStftLoss, SubbandStftLossConfig, feature_matching_loss, lsgan_discriminator_loss, lsgan_generator_loss,
};
use xcodec_trainer::mel::{htk_mel_filterbank, slaney_mel_filterbank};
use xcodec_trainer::pqmf::{Pqmf, PqmfConfig};
use xcodec_trainer::stft::{SpectrumNorm, Stft};

const TOL: f32 = 1e-4;

fn fixtures() -> Fixtures {
    Fixtures::open("losses/losses_parity.safetensors")
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// Compares flat values; the error is absolute up to magnitude 1 and relative to the largest magnitude above.
fn check_values(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let err = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    let scale = want.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
    let bound = TOL * scale.max(1.0);
    eprintln!("{what}: max abs error {err:.2e} (largest magnitude {scale:.2e})");
    assert!(err.is_finite() && err <= bound, "{what}: max abs error {err} > {bound}");
}

fn check<const D: usize>(what: &str, got: Tensor<D>, want: Tensor<D>) {
    assert_eq!(got.dims(), want.dims(), "{what}: shape");
    check_values(what, &values(got), &values(want));
}

/// The sub-sample `gen_losses.py` keeps of a large tensor: every ceil(numel / 128)-th element.
fn check_kept<const D: usize>(fx: &Fixtures, name: &str, got: Tensor<D>) {
    let shape: Vec<usize> = fx.int(&format!("{name}.shape")).into_iter().map(|d| d as usize).collect();
    assert_eq!(got.dims().to_vec(), shape, "{name}: shape");
    let all = values(got);
    let step = all.len().div_ceil(128).max(1);
    let kept: Vec<f32> = all.into_iter().step_by(step).collect();
    check_values(name, &kept, &values(fx.float::<1>(name, &Device::flex())));
}

#[test]
fn stft_magnitude_matches_torch_stft() {
    let device = Device::flex();
    let fx = fixtures();
    let audio: Tensor<3> = fx.float("audio.real", &device);
    let audio = audio.narrow(2, 0, 1000).reshape([2, 1000]);
    let stft = Stft::new(256, 100, 200, true, SpectrumNorm::None, &device).unwrap();
    assert_eq!(stft.frames(1000), 11);
    let magnitude = stft.magnitude(audio, xcodec_trainer::stft::POWER_FLOOR).unwrap();
    check("stft magnitude", magnitude, fx.float("stft.magnitude", &device));
}

#[test]
fn mel_filterbanks_match_the_slaney_and_htk_formulas() {
    let fx = fixtures();
    let device = Device::flex();
    for (sr, n_fft, n_mels, fmin, fmax) in
        [(16000, 256, 20, 0.0, 8000.0), (16000, 32, 5, 0.0, 8000.0), (24000, 256, 24, 50.0, 9000.0)]
    {
        let got = slaney_mel_filterbank(sr as f64, n_fft, n_mels, fmin, fmax);
        let want = values(fx.float::<2>(&format!("mel.slaney.{sr}.{n_fft}.{n_mels}"), &device));
        check_values(&format!("slaney mel {sr} Hz, n_fft {n_fft}, {n_mels} mels"), &got, &want);
    }
    let got = htk_mel_filterbank(16000, 33, 33);
    check_values("htk mel 33 x 33", &got, &values(fx.float::<2>("mel.htk.16000.33", &device)));
}

#[test]
fn pqmf_matches_parallel_wavegan() {
    let device = Device::flex();
    let fx = fixtures();
    let pqmf = Pqmf::new(&PqmfConfig::default(), &device).unwrap();
    check("pqmf analysis filter", pqmf.analysis_filter(), fx.float("pqmf.analysis_filter", &device));
    check("pqmf synthesis filter", pqmf.synthesis_filter(), fx.float("pqmf.synthesis_filter", &device));
    let audio: Tensor<3> = fx.float("audio.real", &device);
    let bands = pqmf.analysis(audio.narrow(2, 0, 601)).unwrap();
    check("pqmf analysis", bands, fx.float("pqmf.bands", &device));
    let synthesis = pqmf.synthesis(fx.float("pqmf.bands", &device)).unwrap();
    check("pqmf synthesis", synthesis, fx.float("pqmf.synthesis", &device));
}

/// The generated audio as a tracked leaf, and the target.
fn audio_pair(fx: &Fixtures, device: &Device) -> (Tensor<3>, Tensor<3>) {
    let fake: Tensor<3> = fx.float("audio.fake", device);
    (fake.require_grad(), fx.float("audio.real", device))
}

fn check_scalar(fx: &Fixtures, name: &str, got: Tensor<1>) {
    check(name, got, fx.float(name, &Device::flex().autodiff()));
}

#[test]
fn stft_losses_and_gradients_match_parallel_wavegan() {
    let device = Device::flex().autodiff();
    let fx = fixtures();

    let (fake, real) = audio_pair(&fx, &device);
    let full = MultiResolutionStftLoss::new(&MultiResolutionStftLossConfig::default(), &device).unwrap();
    let terms = full.forward(fake.clone(), real.clone()).unwrap();
    check_scalar(&fx, "loss.mrstft.0", terms.spectral_convergence.clone());
    check_scalar(&fx, "loss.mrstft.1", terms.log_magnitude.clone());
    let grads = terms.total().backward();
    check("loss.mrstft.grad", fake.grad(&grads).unwrap(), fx.float("loss.mrstft.grad", &Device::flex()));

    let (fake, real) = audio_pair(&fx, &device);
    let sub = SubbandStftLoss::new(&SubbandStftLossConfig::default(), &device).unwrap();
    let terms = sub.forward(fake.clone(), real).unwrap();
    check_scalar(&fx, "loss.subband.0", terms.spectral_convergence.clone());
    check_scalar(&fx, "loss.subband.1", terms.log_magnitude.clone());
    let grads = terms.total().backward();
    check("loss.subband.grad", fake.grad(&grads).unwrap(), fx.float("loss.subband.grad", &Device::flex()));
}

#[test]
fn mel_losses_and_gradients_match_dac() {
    let device = Device::flex().autodiff();
    let fx = fixtures();
    let full = MultiScaleMelLossConfig {
        n_mels: vec![20, 40, 80],
        window_lengths: vec![128, 256, 1024],
        mag_weight: 0.5,
        pow: 2.0,
        ..MultiScaleMelLossConfig::default()
    };
    for (name, cfg) in [("loss.mel_dac", MultiScaleMelLossConfig::default()), ("loss.mel_full", full)] {
        let (fake, real) = audio_pair(&fx, &device);
        let loss = MultiScaleMelLoss::new(&cfg, &device).unwrap().forward(fake.clone(), real).unwrap();
        check_scalar(&fx, &format!("{name}.0"), loss.clone());
        let grads = loss.backward();
        check(&format!("{name}.grad"), fake.grad(&grads).unwrap(), fx.float(&format!("{name}.grad"), &Device::flex()));
    }
}

fn tiny_discriminators() -> DiscriminatorConfig {
    DiscriminatorConfig {
        mfd: MfdConfig { hop_lengths: vec![64, 128, 256], hidden_channels: vec![32, 32, 32], ..MfdConfig::default() },
        mpd: MpdConfig { enabled: true, channels: vec![4, 8, 8, 16, 16], ..MpdConfig::default() },
        msstft: MsStftConfig {
            enabled: true,
            filters: 4,
            n_ffts: vec![256, 512, 128],
            hop_lengths: vec![64, 128, 32],
            win_lengths: vec![256, 400, 100],
            ..MsStftConfig::default()
        },
    }
}

fn group(groups: Vec<xcodec_trainer::discriminators::DiscriminatorGroup>, name: &str) -> Vec<DiscriminatorOutput> {
    groups.into_iter().find(|g| g.name == name).unwrap_or_else(|| panic!("no {name} outputs")).outputs
}

/// The parameters whose discriminator-loss gradients the fixture holds, by their file names.
fn checked_params(d: &Discriminators) -> Vec<(&'static str, Param<Tensor<4>>)> {
    use xcodec_trainer::discriminators::conv::NormConv2d;
    let mfd = d.mfd.as_ref().unwrap();
    let mpd = d.mpd.as_ref().unwrap();
    let ms = d.msstft.as_ref().unwrap();
    let NormConv2d::Plain(plain) = &ms.discriminators[0].convs[0] else { panic!("msstft convs.0 is plain") };
    let NormConv2d::WeightNorm(wn) = &ms.discriminators[0].convs[1] else { panic!("msstft convs.1 is weight-normed") };
    vec![
        ("mfd.discriminators.0.discriminator.0.weight_g", mfd.discriminators[0].discriminator[0].weight_g.clone()),
        ("mfd.discriminators.0.discriminator.0.weight_v", mfd.discriminators[0].discriminator[0].weight_v.clone()),
        ("mfd.discriminators.2.discriminator.6.weight_v", mfd.discriminators[2].discriminator[6].weight_v.clone()),
        ("mpd.discriminators.0.convs.0.weight_g", mpd.discriminators[0].convs[0].weight_g.clone()),
        ("mpd.discriminators.0.convs.0.weight_v", mpd.discriminators[0].convs[0].weight_v.clone()),
        ("mpd.discriminators.4.conv_post.weight_v", mpd.discriminators[4].conv_post.weight_v.clone()),
        ("msstft.discriminators.0.convs.0.weight", plain.weight.clone()),
        ("msstft.discriminators.0.convs.1.weight_g", wn.weight_g.clone()),
        ("msstft.discriminators.2.conv_post.weight_v", ms.discriminators[2].conv_post.weight_v.clone()),
    ]
}

fn checked_biases(d: &Discriminators) -> Vec<(&'static str, Param<Tensor<1>>)> {
    vec![
        (
            "mfd.discriminators.2.discriminator.6.bias",
            d.mfd.as_ref().unwrap().discriminators[2].discriminator[6].bias.clone().unwrap(),
        ),
        (
            "mpd.discriminators.4.conv_post.bias",
            d.mpd.as_ref().unwrap().discriminators[4].conv_post.bias.clone().unwrap(),
        ),
        (
            "msstft.discriminators.2.conv_post.bias",
            d.msstft.as_ref().unwrap().discriminators[2].conv_post.bias.clone().unwrap(),
        ),
    ]
}

#[test]
fn discriminators_and_gan_losses_match_the_references() {
    let device = Device::flex().autodiff();
    let fx = fixtures();
    let mut discs = Discriminators::new(&tiny_discriminators(), &device).unwrap();
    load_weights(&mut discs, &fixture("losses/discriminators.safetensors"), Layout::Xcodec, "").unwrap();

    for kind in ["mfd", "mpd", "msstft"] {
        // Generator side: adversarial + feature matching, gradient w.r.t. the generated audio.
        let (fake, real) = audio_pair(&fx, &device);
        let real_out = group(discs.forward(real.clone()).unwrap(), kind);
        let fake_out = group(discs.forward(fake.clone()).unwrap(), kind);
        for (i, out) in real_out.iter().enumerate() {
            check_kept(&fx, &format!("{kind}.{i}.logits"), out.logits.clone());
            for (j, f) in out.features.iter().enumerate() {
                check_kept(&fx, &format!("{kind}.{i}.features.{j}"), f.clone());
            }
        }
        let adv = lsgan_generator_loss(&fake_out, Reduction::Mean).unwrap();
        let fm = feature_matching_loss(&real_out, &fake_out, Reduction::Mean).unwrap();
        check_scalar(&fx, &format!("{kind}.loss.adv_g"), adv.clone());
        check_scalar(&fx, &format!("{kind}.loss.fm"), fm.clone());
        let grads = (adv + fm).backward();
        check(
            &format!("{kind}.grad.audio"),
            fake.grad(&grads).unwrap(),
            fx.float(&format!("{kind}.grad.audio"), &Device::flex()),
        );

        // Discriminator side: least-squares loss on real and detached generated audio, parameter gradients.
        let real_out = group(discs.forward(real).unwrap(), kind);
        let fake_out = group(discs.forward(fake.detach()).unwrap(), kind);
        let loss = lsgan_discriminator_loss(&real_out, &fake_out, Reduction::Mean).unwrap();
        check_scalar(&fx, &format!("{kind}.loss.d"), loss.clone());
        let grads = loss.backward();
        for (name, p) in checked_params(&discs).into_iter().filter(|(n, _)| n.starts_with(kind)) {
            let grad = p.val().grad(&grads).unwrap_or_else(|| panic!("{name} has no gradient"));
            check(&format!("{kind} grad {name}"), grad, fx.float(&format!("{kind}.grad.{name}"), &Device::flex()));
        }
        for (name, p) in checked_biases(&discs).into_iter().filter(|(n, _)| n.starts_with(kind)) {
            let grad = p.val().grad(&grads).unwrap_or_else(|| panic!("{name} has no gradient"));
            check(&format!("{kind} grad {name}"), grad, fx.float(&format!("{kind}.grad.{name}"), &Device::flex()));
        }
    }
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let device = Device::flex();
    let discs = Discriminators::new(&DiscriminatorConfig::default(), &device).unwrap();
    let short = Tensor::<3>::zeros([1, 1, 4000], &device);
    let err = discs.forward(short).unwrap_err().to_string();
    assert!(err.contains("too few"), "{err}");
    let stereo = Tensor::<3>::zeros([1, 2, 20000], &device);
    assert!(discs.forward(stereo).is_err());
    let loss = MultiResolutionStftLoss::new(&MultiResolutionStftLossConfig::default(), &device).unwrap();
    let a = Tensor::<3>::zeros([1, 1, 500], &device);
    assert!(loss.forward(a.clone(), a.clone()).is_err(), "500 samples are too few for n_fft 2048");
    assert!(loss.forward(a.clone(), Tensor::zeros([1, 1, 400], &device)).is_err());
    let bad = MultiResolutionStftLossConfig { fft_sizes: vec![500], win_sizes: vec![400], hop_sizes: vec![100] };
    assert!(MultiResolutionStftLoss::new(&bad, &device).is_err(), "n_fft 500 is not a power of two");
    let none = DiscriminatorConfig {
        mfd: MfdConfig { enabled: false, ..MfdConfig::default() },
        ..DiscriminatorConfig::default()
    };
    assert!(Discriminators::new(&none, &device).is_err());
    assert_eq!(discs.mfd.as_ref().unwrap().min_samples(), 8 * 1024);
}
