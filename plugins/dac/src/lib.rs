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

inventory::submit! {
    xcodec_core::PartEntry {
        role: xcodec_core::Role::Acoustic,
        name: "dac",
        description: "DAC encoder/decoder (Snake, weight-normed convs; X-Codec's acoustic backbone)",
        default_params: || xcodec_core::config::params_table(&DacConfig::default()),
        check_params: |p| DacConfig::from_params(p).map(|_| ()),
    }
}
