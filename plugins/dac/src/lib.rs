//! DAC (Descript Audio Codec) encoder and decoder exactly as X-Codec uses them: Snake activations,
//! weight-normed convs, residual units with dilations 1/3/9, strided blocks; no final tanh, transposed
//! convs with `output_padding = stride % 2`. Registered as the acoustic part `dac`.

mod config;
mod decoder;
mod encoder;
mod snake;

pub use config::DacConfig;
pub use decoder::{DacDecoder, DacDecoderBlock};
pub use encoder::{DacEncoder, DacEncoderBlock, DacResidualUnit};
pub use snake::Snake1d;

/// The acoustic part name this crate registers.
pub const DAC: &str = "dac";

inventory::submit! {
    xcodec_core::PartEntry {
        role: xcodec_core::Role::Acoustic,
        name: DAC,
        description: "DAC encoder/decoder (Snake, weight-normed convs; X-Codec's acoustic backbone)",
        default_params: || xcodec_core::config::params_table(&DacConfig::default()),
        check_params: |p| DacConfig::from_params(p).map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution, Tensor, TensorData};
    use proptest::prelude::*;
    use xcodec_core::{AcousticDecoder, AcousticEncoder};

    fn tiny() -> DacConfig {
        DacConfig { encoder_width: 2, strides: vec![2, 3, 2], latent_dim: 4, decoder_width: 16, ..DacConfig::default() }
    }

    #[test]
    fn snake_is_x_plus_sin_squared_over_alpha() {
        let device = Device::flex();
        let snake = Snake1d::new(2, &device);
        let x = Tensor::<3>::from_data(TensorData::new(vec![0.5f32, -1.0, 2.0, 0.0], [1, 2, 2]), &device);
        let y: Vec<f32> = snake.forward(x).into_data().try_to_vec::<f32>().unwrap();
        let want: Vec<f32> = [0.5f32, -1.0, 2.0, 0.0].iter().map(|&v| v + v.sin().powi(2) / (1.0 + 1e-9)).collect();
        for (a, b) in y.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "{y:?} vs {want:?}");
        }
    }

    #[test]
    fn decoder_upsamples_by_the_hop() {
        let device = Device::flex();
        let dec = DacDecoder::new(&tiny(), &device);
        assert_eq!(dec.hop_length(), 12);
        let z = Tensor::<3>::random([2, 4, 7], Distribution::Normal(0.0, 1.0), &device);
        assert_eq!(dec.forward(z).dims(), [2, 1, 84]);
    }

    #[test]
    fn config_rejects_what_cannot_be_built() {
        let table = |s: &str| -> toml::Table { toml::from_str(s).unwrap() };
        assert!(DacConfig::from_params(&table("strides = []")).is_err());
        assert!(DacConfig::from_params(&table("decoder_width = 24")).unwrap_err().to_string().contains("divisible"));
        assert!(DacConfig::from_params(&table("encoder_dim = 3")).unwrap_err().to_string().contains("unknown field"));
        assert_eq!(DacConfig::from_params(&toml::Table::new()).unwrap(), DacConfig::default());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn output_frames_predicts_the_encoder(samples in 12usize..400) {
            let device = Device::flex();
            let enc = DacEncoder::new(&tiny(), &device);
            let x = Tensor::<3>::zeros([1, 1, samples], &device);
            prop_assert_eq!(enc.forward(x).dims()[2], enc.output_frames(samples));
        }
    }
}
