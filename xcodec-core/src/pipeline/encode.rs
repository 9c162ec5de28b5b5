//! `encode`: audio files -> codes files. Files that fit in one window are read whole and batched with
//! files of the same length bucket (padded and masked); longer files stream through windows with context
//! (bounded memory).

use super::windows::Windows;
use super::{Event, Job, Outcome, Report};
use crate::audio::{AudioReader, check_finite};
use crate::codes::{Codes, CodesFormat, CodesMeta, write_codes};
use crate::{AcousticDecoder, AcousticEncoder, Quantizer, Result, SemanticTeacher, XCodec, XcodecError};
use burn::tensor::{Device, Tensor, TensorData};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// What `encode_files` does.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// Bandwidth in kbps; `None` = the model's highest.
    pub bandwidth_kbps: Option<f64>,
    /// Codes file format.
    pub format: CodesFormat,
    /// Files of one length bucket encoded together.
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

/// Codes of one file, codebook-major: `values[q * frames + t]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCodes {
    /// Codebooks per frame.
    pub n_q: usize,
    /// Frames.
    pub frames: usize,
    /// The codes, `n_q x frames`, codebook-major.
    pub values: Vec<i64>,
    /// Samples of the input at the model's rate.
    pub num_samples: usize,
}

/// The first samples of a file, read by [`ClipEncoder::open`]: the whole file when it fits in one window,
/// else its head with the reader positioned after it.
pub enum Opened {
    /// The whole file (gain applied, checked finite): batch it with [`ClipEncoder::encode_batch`].
    Whole(Vec<f32>),
    /// A long file to stream through [`ClipEncoder::encode_long`].
    Long(Box<AudioReader>, Vec<f32>),
}

/// Codes of files for one codec at one bandwidth, exactly as `xcodec encode` computes them: whole files in
/// batches of one length bucket, long files in windows with context. Computes only; writing is the caller's.
pub struct ClipEncoder<'a, A, D, S, Q> {
    codec: &'a XCodec<A, D, S, Q>,
    bandwidth: f64,
    n_q: usize,
    gain: f32,
    /// Frames each window keeps, frames of context on each side.
    windows: (usize, usize),
    device: Device,
}

impl<'a, A: AcousticEncoder + Sync, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer> ClipEncoder<'a, A, D, S, Q> {
    /// For `bandwidth_kbps` (`None`: the model's highest); refuses a bandwidth the model does not offer, a
    /// non-finite gain and windows that are not positive, finite seconds.
    pub fn new(
        codec: &'a XCodec<A, D, S, Q>,
        bandwidth_kbps: Option<f64>,
        gain: f32,
        window_seconds: f64,
        context_seconds: f64,
    ) -> Result<Self> {
        let bandwidth = bandwidth_kbps.unwrap_or_else(|| codec.target_bandwidths_kbps.last().copied().unwrap_or(0.0));
        let n_q = codec.checked_codebooks(bandwidth)?;
        if !gain.is_finite() {
            return Err(XcodecError::Input(format!("--gain {gain} is not a finite number")));
        }
        let frame_rate = codec.frame_rate_hz();
        let windows = Windows::frames_of(window_seconds, context_seconds, frame_rate)?;
        Ok(Self { codec, bandwidth, n_q, gain, windows, device: codec.fc_prior.weight.device() })
    }

    /// The bandwidth in kbps.
    pub fn bandwidth_kbps(&self) -> f64 {
        self.bandwidth
    }

    /// Codebooks per frame at this bandwidth.
    pub fn codebooks(&self) -> usize {
        self.n_q
    }

    /// The most samples a file may have to be encoded whole (one window with its context).
    pub fn max_whole(&self) -> usize {
        (self.windows.0 + 2 * self.windows.1) * self.codec.hop_length()
    }

    /// Opens `path` at the model's rate and reads what decides how it is encoded (safe on any thread).
    pub fn open(path: &std::path::Path, sample_rate_hz: u32, max_whole: usize, gain: f32) -> Result<Opened> {
        let mut reader = AudioReader::open(path, sample_rate_hz)?;
        let head = read_up_to(&mut reader, max_whole + 1)?;
        if head.len() <= max_whole {
            Ok(Opened::Whole(prepare(head, gain)?))
        } else {
            Ok(Opened::Long(Box::new(reader), head))
        }
    }

    /// Applies the gain and refuses non-finite results (an error, not silent garbage codes).
    pub fn prepare(&self, samples: Vec<f32>) -> Result<Vec<f32>> {
        prepare(samples, self.gain)
    }

    fn tensor(&self, batch: Vec<f32>, rows: usize) -> Tensor<3> {
        let len = batch.len() / rows;
        Tensor::from_data(TensorData::new(batch, [rows, 1, len]), &self.device)
    }

    /// The length a whole clip of `samples` samples is zero-padded to before it is encoded, its bucket: whole
    /// frames, at least two, rounded up to a sixteenth of the next power of two of its frames (at most 12.5 %
    /// padding). Clips of one bucket batch together exactly; a clip shorter than a frame is its own bucket.
    pub fn bucket(&self, samples: usize) -> usize {
        let hop = self.codec.hop_length();
        if samples < hop {
            return samples;
        }
        let frames = samples.div_ceil(hop).max(2);
        let quantum = (frames.next_power_of_two() / 16).max(1);
        frames.div_ceil(quantum) * quantum * hop
    }

    /// Whole files (prepared) of any lengths, each padded to its [`Self::bucket`] and encoded in one batch
    /// per bucket, masked: each row's codes exactly what it gets alone, in any batch.
    pub fn encode_batch(&self, rows: &[&[f32]]) -> Result<Vec<FileCodes>> {
        let mut buckets: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, row) in rows.iter().enumerate() {
            buckets.entry(self.bucket(row.len())).or_default().push(i);
        }
        let mut out = vec![None; rows.len()];
        for (width, members) in buckets {
            let mut flat = vec![0f32; width * members.len()];
            for (k, &i) in members.iter().enumerate() {
                flat[k * width..k * width + rows[i].len()].copy_from_slice(rows[i]);
            }
            let lengths: Vec<usize> = members.iter().map(|&i| rows[i].len()).collect();
            let (codes, frames) =
                self.codec.encode_masked(self.tensor(flat, members.len()), &lengths, self.bandwidth)?;
            let [_, n_q, steps] = codes.dims();
            let values = super::tensor_values::<i64>(codes.into_data())?;
            for ((&i, row), (&frames, &len)) in
                members.iter().zip(values.chunks(n_q * steps)).zip(frames.iter().zip(&lengths))
            {
                let frames = frames.min(steps);
                let values = row.chunks(steps).flat_map(|q| q[..frames].iter().copied()).collect();
                out[i] = Some(FileCodes { n_q, frames, values, num_samples: len });
            }
        }
        Ok(out.into_iter().map(|codes| codes.expect("every row is in a bucket")).collect())
    }

    /// A long file (`input` names it in errors): windows of `window` frames computed with `context` frames on
    /// each side, streamed; `on_progress` gets the seconds of audio done after each window.
    pub fn encode_long(
        &self,
        input: &std::path::Path,
        mut reader: AudioReader,
        head: Vec<f32>,
        on_progress: &mut dyn FnMut(f64),
    ) -> Result<FileCodes> {
        let total = match reader.expected_len() {
            Some(n) => n as usize,
            // Without a length in the container, count first: the padding rule depends on the length.
            None => count_samples(input, self.codec.sample_rate_hz)?,
        };
        let name = input.display().to_string();
        self.encode_windowed(&name, total, head, &mut || reader.read(1 << 16), on_progress)
    }

    /// Clips already at the model's rate, each coded exactly as `encode` codes a file of these samples: those
    /// that fit in one window ([`Self::max_whole`]) batched by [`Self::encode_batch`] (gain applied and checked
    /// finite first, without a copy at gain 1), longer ones in windows with context as [`Self::encode_long`].
    pub fn encode_clips(&self, clips: &[&[f32]]) -> Result<Vec<FileCodes>> {
        let max_whole = self.max_whole();
        let whole: Vec<usize> = (0..clips.len()).filter(|&i| clips[i].len() <= max_whole).collect();
        let prepared = whole
            .iter()
            .map(|&i| {
                if self.gain == 1.0 {
                    check_samples(clips[i]).map(|()| Cow::Borrowed(clips[i]))
                } else {
                    self.prepare(clips[i].to_vec()).map(Cow::Owned)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let rows: Vec<&[f32]> = prepared.iter().map(|c| c.as_ref()).collect();
        let mut out: Vec<Option<FileCodes>> = vec![None; clips.len()];
        for (&i, codes) in whole.iter().zip(self.encode_batch(&rows)?) {
            out[i] = Some(codes);
        }
        for (i, clip) in clips.iter().enumerate().filter(|(_, c)| c.len() > max_whole) {
            let codes = self.encode_windowed("audio", clip.len(), clip.to_vec(), &mut || Ok(None), &mut |_| {})?;
            out[i] = Some(codes);
        }
        Ok(out.into_iter().map(|codes| codes.expect("every clip is coded")).collect())
    }

    /// A clip of `total` samples (`name` names it in errors) in windows of `window` frames computed with
    /// `context` frames on each side: `head` holds its first samples, `more` gives the next ones (`None` at the
    /// end); `on_progress` gets the seconds of audio done after each window.
    fn encode_windowed(
        &self,
        name: &str,
        total: usize,
        head: Vec<f32>,
        more: &mut dyn FnMut() -> Result<Option<Vec<f32>>>,
        on_progress: &mut dyn FnMut(f64),
    ) -> Result<FileCodes> {
        let codec = self.codec;
        let hop = codec.hop_length();
        let pad = codec.pads_acoustic_input(total);
        let windows = Windows { window: self.windows.0, context: self.windows.1, frames: codec.output_frames(total) };
        let mut rows: Vec<Vec<i64>> = vec![Vec::with_capacity(windows.frames); self.n_q];
        let (mut buffer, mut base) = (head, 0usize); // buffer holds samples [base, base + len)
        let mut eof = false;
        for w in windows.iter() {
            let (start, end) = (w.from * hop, if w.to == windows.frames { total } else { w.to * hop });
            while base + buffer.len() < end && !eof {
                match more()? {
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
                    "{name}: window at frame {} gave {frames} frames, {keep_to} needed (file shorter than its header says?)",
                    w.from
                )));
            }
            let values = super::tensor_values::<i64>(codes.into_data())?;
            for (q, row) in rows.iter_mut().enumerate().take(n_q) {
                row.extend_from_slice(&values[q * frames + keep_from..q * frames + keep_to]);
            }
            on_progress((w.keep_end - w.keep_start) as f64 / codec.frame_rate_hz());
        }
        let frames = rows[0].len();
        Ok(FileCodes { n_q: self.n_q, frames, values: rows.concat(), num_samples: total })
    }
}

/// Applies `gain` and refuses non-finite results.
fn prepare(samples: Vec<f32>, gain: f32) -> Result<Vec<f32>> {
    let samples = if gain == 1.0 { samples } else { samples.into_iter().map(|s| s * gain).collect() };
    check_samples(&samples)?;
    Ok(samples)
}

/// Refuses samples that are not all finite, naming the first (an error, not silent garbage codes).
pub fn check_samples(samples: &[f32]) -> Result<()> {
    check_finite(samples, |i| {
        XcodecError::Input(format!("sample {i} is not finite (NaN or inf); check the gain and the file"))
    })
}

/// Encodes every job; the report has one outcome per job, in order. Fails as a whole only for a bandwidth
/// the model does not offer or a non-finite gain.
pub fn encode_files<A: AcousticEncoder + Sync, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer>(
    codec: &XCodec<A, D, S, Q>,
    jobs: &[Job],
    opts: &EncodeOptions,
    on_event: &mut dyn FnMut(Event),
) -> Result<Report> {
    let enc = ClipEncoder::new(codec, opts.bandwidth_kbps, opts.gain, opts.window_seconds, opts.context_seconds)?;
    let run = Run { enc, opts };
    let max_whole = run.enc.max_whole();
    let mut outcomes: Vec<Option<Outcome>> = jobs.iter().map(|_| None).collect();
    // Whole files waiting for a batch, by length bucket.
    let mut pending: BTreeMap<usize, Vec<(usize, Vec<f32>)>> = BTreeMap::new();
    for (i, job) in jobs.iter().enumerate() {
        if opts.skip_existing && super::inputs::is_complete(&job.output) {
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
                let codes =
                    run.enc.encode_long(&job.input, reader, head, &mut |seconds| on_event(Event::Progress { seconds }));
                outcomes[i] = Some(match codes {
                    Ok(codes) => run.write(job, codes),
                    Err(e) => Outcome::Failed(e.to_string()),
                });
                Ok(None)
            }
        });
        match result {
            Ok(Some(samples)) => {
                // Checked alone, so that one bad file never fails the batch it would join.
                let samples = match run.enc.prepare(samples) {
                    Ok(s) => s,
                    Err(e) => {
                        outcomes[i] = Some(Outcome::Failed(format!("{}: {e}", job.input.display())));
                        on_event(Event::Finished { input: &job.input, outcome: outcomes[i].as_ref().unwrap() });
                        continue;
                    }
                };
                let bucket = run.enc.bucket(samples.len());
                let group = pending.entry(bucket).or_default();
                group.push((i, samples));
                if group.len() >= opts.batch_size.max(1) {
                    let group = pending.remove(&bucket).expect("just filled");
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

/// One `encode_files` run: the encoder and where its codes go.
struct Run<'a, A, D, S, Q> {
    enc: ClipEncoder<'a, A, D, S, Q>,
    opts: &'a EncodeOptions,
}

impl<A: AcousticEncoder + Sync, D: AcousticDecoder, S: SemanticTeacher, Q: Quantizer> Run<'_, A, D, S, Q> {
    fn meta(&self, num_samples: usize) -> CodesMeta {
        let codec = self.enc.codec;
        CodesMeta {
            model: self.opts.model_id.clone(),
            sample_rate_hz: codec.sample_rate_hz,
            frame_rate_hz: codec.frame_rate_hz(),
            bandwidth_kbps: self.enc.bandwidth,
            num_samples: num_samples as u64,
            tool_version: concat!("xcodec ", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }

    fn write(&self, job: &Job, codes: FileCodes) -> Outcome {
        let num_samples = codes.num_samples;
        let codes =
            Codes { n_q: codes.n_q, frames: codes.frames, values: codes.values, meta: Some(self.meta(num_samples)) };
        match write_codes(&job.output, &codes, self.enc.codec.quantizer.codebook_size(), self.opts.format) {
            Ok(()) => {
                Outcome::Done { audio_seconds: num_samples as f64 / self.enc.codec.sample_rate_hz as f64, clipped: 0 }
            }
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }

    /// Whole files of one length bucket, encoded as one batch (each exactly as if alone).
    fn encode_batch(
        &self,
        jobs: &[Job],
        group: Vec<(usize, Vec<f32>)>,
        outcomes: &mut [Option<Outcome>],
        on_event: &mut dyn FnMut(Event),
    ) {
        let rows: Vec<&[f32]> = group.iter().map(|(_, s)| s.as_slice()).collect();
        let result = self.enc.encode_batch(&rows);
        let rate = self.enc.codec.sample_rate_hz as f64;
        for (row, (i, samples)) in group.iter().enumerate() {
            let job = &jobs[*i];
            let outcome = match &result {
                Ok(codes) => self.write(job, codes[row].clone()),
                Err(e) => Outcome::Failed(format!("{}: {e}", job.input.display())),
            };
            outcomes[*i] = Some(outcome);
            on_event(Event::Progress { seconds: samples.len() as f64 / rate });
            on_event(Event::Finished { input: &job.input, outcome: outcomes[*i].as_ref().unwrap() });
        }
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
