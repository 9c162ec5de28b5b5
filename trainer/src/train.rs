//! The GAN training loop, readable in one pass: for each step, every replica (one per device, kept for the
//! whole run) runs the generator on its shares of the micro-batches, takes the discriminators' and the
//! generator's gradients against the same discriminators; the gradients of all replicas of all ranks are
//! summed as one flat buffer, clipped by global norm and applied by every replica's two AdamW optimisers;
//! then the codebooks take their EMA step on the whole batch. Checkpoints, validation and metrics around it
//! (rank 0 only). A job of several ranks (MPI) splits every step's batch between them; one step of N ranks
//! equals one process with the same global batch (see `docs/src/training.md`).
//!
//! Difference from the reference loop: X-Codec steps the discriminators first and computes the generator's
//! adversarial loss with the updated ones; here both gradients are taken against the discriminators of the
//! step's start, which keeps micro-batching and data parallelism exact without holding every shard's graph.

use crate::checkpoint;
use crate::config::TrainConfig;
use crate::data::{AudioList, Cropper, Loader, derive_seed};
use crate::dist::{Alone, World};
use crate::error::{Result, TrainError};
use crate::grads::sum_grads;
use crate::metrics::{MetricsLog, Record, read_records};
use crate::objective::{Discriminators, Objective, StepNorms};
use crate::replicas::{DeviceReduce, Replica, ReplicaGrads, Replicas};
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use std::path::{Path, PathBuf};
use std::rc::Rc;
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
    /// How the devices' replicas add up their gradients.
    pub device_reduce: DeviceReduce,
    /// The job's ranks: [`Alone`], or an MPI job whose ranks each run this with the same options.
    pub world: Rc<dyn World>,
}

impl TrainOptions {
    /// A fresh single-process run of `config` in `run_dir` on `devices` (host reduction between them).
    pub fn new(config: TrainConfig, run_dir: PathBuf, devices: Vec<Device>) -> Self {
        Self {
            config,
            model: None,
            run_dir,
            resume: false,
            devices,
            device_reduce: DeviceReduce::Host,
            world: Rc::new(Alone),
        }
    }
}

/// What the loop reports as it goes (on rank 0 only).
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
    /// Copies of the model made for the devices' replicas (at the start: one per extra device).
    pub replica_copies: usize,
}

/// One shard's results: its gradients, its losses (scaled by its share of the step) and the detached
/// quantizer input (for the codebooks' EMA step).
struct ShardOutput {
    generator: GradientsParams,
    discriminators: Option<GradientsParams>,
    losses: Vec<(String, f64)>,
    quantizer_input: Tensor<3>,
}

/// One replica's step: its gradients summed over its shards, its losses, and its shard of each micro-batch's
/// quantizer input (`None` where its share was empty).
struct ReplicaOutput {
    grads: ReplicaGrads,
    losses: Vec<(String, f64)>,
    inputs: Vec<Option<Tensor<3>>>,
}

/// Trains until `config.train.max_steps`, reporting through `on_event`.
pub fn train<P: ExtraParts>(opts: TrainOptions, on_event: &mut dyn FnMut(Event)) -> Result<Summary> {
    let TrainOptions { config: cfg, model, run_dir, resume, devices, device_reduce, world } = opts;
    let world = world.as_ref();
    cfg.validate()?;
    let devices: Vec<Device> = devices.into_iter().map(|d| d.autodiff()).collect();
    let main = devices.first().cloned().ok_or_else(|| XcodecError::Config("no training device given".into()))?;
    let per_step = cfg.train.batch_size * cfg.train.accumulate;
    if per_step < world.size() {
        return Err(XcodecError::Config(format!(
            "train.batch_size x train.accumulate = {per_step} crops a step for {} ranks: every rank needs one; \
             raise train.batch_size or start fewer ranks",
            world.size()
        ))
        .into());
    }
    let last = checkpoint::list_checkpoints(&run_dir).pop();
    let seen = last.as_ref().map_or(u64::MAX, |(step, _)| *step);
    let root_seen = world.broadcast_u64(seen);
    if root_seen != seen {
        let name = |s: u64| if s == u64::MAX { "no checkpoint".to_string() } else { format!("checkpoint {s}") };
        return Err(TrainError::Distributed(format!(
            "rank {} sees {} in {} and rank 0 sees {}: put the run directory on a filesystem every rank shares",
            world.rank(),
            name(seen),
            run_dir.display(),
            name(root_seen)
        )));
    }
    if !resume && last.is_some() {
        return Err(TrainError::run_dir(
            &run_dir,
            "already holds a training run; pass --resume to continue it, or choose another -o",
        ));
    }

    let seed = cfg.train.seed;
    main.seed(seed);
    let fresh_optims = || [adamw(&cfg), adamw(&cfg)];
    let (codec_cfg, objective, mut codec, mut disc, optim_g, optim_d, start) = match (&last, resume) {
        (Some((_, dir)), true) => {
            let rate = CodecConfig::load(dir.join("config.toml"))?.sample_rate_hz;
            let objective = Objective::new(&cfg, rate, &main)?;
            let r = checkpoint::load::<_, P>(dir, objective.build_discriminators(&main)?, fresh_optims(), &main)?;
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
    let root = world.is_root();
    let valid_clips = if root { load_valid_clips(&cfg, codec_cfg.sample_rate_hz)? } else { Vec::new() };
    let samples = cfg.data.segment_samples;
    let out_len = samples.min(codec.output_frames(samples) * codec.hop_length());
    if objective.adversarial() {
        disc.valid().forward(Tensor::zeros([1, 1, out_len], &main.clone().inner())).map_err(|e| {
            XcodecError::Config(format!(
                "data.segment_samples = {samples}: {e} (raise data.segment_samples or change [discriminator])"
            ))
        })?;
    }
    let trainable = (trainable_params(&codec), trainable_params(&disc));
    let first = Replica { device: main.clone(), codec, disc, optim_g, optim_d };
    let mut replicas = Replicas::new(first, &devices[1..], device_reduce);
    let mut metrics = None;
    // One run a directory: a second `train` into the same -o stops here instead of replacing the first's files.
    let _lock = if root { Some(lock_run_dir(&run_dir)?) } else { None };
    if root {
        let mut run_cfg = cfg.clone();
        run_cfg.codec = Some(codec_cfg.clone());
        xcodec_core::io::write_atomic(&run_dir.join(RUN_CONFIG), run_cfg.to_toml().as_bytes())?;
        metrics = Some(MetricsLog::open(&run_dir.join(METRICS), resume.then_some(start))?);
        on_event(Event::Started { start, end, trainable });
    }
    let share = world.share(per_step);
    let mut loader = Loader::start_share(cropper, start, end, per_step, share, cfg.data.workers);

    let mut last_validation = None;
    let validating = cfg.train.valid_every > 0 && !valid_clips.is_empty();
    if let Some(log) = metrics.as_mut().filter(|_| start == 0 && validating) {
        last_validation = Some(validate(&replicas.main().codec, &objective, &valid_clips, 0, log, on_event)?);
    }
    let mut last_checkpoint = last.map(|(_, dir)| dir);
    let mut saved_at = start;
    for step in start..end {
        let t0 = Instant::now();
        let batch = loader.next_batch().expect("loader covers the run")?;
        let n_q = codebooks_this_step(&cfg, &replicas.main().codec, step);
        let adversarial = step >= cfg.train.disc_start_step && objective.adversarial();
        let whole = to_tensor(&batch.items, &main);
        if step == 0 {
            let codec = &replicas.main().codec;
            let teacher = codec.teacher_features(&whole);
            let x = gather_rows(world, codec.joint_embedding(whole.clone(), teacher).detach());
            replicas.for_each_codec(x, |c, x| {
                c.quantizer.init_codebooks(x, derive_seed(seed, 5, 0));
            });
        }
        let mut norm_sums = objective.step_norm_sums(whole.narrow(2, 0, out_len))?;
        world.sum_f64(&mut norm_sums);
        let norms = objective.step_norms_from_sums(&norm_sums);
        let shares = shard(&batch.items, cfg.train.accumulate, replicas.list.len());
        let step_items = per_step as f64;
        let outputs: Vec<ReplicaOutput> = std::thread::scope(|s| {
            let handles: Vec<_> = replicas
                .list
                .iter()
                .enumerate()
                .map(|(r, replica)| {
                    let (objective, norms, shares) = (&objective, &norms, &shares);
                    s.spawn(move || replica_step(replica, r, shares, objective, norms, n_q, step_items, adversarial))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("training replica panicked")).collect::<Result<Vec<_>>>()
        })?;
        let mut losses: Vec<(String, f64)> = Vec::new();
        for out in &outputs {
            for (name, v) in &out.losses {
                match losses.iter_mut().find(|(n, _)| n == name) {
                    Some((_, total)) => *total += v,
                    None => losses.push((name.clone(), *v)),
                }
            }
        }
        let mut values: Vec<f64> = losses.iter().map(|(_, v)| *v).collect();
        world.sum_f64(&mut values);
        losses.iter_mut().zip(values).for_each(|((_, v), total)| *v = total);
        // The step's quantizer inputs in item order: micro-batch by micro-batch, each device's shard in turn.
        let (grads, inputs): (Vec<ReplicaGrads>, Vec<Vec<Option<Tensor<3>>>>) =
            outputs.into_iter().map(|o| (o.grads, o.inputs)).unzip();
        let ordered: Vec<Tensor<3>> = (0..shares.len())
            .flat_map(|m| inputs.iter().filter_map(move |per_replica| per_replica[m].clone()))
            .map(|t| t.to_device(&main))
            .collect();
        let lr = cfg.learning_rate(step);
        let grad_norms = replicas.apply(grads, lr, cfg.train.grad_clip, world)?;
        let x = gather_rows(world, Tensor::cat(ordered, 0));
        replicas.for_each_codec(x, |c, x| c.quantizer.update_codebooks(x, n_q, derive_seed(seed, 4, step)));

        let done = step + 1;
        losses.extend([
            ("n_q".to_string(), n_q as f64),
            ("lr".to_string(), lr),
            ("grad_norm_generator".to_string(), grad_norms.generator),
            ("grad_norm_discriminators".to_string(), grad_norms.discriminators),
            ("seconds".to_string(), t0.elapsed().as_secs_f64()),
        ]);
        if losses.iter().any(|(_, v)| !v.is_finite()) {
            let losses = losses.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join(", ");
            return Err(TrainError::NonFinite { step: done, losses });
        }
        let Some(log) = metrics.as_mut() else { continue };
        let record = Record { step: done, kind: "train".into(), values: losses };
        log.append(&record)?;
        on_event(Event::Step(record));

        if validating && done % cfg.train.valid_every == 0 {
            last_validation = Some(validate(&replicas.main().codec, &objective, &valid_clips, done, log, on_event)?);
        }
        if done % cfg.train.checkpoint_every == 0 || done == end {
            let dir = save(&run_dir, done, &codec_cfg, replicas.main(), cfg.train.keep_checkpoints)?;
            crate::curves::plot(&read_records(log.path()), &run_dir.join(CURVES))?;
            on_event(Event::Checkpoint { step: done, dir: dir.clone() });
            last_checkpoint = Some(dir);
            saved_at = done;
        }
    }
    let steps = start.max(end);
    let checkpoint = match last_checkpoint {
        Some(dir) if saved_at == steps || !root => dir,
        _ if !root => checkpoint::checkpoint_dir(&run_dir, steps),
        _ => save(&run_dir, steps, &codec_cfg, replicas.main(), cfg.train.keep_checkpoints)?,
    };
    Ok(Summary { steps, checkpoint, last_validation, replica_copies: replicas.copies() })
}

/// Writes the checkpoint of `replica` after `step` steps.
fn save<P: ExtraParts>(run: &Path, step: u64, cfg: &CodecConfig, replica: &Replica<P>, keep: usize) -> Result<PathBuf> {
    let Replica { codec, disc, optim_g, optim_d, .. } = replica;
    checkpoint::save(run, step, cfg, codec, disc, optim_g, optim_d, keep)
}

/// Every rank's rows of `x [rows, dim, frames]` in rank order (`x` itself in a one-process job).
fn gather_rows(world: &dyn World, x: Tensor<3>) -> Tensor<3> {
    if world.size() == 1 {
        return x;
    }
    let [_, dim, frames] = x.dims();
    let device = x.device();
    let local = x.into_data().try_into_vec::<f32>().expect("f32 inputs");
    let all = world.gather_f32(&local);
    let rows = all.len() / (dim * frames).max(1);
    Tensor::from_data(TensorData::new(all, [rows, dim, frames]), &device)
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

/// Splits a step's items into `accumulate` micro-batches, each split across `replicas` (contiguous runs,
/// as even as possible; a replica whose share is empty gets an empty slice). `[micro][replica]`.
fn shard(items: &[Vec<f32>], accumulate: usize, replicas: usize) -> Vec<Vec<&[Vec<f32>]>> {
    let micro = |m: usize| &items[crate::dist::share(items.len(), accumulate, m)];
    (0..accumulate.max(1))
        .map(micro)
        .filter(|m| !m.is_empty())
        .map(|m| (0..replicas).map(|r| &m[crate::dist::share(m.len(), replicas, r)]).collect())
        .collect()
}

/// `acc + grads` (just `grads` for the first shard).
fn add_grads<M: Module>(module: &M, acc: Option<GradientsParams>, grads: GradientsParams) -> GradientsParams {
    match acc {
        Some(acc) => sum_grads(module, vec![acc, grads]),
        None => grads,
    }
}

/// One replica's part of a step: each micro-batch's share in turn, gradients summed on its device.
#[allow(clippy::too_many_arguments)]
fn replica_step<P: ExtraParts>(
    replica: &Replica<P>,
    index: usize,
    shares: &[Vec<&[Vec<f32>]>],
    objective: &Objective,
    norms: &StepNorms,
    n_q: usize,
    step_items: f64,
    adversarial: bool,
) -> Result<ReplicaOutput> {
    let (mut generator, mut discriminators): (Option<GradientsParams>, Option<GradientsParams>) = (None, None);
    let mut losses: Vec<(String, f64)> = Vec::new();
    let mut inputs = Vec::with_capacity(shares.len());
    for micro in shares {
        let items = micro[index];
        if items.is_empty() {
            inputs.push(None);
            continue;
        }
        let scale = items.len() as f64 / step_items;
        let audio = to_tensor(items, &replica.device);
        let out = shard_step(&replica.codec, &replica.disc, objective, norms, audio, n_q, scale, adversarial)?;
        generator = Some(add_grads(&replica.codec, generator, out.generator));
        if let Some(d) = out.discriminators {
            discriminators = Some(add_grads(&replica.disc, discriminators, d));
        }
        for (name, v) in out.losses {
            match losses.iter_mut().find(|(n, _)| *n == name) {
                Some((_, total)) => *total += v,
                None => losses.push((name, v)),
            }
        }
        inputs.push(Some(out.quantizer_input));
    }
    let grads = ReplicaGrads { generator: generator.unwrap_or_else(GradientsParams::new), discriminators };
    Ok(ReplicaOutput { grads, losses, inputs })
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

/// The run directory's lock, held for the run (created with the directory; released on any exit).
fn lock_run_dir(run_dir: &Path) -> Result<std::fs::File> {
    xcodec_core::io::try_lock(&run_dir.join(".lock"))?.ok_or_else(|| {
        TrainError::run_dir(
            run_dir,
            "is used by another training run right now; wait for it to end or choose another -o",
        )
    })
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
        let shards = shard(&items, 2, 2);
        let sizes: Vec<Vec<usize>> = shards.iter().map(|m| m.iter().map(|s| s.len()).collect()).collect();
        assert_eq!(sizes, vec![vec![2, 2], vec![2, 1]]);
        let flat: Vec<f32> = shards.iter().flatten().flat_map(|s| s.iter().map(|v| v[0])).collect();
        assert_eq!(flat, (0..7).map(|i| i as f32).collect::<Vec<_>>());
        assert_eq!(shard(&items[..1], 1, 2), vec![vec![&items[..1], &items[1..1]]]);
    }
}
