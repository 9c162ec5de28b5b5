//! X-Codec's generator and discriminator losses: multi-resolution STFT loss (ParallelWaveGAN), the same on
//! PQMF sub-bands, DAC's multi-scale mel loss, least-squares GAN losses and feature matching. Every loss
//! takes `[batch, 1, samples]` audio (generated first, target second) and returns a differentiable
//! `Tensor<1>` of one element.

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use xcodec_core::{Result, XcodecError};

use crate::discriminators::DiscriminatorOutput;
use crate::mel::{MelConfig, MelSpectrogram};
use crate::pqmf::{Pqmf, PqmfConfig};
use crate::stft::{POWER_FLOOR, SpectrumNorm, Stft, mono};

/// STFT resolutions: the i-th FFT size, window and hop go together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MultiResolutionStftLossConfig {
    /// FFT sizes (powers of two).
    pub fft_sizes: Vec<usize>,
    /// Hann window lengths.
    pub win_sizes: Vec<usize>,
    /// Hops.
    pub hop_sizes: Vec<usize>,
}

impl Default for MultiResolutionStftLossConfig {
    /// X-Codec's full-band resolutions.
    fn default() -> Self {
        Self { fft_sizes: vec![512, 1024, 2048], win_sizes: vec![480, 960, 1200], hop_sizes: vec![120, 240, 300] }
    }
}

impl MultiResolutionStftLossConfig {
    /// X-Codec's sub-band resolutions.
    pub fn subband() -> Self {
        Self { fft_sizes: vec![128, 256, 256], win_sizes: vec![80, 120, 200], hop_sizes: vec![20, 40, 50] }
    }
}

/// The two terms of an STFT loss, each averaged over resolutions.
#[derive(Debug, Clone)]
pub struct StftLossTerms {
    /// `||S_real - S_fake||_F / ||S_real||_F`.
    pub spectral_convergence: Tensor<1>,
    /// `mean |log S_fake - log S_real|`.
    pub log_magnitude: Tensor<1>,
}

impl StftLossTerms {
    /// `spectral_convergence + log_magnitude`, what X-Codec adds to the generator loss.
    pub fn total(&self) -> Tensor<1> {
        self.spectral_convergence.clone() + self.log_magnitude.clone()
    }
}

/// ParallelWaveGAN's multi-resolution STFT loss (magnitudes `sqrt(max(|X|², 1e-7))`).
#[derive(Debug, Clone)]
pub struct MultiResolutionStftLoss {
    stfts: Vec<Stft>,
}

impl MultiResolutionStftLoss {
    /// STFT resolutions.
    pub fn resolutions(&self) -> usize {
        self.stfts.len()
    }

    /// The STFTs of `cfg`.
    pub fn new(cfg: &MultiResolutionStftLossConfig, device: &Device) -> Result<Self> {
        let n = cfg.fft_sizes.len();
        if n == 0 || cfg.win_sizes.len() != n || cfg.hop_sizes.len() != n {
            return Err(XcodecError::Config(format!(
                "STFT loss: fft_sizes, win_sizes and hop_sizes must be non-empty and of one length, got {}, {}, {}",
                n,
                cfg.win_sizes.len(),
                cfg.hop_sizes.len()
            )));
        }
        let stfts = (0..n)
            .map(|i| Stft::new(cfg.fft_sizes[i], cfg.hop_sizes[i], cfg.win_sizes[i], true, SpectrumNorm::None, device))
            .collect::<Result<_>>()?;
        Ok(Self { stfts })
    }

    /// Loss between `[batch, 1, samples]` generated and target audio.
    pub fn forward(&self, fake: Tensor<3>, real: Tensor<3>) -> Result<StftLossTerms> {
        check_pair(&fake, &real)?;
        self.forward_flat(mono(fake)?, mono(real)?)
    }

    /// Loss between `[signals, samples]` generated and target signals.
    pub fn forward_flat(&self, fake: Tensor<2>, real: Tensor<2>) -> Result<StftLossTerms> {
        let mut sc = Vec::with_capacity(self.stfts.len());
        let mut mag = Vec::with_capacity(self.stfts.len());
        for stft in &self.stfts {
            let fake_mag = stft.magnitude(fake.clone(), POWER_FLOOR)?;
            let real_mag = stft.magnitude(real.clone(), POWER_FLOOR)?;
            let diff = (real_mag.clone() - fake_mag.clone()).powi_scalar(2).sum().sqrt();
            sc.push(diff / real_mag.clone().powi_scalar(2).sum().sqrt());
            mag.push((fake_mag.log() - real_mag.log()).abs().mean());
        }
        let n = self.stfts.len() as f64;
        Ok(StftLossTerms {
            spectral_convergence: Tensor::cat(sc, 0).sum().div_scalar(n),
            log_magnitude: Tensor::cat(mag, 0).sum().div_scalar(n),
        })
    }
}

/// Per resolution, `sqrt(mean_i ||S_real_i||_F^2)` over the signals of a whole step's batch: the
/// spectral-convergence denominators that make the loss a sum over examples (see
/// [`MultiResolutionStftLoss::forward_flat_with_norms`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceNorms(pub Vec<f64>);

impl ReferenceNorms {
    /// The norms of [`MultiResolutionStftLoss::reference_sums_flat`]'s sums (added over shards): per
    /// resolution `sqrt(sum / examples)`.
    pub fn from_sums(sums: &[f64]) -> Self {
        let (per_resolution, examples) = sums.split_at(sums.len().saturating_sub(1));
        let examples = examples.first().copied().unwrap_or(0.0);
        Self(per_resolution.iter().map(|s| (s / examples).sqrt()).collect())
    }
}

impl MultiResolutionStftLoss {
    /// The [`ReferenceNorms`] of `[signals, samples]` target signals, `group` consecutive signals making one
    /// example (the sub-bands of one clip; 1 for full-band audio).
    pub fn reference_norms_flat(&self, real: Tensor<2>, group: usize) -> Result<ReferenceNorms> {
        Ok(ReferenceNorms::from_sums(&self.reference_sums_flat(real, group)?))
    }

    /// What [`ReferenceNorms`] are made of, so shards of a batch (the ranks of a job) can add theirs: the
    /// summed squared magnitudes per resolution, then the number of examples.
    pub fn reference_sums_flat(&self, real: Tensor<2>, group: usize) -> Result<Vec<f64>> {
        let mut sums = self
            .stfts
            .iter()
            .map(|stft| Ok(stft.magnitude(real.clone(), POWER_FLOOR)?.powi_scalar(2).sum().into_scalar::<f64>()))
            .collect::<Result<Vec<f64>>>()?;
        sums.push((real.dims()[0] / group.max(1)) as f64);
        Ok(sums)
    }

    /// Like [`Self::forward_flat`], but spectral convergence is `mean_i ||S_real_i - S_fake_i||_F / norm` over
    /// examples `i` (`group` consecutive signals each) with the batch-wide `norms`: a mean over examples, so
    /// any split of a batch into shards sums to the same loss and gradients. For one example it equals
    /// ParallelWaveGAN's `||S_real - S_fake||_F / ||S_real||_F`; for more, the numerator is the mean of the
    /// examples' norms rather than the norm of all of them.
    pub fn forward_flat_with_norms(
        &self,
        fake: Tensor<2>,
        real: Tensor<2>,
        norms: &ReferenceNorms,
        group: usize,
    ) -> Result<StftLossTerms> {
        let group = group.max(1);
        let examples = fake.dims()[0] / group;
        if norms.0.len() != self.stfts.len() {
            return Err(XcodecError::Input(format!(
                "STFT loss: {} reference norms for {} resolutions",
                norms.0.len(),
                self.stfts.len()
            )));
        }
        let mut sc = Vec::with_capacity(self.stfts.len());
        let mut mag = Vec::with_capacity(self.stfts.len());
        for (stft, norm) in self.stfts.iter().zip(&norms.0) {
            let fake_mag = stft.magnitude(fake.clone(), POWER_FLOOR)?;
            let real_mag = stft.magnitude(real.clone(), POWER_FLOOR)?;
            let squared = (real_mag.clone() - fake_mag.clone()).powi_scalar(2).sum_dim(2).sum_dim(1);
            let per_example = squared.reshape([examples, group]).sum_dim(1).sqrt();
            sc.push(per_example.mean().reshape([1]).div_scalar(norm.max(1e-12)));
            mag.push((fake_mag.log() - real_mag.log()).abs().mean());
        }
        let n = self.stfts.len() as f64;
        Ok(StftLossTerms {
            spectral_convergence: Tensor::cat(sc, 0).sum().div_scalar(n),
            log_magnitude: Tensor::cat(mag, 0).sum().div_scalar(n),
        })
    }
}

/// Sub-band STFT loss parameters: a PQMF bank and the resolutions applied to every band.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubbandStftLossConfig {
    /// The filter bank (X-Codec: 6 bands).
    pub pqmf: PqmfConfig,
    /// Resolutions on the bands (X-Codec: FFT 128/256/256, windows 80/120/200, hops 20/40/50).
    pub resolutions: MultiResolutionStftLossConfig,
}

impl Default for SubbandStftLossConfig {
    fn default() -> Self {
        Self { pqmf: PqmfConfig::default(), resolutions: MultiResolutionStftLossConfig::subband() }
    }
}

/// X-Codec's sub-band STFT loss: PQMF analysis of both signals, then the multi-resolution STFT loss over
/// all `batch * subbands` band signals.
#[derive(Debug, Clone)]
pub struct SubbandStftLoss {
    /// The analysis bank.
    pub pqmf: Pqmf,
    stft: MultiResolutionStftLoss,
}

impl SubbandStftLoss {
    /// The bank and STFTs of `cfg`.
    pub fn new(cfg: &SubbandStftLossConfig, device: &Device) -> Result<Self> {
        Ok(Self { pqmf: Pqmf::new(&cfg.pqmf, device)?, stft: MultiResolutionStftLoss::new(&cfg.resolutions, device)? })
    }

    /// Loss between `[batch, 1, samples]` generated and target audio.
    pub fn forward(&self, fake: Tensor<3>, real: Tensor<3>) -> Result<StftLossTerms> {
        check_pair(&fake, &real)?;
        let fake = self.pqmf.analysis(fake)?;
        let real = self.pqmf.analysis(real)?;
        let [batch, bands, len] = fake.dims();
        self.stft.forward_flat(fake.reshape([batch * bands, len]), real.reshape([batch * bands, len]))
    }
}

impl SubbandStftLoss {
    /// The [`ReferenceNorms`] of `[batch, 1, samples]` target audio, over its band signals.
    pub fn reference_norms(&self, real: Tensor<3>) -> Result<ReferenceNorms> {
        Ok(ReferenceNorms::from_sums(&self.reference_sums(real)?))
    }

    /// The sums behind [`Self::reference_norms`] (see [`MultiResolutionStftLoss::reference_sums_flat`]).
    pub fn reference_sums(&self, real: Tensor<3>) -> Result<Vec<f64>> {
        let bands = self.pqmf.analysis(real)?;
        let [batch, n, len] = bands.dims();
        self.stft.reference_sums_flat(bands.reshape([batch * n, len]), n)
    }

    /// [`Self::forward`] with batch-wide spectral-convergence denominators (see
    /// [`MultiResolutionStftLoss::forward_flat_with_norms`]).
    pub fn forward_with_norms(
        &self,
        fake: Tensor<3>,
        real: Tensor<3>,
        norms: &ReferenceNorms,
    ) -> Result<StftLossTerms> {
        check_pair(&fake, &real)?;
        let fake = self.pqmf.analysis(fake)?;
        let real = self.pqmf.analysis(real)?;
        let [batch, bands, len] = fake.dims();
        self.stft.forward_flat_with_norms(
            fake.reshape([batch * bands, len]),
            real.reshape([batch * bands, len]),
            norms,
            bands,
        )
    }
}

/// DAC's `MelSpectrogramLoss` parameters. Defaults: DAC's training config (`conf/base.yml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MultiScaleMelLossConfig {
    /// Sample rate in Hz.
    pub sample_rate: usize,
    /// Mel bands of each scale.
    pub n_mels: Vec<usize>,
    /// Window (= FFT size, powers of two) of each scale; hop = window / 4.
    pub window_lengths: Vec<usize>,
    /// Lowest mel frequency of each scale; empty = 0 Hz for all.
    pub mel_fmin: Vec<f64>,
    /// Highest mel frequency of each scale (`None` = Nyquist); empty = Nyquist for all.
    pub mel_fmax: Vec<Option<f64>>,
    /// Floor on the mel magnitudes before the log.
    pub clamp_eps: f64,
    /// Exponent of the floored magnitudes inside the log10.
    pub pow: f64,
    /// Weight of the L1 between log10 mels.
    pub log_weight: f64,
    /// Weight of the L1 between linear mels.
    pub mag_weight: f64,
}

impl Default for MultiScaleMelLossConfig {
    fn default() -> Self {
        Self {
            sample_rate: 16000,
            n_mels: vec![5, 10, 20, 40, 80, 160, 320],
            window_lengths: vec![32, 64, 128, 256, 512, 1024, 2048],
            mel_fmin: Vec::new(),
            mel_fmax: Vec::new(),
            clamp_eps: 1e-5,
            pow: 1.0,
            log_weight: 1.0,
            mag_weight: 0.0,
        }
    }
}

/// DAC's multi-scale mel loss: for every scale `log_weight * L1(log10(max(M_fake, eps)^pow), ..)
/// + mag_weight * L1(M_fake, M_real)`, summed over scales. Also the validation "mel distance".
#[derive(Debug, Clone)]
pub struct MultiScaleMelLoss {
    mels: Vec<MelSpectrogram>,
    clamp_eps: f64,
    pow: f64,
    log_weight: f64,
    mag_weight: f64,
}

impl MultiScaleMelLoss {
    /// The mel spectrograms of `cfg`.
    pub fn new(cfg: &MultiScaleMelLossConfig, device: &Device) -> Result<Self> {
        let n = cfg.n_mels.len();
        let listed = |len: usize| len == 0 || len == n;
        if n == 0 || cfg.window_lengths.len() != n || !listed(cfg.mel_fmin.len()) || !listed(cfg.mel_fmax.len()) {
            return Err(XcodecError::Config(format!(
                "mel loss: n_mels and window_lengths must be non-empty and of one length (mel_fmin/mel_fmax empty or \
                 that length too), got {}, {}, {}, {}",
                n,
                cfg.window_lengths.len(),
                cfg.mel_fmin.len(),
                cfg.mel_fmax.len()
            )));
        }
        if cfg.clamp_eps <= 0.0 {
            return Err(XcodecError::Config(format!("mel loss: clamp_eps = {} must be positive", cfg.clamp_eps)));
        }
        let mels = (0..n)
            .map(|i| {
                let mel = MelConfig {
                    sample_rate: cfg.sample_rate,
                    window_length: cfg.window_lengths[i],
                    hop_length: None,
                    n_mels: cfg.n_mels[i],
                    fmin: cfg.mel_fmin.get(i).copied().unwrap_or(0.0),
                    fmax: cfg.mel_fmax.get(i).copied().flatten(),
                };
                MelSpectrogram::new(&mel, device)
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            mels,
            clamp_eps: cfg.clamp_eps,
            pow: cfg.pow,
            log_weight: cfg.log_weight,
            mag_weight: cfg.mag_weight,
        })
    }

    /// Loss between `[batch, 1, samples]` generated and target audio.
    pub fn forward(&self, fake: Tensor<3>, real: Tensor<3>) -> Result<Tensor<1>> {
        check_pair(&fake, &real)?;
        let (fake, real) = (mono(fake)?, mono(real)?);
        let mut terms = Vec::with_capacity(self.mels.len());
        for mel in &self.mels {
            let fake_mel = mel.forward(fake.clone())?;
            let real_mel = mel.forward(real.clone())?;
            let log = |m: Tensor<3>| {
                m.clamp_min(self.clamp_eps).powf_scalar(self.pow).log().div_scalar(std::f64::consts::LN_10)
            };
            let mut term = (log(fake_mel.clone()) - log(real_mel.clone())).abs().mean().mul_scalar(self.log_weight);
            if self.mag_weight != 0.0 {
                term = term + (fake_mel - real_mel).abs().mean().mul_scalar(self.mag_weight);
            }
            terms.push(term);
        }
        Ok(Tensor::cat(terms, 0).sum())
    }
}

/// How per-discriminator (or per-feature-map) terms combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Reduction {
    /// Averaged (X-Codec's `MSEGLoss`, `MSEDiscriminatorLoss` and `FeatureMatchLoss`).
    #[default]
    Mean,
    /// Summed (HiFi-GAN's `generator_loss`, `discriminator_loss`; its `feature_loss` is this times 2).
    Sum,
}

fn reduce(terms: Vec<Tensor<1>>, reduction: Reduction, what: &str) -> Result<Tensor<1>> {
    if terms.is_empty() {
        return Err(XcodecError::Input(format!("{what}: no discriminator outputs to compare")));
    }
    let n = terms.len() as f64;
    let sum = Tensor::cat(terms, 0).sum();
    Ok(match reduction {
        Reduction::Mean => sum.div_scalar(n),
        Reduction::Sum => sum,
    })
}

fn check_outputs(real: &[DiscriminatorOutput], fake: &[DiscriminatorOutput], what: &str) -> Result<()> {
    if real.len() != fake.len() {
        return Err(XcodecError::Input(format!(
            "{what}: {} real outputs but {} generated ones",
            real.len(),
            fake.len()
        )));
    }
    Ok(())
}

/// Least-squares generator loss: `mean((1 - D(G(z)))²)` per discriminator output, reduced over outputs.
pub fn lsgan_generator_loss(fake: &[DiscriminatorOutput], reduction: Reduction) -> Result<Tensor<1>> {
    let terms = fake.iter().map(|o| o.logits.clone().neg().add_scalar(1.0).powi_scalar(2).mean()).collect();
    reduce(terms, reduction, "generator adversarial loss")
}

/// Least-squares discriminator loss: `mean((1 - D(x))²) + mean(D(G(z))²)` per output, reduced over outputs.
/// Detach the generated audio before computing `fake` when training the discriminator.
pub fn lsgan_discriminator_loss(
    real: &[DiscriminatorOutput],
    fake: &[DiscriminatorOutput],
    reduction: Reduction,
) -> Result<Tensor<1>> {
    check_outputs(real, fake, "discriminator loss")?;
    let terms = real
        .iter()
        .zip(fake)
        .map(|(r, f)| {
            r.logits.clone().neg().add_scalar(1.0).powi_scalar(2).mean() + f.logits.clone().powi_scalar(2).mean()
        })
        .collect();
    reduce(terms, reduction, "discriminator loss")
}

/// Feature matching: `mean |F_fake - F_real|` for every feature map of every output (the real maps
/// detached), reduced over all maps (X-Codec's `FeatureMatchLoss` averages them: [`Reduction::Mean`]).
pub fn feature_matching_loss(
    real: &[DiscriminatorOutput],
    fake: &[DiscriminatorOutput],
    reduction: Reduction,
) -> Result<Tensor<1>> {
    check_outputs(real, fake, "feature matching loss")?;
    let mut terms = Vec::new();
    for (r, f) in real.iter().zip(fake) {
        if r.features.len() != f.features.len() {
            return Err(XcodecError::Input(format!(
                "feature matching loss: {} real feature maps but {} generated ones",
                r.features.len(),
                f.features.len()
            )));
        }
        for (rf, ff) in r.features.iter().zip(&f.features) {
            if rf.dims() != ff.dims() {
                return Err(XcodecError::Input(format!(
                    "feature matching loss: feature maps of shapes {:?} and {:?} (real and generated audio must have one length)",
                    rf.dims(),
                    ff.dims()
                )));
            }
            terms.push((ff.clone() - rf.clone().detach()).abs().mean());
        }
    }
    reduce(terms, reduction, "feature matching loss")
}

/// Generated and target audio must both be `[batch, 1, samples]` of one shape.
fn check_pair(fake: &Tensor<3>, real: &Tensor<3>) -> Result<()> {
    if fake.dims() != real.dims() || fake.dims()[1] != 1 {
        return Err(XcodecError::Input(format!(
            "loss inputs must both be [batch, 1, samples] of one shape, got {:?} and {:?}",
            fake.dims(),
            real.dims()
        )));
    }
    Ok(())
}
