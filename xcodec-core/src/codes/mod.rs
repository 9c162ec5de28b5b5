//! Codes files: the discrete codes of one audio file, one [`Codes`] type with its validation, and one file a
//! format: [`npy`] (numpy, codes only), [`safetensors`] (tensor `codes` plus [`CodesMeta`] in `__metadata__`),
//! and [`raw`] (the headerless frames of a codes stream, read and written a frame at a time).
//!
//! Files hold a `(n_q, frames)` integer array (codebook-major); reading also takes the `(1, n_q, frames)`
//! arrays that transformers' `XcodecModel.encode` returns for a batch of one.

mod npy;
pub mod raw;
mod safetensors;

use std::path::Path;

use crate::error::one_line;
use crate::{Result, XcodecError};

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
        CodesFormat::Npy => npy::encode(if small { "<u2" } else { "<i4" }, codes.n_q, codes.frames, &data),
        CodesFormat::Safetensors => safetensors::encode(path, codes, &data, small)?,
    };
    crate::io::write_atomic(path, &bytes)
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
        CodesFormat::Npy => npy::parse(&bytes),
        CodesFormat::Safetensors => safetensors::parse(&bytes),
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
// what the formats share: checks of the metadata, and integers, shapes and their errors as found in a file
// (errors are the message after "{path}: ")

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

fn shape_text(shape: &[u64]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => format!("({})", shape.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")),
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::{Codes, CodesMeta};
    use crate::Result;
    use std::path::{Path, PathBuf};

    pub(crate) fn meta() -> CodesMeta {
        CodesMeta {
            model: "hf-audio/xcodec-hubert-librispeech".into(),
            sample_rate_hz: 16000,
            frame_rate_hz: 50.0,
            bandwidth_kbps: 1.5,
            num_samples: 12345,
            tool_version: "xcodec 0.1.0".into(),
        }
    }

    pub(crate) fn codes(n_q: usize, frames: usize, modulo: i64) -> Codes {
        let values = (0..(n_q * frames) as i64).map(|i| (i * 7919 + 13) % modulo).collect();
        Codes { n_q, frames, values, meta: None }
    }

    /// An .npy file from a header dict text and raw data (version 1.0, padded like numpy).
    pub(crate) fn npy_bytes(dict: &str, data: &[u8]) -> Vec<u8> {
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

    pub(crate) fn write_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// The message of an error, checked to be one line that names the file.
    pub(crate) fn file_err(result: Result<Codes>, path: &Path) -> String {
        let msg = result.unwrap_err().to_string();
        assert!(!msg.contains('\n'), "multi-line error: {msg}");
        assert!(msg.starts_with(&path.display().to_string()), "error does not name the file: {msg}");
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;

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
