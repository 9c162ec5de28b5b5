//! `xcodec encode --stream` / `xcodec decode --stream`: one input (a file or `-` for stdin) to one output (a
//! file or `-` for stdout, the default), chunk by chunk in constant memory. The work and the wire formats are
//! `xcodec_core::pipeline::live`; the summary goes to stderr, since stdout may carry the data. Called by
//! `jobs` when `--stream` is given, with the arguments it needs (it knows nothing of `jobs`).

use anyhow::{Context, bail};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::time::Instant;
use xcodec_builtin::{ExtraParts, LoadedModel};
use xcodec_core::audio::{AudioInput, PcmFormat, PcmSink, SampleFormat, WavStream};
use xcodec_core::io::TempFile;
use xcodec_core::pipeline::live::{
    StreamOptions, StreamReport, check_decode_stream, check_encode_stream, decode_stream, encode_stream,
};

/// Options of `--stream`.
#[derive(clap::Args)]
pub struct StreamArgs {
    /// Stream one input to one output in chunks of frames, with constant memory: stdin/stdout with `-`.
    /// Causal codecs without a semantic teacher only (e.g. soundstream + none). Codes travel as raw
    /// little-endian u16, frame after frame, n_q values a frame (n_q from --bandwidth).
    #[arg(long)]
    pub stream: bool,
    /// With --stream: frames per chunk (each chunk is processed and written once it is whole).
    #[arg(long, default_value_t = 10, requires = "stream", value_parser = crate::args::at_least_one)]
    pub chunk_frames: usize,
}

/// `--input-format` / `--output-format` of a stream.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AudioFormat {
    /// A WAV at the model's rate (decode: to a pipe its header says "unknown length").
    Wav,
    /// Raw signed 16-bit little-endian mono PCM at the model's rate.
    S16le,
    /// Raw 32-bit float little-endian mono PCM at the model's rate.
    F32le,
}

/// The one input of a stream.
fn single(inputs: &[String]) -> anyhow::Result<&str> {
    match inputs {
        [one] => Ok(one),
        _ => bail!("--stream takes one input (a file or - for stdin), got {}", inputs.len()),
    }
}

fn open_input(name: &str) -> anyhow::Result<Box<dyn Read>> {
    Ok(if name == "-" {
        Box::new(BufReader::new(std::io::stdin().lock()))
    } else {
        Box::new(BufReader::new(File::open(name).with_context(|| format!("{name}: cannot be opened"))?))
    })
}

/// A stream's output: stdout, or a file written through a temp file beside it and renamed into place only
/// once the stream ended well, so a failed or killed run leaves no partial file at the final path (raw codes
/// have no header: a cut file would look complete).
enum Output {
    Stdout(std::io::StdoutLock<'static>),
    File { writer: BufWriter<File>, temp: TempFile, path: std::path::PathBuf },
}

impl Output {
    /// The output named by `-o` (stdout when absent or `-`); an existing file is refused unless `overwrite`,
    /// and the input is never the output.
    fn open(output: Option<&Path>, input: &str, overwrite: bool) -> anyhow::Result<Self> {
        let path = match output {
            None => return Ok(Self::Stdout(std::io::stdout().lock())),
            Some(p) if p == Path::new("-") => return Ok(Self::Stdout(std::io::stdout().lock())),
            Some(p) => p,
        };
        check_target(path, input, overwrite)?;
        let temp = TempFile::beside(path)?;
        let writer =
            BufWriter::new(temp.file.try_clone().with_context(|| format!("{}: cannot be written", path.display()))?);
        Ok(Self::File { writer, temp, path: path.to_path_buf() })
    }

    /// Flushes; a file is renamed into place.
    fn finish(self) -> anyhow::Result<()> {
        match self {
            Self::Stdout(mut out) => Ok(out.flush()?),
            Self::File { mut writer, temp, path } => {
                writer.flush().with_context(|| format!("{}: cannot be written", path.display()))?;
                drop(writer);
                Ok(temp.persist(&path)?)
            }
        }
    }
}

/// Refuses a stream output file that is the stream's input, or that exists unless `overwrite`.
fn check_target(path: &Path, input: &str, overwrite: bool) -> anyhow::Result<()> {
    let same = |a: &Path| a.canonicalize().ok();
    if input != "-" && same(path).is_some() && same(path) == same(Path::new(input)) {
        bail!("{}: is the input of this stream; pass another -o", path.display());
    }
    if path.exists() && !overwrite {
        bail!("{}: exists already; pass --overwrite to replace it, or another -o", path.display());
    }
    Ok(())
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Stdout(out) => out.write(buf),
            Self::File { writer, .. } => writer.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Stdout(out) => out.flush(),
            Self::File { writer, .. } => writer.flush(),
        }
    }
}

fn options(bandwidth_kbps: Option<f64>, args: &StreamArgs) -> StreamOptions {
    StreamOptions { bandwidth_kbps, chunk_frames: args.chunk_frames }
}

fn summary<P: ExtraParts>(verb: &str, model: &LoadedModel<P>, report: &StreamReport, started: Instant) {
    let seconds = report.samples as f64 / model.codec.sample_rate_hz as f64;
    let took = started.elapsed().as_secs_f64();
    eprintln!(
        "{verb} {} frames x {} codebooks ({seconds:.1} s of audio) in {took:.1} s, {:.1}x real time",
        report.frames,
        report.n_q,
        seconds / took.max(1e-9)
    );
}

/// What `encode --stream` and `decode --stream` are given besides the model.
pub struct StreamJob<'a> {
    /// The inputs named (one is allowed).
    pub inputs: &'a [String],
    /// `--input-format` / `--output-format`.
    pub format: AudioFormat,
    /// `--bandwidth`.
    pub bandwidth: Option<f64>,
    /// `--stream`, `--chunk-frames`.
    pub stream: &'a StreamArgs,
    /// `-o`.
    pub output: Option<&'a Path>,
    /// `--overwrite`: an existing `-o` file may be replaced.
    pub overwrite: bool,
}

/// `xcodec encode --stream`; `gain` is `--gain`, refused unless 1.
pub fn encode<P: ExtraParts>(model: &LoadedModel<P>, job: StreamJob, gain: f32) -> anyhow::Result<()> {
    if gain != 1.0 {
        bail!("--gain is not applied with --stream; scale the samples before they reach xcodec");
    }
    let input = single(job.inputs)?;
    let kind = match job.format {
        AudioFormat::Wav => AudioInput::Wav,
        AudioFormat::S16le => AudioInput::Raw(PcmFormat::S16le),
        AudioFormat::F32le => AudioInput::Raw(PcmFormat::F32le),
    };
    let opts = options(job.bandwidth, job.stream);
    check_encode_stream(&model.codec, &opts)?;
    let started = Instant::now();
    let mut output = Output::open(job.output, input, job.overwrite)?;
    let report = encode_stream(&model.codec, open_input(input)?, kind, &mut output, &opts)?;
    output.finish()?;
    summary("encoded", model, &report, started);
    Ok(())
}

/// `xcodec decode --stream`; `sample_format` is `--sample-format` (of a WAV output).
pub fn decode<P: ExtraParts>(
    model: &LoadedModel<P>,
    job: StreamJob,
    sample_format: SampleFormat,
) -> anyhow::Result<()> {
    let opts = options(job.bandwidth, job.stream);
    check_decode_stream(&model.codec, &opts)?;
    let name = single(job.inputs)?;
    let input = open_input(name)?;
    let (codec, rate) = (&model.codec, model.codec.sample_rate_hz);
    let to_stdout = job.output.is_none_or(|p| p == Path::new("-"));
    let started = Instant::now();
    let (report, clipped) = match (job.format, sample_format) {
        // A WAV file: written through a temp file, its header completed at the end.
        (AudioFormat::Wav, format) if !to_stdout => {
            let path = job.output.expect("a path when not stdout");
            check_target(path, name, job.overwrite)?; // WavStream writes through its own temp file
            let mut wav = WavStream::create(path, rate, format)?;
            let report = decode_stream(codec, input, &mut wav, &opts)?;
            (report, wav.finish()?.clipped)
        }
        (wanted, format) => {
            let mut out = Output::open(job.output, name, job.overwrite)?;
            let mut sink = match wanted {
                AudioFormat::Wav if format == SampleFormat::F32 => PcmSink::wav(&mut out, PcmFormat::F32le, rate)?,
                AudioFormat::Wav => PcmSink::wav(&mut out, PcmFormat::S16le, rate)?,
                AudioFormat::S16le => PcmSink::raw(&mut out, PcmFormat::S16le),
                AudioFormat::F32le => PcmSink::raw(&mut out, PcmFormat::F32le),
            };
            let report = decode_stream(codec, input, &mut sink, &opts)?;
            let clipped = sink.clipped();
            drop(sink);
            out.finish()?;
            (report, clipped)
        }
    };
    summary("decoded", model, &report, started);
    if clipped > 0 {
        eprintln!(
            "xcodec: {clipped} samples clipped to [-1, 1] (use --sample-format f32 or --output-format f32le to keep them)"
        );
    }
    Ok(())
}
