//! numpy `.npy` codes files: the `(n_q, frames)` array alone, as `numpy.save` writes it (version 1.0 header
//! padded to 64 bytes, C order, `<u2` or `<i4`). Reading takes what numpy writes: any integer dtype of either
//! byte order, C or Fortran order, `(n_q, frames)` or `(1, n_q, frames)`.

use super::{Codes, IntType, Msg, codes_shape, decode_ints, shape_text};

const NPY_MAGIC: &[u8] = b"\x93NUMPY";
/// numpy aligns the data of `.npy` files to this many bytes (header included).
const NPY_ALIGN: usize = 64;

/// The file: header for a C-order `(rows, cols)` array of `descr` (`<u2` / `<i4`), then `data`.
pub(super) fn encode(descr: &str, rows: usize, cols: usize, data: &[u8]) -> Vec<u8> {
    let mut bytes = npy_header(descr, rows, cols);
    bytes.extend_from_slice(data);
    bytes
}

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

/// The codes of an `.npy` file (errors are the message after "{path}: ").
pub(super) fn parse(bytes: &[u8]) -> Msg<Codes> {
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

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::{Codes, CodesFormat, read_codes, write_codes};

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
}
