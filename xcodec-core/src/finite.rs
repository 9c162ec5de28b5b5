//! Non-finite numbers stopped where they enter: a model whose weights hold NaN or inf (a diverged training
//! run, a corrupt file) would otherwise encode every clip to plausible-looking codes (all zeros) and decode to
//! silence, exit 0. Weights are checked at load ([`check_weights`]), the quantizer's input before quantizing
//! ([`check_input`]).

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

use crate::{Result, XcodecError};

/// Refuses a module with a NaN or infinite weight, naming the first such tensor by its path
/// (`acoustic_encoder.block.0.conv.weight`). Parameters not loaded yet (lazy) are not read.
pub fn check_weights<M: Module>(module: &M) -> Result<()> {
    struct Scan {
        path: Vec<String>,
        bad: Option<String>,
    }
    impl ModuleVisitor for Scan {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if self.bad.is_none() && param.is_initialized() && !all_finite(&param.val()) {
                self.bad = Some(self.path.iter().filter(|p| !p.is_empty()).cloned().collect::<Vec<_>>().join("."));
            }
        }
    }
    let mut scan = Scan { path: Vec::new(), bad: None };
    module.visit(&mut scan);
    match scan.bad {
        None => Ok(()),
        Some(name) => Err(XcodecError::Input(format!(
            "the model's weight {name} holds NaN or infinite values (a diverged run or a damaged file); \
             use an earlier checkpoint or re-download the model"
        ))),
    }
}

/// Refuses a NaN or infinite quantizer input (it would quantize to code 0 everywhere), naming `what`.
pub fn check_input<const D: usize>(x: &Tensor<D>, what: &str) -> Result<()> {
    if all_finite(x) {
        Ok(())
    } else {
        Err(XcodecError::Input(format!(
            "{what} holds NaN or infinite values: the model's weights or the audio are broken (check the input \
             for NaN samples; retrain from an earlier checkpoint if training diverged)"
        )))
    }
}

/// Whether every element is finite (an empty tensor is).
fn all_finite<const D: usize>(x: &Tensor<D>) -> bool {
    x.shape().num_elements() == 0 || x.clone().is_finite().all().into_scalar::<bool>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    #[derive(Module, Debug)]
    struct Two {
        first: Linear,
        second: Linear,
    }

    #[test]
    fn names_the_first_non_finite_weight_and_refuses_non_finite_inputs() {
        let device = burn::tensor::Device::flex();
        let mut model =
            Two { first: LinearConfig::new(3, 4).init(&device), second: LinearConfig::new(4, 2).init(&device) };
        check_weights(&model).unwrap();
        let mut w = model.second.weight.val().into_data().try_to_vec::<f32>().unwrap();
        w[5] = f32::NAN;
        model.second.weight =
            Param::from_tensor(Tensor::<2>::from_data(burn::tensor::TensorData::new(w, [4, 2]), &device));
        let err = check_weights(&model).unwrap_err().to_string();
        assert!(err.contains("second.weight") && err.contains("NaN"), "{err}");
        let x = Tensor::<3>::from_floats([[[1.0, f32::INFINITY]]], &device);
        assert!(check_input(&x, "the quantizer's input").unwrap_err().to_string().contains("quantizer's input"));
        check_input(&Tensor::<3>::zeros([1, 2, 3], &device), "x").unwrap();
    }
}
