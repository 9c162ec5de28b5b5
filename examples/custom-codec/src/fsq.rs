//! The `fsq` quantizer: finite scalar quantization (Mentzer et al., 2023). The vector is cut into groups of
//! `group_dims` values; each value is squashed by `tanh` into `levels` evenly spaced levels and rounded, and
//! a group's code is its digits read in base `levels`. No codebooks to learn: the gradient passes the
//! rounding straight through, and there is no commitment loss. Each group is one "codebook" to the
//! composite (`levels ^ group_dims` entries); at a lower bandwidth the later groups are left out (zero).

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use xcodec_core::{Quantizer, QuantizerTrainOutput, Result, XcodecError};

/// The `fsq` part's params (`[quantizer.params]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FsqConfig {
    /// Levels per value; odd, so that zero is a level.
    pub levels: usize,
    /// Values per group (per code).
    pub group_dims: usize,
}

impl Default for FsqConfig {
    fn default() -> Self {
        // 5^4 = 625 entries: 10 bits a code, 0.5 kbps a group at 50 frames/s.
        Self { levels: 5, group_dims: 4 }
    }
}

impl FsqConfig {
    /// Parses and checks a `params` table (one-line errors).
    pub fn from_params(params: &toml::Table) -> Result<Self> {
        let cfg: Self = xcodec_core::config::parse_params("fsq", params)?;
        let entries = u32::try_from(cfg.group_dims).ok().and_then(|d| cfg.levels.checked_pow(d));
        if cfg.levels < 3 || cfg.levels.is_multiple_of(2) || cfg.group_dims == 0 || entries.is_none_or(|n| n > 1 << 24)
        {
            return Err(XcodecError::Config(format!(
                "[fsq] params: levels = {} must be odd and at least 3, group_dims = {} positive, and levels^group_dims at most 2^24",
                cfg.levels, cfg.group_dims
            )));
        }
        Ok(cfg)
    }
}

/// Finite scalar quantizer of `dim`-wide vectors in `dim / group_dims` groups; weightless.
#[derive(Module, Debug)]
pub struct Fsq {
    /// Width of the vectors.
    pub dim: usize,
    /// Levels per value.
    pub levels: usize,
    /// Values per group.
    pub group_dims: usize,
}

impl Fsq {
    /// The quantizer for vectors of width `dim`, which the groups must tile.
    pub fn new(cfg: &FsqConfig, dim: usize) -> Result<Self> {
        if !dim.is_multiple_of(cfg.group_dims) {
            return Err(XcodecError::Config(format!(
                "[fsq] params: group_dims = {} does not divide the quantized width {dim} (acoustic latent + teacher width)",
                cfg.group_dims
            )));
        }
        Ok(Self { dim, levels: cfg.levels, group_dims: cfg.group_dims })
    }

    /// Half the level range: values are rounded to the integers in `[-half, half]`.
    fn half(&self) -> f64 {
        (self.levels - 1) as f64 / 2.0
    }

    /// `levels ^ j` for each value of a group, as `[1, 1, group_dims, 1]`.
    fn place_values(&self, device: &Device) -> Tensor<4> {
        let values: Vec<f32> = (0..self.group_dims).map(|j| self.levels.pow(j as u32) as f32).collect();
        Tensor::from_data(TensorData::new(values, [1, 1, self.group_dims, 1]), device)
    }

    /// The first `groups` groups of `x [batch, dim, frames]`, squashed to `[-half, half]`.
    fn squash(&self, x: Tensor<3>, groups: usize) -> Tensor<3> {
        x.narrow(1, 0, groups * self.group_dims).tanh().mul_scalar(self.half())
    }

    /// Scaled levels `[batch, groups * group_dims, frames]` -> `[batch, dim, frames]`, in `[-1, 1]`, zero
    /// past the groups given.
    fn widen(&self, levels: Tensor<3>) -> Tensor<3> {
        let [batch, width, frames] = levels.dims();
        let values = levels.div_scalar(self.half());
        if width == self.dim {
            return values;
        }
        let rest = Tensor::zeros([batch, self.dim - width, frames], &values.device());
        Tensor::cat(vec![values, rest], 1)
    }
}

impl Quantizer for Fsq {
    fn dim(&self) -> usize {
        self.dim
    }
    fn codebook_size(&self) -> usize {
        self.levels.pow(self.group_dims as u32)
    }
    fn num_quantizers(&self) -> usize {
        self.dim / self.group_dims
    }

    fn encode(&self, x: Tensor<3>, n_q: usize) -> Tensor<3, Int> {
        let [batch, _, frames] = x.dims();
        let (groups, device) = (n_q.min(self.num_quantizers()), x.device());
        let digits =
            self.squash(x, groups).round().add_scalar(self.half()).reshape([batch, groups, self.group_dims, frames]);
        let codes = (digits * self.place_values(&device)).sum_dim(2);
        codes.reshape([batch, groups, frames]).swap_dims(0, 1).int()
    }

    fn decode(&self, codes: Tensor<3, Int>) -> Tensor<3> {
        let [groups, batch, frames] = codes.dims();
        let codes = codes.swap_dims(0, 1).reshape([batch, groups, 1, frames]);
        let digits: Vec<Tensor<4, Int>> = (0..self.group_dims)
            .map(|j| codes.clone().div_scalar(self.levels.pow(j as u32) as i64).remainder_scalar(self.levels as i64))
            .collect();
        let levels = Tensor::cat(digits, 2).float().sub_scalar(self.half());
        self.widen(levels.reshape([batch, groups * self.group_dims, frames]))
    }

    fn forward_train(&self, x: Tensor<3>, n_q: usize) -> QuantizerTrainOutput {
        let groups = n_q.min(self.num_quantizers());
        let squashed = self.squash(x.clone(), groups);
        // Straight-through: the forward value is rounded, the gradient is the squash's.
        let rounded = squashed.clone() + (squashed.clone().round() - squashed).detach();
        QuantizerTrainOutput {
            quantized: self.widen(rounded),
            codes: self.encode(x.clone().detach(), n_q),
            commitment_loss: Tensor::zeros([1], &x.device()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn decoding_the_codes_gives_the_training_forward_and_fewer_groups_zero_the_rest() {
        let device = Device::flex();
        let fsq = Fsq::new(&FsqConfig::default(), 12).unwrap();
        assert_eq!((fsq.num_quantizers(), fsq.codebook_size()), (3, 625));
        let x = Tensor::<3>::random([2, 12, 5], Distribution::Normal(0.0, 2.0), &device);
        for n_q in 1..=3 {
            let codes = fsq.encode(x.clone(), n_q);
            assert_eq!(codes.dims(), [n_q, 2, 5]);
            let (lo, hi) = (codes.clone().min().into_scalar::<i64>(), codes.clone().max().into_scalar::<i64>());
            assert!(lo >= 0 && hi < 625, "codes {lo}..={hi}");
            let decoded = fsq.decode(codes);
            fsq.forward_train(x.clone(), n_q)
                .quantized
                .into_data()
                .assert_approx_eq::<f32>(&decoded.clone().into_data(), Default::default());
            if n_q < 3 {
                let tail = decoded.narrow(1, n_q * 4, 12 - n_q * 4).abs().sum().into_scalar::<f32>();
                assert_eq!(tail, 0.0, "groups past {n_q} are not zero");
            }
        }
    }

    #[test]
    fn a_width_the_groups_do_not_tile_is_refused() {
        let err = Fsq::new(&FsqConfig::default(), 10).unwrap_err().to_string();
        assert!(err.contains("does not divide the quantized width 10"), "{err}");
        let even = toml::Table::from_iter([("levels".to_string(), toml::Value::Integer(4))]);
        assert!(FsqConfig::from_params(&even).unwrap_err().to_string().contains("must be odd"));
    }
}
