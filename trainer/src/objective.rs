//! The training objective: the generator's weighted losses, the discriminators' least-squares loss, and the
//! validation distances. Every batch loss is a mean over examples — the STFT losses' spectral convergence
//! takes its denominators from the whole step's batch ([`StepNorms`], computed once from the target audio)
//! — so splitting a batch across micro-batches or devices gives the same loss and gradients.

use crate::config::TrainConfig;
pub use crate::discriminators::{DiscriminatorConfig, Discriminators};
use crate::losses::{
    MultiResolutionStftLoss, MultiScaleMelLoss, MultiScaleMelLossConfig, ReferenceNorms, StftLossTerms,
    SubbandStftLoss, feature_matching_loss, lsgan_discriminator_loss, lsgan_generator_loss,
};
use burn::tensor::{Device, Tensor};
use xcodec_core::{Result, TrainOutput};

/// Everything the loop needs to score a step.
pub struct Objective {
    weights: crate::config::LossConfig,
    discriminators: DiscriminatorConfig,
    stft: MultiResolutionStftLoss,
    subband: Option<SubbandStftLoss>,
    mel: Option<MultiScaleMelLoss>,
    /// One-scale log-mel L1 for validation (80 mels, 1024-sample windows).
    valid_mel: MultiScaleMelLoss,
}

/// A named scalar of a step (logged to `metrics.jsonl`).
pub type Named = (String, f64);

/// Spectral-convergence denominators of a step's whole batch (full band and sub-band).
#[derive(Debug, Clone)]
pub struct StepNorms {
    stft: ReferenceNorms,
    subband: Option<ReferenceNorms>,
}

fn value(t: &Tensor<1>) -> f64 {
    t.clone().into_scalar::<f64>()
}

impl Objective {
    /// Builds the losses of `cfg` for audio at `sample_rate_hz`.
    pub fn new(cfg: &TrainConfig, sample_rate_hz: u32, device: &Device) -> Result<Self> {
        let rate = sample_rate_hz as usize;
        let w = &cfg.loss;
        let mel_cfg = MultiScaleMelLossConfig { sample_rate: rate, ..w.mel_scales.clone() };
        let valid_mel = MultiScaleMelLossConfig {
            sample_rate: rate,
            n_mels: vec![80],
            window_lengths: vec![1024],
            mel_fmin: Vec::new(),
            mel_fmax: Vec::new(),
            ..MultiScaleMelLossConfig::default()
        };
        let mut discriminators = cfg.discriminator.clone();
        discriminators.mfd.sample_rate = rate;
        Ok(Self {
            weights: w.clone(),
            discriminators,
            stft: MultiResolutionStftLoss::new(&w.stft_resolutions, device)?,
            subband: (w.subband_stft > 0.0).then(|| SubbandStftLoss::new(&w.subband, device)).transpose()?,
            mel: (w.mel > 0.0).then(|| MultiScaleMelLoss::new(&mel_cfg, device)).transpose()?,
            valid_mel: MultiScaleMelLoss::new(&valid_mel, device)?,
        })
    }

    /// Freshly initialised discriminators of the config (seed the device first).
    pub fn build_discriminators(&self, device: &Device) -> Result<Discriminators> {
        Discriminators::new(&self.discriminators, device)
    }

    /// The spectral-convergence denominators of a step's whole batch of target audio `[batch, 1, samples]`
    /// (cut to the length the generator returns).
    pub fn step_norms(&self, real: Tensor<3>) -> Result<StepNorms> {
        Ok(self.step_norms_from_sums(&self.step_norm_sums(real)?))
    }

    /// The sums [`StepNorms`] are made of, for target audio `real [batch, 1, samples]`: the shards of a batch
    /// (the ranks of a job) add theirs element-wise and pass the total to [`Self::step_norms_from_sums`].
    pub fn step_norm_sums(&self, real: Tensor<3>) -> Result<Vec<f64>> {
        let mut sums = self.stft.reference_sums_flat(crate::stft::mono(real.clone())?, 1)?;
        if let Some(s) = &self.subband {
            sums.extend(s.reference_sums(real)?);
        }
        Ok(sums)
    }

    /// The [`StepNorms`] of [`Self::step_norm_sums`]'s (added) sums.
    pub fn step_norms_from_sums(&self, sums: &[f64]) -> StepNorms {
        let (stft, subband) = sums.split_at(self.stft.resolutions() + 1);
        StepNorms {
            stft: ReferenceNorms::from_sums(stft),
            subband: self.subband.as_ref().map(|_| ReferenceNorms::from_sums(subband)),
        }
    }

    /// Whether any adversarial term is on.
    pub fn adversarial(&self) -> bool {
        self.weights.adversarial > 0.0 || self.weights.feature_matching > 0.0
    }

    /// The generator's weighted loss and its terms (`total` included). `disc` is `None` before the
    /// discriminators start.
    pub fn generator_loss(
        &self,
        out: &TrainOutput,
        real: Tensor<3>,
        norms: &StepNorms,
        disc: Option<&Discriminators>,
    ) -> Result<(Tensor<1>, Vec<Named>)> {
        let w = &self.weights;
        let fake = out.audio.clone();
        let mut terms: Vec<(&str, f64, Tensor<1>)> = Vec::new();
        if w.stft > 0.0 {
            let (f, r) = (crate::stft::mono(fake.clone())?, crate::stft::mono(real.clone())?);
            terms.push(("stft", w.stft, self.stft.forward_flat_with_norms(f, r, &norms.stft, 1)?.total()));
        }
        if let (Some(sub), Some(sub_norms)) = (&self.subband, &norms.subband) {
            terms.push((
                "subband_stft",
                w.subband_stft,
                sub.forward_with_norms(fake.clone(), real.clone(), sub_norms)?.total(),
            ));
        }
        if let Some(mel) = &self.mel {
            terms.push(("mel", w.mel, mel.forward(fake.clone(), real.clone())?));
        }
        if let (Some(loss), true) = (&out.semantic_loss, w.semantic > 0.0) {
            terms.push(("semantic", w.semantic, loss.clone()));
        }
        if w.commitment > 0.0 {
            terms.push(("commitment", w.commitment, out.commitment_loss.clone()));
        }
        if let Some(disc) = disc {
            let fake_groups = disc.forward(fake)?;
            let real_groups = disc.forward(real)?;
            let mut adversarial = Vec::new();
            let mut matching = Vec::new();
            for (f, r) in fake_groups.iter().zip(&real_groups) {
                adversarial.push(lsgan_generator_loss(&f.outputs, w.reduction)?);
                matching.push(feature_matching_loss(&r.outputs, &f.outputs, w.reduction)?);
            }
            if w.adversarial > 0.0 {
                terms.push(("adversarial", w.adversarial, Tensor::cat(adversarial, 0).sum()));
            }
            if w.feature_matching > 0.0 {
                terms.push(("feature_matching", w.feature_matching, Tensor::cat(matching, 0).sum()));
            }
        }
        let mut named: Vec<Named> = terms.iter().map(|(n, _, t)| (n.to_string(), value(t))).collect();
        let total = terms
            .into_iter()
            .map(|(_, weight, t)| t * weight)
            .reduce(|a, b| a + b)
            .expect("the commitment or a reconstruction loss is on");
        named.insert(0, ("total".into(), value(&total)));
        Ok((total, named))
    }

    /// The discriminators' least-squares loss on target audio and detached generated audio.
    pub fn discriminator_loss(
        &self,
        disc: &Discriminators,
        real: Tensor<3>,
        fake: Tensor<3>,
    ) -> Result<(Tensor<1>, Vec<Named>)> {
        let real_groups = disc.forward(real)?;
        let fake_groups = disc.forward(fake)?;
        let terms = real_groups
            .iter()
            .zip(&fake_groups)
            .map(|(r, f)| lsgan_discriminator_loss(&r.outputs, &f.outputs, self.weights.reduction))
            .collect::<Result<Vec<_>>>()?;
        let loss = Tensor::cat(terms, 0).sum();
        let v = value(&loss);
        Ok((loss, vec![("discriminators".into(), v)]))
    }

    /// Validation distances between decoded `fake` and target `real` (`[1, 1, samples]`, no gradient):
    /// log-mel L1, multi-resolution STFT loss, and SI-SDR in dB.
    pub fn distances(&self, fake: Tensor<3>, real: Tensor<3>) -> Result<Vec<Named>> {
        let stft: StftLossTerms = self.stft.forward(fake.clone(), real.clone())?;
        let mel = self.valid_mel.forward(fake.clone(), real.clone())?;
        let f = fake.into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default();
        let r = real.into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default();
        Ok(vec![
            ("mel_distance".into(), value(&mel)),
            ("stft_distance".into(), value(&stft.total())),
            ("si_sdr".into(), si_sdr(&f, &r)),
        ])
    }
}

/// Scale-invariant signal-to-distortion ratio of `estimate` against `target`, in dB (both zero-meaned).
pub fn si_sdr(estimate: &[f32], target: &[f32]) -> f64 {
    let n = estimate.len().min(target.len()).max(1);
    let mean = |x: &[f32]| x[..n.min(x.len())].iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let (me, mt) = (mean(estimate), mean(target));
    let (mut dot, mut energy) = (0.0, 0.0);
    for i in 0..n.min(estimate.len()) {
        let (e, t) = (estimate[i] as f64 - me, target[i] as f64 - mt);
        dot += e * t;
        energy += t * t;
    }
    let alpha = dot / (energy + 1e-12);
    let (mut signal, mut noise) = (0.0, 0.0);
    for i in 0..n.min(estimate.len()) {
        let (e, t) = (estimate[i] as f64 - me, target[i] as f64 - mt);
        signal += (alpha * t).powi(2);
        noise += (e - alpha * t).powi(2);
    }
    10.0 * ((signal + 1e-12) / (noise + 1e-12)).log10()
}

#[cfg(test)]
mod tests {
    use super::si_sdr;

    #[test]
    fn si_sdr_is_scale_invariant_and_falls_with_noise() {
        let target: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.05).sin()).collect();
        let scaled: Vec<f32> = target.iter().map(|x| x * 0.3).collect();
        assert!(si_sdr(&scaled, &target) > 100.0);
        let noisy: Vec<f32> = target.iter().enumerate().map(|(i, x)| x + if i % 2 == 0 { 0.1 } else { -0.1 }).collect();
        let s = si_sdr(&noisy, &target);
        // signal power 0.5, noise power 0.01 -> ~17 dB
        assert!((s - 17.0).abs() < 0.5, "{s}");
    }
}
