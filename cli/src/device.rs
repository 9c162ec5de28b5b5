//! `--device` parsing. The CLI always names its device: with `wgpu` compiled in, burn's default device
//! would be a (possibly software) GPU, which is not what "cpu by default" means.

use anyhow::{Result, bail};
use burn::tensor::Device;

/// `cpu` (the flex backend), `wgpu[:N]` or `cuda[:N]` where compiled in.
pub fn parse(spec: &str) -> Result<Device> {
    let (kind, index) = match spec.split_once(':') {
        Some((k, i)) => (
            k,
            Some(
                i.parse::<usize>()
                    .map_err(|_| anyhow::anyhow!("--device {spec}: the index after ':' must be a number"))?,
            ),
        ),
        None => (spec, None),
    };
    match kind {
        "cpu" if index.is_none() => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(match index {
            Some(i) => burn::tensor::DeviceKind::DiscreteGpu(i),
            None => burn::tensor::DeviceKind::DefaultDevice,
        })),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(index.unwrap_or(0))),
        #[cfg(not(feature = "wgpu"))]
        "wgpu" => missing_feature(spec, kind),
        #[cfg(not(feature = "cuda"))]
        "cuda" => missing_feature(spec, kind),
        _ => bail!("--device {spec}: expected cpu, wgpu[:N] or cuda[:N]"),
    }
}

/// The error for a backend that was not compiled in.
#[cfg(any(not(feature = "wgpu"), not(feature = "cuda")))]
fn missing_feature(spec: &str, kind: &str) -> Result<Device> {
    bail!(
        "--device {spec}: this xcodec was built without the '{kind}' feature; rebuild with `cargo build --release --features {kind}`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_and_refuses_the_rest_with_a_fix() {
        assert!(parse("cpu").is_ok());
        assert!(parse("tpu").unwrap_err().to_string().contains("expected cpu"));
        assert!(parse("cuda:x").unwrap_err().to_string().contains("must be a number"));
        #[cfg(not(feature = "cuda"))]
        assert!(parse("cuda:0").unwrap_err().to_string().contains("--features cuda"));
    }
}
