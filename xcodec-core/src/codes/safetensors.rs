//! `.safetensors` codes files: one tensor `codes` (`(n_q, frames)`, U16 or I32) and the [`CodesMeta`] as
//! `__metadata__` strings (model, sample_rate_hz, frame_rate_hz, bandwidth_kbps, num_samples, tool_version).
//! Reading takes any integer dtype, `(1, n_q, frames)` too, and files without metadata.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::{Codes, CodesMeta, IntType, Msg, check_meta, codes_shape, decode_ints};
use crate::{Result, XcodecError};

const META_KEYS: [&str; 6] =
    ["model", "sample_rate_hz", "frame_rate_hz", "bandwidth_kbps", "num_samples", "tool_version"];
const TENSOR_NAME: &str = "codes";

/// The file for `codes` whose values are `data` (u16 when `small`, else i32, little-endian); `codes.meta` must
/// be there.
pub(super) fn encode(path: &Path, codes: &Codes, data: &[u8], small: bool) -> Result<Vec<u8>> {
    let meta = codes.meta.as_ref().ok_or_else(|| {
        XcodecError::file(
            path,
            "safetensors codes need their metadata (model, rates, num_samples) and none was given; \
             write .npy for codes alone",
        )
    })?;
    check_meta(meta).map_err(|m| XcodecError::file(path, m))?;
    let dtype = if small { Dtype::U16 } else { Dtype::I32 };
    let view = safetensors::tensor::TensorView::new(dtype, vec![codes.n_q, codes.frames], data)
        .map_err(|e| XcodecError::file(path, format!("cannot lay out the codes tensor: {e}")))?;
    safetensors::serialize([(TENSOR_NAME, view)], Some(meta_to_map(meta)))
        .map_err(|e| XcodecError::file(path, format!("cannot serialize the codes: {e}")))
}

fn meta_to_map(meta: &CodesMeta) -> HashMap<String, String> {
    let values = [
        meta.model.clone(),
        meta.sample_rate_hz.to_string(),
        meta.frame_rate_hz.to_string(),
        meta.bandwidth_kbps.to_string(),
        meta.num_samples.to_string(),
        meta.tool_version.clone(),
    ];
    META_KEYS.iter().map(|k| k.to_string()).zip(values).collect()
}

/// The codes (and metadata) of a `.safetensors` file (errors are the message after "{path}: ").
pub(super) fn parse(bytes: &[u8]) -> Msg<Codes> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a readable safetensors file ({e}); expected codes written by `xcodec encode`"))?;
    let tensor = st.tensor(TENSOR_NAME).map_err(|_| {
        let mut names = st.names();
        names.sort_unstable();
        let found = if names.is_empty() { "none".to_string() } else { names.join(", ") };
        format!("no tensor named '{TENSOR_NAME}' (tensors found: {found}); store the codes array under the name '{TENSOR_NAME}'")
    })?;
    let ty = match tensor.dtype() {
        Dtype::U8 => IntType { signed: false, bytes: 1, big_endian: false },
        Dtype::U16 => IntType { signed: false, bytes: 2, big_endian: false },
        Dtype::U32 => IntType { signed: false, bytes: 4, big_endian: false },
        Dtype::U64 => IntType { signed: false, bytes: 8, big_endian: false },
        Dtype::I8 => IntType { signed: true, bytes: 1, big_endian: false },
        Dtype::I16 => IntType { signed: true, bytes: 2, big_endian: false },
        Dtype::I32 => IntType { signed: true, bytes: 4, big_endian: false },
        Dtype::I64 => IntType { signed: true, bytes: 8, big_endian: false },
        other => {
            return Err(format!(
                "tensor '{TENSOR_NAME}' has dtype {other}; codes must be integers (U8/U16/U32/U64/I8/I16/I32/I64), \
                 convert them to int64"
            ));
        }
    };
    let shape: Vec<u64> = tensor.shape().iter().map(|&d| d as u64).collect();
    let (n_q, frames) = codes_shape(&shape)?;
    // safetensors has checked that the data length matches shape and dtype.
    let values = decode_ints(tensor.data(), ty, n_q * frames)?;
    let meta = match st_metadata(bytes)? {
        Some(map) => meta_from_map(&map)?,
        None => None,
    };
    Ok(Codes { n_q, frames, values, meta })
}

fn st_metadata(bytes: &[u8]) -> Msg<Option<HashMap<String, String>>> {
    let (_, metadata) =
        SafeTensors::read_metadata(bytes).map_err(|e| format!("not a readable safetensors file ({e})"))?;
    Ok(metadata.metadata().clone())
}

/// The metadata of a codes file: None when it has none of the keys, an error when only some.
fn meta_from_map(map: &HashMap<String, String>) -> Msg<Option<CodesMeta>> {
    if META_KEYS.iter().all(|k| !map.contains_key(*k)) {
        return Ok(None);
    }
    let get = |key: &str| {
        map.get(key).map(String::as_str).ok_or_else(|| {
            format!(
                "metadata key '{key}' is missing (codes metadata needs {}); write the file again",
                META_KEYS.join(", ")
            )
        })
    };
    fn num<T: std::str::FromStr>(key: &str, text: &str, what: &str) -> Msg<T> {
        text.trim().parse().map_err(|_| format!("metadata '{key}' is '{text}', not {what}; write the file again"))
    }
    let meta = CodesMeta {
        model: get("model")?.to_string(),
        sample_rate_hz: num("sample_rate_hz", get("sample_rate_hz")?, "a whole number of Hz")?,
        frame_rate_hz: num("frame_rate_hz", get("frame_rate_hz")?, "a number of Hz")?,
        bandwidth_kbps: num("bandwidth_kbps", get("bandwidth_kbps")?, "a number of kbps")?,
        num_samples: num("num_samples", get("num_samples")?, "a whole number")?,
        tool_version: get("tool_version")?.to_string(),
    };
    check_meta(&meta)?;
    Ok(Some(meta))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::{Codes, CodesFormat, read_codes, write_codes};
    use super::*;

    #[test]
    fn safetensors_round_trip_with_metadata() {
        let dir = tempfile::tempdir().unwrap();
        for (size, dtype) in [(1024, Dtype::U16), (100_000, Dtype::I32)] {
            let path = dir.path().join(format!("c{size}.safetensors"));
            let mut c = codes(4, 11, size as i64);
            c.meta = Some(meta());
            write_codes(&path, &c, size, CodesFormat::Safetensors).unwrap();
            assert_eq!(read_codes(&path).unwrap(), c);
            let bytes = std::fs::read(&path).unwrap();
            let st = SafeTensors::deserialize(&bytes).unwrap();
            assert_eq!(st.names(), vec!["codes"]);
            assert_eq!(st.tensor("codes").unwrap().dtype(), dtype);
            assert_eq!(st.tensor("codes").unwrap().shape(), &[4, 11]);
            let map = st_metadata(&bytes).unwrap().unwrap();
            assert_eq!(map["sample_rate_hz"], "16000");
            assert_eq!(map["bandwidth_kbps"], "1.5");
            assert_eq!(map["num_samples"], "12345");
            assert_eq!(map["tool_version"], "xcodec 0.1.0");
        }
    }

    #[test]
    fn safetensors_needs_metadata_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.safetensors");
        let err = write_codes(&path, &codes(2, 2, 16), 16, CodesFormat::Safetensors).unwrap_err().to_string();
        assert!(err.contains("metadata"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn safetensors_without_codes_tensor_or_with_floats() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..6i64).flat_map(|v| v.to_le_bytes()).collect();
        let view = safetensors::tensor::TensorView::new(Dtype::I64, vec![2, 3], &data).unwrap();
        let bytes = safetensors::serialize([("audio_codes", view)], None).unwrap();
        let path = write_file(&dir, "other.safetensors", &bytes);
        let msg = file_err(read_codes(&path), &path);
        assert!(msg.contains("no tensor named 'codes'") && msg.contains("audio_codes"), "{msg}");

        // without metadata and in a 3-D batch of one, int64 codes read fine
        let view = safetensors::tensor::TensorView::new(Dtype::I64, vec![1, 2, 3], &data).unwrap();
        let bytes = safetensors::serialize([("codes", view)], None).unwrap();
        let path = write_file(&dir, "plain.safetensors", &bytes);
        assert_eq!(read_codes(&path).unwrap(), Codes { n_q: 2, frames: 3, values: (0..6).collect(), meta: None });

        let data: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let view = safetensors::tensor::TensorView::new(Dtype::F32, vec![1, 2], &data).unwrap();
        let bytes = safetensors::serialize([("codes", view)], None).unwrap();
        let path = write_file(&dir, "float.safetensors", &bytes);
        assert!(file_err(read_codes(&path), &path).contains("dtype F32"));

        // partial metadata is an error naming the missing key
        let data: Vec<u8> = [1u16, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
        let view = safetensors::tensor::TensorView::new(Dtype::U16, vec![1, 2], &data).unwrap();
        let mut map = meta_to_map(&meta());
        map.remove("num_samples");
        let bytes = safetensors::serialize([("codes", view)], Some(map)).unwrap();
        let path = write_file(&dir, "partial.safetensors", &bytes);
        assert!(file_err(read_codes(&path), &path).contains("'num_samples' is missing"));
    }
}
