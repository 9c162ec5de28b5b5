//! xcodec's trainer: X-Codec's losses (multi-resolution and sub-band STFT, multi-scale mel, least-squares
//! GAN, feature matching) and discriminators (multi-frequency, multi-period, multi-scale STFT), with the
//! STFT, mel and PQMF front ends they are built on.

pub mod discriminators;
pub mod losses;
pub mod mel;
pub mod pqmf;
pub mod stft;
