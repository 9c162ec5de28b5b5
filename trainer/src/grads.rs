//! Gradient bookkeeping burn does not provide: summing gradients of several replicas, one flat buffer of a
//! module's gradients and back (what replicas and ranks all-reduce), the global gradient-norm clip (torch's
//! `clip_grad_norm_`; burn clips per tensor), and parameter ids by path (the optimiser state is keyed by id,
//! so a resumed model must carry the ids it was saved with).

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use std::collections::{BTreeMap, HashMap};

/// Tracks the dotted module path during a visit.
#[derive(Default)]
struct PathStack(Vec<String>);

impl PathStack {
    fn enter(&mut self, name: &str) {
        self.0.push(name.to_string());
    }
    fn exit(&mut self) {
        self.0.pop();
    }
    fn path(&self) -> String {
        self.0.join(".")
    }
}

/// Every float parameter's id by its dotted path.
pub fn param_ids<M: Module>(module: &M) -> BTreeMap<String, u64> {
    struct Collect(PathStack, BTreeMap<String, u64>);
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.0.enter(name);
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.0.exit();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.1.insert(self.0.path(), param.id.val());
        }
    }
    let mut c = Collect(PathStack::default(), BTreeMap::new());
    module.visit(&mut c);
    c.1
}

/// Gives each float parameter the id `ids` holds for its path (parameters not listed keep theirs).
pub fn restore_param_ids<M: Module>(module: M, ids: &BTreeMap<String, u64>) -> M {
    struct Restore<'a>(PathStack, &'a BTreeMap<String, u64>);
    impl ModuleMapper for Restore<'_> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.0.enter(name);
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.0.exit();
        }
        fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            if let Some(id) = self.1.get(&self.0.path()) {
                param.id = ParamId::from(*id);
            }
            param
        }
    }
    module.map(&mut Restore(PathStack::default(), ids))
}

/// Sums the gradients several replicas computed for `module`'s parameters, on each parameter's device.
pub fn sum_grads<M: Module>(module: &M, mut parts: Vec<GradientsParams>) -> GradientsParams {
    if parts.len() == 1 {
        return parts.pop().expect("one part");
    }
    struct Sum<'a>(&'a mut Vec<GradientsParams>, GradientsParams);
    impl ModuleVisitor for Sum<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let device = param.lazy_device();
            let mut total: Option<Tensor<D>> = None;
            for part in self.0.iter_mut() {
                if let Some(g) = part.remove::<D>(param.id) {
                    let g = g.to_device(&device);
                    total = Some(match total {
                        Some(t) => t + g,
                        None => g,
                    });
                }
            }
            if let Some(t) = total {
                self.1.register(param.id, t);
            }
        }
    }
    let mut sum = Sum(&mut parts, GradientsParams::new());
    module.visit(&mut sum);
    sum.1
}

/// Where each parameter's gradient lies in a flat buffer: `(id, offset, length)` in the module's visiting
/// order. Replicas of one module, given gradients for the same parameters, have the same layout.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlatLayout(pub Vec<(ParamId, usize, usize)>);

impl FlatLayout {
    /// Elements in the buffer.
    pub fn len(&self) -> usize {
        self.0.last().map_or(0, |&(_, at, n)| at + n)
    }

    /// Whether no parameter has a gradient.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The gradients `grads` holds for `module`'s parameters as one flat tensor, and their layout (`None` when it
/// holds none).
pub fn flatten_grads<M: Module>(module: &M, grads: &GradientsParams) -> Option<(Tensor<1>, FlatLayout)> {
    struct Flatten<'a>(&'a GradientsParams, Vec<Tensor<1>>, FlatLayout);
    impl ModuleVisitor for Flatten<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.0.get::<D>(param.id) {
                let n = g.shape().num_elements();
                self.2.0.push((param.id, self.2.len(), n));
                self.1.push(g.reshape([n]));
            }
        }
    }
    let mut f = Flatten(grads, Vec::new(), FlatLayout::default());
    module.visit(&mut f);
    (!f.1.is_empty()).then(|| (Tensor::cat(f.1, 0), f.2))
}

/// The gradients of a flat buffer laid out by [`flatten_grads`], shaped as `module`'s parameters.
pub fn unflatten_grads<M: Module>(module: &M, flat: Tensor<1>, layout: &FlatLayout) -> GradientsParams {
    struct Unflatten<'a>(Tensor<1>, HashMap<ParamId, (usize, usize)>, &'a mut GradientsParams);
    impl ModuleVisitor for Unflatten<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(&(at, n)) = self.1.get(&param.id) {
                let dims: [usize; D] = param.lazy_shape().dims();
                self.2.register(param.id, self.0.clone().narrow(0, at, n).reshape(dims));
            }
        }
    }
    let mut grads = GradientsParams::new();
    let index = layout.0.iter().map(|&(id, at, n)| (id, (at, n))).collect();
    module.visit(&mut Unflatten(flat, index, &mut grads));
    grads
}

/// Scales `grads` so their global L2 norm is at most `max_norm` (as `torch.nn.utils.clip_grad_norm_`, with
/// its 1e-6); returns the norm before clipping. `max_norm <= 0` only measures.
pub fn clip_global_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    struct SquaredNorm<'a>(&'a GradientsParams, f64);
    impl ModuleVisitor for SquaredNorm<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.0.get::<D>(param.id) {
                self.1 += g.powi_scalar(2).sum().into_scalar::<f64>();
            }
        }
    }
    struct Scale<'a>(&'a mut GradientsParams, f64);
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.0.remove::<D>(param.id) {
                self.0.register(param.id, g * self.1);
            }
        }
    }
    let mut sq = SquaredNorm(grads, 0.0);
    module.visit(&mut sq);
    let norm = sq.1.sqrt();
    let coef = max_norm / (norm + 1e-6);
    if max_norm > 0.0 && coef < 1.0 {
        module.visit(&mut Scale(grads, coef));
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::Device;

    fn grads_of(model: &Linear, scale: f32) -> GradientsParams {
        let x = Tensor::<2>::ones([2, 3], &model.weight.lazy_device()) * scale;
        let loss = model.forward(x).sum();
        GradientsParams::from_grads(loss.backward(), model)
    }

    #[test]
    fn clipping_is_global_and_summing_adds() {
        let device = Device::flex().autodiff();
        let model = LinearConfig::new(3, 2).init(&device);
        // d(sum(xW + b))/dW = 2 * scale everywhere (batch 2), d/db = 2: norm = sqrt(6 * 4 s^2 + 2 * 4).
        let mut g = grads_of(&model, 1.0);
        let norm = clip_global_norm(&model, &mut g, 0.0);
        assert!((norm - (6.0 * 4.0 + 2.0 * 4.0f64).sqrt()).abs() < 1e-5, "{norm}");
        let mut summed = sum_grads(&model, vec![grads_of(&model, 1.0), grads_of(&model, 2.0)]);
        let w: Tensor<2> = summed.get(model.weight.id).unwrap();
        assert!(w.into_data().try_to_vec::<f32>().unwrap().iter().all(|&v| (v - 6.0).abs() < 1e-6));
        let before = clip_global_norm(&model, &mut summed, 1.0);
        let after = clip_global_norm(&model, &mut summed, 0.0);
        assert!(before > 1.0 && (after - 1.0).abs() < 1e-5, "{before} -> {after}");
    }

    #[test]
    fn flat_buffers_round_trip() {
        let device = Device::flex().autodiff();
        let model = LinearConfig::new(3, 2).init(&device);
        let grads = grads_of(&model, 1.5);
        let (flat, layout) = flatten_grads(&model, &grads).unwrap();
        assert_eq!(layout.len(), 8);
        let back = unflatten_grads(&model, flat * 2.0, &layout);
        let w: Tensor<2> = back.get(model.weight.id).unwrap();
        let w0: Tensor<2> = grads.get(model.weight.id).unwrap();
        assert_eq!(w.into_data().try_to_vec::<f32>().unwrap(), (w0 * 2.0).into_data().try_to_vec::<f32>().unwrap());
        let b: Tensor<1> = back.get(model.bias.as_ref().unwrap().id).unwrap();
        assert_eq!(b.dims(), [2]);
        assert!(flatten_grads(&model, &GradientsParams::new()).is_none());
    }

    #[test]
    fn ids_round_trip_by_path() {
        let device = Device::flex();
        let a = LinearConfig::new(3, 2).init(&device);
        let b = LinearConfig::new(3, 2).init(&device);
        let ids = param_ids(&a);
        assert_eq!(ids.keys().cloned().collect::<Vec<_>>(), ["bias", "weight"]);
        assert_ne!(param_ids(&b), ids);
        assert_eq!(param_ids(&restore_param_ids(b, &ids)), ids);
    }
}
