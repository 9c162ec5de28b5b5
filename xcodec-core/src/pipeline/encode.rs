//! `encode`: audio files -> codes files. Files that fit in one window are read whole and batched with
//! files of the same length; longer files stream through windows with context (bounded memory).

use super::windows::Windows;
use super::{Event, Job, Outcome, Report};
use crate::audio::{AudioReader, check_finite};
use crate::codes::{Codes, CodesFormat, CodesMeta, write_codes};
use crate::{AcousticDecoder, AcousticEncoder, Quantizer, Result, SemanticTeacher, XCodec, XcodecError};
use burn::tensor::{Device, Tensor, TensorData};
use std::collections::BTreeMap;

/// What `encode_files` does.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// Bandwidth in kbps; `None` = the model's highest.
    pub bandwidth_kbps: Option<f64>,
    /// Codes file format.
    pub format: CodesFormat,
    /// Files of equal length encoded together.
    pub batch_size: usize,
    /// Seconds each window of a long file keeps.
    pub window_seconds: f64,
    /// Seconds of context computed on each side of a window and thrown away.
    pub context_seconds: f64,
    /// Gain applied to the samples (1 = none).
    pub gain: f32,
    /// Leave files whose output exists.
    pub skip_existing: bool,
    /// The model as the user named it (stored in safetensors metadata).
    pub model_id: String,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            bandwidth_kbps: None,
            format: CodesFormat::Npy,
            batch_size: 1,
            window_seconds: 30.0,
            context_seconds: 2.0,
            gain: 1.0,
            skip_existing: false,
            model_id: String::new(),
        }
    }
}

/// Shared state of one encode run.
struct Run<'a, A, D, S, Q> {
    codec: &'a XCodec<A, D, S, Q>,
    opts: &'a EncodeOptions,
    bandwidth: f64,
    n_q: usize,
    windows: (usize, usize),
    device: Device,
}

/// Encodes every job; the report has one outcome per job, in order. Fails as a whole only for a bandwidth
/// the model does not offer or a non-finite gain.
pub fn encode_files<A: AcousticEncoder + Sync, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer>(
    codec: &XCodec<A, D, S, Q>,
    jobs: &[Job],
    opts: &EncodeOptions,
    on_event: &mut dyn FnMut(Event),
) -> Result<Report> {
    let bandwidth = opts.bandwidth_kbps.unwrap_or_else(|| codec.target_bandwidths_kbps.last().copied().unwrap_or(0.0));
    let n_q = codec.checked_codebooks(bandwidth)?;
    if !opts.gain.is_finite() {
        return Err(XcodecError::Input(format!("--gain {} is not a finite number", opts.gain)));
    }
    let frame_rate = codec.frame_rate_hz();
    let windows = (((opts.window_seconds * frame_rate) as usize).max(1), (opts.context_seconds * frame_rate) as usize);
    let device = codec.fc_prior.weight.device();
    let run = Run { codec, opts, bandwidth, n_q, windows, device };
    let max_whole = (windows.0 + 2 * windows.1) * codec.hop_length();

    let mut outcomes: Vec<Option<Outcome>> = jobs.iter().map(|_| None).collect();
    // Whole files waiting for a batch, by length.
    let mut pending: BTreeMap<usize, Vec<(usize, Vec<f32>)>> = BTreeMap::new();
    for (i, job) in jobs.iter().enumerate() {
        if opts.skip_existing && job.output.is_file() {
            outcomes[i] = Some(Outcome::Skipped);
            on_event(Event::Finished { input: &job.input, outcome: outcomes[i].as_ref().unwrap() });
            continue;
        }
        let result = AudioReader::open(&job.input, codec.sample_rate_hz).and_then(|mut reader| {
            let seconds = reader.expected_len().map(|n| n as f64 / codec.sample_rate_hz as f64);
            on_event(Event::Started { input: &job.input, seconds });
            let head = read_up_to(&mut reader, max_whole + 1)?;
            if head.len() <= max_whole {
                Ok(Some(head))
            } else {
                run.encode_long(job, reader, head, on_event).map(|o| {
                    outcomes[i] = Some(o);
                    None
                })
            }
        });
        match result {
            Ok(Some(samples)) => {
                // Checked alone, so that one bad file never fails the batch it would join.
                let samples = match run.prepare(samples) {
                    Ok(s) => s,
                    Err(e) => {
                        outcomes[i] = Some(Outcome::Failed(format!("{}: {e}", job.input.display())));
                        on_event(Event::Finished { input: &job.input, outcome: outcomes[i].as_ref().unwrap() });
                        continue;
                    }
                };
                let len = samples.len();
                let group = pending.entry(len).or_default();
                group.push((i, samples));
                if group.len() >= opts.batch_size.max(1) {
                    let group = pending.remove(&len).expect("just filled");
                    run.encode_batch(jobs, group, &mut outcomes, on_event);
                }
            }
            Ok(None) => on_event(Event::Finished { input: &job.input, outcome: outcomes[i].as_ref().unwrap() }),
            Err(e) => {
                outcomes[i] = Some(Outcome::Failed(e.to_string()));
                on_event(Event::Finished { input: &job.input, outcome: outcomes[i].as_ref().unwrap() });
            }
        }
    }
    for (_, group) in std::mem::take(&mut pending) {
        run.encode_batch(jobs, group, &mut outcomes, on_event);
    }
    Ok(jobs.iter().cloned().zip(outcomes.into_iter().map(|o| o.expect("every job has an outcome"))).collect())
}

/// Reads until `n` samples or the end.
fn read_up_to(reader: &mut AudioReader, n: usize) -> Result<Vec<f32>> {
    let mut out = Vec::new();
    while out.len() < n {
        match reader.read(n - out.len())? {
            Some(chunk) => out.extend(chunk),
            None => break,
        }
    }
    Ok(out)
}

impl<A: AcousticEncoder + Sync, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer> Run<'_, A, D, S, Q> {
    /// Applies `--gain` and refuses non-finite results (an error, not silent garbage codes).
    fn prepare(&self, samples: Vec<f32>) -> Result<Vec<f32>> {
        let gain = self.opts.gain;
        let samples = if gain == 1.0 { samples } else { samples.into_iter().map(|s| s * gain).collect() };
        check_finite(&samples, |i| {
            XcodecError::Input(format!("sample {i} is not finite (NaN or inf); check the gain and the file"))
        })?;
        Ok(samples)
    }

    fn tensor(&self, batch: Vec<f32>, rows: usize) -> Tensor<3> {
        let len = batch.len() / rows;
        Tensor::from_data(TensorData::new(batch, [rows, 1, len]), &self.device)
    }

    fn meta(&self, num_samples: usize) -> CodesMeta {
        CodesMeta {
            model: self.opts.model_id.clone(),
            sample_rate_hz: self.codec.sample_rate_hz,
            frame_rate_hz: self.codec.frame_rate_hz(),
            bandwidth_kbps: self.bandwidth,
            num_samples: num_samples as u64,
            tool_version: concat!("xcodec ", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }

    fn write(&self, job: &Job, n_q: usize, frames: usize, values: Vec<i64>, num_samples: usize) -> Outcome {
        let codes = Codes { n_q, frames, values, meta: Some(self.meta(num_samples)) };
        match write_codes(&job.output, &codes, self.codec.quantizer.codebook_size(), self.opts.format) {
            Ok(()) => {
                Outcome::Done { audio_seconds: num_samples as f64 / self.codec.sample_rate_hz as f64, clipped: 0 }
            }
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }

    /// Whole files of one length, encoded as one batch (each exactly as if alone).
    fn encode_batch(
        &self,
        jobs: &[Job],
        group: Vec<(usize, Vec<f32>)>,
        outcomes: &mut [Option<Outcome>],
        on_event: &mut dyn FnMut(Event),
    ) {
        if group.is_empty() {
            return;
        }
        let len = group[0].1.len();
        let rows = group.len();
        let flat: Vec<f32> = group.iter().flat_map(|(_, s)| s.iter().copied()).collect();
        let result = self.codec.encode(self.tensor(flat, rows), self.bandwidth).and_then(|codes| {
            let [_, n_q, frames] = codes.dims();
            let values = super::values::<i64>(codes.into_data())?;
            Ok((n_q, frames, values))
        });
        for (row, (i, _)) in group.iter().enumerate() {
            let job = &jobs[*i];
            let outcome = match &result {
                Ok((n_q, frames, values)) => {
                    let per = n_q * frames;
                    self.write(job, *n_q, *frames, values[row * per..(row + 1) * per].to_vec(), len)
                }
                Err(e) => Outcome::Failed(format!("{}: {e}", job.input.display())),
            };
            outcomes[*i] = Some(outcome);
            on_event(Event::Progress { seconds: len as f64 / self.codec.sample_rate_hz as f64 });
            on_event(Event::Finished { input: &job.input, outcome: outcomes[*i].as_ref().unwrap() });
        }
    }

    /// A long file: windows of `window` frames computed with `context` frames on each side, streamed.
    fn encode_long(
        &self,
        job: &Job,
        mut reader: AudioReader,
        head: Vec<f32>,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Outcome> {
        let codec = self.codec;
        let hop = codec.hop_length();
        let total = match reader.expected_len() {
            Some(n) => n as usize,
            // Without a length in the container, count first: the padding rule depends on the length.
            None => count_samples(&job.input, codec.sample_rate_hz)?,
        };
        let pad = codec.pads_acoustic_input(total);
        let windows = Windows { window: self.windows.0, context: self.windows.1, frames: codec.output_frames(total) };
        let mut rows: Vec<Vec<i64>> = vec![Vec::with_capacity(windows.frames); self.n_q];
        let (mut buffer, mut base) = (head, 0usize); // buffer holds samples [base, base + len)
        let mut eof = false;
        for w in windows.iter() {
            let (start, end) = (w.from * hop, if w.to == windows.frames { total } else { w.to * hop });
            while base + buffer.len() < end && !eof {
                match reader.read(1 << 16)? {
                    Some(chunk) => buffer.extend(chunk),
                    None => eof = true,
                }
            }
            let end = end.min(base + buffer.len());
            buffer.drain(..start - base);
            base = start;
            let chunk = self.prepare(buffer[..end - start].to_vec())?;
            let codes = codec.encode_aligned(self.tensor(chunk, 1), self.bandwidth, pad)?;
            let [_, n_q, frames] = codes.dims();
            let (keep_from, keep_to) = (w.keep_start - w.from, w.keep_end - w.from);
            if frames < keep_to {
                return Err(XcodecError::Input(format!(
                    "{}: window at frame {} gave {frames} frames, {keep_to} needed (file shorter than its header says?)",
                    job.input.display(),
                    w.from
                )));
            }
            let values = super::values::<i64>(codes.into_data())?;
            for (q, row) in rows.iter_mut().enumerate().take(n_q) {
                row.extend_from_slice(&values[q * frames + keep_from..q * frames + keep_to]);
            }
            on_event(Event::Progress { seconds: (w.keep_end - w.keep_start) as f64 / codec.frame_rate_hz() });
        }
        let frames = rows[0].len();
        Ok(self.write(job, self.n_q, frames, rows.concat(), total))
    }
}

/// Samples a file yields at `rate`, by reading it through (for containers that do not say).
fn count_samples(path: &std::path::Path, rate: u32) -> Result<usize> {
    let mut reader = AudioReader::open(path, rate)?;
    let mut n = 0;
    while let Some(chunk) = reader.read(1 << 16)? {
        n += chunk.len();
    }
    Ok(n)
}
