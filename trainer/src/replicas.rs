//! The replicas of one training process: one per device, made once when training starts and kept, each with
//! its own optimisers. Every step each replica computes gradients on its share of the batch; the gradients
//! of all replicas of all ranks are summed as one flat buffer; then every replica clips and applies the same
//! sum with the same optimiser state, so the replicas stay identical without any copy of weights (the
//! optimiser's arithmetic is repeated per device, as PyTorch's DDP does: cheaper than broadcasting weights,
//! which would move as many bytes again every step).

use crate::dist::World;
use crate::error::{Result, TrainError};
use crate::grads::{FlatLayout, flatten_grads, unflatten_grads};
use crate::objective::Discriminators;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::distributed::{DistributedConfig, DistributedContext, ReduceOperation, all_reduce};
use burn::tensor::{Device, Tensor, TensorData};
use xcodec_builtin::{Codec, ExtraParts};

/// How the replicas of one process add up their gradients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceReduce {
    /// Through host memory, in replica order: any backend (burn 0.22.1 has collectives only for CUDA).
    #[default]
    Host,
    /// burn's collective `all_reduce` between the devices (CUDA: NCCL through cubecl).
    Collective,
}

/// One device's model, discriminators and optimisers.
pub struct Replica<P: ExtraParts> {
    /// Where it computes (autodiff).
    pub device: Device,
    /// The generator.
    pub codec: Codec<P>,
    /// The discriminators.
    pub disc: Discriminators,
    /// The generator's optimiser.
    pub optim_g: ModuleOptimizer,
    /// The discriminators' optimiser.
    pub optim_d: ModuleOptimizer,
}

/// The gradients one replica computed in a step (none when its share was empty).
pub struct ReplicaGrads {
    /// Generator gradients.
    pub generator: GradientsParams,
    /// Discriminator gradients, when the step is adversarial.
    pub discriminators: Option<GradientsParams>,
}

/// Gradient norms of a step before clipping.
#[derive(Debug, Clone, Copy, Default)]
pub struct Norms {
    /// The generator's.
    pub generator: f64,
    /// The discriminators'.
    pub discriminators: f64,
}

/// A process's replicas, the first on the main device.
pub struct Replicas<P: ExtraParts> {
    /// The replicas, in device order.
    pub list: Vec<Replica<P>>,
    copies: usize,
    reduce: DeviceReduce,
    _context: Option<DistributedContext>,
}

impl<P: ExtraParts> Replicas<P> {
    /// `first` and one copy of it on each of `more` devices (the only copies of the model a run makes).
    pub fn new(first: Replica<P>, more: &[Device], reduce: DeviceReduce) -> Self {
        let mut list = Vec::with_capacity(more.len() + 1);
        for device in more {
            list.push(Replica {
                device: device.clone(),
                codec: first.codec.clone().fork(device),
                disc: first.disc.clone().fork(device),
                optim_g: first.optim_g.clone(),
                optim_d: first.optim_d.clone(),
            });
        }
        list.insert(0, first);
        let reduce = if list.len() > 1 { reduce } else { DeviceReduce::Host };
        let context = (reduce == DeviceReduce::Collective).then(|| {
            let devices = list.iter().map(|r| r.device.clone()).collect();
            DistributedContext::init(devices, DistributedConfig { all_reduce_op: ReduceOperation::Sum })
        });
        Self { copies: list.len() - 1, list, reduce, _context: context }
    }

    /// The replica on the main device (the one validated and saved).
    pub fn main(&self) -> &Replica<P> {
        &self.list[0]
    }

    /// Copies of the model made so far (one per extra device, at the start; steps make none).
    pub fn copies(&self) -> usize {
        self.copies
    }

    /// Sums every replica's and every rank's gradients (one flat buffer), clips the sum by global norm
    /// (generator and discriminators each to `max_norm`) and steps every replica's optimisers with it.
    pub fn apply(&mut self, grads: Vec<ReplicaGrads>, lr: f64, max_norm: f64, world: &dyn World) -> Result<Norms> {
        let gens: Vec<_> = grads.iter().zip(&self.list).map(|(g, r)| flatten_grads(&r.codec, &g.generator)).collect();
        let discs: Vec<_> = grads
            .iter()
            .zip(&self.list)
            .map(|(g, r)| g.discriminators.as_ref().and_then(|d| flatten_grads(&r.disc, d)))
            .collect();
        let (g_layout, d_layout) = (layout_of(&gens), layout_of(&discs));
        let (g_len, d_len) = (g_layout.len(), d_layout.len());
        let len = g_len + d_len;
        let first = world.broadcast_u64(len as u64);
        if first != len as u64 {
            return Err(TrainError::Distributed(format!(
                "rank {} has {len} gradient values this step and rank 0 has {first}: the ranks run different \
                 configs or models; start every rank with the same command",
                world.rank()
            )));
        }
        let flats: Vec<Option<Tensor<1>>> = gens
            .into_iter()
            .zip(discs)
            .map(|(g, d)| match (g.map(|g| g.0), d.map(|d| d.0)) {
                (Some(a), Some(b)) => Some(Tensor::cat(vec![a, b], 0)),
                (a, b) => a.or(b),
            })
            .collect();
        let sums = match self.reduce {
            DeviceReduce::Host => self.host_sum(flats, len, world),
            DeviceReduce::Collective => self.collective_sum(flats, len, world),
        };
        let reference = sums[0].clone();
        let norm = |at: usize, n: usize| {
            if n == 0 {
                0.0
            } else {
                reference.clone().narrow(0, at, n).powi_scalar(2).sum().into_scalar::<f64>().sqrt()
            }
        };
        let norms = Norms { generator: norm(0, g_len), discriminators: norm(g_len, d_len) };
        let (g_coef, d_coef) = (clip_coef(norms.generator, max_norm), clip_coef(norms.discriminators, max_norm));
        let list = std::mem::take(&mut self.list);
        self.list = list
            .into_iter()
            .zip(sums)
            .map(|(r, flat)| {
                let Replica { device, codec, disc, mut optim_g, mut optim_d } = r;
                let g = unflatten_grads(&codec, flat.clone().narrow(0, 0, g_len) * g_coef, &g_layout);
                let codec = optim_g.step(lr, codec, g);
                let disc = if d_len > 0 {
                    let d = unflatten_grads(&disc, flat.narrow(0, g_len, d_len) * d_coef, &d_layout);
                    optim_d.step(lr, disc, d)
                } else {
                    disc
                };
                Replica { device, codec, disc, optim_g, optim_d }
            })
            .collect();
        Ok(norms)
    }

    /// The sum through host memory, uploaded to every replica's device.
    fn host_sum(&self, flats: Vec<Option<Tensor<1>>>, len: usize, world: &dyn World) -> Vec<Tensor<1>> {
        let mut total = vec![0f32; len];
        for flat in flats.into_iter().flatten() {
            let values = flat.into_data().try_into_vec::<f32>().expect("gradients are f32");
            total.iter_mut().zip(values).for_each(|(t, v)| *t += v);
        }
        world.sum_f32(&mut total);
        self.list.iter().map(|r| Tensor::from_data(TensorData::new(total.clone(), [len]), &r.device)).collect()
    }

    /// The sum by burn's collective between the devices, then (several ranks) through host memory.
    fn collective_sum(&self, flats: Vec<Option<Tensor<1>>>, len: usize, world: &dyn World) -> Vec<Tensor<1>> {
        let flats: Vec<Tensor<1>> = flats
            .into_iter()
            .zip(&self.list)
            .map(|(f, r)| f.unwrap_or_else(|| Tensor::zeros([len], &r.device.clone().inner())))
            .collect();
        let devices: Vec<Device> = flats.iter().map(Tensor::device).collect();
        let pending: Vec<_> = flats.into_iter().map(|f| all_reduce(f, ReduceOperation::Sum, devices.clone())).collect();
        let sums: Vec<Tensor<1>> = pending.into_iter().map(|c| c.resolve()).collect();
        if world.size() == 1 {
            return sums;
        }
        let mut total = sums[0].clone().into_data().try_into_vec::<f32>().expect("gradients are f32");
        world.sum_f32(&mut total);
        devices.iter().map(|d| Tensor::from_data(TensorData::new(total.clone(), [len]), d)).collect()
    }

    /// Runs `f` on every replica's generator with `x` moved to its device (codebook initialisation and EMA
    /// steps: every replica takes the same one).
    pub fn for_each_codec(&mut self, x: Tensor<3>, mut f: impl FnMut(&mut Codec<P>, Tensor<3>)) {
        for r in &mut self.list {
            let local = x.clone().to_device(&r.device);
            f(&mut r.codec, local);
        }
    }
}

/// The layout of the first replica that computed any gradient (all that did share it).
fn layout_of(flats: &[Option<(Tensor<1>, FlatLayout)>]) -> FlatLayout {
    flats.iter().flatten().map(|(_, layout)| layout.clone()).next().unwrap_or_default()
}

/// torch's `clip_grad_norm_` factor: `max_norm / (norm + 1e-6)` when that is below one, else one (and one
/// for `max_norm <= 0`, which only measures).
fn clip_coef(norm: f64, max_norm: f64) -> f64 {
    let coef = max_norm / (norm + 1e-6);
    if max_norm > 0.0 && coef < 1.0 { coef } else { 1.0 }
}
