//! Devices by name: `cpu` (the `flex` backend), `wgpu`, `wgpu:N`, `wgpu:cpu` (a software Vulkan such as Mesa's
//! llvmpipe) and `cuda[:N]` where those backends are compiled in (features `wgpu`, `cuda`). A device is always
//! named: with a GPU backend compiled in, burn's default device would be a (possibly software) GPU, which is not
//! what "cpu by default" means.

use crate::{Result, XcodecError};
use burn::tensor::Device;

/// The device `spec` names: `cpu`, `wgpu[:N|:cpu]` or `cuda[:N]`.
pub fn parse(spec: &str) -> Result<Device> {
    let bad = |why: &str| Err(XcodecError::Device(format!("--device {spec}: {why}")));
    let (kind, index) = match spec.split_once(':') {
        Some((kind, index)) => (kind, Some(index)),
        None => (spec, None),
    };
    let number = |index: &str| index.parse::<usize>().ok();
    match (kind, index) {
        ("cpu", None) => Ok(Device::flex()),
        ("wgpu", index) => {
            let selector = match index {
                None => Adapter::Best,
                Some("cpu") => Adapter::Software,
                Some(i) => match number(i) {
                    Some(i) => Adapter::Gpu(i),
                    None => return bad("the part after ':' must be a number or 'cpu'"),
                },
            };
            wgpu(spec, selector)
        }
        ("cuda", index) => match index.map(number) {
            None => cuda(spec, 0),
            Some(Some(i)) => cuda(spec, i),
            Some(None) => bad("the index after ':' must be a number"),
        },
        _ => bad("expected cpu, wgpu, wgpu:N, wgpu:cpu or cuda[:N]"),
    }
}

/// Which wgpu adapter to take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Adapter {
    /// wgpu's choice (a high-power GPU first).
    Best,
    /// The N-th discrete GPU.
    Gpu(usize),
    /// A CPU adapter: a software Vulkan (llvmpipe).
    Software,
}

#[cfg(feature = "wgpu")]
fn wgpu(spec: &str, adapter: Adapter) -> Result<Device> {
    use burn::tensor::DeviceKind;
    use std::sync::Mutex;
    // burn initialises a wgpu runtime once per process; later asks for the same adapter get the same device.
    static READY: Mutex<Vec<(Adapter, Device)>> = Mutex::new(Vec::new());
    let mut ready = READY.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, device)) = ready.iter().find(|(a, _)| *a == adapter) {
        return Ok(device.clone());
    }
    private_runtime_dir();
    let kind = match adapter {
        Adapter::Best => DeviceKind::DefaultDevice,
        Adapter::Gpu(i) => DeviceKind::DiscreteGpu(i),
        Adapter::Software => DeviceKind::Cpu,
    };
    let device = Device::wgpu_options().device_kind(kind).init().map_err(|e| {
        XcodecError::Device(format!(
            "--device {spec}: no such wgpu adapter ({}); `vulkaninfo --summary` lists them; without a GPU, install \
             Mesa's software Vulkan (Debian: apt-get install mesa-vulkan-drivers) and use --device wgpu:cpu",
            crate::error::one_line(&e.to_string())
        ))
    })?;
    ready.push((adapter, device.clone()));
    Ok(device)
}

#[cfg(not(feature = "wgpu"))]
fn wgpu(spec: &str, _: Adapter) -> Result<Device> {
    missing_feature(spec, "wgpu")
}

#[cfg(feature = "cuda")]
fn cuda(_: &str, index: usize) -> Result<Device> {
    Ok(Device::cuda(index))
}

#[cfg(not(feature = "cuda"))]
fn cuda(spec: &str, _: usize) -> Result<Device> {
    missing_feature(spec, "cuda")
}

/// The error for a backend that was not compiled in.
#[cfg(any(not(feature = "wgpu"), not(feature = "cuda")))]
fn missing_feature(spec: &str, feature: &str) -> Result<Device> {
    Err(XcodecError::Device(format!(
        "--device {spec}: this xcodec was built without the '{feature}' feature; rebuild with `cargo build --release \
         --features {feature}`"
    )))
}

/// Points `XDG_RUNTIME_DIR` at a private directory when it is unset or not a directory, before the Vulkan
/// loader starts: its Wayland probe otherwise prints `error: XDG_RUNTIME_DIR is invalid or not set` several
/// times, which reads as a failure though nothing failed (headless servers and containers have no session dir).
#[cfg(feature = "wgpu")]
fn private_runtime_dir() {
    use std::os::unix::fs::DirBuilderExt;
    let valid = std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).is_dir());
    if valid {
        return;
    }
    // SAFETY: getuid has no preconditions.
    let dir = std::env::temp_dir().join(format!("xcodec-runtime-{}", unsafe { libc::getuid() }));
    let made = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    if made.is_ok() || dir.is_dir() {
        // SAFETY: set once, under the device lock, before any wgpu or Vulkan thread exists; no thread of ours
        // reads or writes the environment concurrently.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_and_refuses_the_rest_with_a_fix() {
        assert!(parse("cpu").is_ok());
        assert!(parse("tpu").unwrap_err().to_string().contains("expected cpu"));
        assert!(parse("cpu:1").unwrap_err().to_string().contains("expected cpu"));
        assert!(parse("cuda:x").unwrap_err().to_string().contains("must be a number"));
        assert!(parse("wgpu:x").unwrap_err().to_string().contains("a number or 'cpu'"));
        #[cfg(not(feature = "cuda"))]
        assert!(parse("cuda:0").unwrap_err().to_string().contains("--features cuda"));
        #[cfg(not(feature = "wgpu"))]
        assert!(parse("wgpu:cpu").unwrap_err().to_string().contains("--features wgpu"));
    }
}
