//! Codes files: the discrete codes of one audio file as `.npy` (numpy, codes only) or `.safetensors`
//! (one tensor `codes` plus [`CodesMeta`] in `__metadata__`).
//!
//! Both hold a `(n_q, frames)` integer array (codebook-major); reading also takes the `(1, n_q, frames)`
//! arrays that transformers' `XcodecModel.encode` returns for a batch of one.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors};
use xcodec_core::{Result, XcodecError};

/// Metadata stored with codes (safetensors `__metadata__`, all values strings).
#[derive(Debug, Clone, PartialEq)]
pub struct CodesMeta {
    /// Model id/path as given by the user.
    pub model: String,
    /// Sample rate of the model in Hz.
    pub sample_rate_hz: u32,
    /// Code frames per second.
    pub frame_rate_hz: f64,
    /// Bandwidth the codes were made at.
    pub bandwidth_kbps: f64,
    /// Original sample count at the model rate (for trimming decoded audio).
    pub num_samples: u64,
    /// The tool that wrote the file, e.g. "xcodec 0.1.0".
    pub tool_version: String,
}

/// Codes of one file: `n_q` codebooks x `frames`, row-major (codebook-major: `codes[q * frames + t]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Codes {
    /// Number of codebooks (quantizers) used.
    pub n_q: usize,
    /// Number of code frames.
    pub frames: usize,
    /// `n_q * frames` codebook indices, codebook-major.
    pub values: Vec<i64>,
    /// Metadata (always present in safetensors files, never in npy files).
    pub meta: Option<CodesMeta>,
}

/// The two codes file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodesFormat {
    /// numpy `.npy`: the codes array alone.
    Npy,
    /// `.safetensors`: tensor `codes` plus metadata.
    Safetensors,
}

impl CodesFormat {
    /// File extension without the dot: "npy" / "safetensors".
    pub fn extension(self) -> &'static str {
        match self {
            CodesFormat::Npy => "npy",
            CodesFormat::Safetensors => "safetensors",
        }
    }

    /// The format for a path by its extension (npy / safetensors, any case), else None.
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("npy") {
            Some(CodesFormat::Npy)
        } else if ext.eq_ignore_ascii_case("safetensors") {
            Some(CodesFormat::Safetensors)
        } else {
            None
        }
    }
}

const META_KEYS: [&str; 6] =
    ["model", "sample_rate_hz", "frame_rate_hz", "bandwidth_kbps", "num_samples", "tool_version"];
const TENSOR_NAME: &str = "codes";
const NPY_MAGIC: &[u8] = b"\x93NUMPY";
/// numpy aligns the data of `.npy` files to this many bytes (header included).
const NPY_ALIGN: usize = 64;

/// Writes `codes` atomically. Npy: shape (n_q, frames), dtype uint16 ('<u2') when codebook_size <= 65536,
/// else int32 ('<i4'); readable by numpy.load (the metadata is not stored). Safetensors: one tensor "codes"
/// (same shape; U16 or I32) plus the metadata (`codes.meta` must be Some for safetensors; keys: model,
/// sample_rate_hz, frame_rate_hz, bandwidth_kbps, num_samples, tool_version).
pub fn write_codes(path: &Path, codes: &Codes, codebook_size: usize, format: CodesFormat) -> Result<()> {
    if codebook_size == 0 || codebook_size > 1usize << 31 {
        return Err(XcodecError::Input(format!(
            "codebook size {codebook_size} cannot be stored in a codes file; it must be between 1 and 2^31"
        )));
    }
    validate_codes(codes, codebook_size, usize::MAX)?;
    let small = codebook_size <= 1 << 16;
    // Values are all in 0..codebook_size now, so the casts below are exact.
    let data: Vec<u8> = if small {
        codes.values.iter().flat_map(|&v| (v as u16).to_le_bytes()).collect()
    } else {
        codes.values.iter().flat_map(|&v| (v as i32).to_le_bytes()).collect()
    };
    let bytes = match format {
        CodesFormat::Npy => {
            let descr = if small { "<u2" } else { "<i4" };
            let mut bytes = npy_header(descr, codes.n_q, codes.frames);
            bytes.extend_from_slice(&data);
            bytes
        }
        CodesFormat::Safetensors => {
            let meta = codes.meta.as_ref().ok_or_else(|| {
                XcodecError::file(
                    path,
                    "safetensors codes need their metadata (model, rates, num_samples) and none was given; \
                     write .npy for codes alone",
                )
            })?;
            check_meta(meta).map_err(|m| XcodecError::file(path, m))?;
            let dtype = if small { Dtype::U16 } else { Dtype::I32 };
            let view = safetensors::tensor::TensorView::new(dtype, vec![codes.n_q, codes.frames], &data)
                .map_err(|e| XcodecError::file(path, format!("cannot lay out the codes tensor: {e}")))?;
            safetensors::serialize([(TENSOR_NAME, view)], Some(meta_to_map(meta)))
                .map_err(|e| XcodecError::file(path, format!("cannot serialize the codes: {e}")))?
        }
    };
    crate::write_atomic(path, &bytes)
}

/// Reads an .npy or .safetensors codes file (by extension; an unknown extension is an error naming the two).
/// Accepts integer dtypes u8/u16/u32/u64/i8/i16/i32/i64 of shape (n_q, frames) or (1, n_q, frames), C or
/// Fortran order; rejects floats, other ranks, empty arrays with one-line errors.
pub fn read_codes(path: &Path) -> Result<Codes> {
    let format = CodesFormat::from_path(path).ok_or_else(|| {
        let found = match path.extension() {
            Some(ext) => format!("extension '.{}'", ext.to_string_lossy()),
            None => "no extension".to_string(),
        };
        XcodecError::file(
            path,
            format!("codes files end in .npy or .safetensors, this one has {found}; rename it or convert it"),
        )
    })?;
    let bytes = std::fs::read(path).map_err(|e| XcodecError::file(path, format!("cannot read: {e}")))?;
    let parsed = match format {
        CodesFormat::Npy => parse_npy(&bytes),
        CodesFormat::Safetensors => parse_safetensors(&bytes),
    };
    parsed.map_err(|m| XcodecError::file(path, one_line(&m)))
}

/// Checks codes against a model: 1 <= n_q <= max_codebooks, frames >= 1, every value in 0..codebook_size.
/// Error texts name the first offending value and its position, and the valid range.
pub fn validate_codes(codes: &Codes, codebook_size: usize, max_codebooks: usize) -> Result<()> {
    let bad = |m: String| Err(XcodecError::Input(m));
    if codes.n_q == 0 {
        return bad("codes have 0 codebooks; they need at least 1".into());
    }
    if codes.n_q > max_codebooks {
        return bad(format!(
            "codes have {} codebooks but this model has at most {max_codebooks}; decode them with the model that made them",
            codes.n_q
        ));
    }
    if codes.frames == 0 {
        return bad("codes have 0 frames; they need at least 1 (was the audio empty?)".into());
    }
    if codes.n_q.checked_mul(codes.frames) != Some(codes.values.len()) {
        return bad(format!(
            "codes claim {} codebooks x {} frames but hold {} values; the two must match",
            codes.n_q,
            codes.frames,
            codes.values.len()
        ));
    }
    let limit = i64::try_from(codebook_size).unwrap_or(i64::MAX);
    if let Some(i) = codes.values.iter().position(|&v| v < 0 || v >= limit) {
        return bad(format!(
            "code {} at codebook {}, frame {} is outside 0..{codebook_size} (valid codes are 0 to {} for this model's \
             codebook size {codebook_size}); the codes were made by another model or are damaged",
            codes.values[i],
            i / codes.frames,
            i % codes.frames,
            codebook_size.saturating_sub(1)
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// writing helpers

/// The `.npy` version 1.0 header for a C-order 2-D array, padded with spaces and a newline so that the
/// data starts at a multiple of 64 bytes, as `numpy.save` writes it.
fn npy_header(descr: &str, rows: usize, cols: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let unpadded = NPY_MAGIC.len() + 2 + 2 + dict.len() + 1;
    let padding = (NPY_ALIGN - unpadded % NPY_ALIGN) % NPY_ALIGN;
    let header_len = dict.len() + padding + 1;
    let mut out = Vec::with_capacity(NPY_MAGIC.len() + 4 + header_len);
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[1, 0]);
    // A 2-D header is far below 64 KiB.
    out.extend_from_slice(&(header_len as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padding));
    out.push(b'\n');
    out
}

fn check_meta(meta: &CodesMeta) -> std::result::Result<(), String> {
    for (key, v) in [("frame_rate_hz", meta.frame_rate_hz), ("bandwidth_kbps", meta.bandwidth_kbps)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(format!("metadata '{key}' is {v}; it must be a positive number"));
        }
    }
    if meta.sample_rate_hz == 0 {
        return Err("metadata 'sample_rate_hz' is 0; it must be a positive whole number".into());
    }
    Ok(())
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

// ---------------------------------------------------------------------------------------------------------
// reading helpers (errors are the message after "{path}: ")

type Msg<T> = std::result::Result<T, String>;

/// An integer element type as stored in a file.
#[derive(Clone, Copy)]
struct IntType {
    signed: bool,
    bytes: usize,
    big_endian: bool,
}

impl IntType {
    fn name(self) -> String {
        format!("{}{}", if self.signed { "int" } else { "uint" }, self.bytes * 8)
    }
}

/// Decodes `n` integers of type `ty` from the start of `data` (which holds at least `n * ty.bytes`).
fn decode_ints(data: &[u8], ty: IntType, n: usize) -> Msg<Vec<i64>> {
    let mut out = Vec::with_capacity(n);
    for (i, chunk) in data.chunks_exact(ty.bytes).take(n).enumerate() {
        let mut raw = [0u8; 8];
        if ty.big_endian {
            raw[8 - ty.bytes..].copy_from_slice(chunk);
            raw.reverse();
        } else {
            raw[..ty.bytes].copy_from_slice(chunk);
        }
        let bits = u64::from_le_bytes(raw);
        let value = if ty.signed {
            // sign-extend from ty.bytes * 8 bits
            let shift = 64 - 8 * ty.bytes as u32;
            ((bits << shift) as i64) >> shift
        } else {
            i64::try_from(bits).map_err(|_| {
                format!(
                    "value {bits} at position {i} does not fit a 64-bit signed integer; these are not codebook indices"
                )
            })?
        };
        out.push(value);
    }
    Ok(out)
}

/// Turns a shape as found in a file into (n_q, frames), with errors naming what was found.
fn codes_shape(shape: &[u64]) -> Msg<(usize, usize)> {
    let shown = shape_text(shape);
    let (n_q, frames) = match *shape {
        [n_q, frames] => (n_q, frames),
        [1, n_q, frames] => (n_q, frames),
        [batch, _, _] => {
            return Err(format!(
                "array of shape {shown} holds a batch of {batch}; a codes file holds one item of shape (n_q, frames) \
                 or (1, n_q, frames), save codes[i] for each item"
            ));
        }
        _ => {
            return Err(format!(
                "array of shape {shown} is {}-D; expected a 2-D (n_q, frames) or 3-D (1, n_q, frames) integer array",
                shape.len()
            ));
        }
    };
    if n_q == 0 || frames == 0 {
        return Err(format!("array of shape {shown} is empty; codes need at least 1 codebook and 1 frame"));
    }
    let too_big = || format!("array of shape {shown} is too large for codes");
    let n_q = usize::try_from(n_q).map_err(|_| too_big())?;
    let frames = usize::try_from(frames).map_err(|_| too_big())?;
    n_q.checked_mul(frames).ok_or_else(too_big)?;
    Ok((n_q, frames))
}

/// Folds a multi-line message (the npy header parser draws the failing spot over several lines) into one
/// line, keeping its text lines and dropping the drawing.
fn one_line(message: &str) -> String {
    if !message.contains('\n') {
        return message.to_string();
    }
    let drawing = |line: &str| {
        let rest = line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
        rest.is_empty() || rest.starts_with('|')
    };
    message.lines().filter(|l| !drawing(l)).map(str::trim).collect::<Vec<_>>().join(" ")
}

fn shape_text(shape: &[u64]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!("({})", shape.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")),
    }
}

fn parse_npy(bytes: &[u8]) -> Msg<Codes> {
    const FIX: &str = "expected an .npy file as numpy.save writes it";
    if bytes.is_empty() {
        return Err(format!("the file is empty; {FIX}"));
    }
    if !bytes.starts_with(NPY_MAGIC) {
        if NPY_MAGIC.starts_with(bytes) {
            return Err(format!("the file is truncated ({} bytes, within the magic string); {FIX}", bytes.len()));
        }
        return Err(format!("not an .npy file (it does not start with the \\x93NUMPY magic string); {FIX}"));
    }
    check_npy_shape_size(bytes)?;
    let mut reader: &[u8] = bytes;
    let header = npyz::NpyHeader::from_reader(&mut reader).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            format!("the .npy header is truncated (the file has only {} bytes); {FIX}", bytes.len())
        } else {
            format!("cannot parse the .npy header ({e}); {FIX}")
        }
    })?;
    let data = reader;
    let shape = header.shape().to_vec();
    let dtype = header.dtype();
    let ty = match &dtype {
        npyz::DType::Plain(ts) => npy_int_type(ts)?,
        other => {
            return Err(format!(
                "dtype {} is a structured type; codes must be a plain integer array (e.g. int64 or uint16)",
                other.descr()
            ));
        }
    };
    let (n_q, frames) = codes_shape(&shape)?;
    let n = n_q * frames;
    let need = n
        .checked_mul(ty.bytes)
        .ok_or_else(|| format!("array of shape {} is too large for codes", shape_text(&shape)))?;
    if data.len() < need {
        return Err(format!(
            "the file is truncated: shape {} of {} needs {need} bytes of data but only {} follow the header; \
             write the file again",
            shape_text(&shape),
            ty.name(),
            data.len()
        ));
    }
    let stored = decode_ints(data, ty, n)?;
    let values = match header.order() {
        npyz::Order::C => stored,
        // Fortran order: element (q, t) is at q + t * n_q (a leading batch axis of 1 changes nothing).
        npyz::Order::Fortran => {
            let mut values = vec![0; n];
            for (i, v) in stored.into_iter().enumerate() {
                let (t, q) = (i / n_q, i % n_q);
                values[q * frames + t] = v;
            }
            values
        }
    };
    Ok(Codes { n_q, frames, values, meta: None })
}

/// Guards against shapes whose element count overflows (npyz multiplies them unchecked): finds the
/// `shape` tuple in the header text and checks its product. Anything it cannot read is left to npyz.
fn check_npy_shape_size(bytes: &[u8]) -> Msg<()> {
    let (start, len): (usize, Option<usize>) = match (bytes.get(6), bytes.get(7)) {
        (Some(1), Some(0)) => (10, bytes.get(8..10).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)),
        (Some(2 | 3), Some(0)) => (12, bytes.get(8..12).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)),
        _ => return Ok(()),
    };
    let Some(text) = len.and_then(|len| bytes.get(start..start.checked_add(len)?)) else { return Ok(()) };
    let Ok(text) = std::str::from_utf8(text) else { return Ok(()) };
    let Some(after) = text.find("shape").map(|i| &text[i + 5..]) else { return Ok(()) };
    let Some(open) = after.find(['(', '[']) else { return Ok(()) };
    let Some(close) = after[open..].find([')', ']']) else { return Ok(()) };
    let mut product: u64 = 1;
    for dim in after[open + 1..open + close].split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let Ok(dim) = dim.trim_end_matches(['L', 'l']).parse::<u64>() else { return Ok(()) };
        product = match product.checked_mul(dim) {
            Some(p) => p,
            None => {
                return Err(
                    "the .npy header gives a shape with more elements than can exist; the file is damaged".into()
                );
            }
        };
    }
    Ok(())
}

fn npy_int_type(ts: &npyz::TypeStr) -> Msg<IntType> {
    use npyz::TypeChar;
    let size = ts.size_field() as usize;
    let signed = match ts.type_char() {
        TypeChar::Int => true,
        TypeChar::Uint => false,
        TypeChar::Float => {
            return Err(format!(
                "dtype float{} ('{ts}') holds floats; codes must be integers, convert them with codes.astype('int64')",
                size * 8
            ));
        }
        other => {
            return Err(format!(
                "dtype '{ts}' ({other:?}) is not an integer type; codes must be an integer array (e.g. int64 or uint16)"
            ));
        }
    };
    let big_endian = matches!(ts.endianness(), npyz::Endianness::Big);
    if !matches!(size, 1 | 2 | 4 | 8) {
        return Err(format!("dtype '{ts}' has an unsupported size; codes must be 8, 16, 32 or 64-bit integers"));
    }
    Ok(IntType { signed, bytes: size, big_endian })
}

fn parse_safetensors(bytes: &[u8]) -> Msg<Codes> {
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
    use super::*;
    use std::path::PathBuf;

    fn meta() -> CodesMeta {
        CodesMeta {
            model: "hf-audio/xcodec-hubert-librispeech".into(),
            sample_rate_hz: 16000,
            frame_rate_hz: 50.0,
            bandwidth_kbps: 1.5,
            num_samples: 12345,
            tool_version: "xcodec 0.1.0".into(),
        }
    }

    fn codes(n_q: usize, frames: usize, modulo: i64) -> Codes {
        let values = (0..(n_q * frames) as i64).map(|i| (i * 7919 + 13) % modulo).collect();
        Codes { n_q, frames, values, meta: None }
    }

    /// An .npy file from a header dict text and raw data (version 1.0, padded like numpy).
    fn npy_bytes(dict: &str, data: &[u8]) -> Vec<u8> {
        let unpadded = 10 + dict.len() + 1;
        let padding = (64 - unpadded % 64) % 64;
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&((dict.len() + padding + 1) as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out.extend(std::iter::repeat_n(b' ', padding));
        out.push(b'\n');
        out.extend_from_slice(data);
        out
    }

    fn write_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// The message of an error, checked to be one line that names the file.
    fn file_err(result: Result<Codes>, path: &Path) -> String {
        let msg = result.unwrap_err().to_string();
        assert!(!msg.contains('\n'), "multi-line error: {msg}");
        assert!(msg.starts_with(&path.display().to_string()), "error does not name the file: {msg}");
        msg
    }

    #[test]
    fn formats_by_extension() {
        assert_eq!(CodesFormat::Npy.extension(), "npy");
        assert_eq!(CodesFormat::Safetensors.extension(), "safetensors");
        assert_eq!(CodesFormat::from_path(Path::new("a/b.npy")), Some(CodesFormat::Npy));
        assert_eq!(CodesFormat::from_path(Path::new("b.NPY")), Some(CodesFormat::Npy));
        assert_eq!(CodesFormat::from_path(Path::new("b.safetensors")), Some(CodesFormat::Safetensors));
        assert_eq!(CodesFormat::from_path(Path::new("b.wav")), None);
        assert_eq!(CodesFormat::from_path(Path::new("npy")), None);
    }

    #[test]
    fn npy_round_trip_uint16_for_1024_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.npy");
        let c = codes(8, 37, 1024);
        write_codes(&path, &c, 1024, CodesFormat::Npy).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(String::from_utf8_lossy(&bytes[..128]).contains("'descr': '<u2'"));
        assert_eq!(bytes.len(), 128 + 8 * 37 * 2);
        assert_eq!(read_codes(&path).unwrap(), c);
        // no temp file left behind
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn npy_round_trip_int32_for_100000_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.npy");
        let mut c = codes(3, 20, 100_000);
        c.values[5] = 99_999;
        c.values[6] = 0;
        write_codes(&path, &c, 100_000, CodesFormat::Npy).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(String::from_utf8_lossy(&bytes[..128]).contains("'descr': '<i4'"));
        assert_eq!(bytes.len(), 128 + 3 * 20 * 4);
        assert_eq!(read_codes(&path).unwrap(), c);
    }

    #[test]
    fn npy_header_is_what_numpy_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.npy");
        let c = codes(8, 3, 1024);
        write_codes(&path, &c, 1024, CodesFormat::Npy).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..6], b"\x93NUMPY");
        assert_eq!(&bytes[6..8], &[1, 0], "version 1.0");
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0, "data must start at a multiple of 64 bytes");
        let text = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        let dict = "{'descr': '<u2', 'fortran_order': False, 'shape': (8, 3), }";
        assert!(text.starts_with(dict), "{text:?}");
        assert!(text.ends_with('\n'));
        assert!(text[dict.len()..text.len() - 1].bytes().all(|b| b == b' '), "{text:?}");
        assert_eq!(header_len, 128 - 10, "numpy pads a small 2-D header to 128 bytes");
        let data = &bytes[10 + header_len..];
        assert_eq!(data.len(), 8 * 3 * 2);
        let first: Vec<i64> = data.chunks(2).map(|b| u16::from_le_bytes([b[0], b[1]]) as i64).collect();
        assert_eq!(first, c.values);
    }

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
    fn write_refuses_bad_codes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.npy");
        let mut c = codes(2, 3, 16);
        c.values.pop();
        assert!(write_codes(&path, &c, 16, CodesFormat::Npy).unwrap_err().to_string().contains("hold 5 values"));
        let mut c = codes(2, 3, 16);
        c.values[4] = 16;
        assert!(write_codes(&path, &c, 16, CodesFormat::Npy).unwrap_err().to_string().contains("outside 0..16"));
        assert!(write_codes(&path, &codes(2, 3, 16), 0, CodesFormat::Npy).is_err());
        assert!(!path.exists());
    }

    #[test]
    fn reads_int64_npy() {
        let dir = tempfile::tempdir().unwrap();
        let values: Vec<i64> = vec![0, 1, 2, 1023, 5, 6];
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let path = write_file(
            &dir,
            "i64.npy",
            &npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", &data),
        );
        assert_eq!(read_codes(&path).unwrap(), Codes { n_q: 2, frames: 3, values, meta: None });
    }

    #[test]
    fn reads_3d_batch_of_one_npy() {
        let dir = tempfile::tempdir().unwrap();
        let values: Vec<i64> = (0..8).collect();
        let data: Vec<u8> = values.iter().flat_map(|&v| (v as i32).to_le_bytes()).collect();
        let dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2, 4), }";
        let path = write_file(&dir, "b1.npy", &npy_bytes(dict, &data));
        assert_eq!(read_codes(&path).unwrap(), Codes { n_q: 2, frames: 4, values, meta: None });

        let dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 1, 4), }";
        let path = write_file(&dir, "b2.npy", &npy_bytes(dict, &data));
        let msg = file_err(read_codes(&path), &path);
        assert!(msg.contains("batch of 2"), "{msg}");
    }

    #[test]
    fn reads_fortran_order_and_other_integer_types() {
        let dir = tempfile::tempdir().unwrap();
        // (2, 3) array [[0, 1, 2], [10, 11, 12]] stored column by column.
        let stored: [u16; 6] = [0, 10, 1, 11, 2, 12];
        let data: Vec<u8> = stored.iter().flat_map(|v| v.to_le_bytes()).collect();
        let dict = "{'descr': '<u2', 'fortran_order': True, 'shape': (2, 3), }";
        let path = write_file(&dir, "f.npy", &npy_bytes(dict, &data));
        assert_eq!(read_codes(&path).unwrap().values, vec![0, 1, 2, 10, 11, 12]);

        let dict = "{'descr': '<u2', 'fortran_order': True, 'shape': (1, 2, 3), }";
        let path = write_file(&dir, "f3.npy", &npy_bytes(dict, &data));
        assert_eq!(read_codes(&path).unwrap().values, vec![0, 1, 2, 10, 11, 12]);

        let data: Vec<u8> = [3i32, -1].iter().flat_map(|v| v.to_be_bytes()).collect();
        let path = write_file(
            &dir,
            "be.npy",
            &npy_bytes("{'descr': '>i4', 'fortran_order': False, 'shape': (1, 2), }", &data),
        );
        assert_eq!(read_codes(&path).unwrap().values, vec![3, -1]);

        let path = write_file(
            &dir,
            "u8.npy",
            &npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2), }", &[7, 255]),
        );
        assert_eq!(read_codes(&path).unwrap().values, vec![7, 255]);

        let path = write_file(
            &dir,
            "i1.npy",
            &npy_bytes("{'descr': '|i1', 'fortran_order': False, 'shape': (1, 2), }", &[7, 255]),
        );
        assert_eq!(read_codes(&path).unwrap().values, vec![7, -1]);

        let data: Vec<u8> = [5u64, u64::MAX].iter().flat_map(|v| v.to_le_bytes()).collect();
        let path = write_file(
            &dir,
            "u8big.npy",
            &npy_bytes("{'descr': '<u8', 'fortran_order': False, 'shape': (1, 2), }", &data),
        );
        let msg = file_err(read_codes(&path), &path);
        assert!(msg.contains("does not fit"), "{msg}");
    }

    #[test]
    fn rejects_float_npy() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let path =
            write_file(&dir, "f.npy", &npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", &data));
        let msg = file_err(read_codes(&path), &path);
        assert!(msg.contains("float32") && msg.contains("integers"), "{msg}");
    }

    #[test]
    fn rejects_other_ranks_and_empty_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..6i64).flat_map(|v| v.to_le_bytes()).collect();
        let path =
            write_file(&dir, "1d.npy", &npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (6,), }", &data));
        let msg = file_err(read_codes(&path), &path);
        assert!(msg.contains("shape (6,) is 1-D") && msg.contains("(n_q, frames)"), "{msg}");

        let path = write_file(
            &dir,
            "4d.npy",
            &npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 1, 2, 3), }", &data),
        );
        assert!(file_err(read_codes(&path), &path).contains("is 4-D"));

        let path = write_file(
            &dir,
            "empty.npy",
            &npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (8, 0), }", &[]),
        );
        let msg = file_err(read_codes(&path), &path);
        assert!(msg.contains("(8, 0) is empty"), "{msg}");
    }

    #[test]
    fn rejects_truncated_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.npy");
        write_codes(&path, &codes(8, 50, 1024), 1024, CodesFormat::Npy).unwrap();
        let bytes = std::fs::read(&path).unwrap();

        let half = write_file(&dir, "half.npy", &bytes[..bytes.len() / 2]);
        let msg = file_err(read_codes(&half), &half);
        assert!(msg.contains("truncated") && msg.contains("needs 800 bytes"), "{msg}");

        let head = write_file(&dir, "head.npy", &bytes[..30]);
        assert!(file_err(read_codes(&head), &head).contains("truncated"));

        let magic = write_file(&dir, "magic.npy", &bytes[..3]);
        assert!(file_err(read_codes(&magic), &magic).contains("truncated"));

        let empty = write_file(&dir, "empty.npy", &[]);
        assert!(file_err(read_codes(&empty), &empty).contains("empty"));

        let text = write_file(&dir, "text.npy", b"0,1,2\n3,4,5\n");
        let msg = file_err(read_codes(&text), &text);
        assert!(msg.contains("not an .npy file"), "{msg}");

        let syntax = write_file(
            &dir,
            "syntax.npy",
            &npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), } x", &[0; 16]),
        );
        let msg = file_err(read_codes(&syntax), &syntax);
        assert!(msg.contains("cannot parse the .npy header"), "{msg}");

        let garbage = write_file(&dir, "garbage.npy", &npy_bytes("{'descr': '<i8', 'shape': (1, 2), }", &[0; 16]));
        assert!(file_err(read_codes(&garbage), &garbage).contains("cannot parse the .npy header"));

        let huge = "{'descr': '<i8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }";
        let huge = write_file(&dir, "huge.npy", &npy_bytes(huge, &[0; 16]));
        assert!(file_err(read_codes(&huge), &huge).contains("damaged"));

        let huge2 = "{'descr': '<i8', 'fortran_order': False, 'shape': (65536, 65536), }";
        let huge2 = write_file(&dir, "huge2.npy", &npy_bytes(huge2, &[0; 16]));
        assert!(file_err(read_codes(&huge2), &huge2).contains("truncated"));

        let st = dir.path().join("c.safetensors");
        let mut c = codes(2, 5, 1024);
        c.meta = Some(meta());
        write_codes(&st, &c, 1024, CodesFormat::Safetensors).unwrap();
        let bytes = std::fs::read(&st).unwrap();
        let cut = write_file(&dir, "cut.safetensors", &bytes[..bytes.len() / 2]);
        assert!(file_err(read_codes(&cut), &cut).contains("not a readable safetensors file"));
        let not = write_file(&dir, "not.safetensors", b"hello");
        assert!(file_err(read_codes(&not), &not).contains("not a readable safetensors file"));
    }

    #[test]
    fn rejects_unknown_extension() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_file(&dir, "codes.wav", b"RIFF");
        let msg = file_err(read_codes(&path), &path);
        assert!(msg.contains(".npy or .safetensors") && msg.contains("'.wav'"), "{msg}");
        let path = write_file(&dir, "codes", b"x");
        assert!(file_err(read_codes(&path), &path).contains("no extension"));
        let missing = dir.path().join("missing.npy");
        assert!(file_err(read_codes(&missing), &missing).contains("cannot read"));
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

    #[test]
    fn validate_codes_names_the_first_bad_value() {
        let mut c = codes(4, 10, 1024);
        validate_codes(&c, 1024, 8).unwrap();

        c.values[2 * 10 + 7] = 1024;
        let msg = validate_codes(&c, 1024, 8).unwrap_err().to_string();
        assert!(msg.contains("code 1024 at codebook 2, frame 7 is outside 0..1024"), "{msg}");
        assert!(!msg.contains('\n'));

        c.values[10 + 3] = -1;
        let msg = validate_codes(&c, 1024, 8).unwrap_err().to_string();
        assert!(msg.contains("code -1 at codebook 1, frame 3"), "{msg}");

        let msg = validate_codes(&codes(9, 10, 16), 16, 8).unwrap_err().to_string();
        assert!(msg.contains("9 codebooks") && msg.contains("at most 8"), "{msg}");

        let empty = Codes { n_q: 4, frames: 0, values: vec![], meta: None };
        assert!(validate_codes(&empty, 16, 8).unwrap_err().to_string().contains("0 frames"));
        let none = Codes { n_q: 0, frames: 3, values: vec![], meta: None };
        assert!(validate_codes(&none, 16, 8).unwrap_err().to_string().contains("0 codebooks"));
    }
}
