//! `decode`: codes files -> WAV files, decoded in windows with context and written as they come
//! (bounded memory), trimmed to the original length when the codes file records it.

use super::windows::Windows;
use super::{Event, Job, Outcome, Report};
use crate::audio::{SampleFormat, WavStream};
use crate::codes::{Codes, read_codes, validate_codes};
use crate::{AcousticDecoder, AcousticEncoder, Quantizer, Result, SemanticTeacher, XCodec, XcodecError};
use burn::tensor::{Int, Tensor, TensorData};

/// What `decode_files` does.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// WAV sample format.
    pub sample_format: SampleFormat,
    /// Seconds each window keeps.
    pub window_seconds: f64,
    /// Seconds of context decoded on each side of a window and thrown away.
    pub context_seconds: f64,
    /// Leave files whose output exists.
    pub skip_existing: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self { sample_format: SampleFormat::Pcm16, window_seconds: 30.0, context_seconds: 2.0, skip_existing: false }
    }
}

/// Decodes every job; one outcome per job, in order.
pub fn decode_files<A: AcousticEncoder, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer>(
    codec: &XCodec<A, D, S, Q>,
    jobs: &[Job],
    opts: &DecodeOptions,
    on_event: &mut dyn FnMut(Event),
) -> Report {
    jobs.iter()
        .map(|job| {
            let outcome = if opts.skip_existing && super::inputs::is_complete(&job.output) {
                Outcome::Skipped
            } else {
                decode_one(codec, job, opts, on_event).unwrap_or_else(|e| Outcome::Failed(e.to_string()))
            };
            on_event(Event::Finished { input: &job.input, outcome: &outcome });
            (job.clone(), outcome)
        })
        .collect()
}

/// The codes file's own record checked against the model and the codes it holds, so that a file for another
/// model or a damaged record is refused instead of decoding to audio of the wrong length or speed.
fn check_meta<A: AcousticEncoder, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer>(
    codec: &XCodec<A, D, S, Q>,
    meta: &crate::codes::CodesMeta,
    codes: &crate::codes::Codes,
) -> std::result::Result<(), String> {
    let (rate, frame_rate, hop) = (codec.sample_rate_hz, codec.frame_rate_hz(), codec.hop_length());
    let fix = "decode with the model that encoded them, or re-encode";
    if meta.sample_rate_hz != rate {
        return Err(format!(
            "codes are for a {} Hz model but this model runs at {rate} Hz; {fix}",
            meta.sample_rate_hz
        ));
    }
    if (meta.frame_rate_hz - frame_rate).abs() > 1e-6 * frame_rate {
        return Err(format!(
            "codes are at {} frames/s but this model makes {frame_rate} frames/s; {fix}",
            meta.frame_rate_hz
        ));
    }
    let n_q = codec.codebooks_for_bandwidth(meta.bandwidth_kbps);
    let offered = codec.target_bandwidths_kbps.iter().any(|b| (b - meta.bandwidth_kbps).abs() < 1e-9);
    if !offered || n_q != codes.n_q {
        return Err(format!(
            "the file says {} kbps but holds {} codebooks a frame ({} kbps gives {n_q} here); {fix}",
            meta.bandwidth_kbps, codes.n_q, meta.bandwidth_kbps
        ));
    }
    // A clip gives its frames from at most one frame past its end (padding at both ends), so its length
    // lies within the last two frames' samples.
    let samples = meta.num_samples as usize;
    let (least, most) = ((codes.frames.saturating_sub(2) * hop + 1).max(1), codes.frames * hop);
    if !(least..=most).contains(&samples) {
        return Err(format!(
            "the file says {samples} samples but {} frames come from {least} to {most}; the file is damaged, re-encode",
            codes.frames
        ));
    }
    Ok(())
}

fn decode_one<A: AcousticEncoder, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer>(
    codec: &XCodec<A, D, S, Q>,
    job: &Job,
    opts: &DecodeOptions,
    on_event: &mut dyn FnMut(Event),
) -> Result<Outcome> {
    let codes = read_codes(&job.input)?;
    validate_codes(&codes, codec.quantizer.codebook_size(), codec.quantizer.num_quantizers())
        .map_err(|e| XcodecError::file(&job.input, e.to_string()))?;
    let rate = codec.sample_rate_hz;
    if let Some(meta) = &codes.meta {
        check_meta(codec, meta, &codes).map_err(|why| XcodecError::file(&job.input, why))?;
    }
    let hop = codec.hop_length();
    // Trim to the original length when the file says (checked above to lie within the last two frames).
    let total = codes.meta.as_ref().map_or(codes.frames * hop, |m| (m.num_samples as usize).min(codes.frames * hop));
    on_event(Event::Started { input: &job.input, seconds: Some(total as f64 / rate as f64) });
    let mut out = WavStream::create(&job.output, rate, opts.sample_format)?;
    let written = decode_windowed(codec, &codes, total, opts, Some(&job.input), &mut |keep| {
        out.write(keep)?;
        on_event(Event::Progress { seconds: keep.len() as f64 / rate as f64 });
        Ok(())
    })?;
    let report = out.finish()?;
    Ok(Outcome::Done { audio_seconds: written as f64 / rate as f64, clipped: report.clipped })
}

/// Decodes `codes` (checked with [`validate_codes`] by the caller) in windows of `opts.window_seconds` with
/// `opts.context_seconds` of context on each side, exactly as `decode` does a codes file, handing each window's
/// kept samples to `keep`, the first `total` samples in all (`frames * hop` at most); the codec's errors name
/// `input` when given. Returns the samples kept.
pub fn decode_windowed<A: AcousticEncoder, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer>(
    codec: &XCodec<A, D, S, Q>,
    codes: &Codes,
    total: usize,
    opts: &DecodeOptions,
    input: Option<&std::path::Path>,
    keep: &mut dyn FnMut(&[f32]) -> Result<()>,
) -> Result<usize> {
    let hop = codec.hop_length();
    let frame_rate = codec.frame_rate_hz();
    let (window, context) = Windows::frames_of(opts.window_seconds, opts.context_seconds, frame_rate)?;
    let windows = Windows { window, context, frames: codes.frames };
    let device = codec.fc_post2.weight.device();
    let mut written = 0;
    for w in windows.iter() {
        let n = w.to - w.from;
        let mut window_codes = Vec::with_capacity(codes.n_q * n);
        for q in 0..codes.n_q {
            window_codes.extend_from_slice(&codes.values[q * codes.frames + w.from..q * codes.frames + w.to]);
        }
        let tensor = Tensor::<3, Int>::from_data(TensorData::new(window_codes, [1, codes.n_q, n]), &device);
        let audio = codec.decode(tensor).map_err(|e| match input {
            Some(path) => XcodecError::file(path, e.to_string()),
            None => e,
        })?;
        let samples = super::tensor_values::<f32>(audio.into_data())?;
        let kept = &samples[(w.keep_start - w.from) * hop..(w.keep_end - w.from) * hop];
        let kept = &kept[..kept.len().min(total - written)];
        keep(kept)?;
        written += kept.len();
    }
    Ok(written)
}
