//! The GAN training loop, readable in one pass: for each step, every shard (micro-batch x device) runs the
//! generator, takes the discriminators' and the generator's gradients against the same discriminators,
//! the shards' gradients are summed, clipped by global norm and applied by two AdamW optimisers; then the
//! codebooks take their EMA step on the whole batch. Checkpoints, validation and metrics around it.
//!
//! Difference from the reference loop: X-Codec steps the discriminators first and computes the generator's
//! adversarial loss with the updated ones; here both gradients are taken against the discriminators of the
//! step's start, which keeps micro-batching and data parallelism exact without holding every shard's graph.

use crate::checkpoint;
use crate::config::TrainConfig;
use crate::data::{AudioList, Cropper, Loader, derive_seed};
use crate::error::{Result, TrainError};
use crate::grads::{clip_global_norm, sum_grads};
use crate::metrics::{MetricsLog, Record, read_records};
use crate::objective::{Discriminators, Objective, StepNorms};
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use std::path::{Path, PathBuf};
use std::time::Instant;
use xcodec_builtin::{Codec, ExtraParts, Models};
use xcodec_core::{CodecConfig, Quantizer, XcodecError};

/// The resolved config a run keeps in `RUN/train.toml`.
pub const RUN_CONFIG: &str = "train.toml";
/// The metrics file of a run.
pub const METRICS: &str = "metrics.jsonl";
/// The curves drawn from the metrics.
pub const CURVES: &str = "curves.png";

/// What [`train`] is asked to do.
pub struct TrainOptions {
    /// The run's config (overrides applied). With `resume`, the run's own `train.toml` is used instead of
    /// this one's data/train/loss sections only where the caller loaded it so (the CLI does).
    pub config: TrainConfig,
    /// Start from this model directory (fine-tuning) instead of `config.codec`.
    pub model: Option<PathBuf>,
    /// Run directory: `train.toml`, `metrics.jsonl`, `curves.png`, `checkpoints/`.
    pub run_dir: PathBuf,
    /// Continue from the run's last checkpoint.
    pub resume: bool,
    /// Devices to train on (autodiff is added here); one replica each, the batch split between them.
    pub devices: Vec<Device>,
}

/// What the loop reports as it goes.
#[derive(Debug, Clone)]
pub enum Event {
    /// Training starts at `start` (0, or the resumed step) and runs to `end`.
    Started {
        /// First step to run.
        start: u64,
        /// Step to stop at.
        end: u64,
        /// Parameters trained (generator, discriminators).
        trainable: (usize, usize),
    },
    /// A step finished.
    Step(Record),
    /// A validation finished.
    Validated(Record),
    /// A checkpoint was written.
    Checkpoint {
        /// Step it holds.
        step: u64,
        /// Its directory.
        dir: PathBuf,
    },
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Steps completed.
    pub steps: u64,
    /// The last checkpoint.
    pub checkpoint: PathBuf,
    /// The last validation, if any.
    pub last_validation: Option<Record>,
}

/// One replica's share of a step.
struct ShardOutput {
    generator: GradientsParams,
    discriminators: Option<GradientsParams>,
    losses: Vec<(String, f64)>,
    quantizer_input: Tensor<3>,
}

/// Trains until `config.train.max_steps`, reporting through `on_event`.
pub fn train<P: ExtraParts>(opts: TrainOptions, on_event: &mut dyn FnMut(Event)) -> Result<Summary> {
    let TrainOptions { config: cfg, model, run_dir, resume, devices } = opts;
    cfg.validate()?;
    let devices: Vec<Device> = devices.into_iter().map(|d| d.autodiff()).collect();
    let main = devices.first().cloned().ok_or_else(|| XcodecError::Config("no training device given".into()))?;
    let last = checkpoint::list_checkpoints(&run_dir).pop();
    if !resume && last.is_some() {
        return Err(TrainError::run_dir(
            &run_dir,
            "already holds a training run; pass --resume to continue it, or choose another -o",
        ));
    }

    let seed = cfg.train.seed;
    main.seed(seed);
    let fresh_optims = || [adamw(&cfg), adamw(&cfg)];
    let (codec_cfg, objective, mut codec, mut disc, mut optim_g, mut optim_d, start) = match (&last, resume) {
        (Some((_, dir)), true) => {
            let rate = CodecConfig::load(dir.join("config.toml"))?.sample_rate_hz;
            let objective = Objective::new(&cfg, rate, &main)?;
            let r = checkpoint::load(dir, objective.build_discriminators(&main)?, fresh_optims(), &main)?;
            (r.config, objective, r.generator, r.discriminators, r.optim_generator, r.optim_discriminators, r.step)
        }
        (None, true) => {
            return Err(TrainError::run_dir(&run_dir, "has no checkpoint to resume from; start it without --resume"));
        }
        _ => {
            let (codec_cfg, codec) = initial_generator(&cfg, model.as_deref(), &main)?;
            let objective = Objective::new(&cfg, codec_cfg.sample_rate_hz, &main)?;
            let disc = objective.build_discriminators(&main)?;
            let [og, od] = fresh_optims();
            (codec_cfg, objective, codec, disc, og, od, 0)
        }
    };
    // Lazily initialised parameters draw from the device's global RNG when first used; draw them all here,
    // in a fixed order, so that the replica threads cannot interleave the draws.
    codec = codec.materialize();
    disc = disc.materialize();
    // The teacher is frozen: no graph is built through it.
    codec.semantic_teacher = codec.semantic_teacher.no_grad();
    let end = cfg.train.max_steps;
    if end <= start {
        return Err(XcodecError::Config(format!(
            "the run is already at step {start} and train.max_steps is {end}; raise it (--max-steps N) to train further"
        ))
        .into());
    }
    // Everything that can be checked is checked before the run directory is written.
    let cropper = Cropper {
        list: AudioList::read(&cfg.data.train_list, codec_cfg.sample_rate_hz)?,
        segment_samples: cfg.data.segment_samples,
        normalize_gain: cfg.data.normalize_gain,
        seed,
    };
    let valid_clips = load_valid_clips(&cfg, codec_cfg.sample_rate_hz)?;
    let samples = cfg.data.segment_samples;
    let out_len = samples.min(codec.output_frames(samples) * codec.hop_length());
    if objective.adversarial() {
        disc.valid().forward(Tensor::zeros([1, 1, out_len], &main.clone().inner())).map_err(|e| {
            XcodecError::Config(format!(
                "data.segment_samples = {samples}: {e} (raise data.segment_samples or change [discriminator])"
            ))
        })?;
    }
    let mut run_cfg = cfg.clone();
    run_cfg.codec = Some(codec_cfg.clone());
    xcodec_core::io::write_atomic(&run_dir.join(RUN_CONFIG), run_cfg.to_toml().as_bytes())?;
    let mut metrics = MetricsLog::open(&run_dir.join(METRICS), resume.then_some(start))?;
    let per_step = cfg.train.batch_size * cfg.train.accumulate;
    let mut loader = Loader::start(cropper, start, end, per_step, cfg.data.workers);
    on_event(Event::Started { start, end, trainable: (trainable_params(&codec), trainable_params(&disc)) });

    let mut last_validation = None;
    if start == 0 && cfg.train.valid_every > 0 && !valid_clips.is_empty() {
        last_validation = Some(validate(&codec, &objective, &valid_clips, 0, &mut metrics, on_event)?);
    }
    let mut last_checkpoint = last.map(|(_, dir)| dir);
    let mut saved_at = start;
    for step in start..end {
        let t0 = Instant::now();
        let batch = loader.next_batch().expect("loader covers the run")?;
        let n_q = codebooks_this_step(&cfg, &codec, step);
        let adversarial = step >= cfg.train.disc_start_step && objective.adversarial();
        let whole = to_tensor(&batch.items, &main);
        if step == 0 {
            let teacher = codec.teacher_features(&whole);
            let x = codec.joint_embedding(whole.clone(), teacher).detach();
            codec.quantizer.init_codebooks(x, derive_seed(seed, 5, 0));
        }
        let norms = objective.step_norms(whole.narrow(2, 0, out_len))?;
        let shards = shard(&batch.items, cfg.train.accumulate, &devices);
        let total_items = batch.items.len() as f64;
        let mut outputs = Vec::with_capacity(shards.len());
        for micro in shards {
            let replicas: Vec<(Codec<P>, Discriminators)> =
                micro.iter().map(|(dev, _)| (codec.clone().fork(dev), disc.clone().fork(dev))).collect();
            let results = std::thread::scope(|s| {
                let handles: Vec<_> = micro
                    .iter()
                    .zip(&replicas)
                    .map(|((dev, items), (g, d))| {
                        let scale = items.len() as f64 / total_items;
                        let (objective, norms) = (&objective, &norms);
                        s.spawn(move || {
                            shard_step(g, d, objective, norms, to_tensor(items, dev), n_q, scale, adversarial)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("training replica panicked")).collect::<Result<Vec<_>>>()
            })?;
            outputs.extend(results);
        }
        let mut losses: Vec<(String, f64)> = Vec::new();
        for out in &outputs {
            for (name, v) in &out.losses {
                match losses.iter_mut().find(|(n, _)| n == name) {
                    Some((_, total)) => *total += v,
                    None => losses.push((name.clone(), *v)),
                }
            }
        }
        let lr = cfg.learning_rate(step);
        let inputs: Vec<Tensor<3>> = outputs.iter().map(|o| o.quantizer_input.clone().to_device(&main)).collect();
        let (g_parts, d_parts): (Vec<_>, Vec<_>) = outputs.into_iter().map(|o| (o.generator, o.discriminators)).unzip();
        let mut g_grads = sum_grads(&codec, g_parts);
        let g_norm = clip_global_norm(&codec, &mut g_grads, cfg.train.grad_clip);
        codec = optim_g.step(lr, codec, g_grads);
        let d_parts: Vec<GradientsParams> = d_parts.into_iter().flatten().collect();
        let mut d_norm = 0.0;
        if !d_parts.is_empty() {
            let mut d_grads = sum_grads(&disc, d_parts);
            d_norm = clip_global_norm(&disc, &mut d_grads, cfg.train.grad_clip);
            disc = optim_d.step(lr, disc, d_grads);
        }
        codec.quantizer.update_codebooks(Tensor::cat(inputs, 0), n_q, derive_seed(seed, 4, step));

        let done = step + 1;
        losses.extend([
            ("n_q".to_string(), n_q as f64),
            ("lr".to_string(), lr),
            ("grad_norm_generator".to_string(), g_norm),
            ("grad_norm_discriminators".to_string(), d_norm),
            ("seconds".to_string(), t0.elapsed().as_secs_f64()),
        ]);
        if losses.iter().any(|(_, v)| !v.is_finite()) {
            let losses = losses.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join(", ");
            return Err(TrainError::NonFinite { step: done, losses });
        }
        let record = Record { step: done, kind: "train".into(), values: losses };
        metrics.append(&record)?;
        on_event(Event::Step(record));

        let validate_now = cfg.train.valid_every > 0 && done % cfg.train.valid_every == 0 && !valid_clips.is_empty();
        if validate_now {
            last_validation = Some(validate(&codec, &objective, &valid_clips, done, &mut metrics, on_event)?);
        }
        if done % cfg.train.checkpoint_every == 0 || done == end {
            let dir = checkpoint::save(
                &run_dir,
                done,
                &codec_cfg,
                &codec,
                &disc,
                &optim_g,
                &optim_d,
                cfg.train.keep_checkpoints,
            )?;
            crate::curves::plot(&read_records(metrics.path()), &run_dir.join(CURVES))?;
            on_event(Event::Checkpoint { step: done, dir: dir.clone() });
            last_checkpoint = Some(dir);
            saved_at = done;
        }
    }
    let checkpoint = match last_checkpoint {
        Some(dir) if saved_at == end.max(start) => dir,
        _ => checkpoint::save(
            &run_dir,
            start.max(end),
            &codec_cfg,
            &codec,
            &disc,
            &optim_g,
            &optim_d,
            cfg.train.keep_checkpoints,
        )?,
    };
    Ok(Summary { steps: end.max(start), checkpoint, last_validation })
}

/// The generator a fresh run starts from: a model directory (fine-tuning) or the config's `[codec]`.
fn initial_generator<P: ExtraParts>(
    cfg: &TrainConfig,
    model: Option<&Path>,
    device: &Device,
) -> Result<(CodecConfig, Codec<P>)> {
    match (model, &cfg.codec) {
        (Some(dir), _) => {
            let loaded = Models::<P>::load(&dir.to_string_lossy(), None, xcodec_builtin::Parts::All, device)?;
            Ok((loaded.config, loaded.codec))
        }
        (None, Some(codec)) => Ok(Models::<P>::build_pretrained(codec, device)?),
        (None, None) => Err(XcodecError::Config(
            "no codec to train: pass --model DIR (made by `xcodec build`) or put a [codec] section in the config"
                .into(),
        )
        .into()),
    }
}

/// AdamW with the config's betas, epsilon and weight decay (burn's defaults differ from torch's).
fn adamw(cfg: &TrainConfig) -> ModuleOptimizer {
    let t = &cfg.train;
    AdamWConfig::new()
        .with_beta_1(t.betas[0])
        .with_beta_2(t.betas[1])
        .with_epsilon(t.epsilon)
        .with_weight_decay(t.weight_decay)
        .init()
}

/// Codebooks used at `step`: all of them, or (quantizer dropout) those of a bandwidth drawn at random.
fn codebooks_this_step<P: ExtraParts>(cfg: &TrainConfig, codec: &Codec<P>, step: u64) -> usize {
    let bandwidths = &codec.target_bandwidths_kbps;
    let most = codec.codebooks_for_bandwidth(*bandwidths.last().expect("a codec offers a bandwidth"));
    if !cfg.train.quantizer_dropout || bandwidths.len() < 2 {
        return most;
    }
    let pick = (derive_seed(cfg.train.seed, 3, step) % bandwidths.len() as u64) as usize;
    codec.codebooks_for_bandwidth(bandwidths[pick]).clamp(1, most)
}

/// Rows of equal length -> `[rows, 1, samples]`.
fn to_tensor(items: &[Vec<f32>], device: &Device) -> Tensor<3> {
    let samples = items.first().map_or(0, Vec::len);
    let flat: Vec<f32> = items.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [items.len(), 1, samples]), device)
}

/// A device and the items it computes.
type Shard<'a> = (Device, &'a [Vec<f32>]);

/// Splits a step's items into `accumulate` micro-batches, each split across the devices (contiguous runs,
/// as even as possible; a device whose share is empty gets none).
fn shard<'a>(items: &'a [Vec<f32>], accumulate: usize, devices: &[Device]) -> Vec<Vec<Shard<'a>>> {
    let split = |slice: &'a [Vec<f32>], parts: usize| -> Vec<&'a [Vec<f32>]> {
        let (base, extra) = (slice.len() / parts, slice.len() % parts);
        let mut at = 0;
        (0..parts)
            .map(|i| {
                let n = base + usize::from(i < extra);
                at += n;
                &slice[at - n..at]
            })
            .filter(|s| !s.is_empty())
            .collect()
    };
    split(items, accumulate)
        .into_iter()
        .map(|micro| {
            split(micro, devices.len()).into_iter().zip(devices.iter().cloned()).map(|(s, d)| (d, s)).collect()
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
/// One replica on one shard: forward, discriminator gradients on the detached output, generator gradients.
/// Losses come back scaled by the shard's share of the step, so summing shards gives the batch mean.
fn shard_step<P: ExtraParts>(
    codec: &Codec<P>,
    disc: &Discriminators,
    objective: &Objective,
    norms: &StepNorms,
    audio: Tensor<3>,
    n_q: usize,
    scale: f64,
    adversarial: bool,
) -> Result<ShardOutput> {
    let out = codec.forward_train(audio.clone(), n_q);
    let real = audio.narrow(2, 0, out.audio.dims()[2]);
    let mut losses = Vec::new();
    let discriminators = if adversarial {
        let (loss, parts) = objective.discriminator_loss(disc, real.clone(), out.audio.clone().detach())?;
        losses.extend(parts);
        Some(GradientsParams::from_grads((loss * scale).backward(), disc))
    } else {
        None
    };
    let (loss, parts) = objective.generator_loss(&out, real, norms, adversarial.then_some(disc))?;
    losses.extend(parts);
    let generator = GradientsParams::from_grads((loss * scale).backward(), codec);
    for (_, v) in &mut losses {
        *v *= scale;
    }
    Ok(ShardOutput { generator, discriminators, losses, quantizer_input: out.quantizer_input })
}

/// Float parameters that train (teacher and codebooks excluded).
fn trainable_params<M: Module>(module: &M) -> usize {
    struct Count(usize);
    impl burn::module::ModuleVisitor for Count {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            if param.is_require_grad() {
                self.0 += param.lazy_shape().num_elements();
            }
        }
    }
    let mut c = Count(0);
    module.visit(&mut c);
    c.0
}

/// The validation clips: each file's first `valid_max_seconds`, at least one frame long.
fn load_valid_clips(cfg: &TrainConfig, rate_hz: u32) -> Result<Vec<Vec<f32>>> {
    if cfg.data.valid_list.as_os_str().is_empty() {
        return Ok(Vec::new());
    }
    let list = AudioList::read(&cfg.data.valid_list, rate_hz)?;
    let max = (cfg.data.valid_max_seconds * rate_hz as f64) as usize;
    list.files
        .iter()
        .map(|f| {
            let mut x = xcodec_core::audio::read_audio(f, rate_hz)?;
            x.truncate(max.max(1));
            Ok(x)
        })
        .collect()
}

/// Encodes and decodes every validation clip at the highest bandwidth (no gradient) and records the mean
/// mel distance, STFT distance, SI-SDR and STOI.
fn validate<P: ExtraParts>(
    codec: &Codec<P>,
    objective: &Objective,
    clips: &[Vec<f32>],
    step: u64,
    metrics: &mut MetricsLog,
    on_event: &mut dyn FnMut(Event),
) -> Result<Record> {
    let model = codec.valid();
    let device = model.fc_prior.weight.lazy_device();
    let bandwidth = *model.target_bandwidths_kbps.last().expect("a codec offers a bandwidth");
    let mut sums: Vec<(String, f64, usize)> = Vec::new();
    for clip in clips {
        let x = to_tensor(std::slice::from_ref(clip), &device);
        let codes = model.encode(x.clone(), bandwidth)?;
        let y = model.decode(codes)?;
        let len = y.dims()[2].min(clip.len());
        let decoded = y.narrow(2, 0, len);
        let mut named = objective.distances(decoded.clone(), x.narrow(2, 0, len))?;
        // STOI needs at least one 25.6 ms frame at 10 kHz: a shorter clip logs none.
        let host = xcodec_core::nn::rows::host_values(decoded);
        if let Ok(v) = crate::eval::stoi::stoi(&clip[..len], &host, model.sample_rate_hz, false) {
            named.push(("stoi".into(), v));
        }
        for (name, v) in named {
            match sums.iter_mut().find(|(n, _, _)| *n == name) {
                Some((_, s, k)) => (*s, *k) = (*s + v, *k + 1),
                None => sums.push((name, v, 1)),
            }
        }
    }
    let values = sums.into_iter().map(|(n, s, k)| (n, s / k as f64)).collect();
    let record = Record { step, kind: "valid".into(), values };
    metrics.append(&record)?;
    on_event(Event::Validated(record.clone()));
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_batch_in_order() {
        let items: Vec<Vec<f32>> = (0..7).map(|i| vec![i as f32]).collect();
        let devices = vec![Device::default(), Device::default()];
        let shards = shard(&items, 2, &devices);
        let sizes: Vec<Vec<usize>> = shards.iter().map(|m| m.iter().map(|(_, s)| s.len()).collect()).collect();
        assert_eq!(sizes, vec![vec![2, 2], vec![2, 1]]);
        let flat: Vec<f32> = shards.iter().flatten().flat_map(|(_, s)| s.iter().map(|v| v[0])).collect();
        assert_eq!(flat, (0..7).map(|i| i as f32).collect::<Vec<_>>());
        assert_eq!(shard(&items[..1], 1, &devices).concat().len(), 1);
    }
}
