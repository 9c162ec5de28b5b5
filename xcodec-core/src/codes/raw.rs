//! Raw codes streams (`xcodec encode --stream` out, `xcodec decode --stream` in): no header, frame after
//! frame, each frame `n_q` little-endian `u16` values (codebook 0 first). `n_q` follows from the bandwidth,
//! which the two ends must agree on; the stream carries no length, so it ends where its last whole frame does.
//! Read and written a chunk of whole frames at a time, flushed after each, so codes travel as they are made.

use std::io::{Read, Write};

use crate::io::{read_full, stream_error};
use crate::{Result, XcodecError};

/// The largest codebook a raw stream can carry (its values are `u16`).
pub const MAX_CODEBOOK_SIZE: usize = 1 << 16;

/// Refuses codebooks whose indices do not fit the stream's `u16`.
pub fn check_codebook_size(codebook_size: usize) -> Result<()> {
    if codebook_size > MAX_CODEBOOK_SIZE {
        return Err(XcodecError::Config(format!(
            "codebooks of {codebook_size} entries do not fit the u16 codes stream"
        )));
    }
    Ok(())
}

/// Writes codes to a raw stream.
pub struct RawCodesWriter<W: Write> {
    out: W,
    n_q: usize,
    bytes: Vec<u8>,
}

impl<W: Write> RawCodesWriter<W> {
    /// A stream of frames of `n_q` codes to `out`.
    pub fn new(out: W, n_q: usize) -> Self {
        Self { out, n_q, bytes: Vec::new() }
    }

    /// Appends `codes`, codebook-major (`codes[q * frames + f]`, `n_q * frames` values whose indices fit `u16`),
    /// as `frames` frames, and flushes.
    pub fn write(&mut self, codes: &[i64]) -> Result<()> {
        let (n_q, frames) = (self.n_q, codes.len() / self.n_q.max(1));
        self.bytes.clear();
        for f in 0..frames {
            self.bytes.extend((0..n_q).flat_map(|q| (codes[q * frames + f] as u16).to_le_bytes()));
        }
        self.out
            .write_all(&self.bytes)
            .and_then(|()| self.out.flush())
            .map_err(|e| stream_error("writing the codes", e))
    }
}

/// Reads codes from a raw stream.
pub struct RawCodesReader<R: Read> {
    input: R,
    n_q: usize,
    bytes: Vec<u8>,
}

impl<R: Read> RawCodesReader<R> {
    /// A stream of frames of `n_q` codes from `input`.
    pub fn new(input: R, n_q: usize) -> Self {
        Self { input, n_q, bytes: Vec::new() }
    }

    /// Up to `max_frames` frames, codebook-major (`n_q * frames` values); fewer only at the end of the input,
    /// none after it. A stream that ends inside a frame is an error.
    pub fn read(&mut self, max_frames: usize) -> Result<Vec<i64>> {
        let n_q = self.n_q;
        let frame_bytes = 2 * n_q;
        self.bytes.resize(max_frames * frame_bytes, 0);
        let got = read_full(&mut self.input, &mut self.bytes).map_err(|e| stream_error("reading the codes", e))?;
        if got % frame_bytes != 0 {
            return Err(XcodecError::Input(format!(
                "the codes input ends inside a frame ({} bytes after the last whole frame of {n_q} x u16); check --bandwidth matches the encoder's",
                got % frame_bytes
            )));
        }
        let frames = got / frame_bytes;
        let bytes = &self.bytes;
        Ok((0..n_q)
            .flat_map(|q| (0..frames).map(move |f| (f * n_q + q) * 2))
            .map(|at| i64::from(u16::from_le_bytes([bytes[at], bytes[at + 1]])))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_frame_major_on_the_wire() {
        let mut wire = Vec::new();
        let mut writer = RawCodesWriter::new(&mut wire, 2);
        // two codebooks x three frames, codebook-major
        writer.write(&[1, 2, 3, 10, 20, 65535]).unwrap();
        writer.write(&[4, 40]).unwrap();
        let words: Vec<u16> = wire.chunks(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
        assert_eq!(words, [1, 10, 2, 20, 3, 65535, 4, 40]);
        let mut reader = RawCodesReader::new(&wire[..], 2);
        assert_eq!(reader.read(3).unwrap(), [1, 2, 3, 10, 20, 65535]);
        assert_eq!(reader.read(3).unwrap(), [4, 40]);
        assert!(reader.read(3).unwrap().is_empty());
    }

    #[test]
    fn a_stream_ending_inside_a_frame_and_wide_codebooks_are_refused() {
        let err = RawCodesReader::new(&[0u8; 7][..], 2).read(4).unwrap_err().to_string();
        assert!(err.contains("ends inside a frame (3 bytes") && err.contains("--bandwidth"), "{err}");
        assert!(check_codebook_size(1 << 16).is_ok());
        let err = check_codebook_size((1 << 16) + 1).unwrap_err().to_string();
        assert!(err.contains("do not fit the u16 codes stream"), "{err}");
    }
}
