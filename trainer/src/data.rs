//! Training data: audio lists, seeded random crops, and a background loader that decodes the next batches
//! on worker threads. Which file and which crop a batch holds depends only on the seed and the item's
//! position in the run, so a resumed run sees exactly the data an uninterrupted one would.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use xcodec_core::{Result, XcodecError, audio};

/// The files of an audio list, read at one sample rate.
#[derive(Debug, Clone)]
pub struct AudioList {
    /// Audio files, in list order.
    pub files: Vec<PathBuf>,
    /// Sample rate the audio is resampled to.
    pub sample_rate_hz: u32,
}

impl AudioList {
    /// Reads a list file: one path a line, blank lines and `#` comments skipped, relative paths resolved
    /// against the list's directory. Every file must exist; the list must not be empty.
    pub fn read(list: &Path, sample_rate_hz: u32) -> Result<Self> {
        let text = std::fs::read_to_string(list).map_err(|e| {
            XcodecError::file(list, format!("cannot read the audio list: {e}; set data.train_list / data.valid_list"))
        })?;
        let base = list.parent().unwrap_or(Path::new("."));
        let mut files = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let path = base.join(line);
            if !path.is_file() {
                return Err(XcodecError::file(
                    list,
                    format!("line {}: no such audio file '{}'", n + 1, path.display()),
                ));
            }
            files.push(path);
        }
        if files.is_empty() {
            return Err(XcodecError::file(list, "the audio list names no files; one path a line"));
        }
        Ok(Self { files, sample_rate_hz })
    }
}

/// How items are cut from a list.
#[derive(Debug, Clone)]
pub struct Cropper {
    /// The files.
    pub list: AudioList,
    /// Samples a crop.
    pub segment_samples: usize,
    /// Scale crops to a peak of 0.95.
    pub normalize_gain: bool,
    /// Run seed.
    pub seed: u64,
}

/// A seed for one purpose and position, mixed so nearby positions give unrelated streams.
pub fn derive_seed(seed: u64, purpose: u64, position: u64) -> u64 {
    let mut x = seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ position.wrapping_mul(0xD1B5_4A32_D192_ED03);
    // splitmix64 finaliser
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Cropper {
    /// The file of item `index`: each pass over the list is a fresh seeded shuffle.
    pub fn file_of(&self, index: u64) -> &Path {
        let n = self.list.files.len() as u64;
        let (epoch, pos) = (index / n, index % n);
        let mut order: Vec<usize> = (0..n as usize).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(derive_seed(self.seed, 1, epoch)));
        &self.list.files[order[pos as usize]]
    }

    /// Item `index`: a random crop of `segment_samples` (zero-padded when the file is shorter).
    pub fn item(&self, index: u64) -> Result<Vec<f32>> {
        let path = self.file_of(index);
        let samples = audio::read_audio(path, self.list.sample_rate_hz)?;
        let seg = self.segment_samples;
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(self.seed, 2, index));
        let mut crop = if samples.len() > seg {
            let start = rng.random_range(0..=samples.len() - seg);
            samples[start..start + seg].to_vec()
        } else {
            let mut padded = samples;
            padded.resize(seg, 0.0);
            padded
        };
        if self.normalize_gain {
            let peak = crop.iter().fold(0f32, |m, x| m.max(x.abs()));
            if peak > 1e-6 {
                crop.iter_mut().for_each(|x| *x *= 0.95 / peak);
            }
        }
        Ok(crop)
    }

    /// Items `first..first + count`, decoded on `workers` threads, in order.
    pub fn items(&self, first: u64, count: usize, workers: usize) -> Result<Vec<Vec<f32>>> {
        let indices: Vec<u64> = (first..first + count as u64).collect();
        let chunk = count.div_ceil(workers.max(1)).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = indices
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(|&i| self.item(i)).collect::<Result<Vec<_>>>()))
                .collect();
            let mut out = Vec::with_capacity(count);
            for h in handles {
                out.extend(h.join().expect("data worker panicked")?);
            }
            Ok(out)
        })
    }
}

/// The crops of one optimiser step: `items` rows of `segment_samples` samples each.
#[derive(Debug)]
pub struct Batch {
    /// The step these crops are for.
    pub step: u64,
    /// The crops, in order.
    pub items: Vec<Vec<f32>>,
}

/// Decodes the batches of steps `start..` ahead of the training loop (two batches in flight).
pub struct Loader {
    rx: Receiver<Result<Batch>>,
    handle: Option<JoinHandle<()>>,
}

impl Loader {
    /// Starts producing the batches of steps `start..end`, `per_step` items each.
    pub fn start(cropper: Cropper, start: u64, end: u64, per_step: usize, workers: usize) -> Self {
        Self::start_share(cropper, start, end, per_step, 0..per_step, workers)
    }

    /// [`Self::start`] for one rank of a job: of each step's `per_step` items, only those of `share`
    /// (disjoint between ranks, the same items whatever the rank count).
    pub fn start_share(
        cropper: Cropper,
        start: u64,
        end: u64,
        per_step: usize,
        share: std::ops::Range<usize>,
        workers: usize,
    ) -> Self {
        let (tx, rx): (SyncSender<Result<Batch>>, _) = sync_channel(2);
        let handle = std::thread::spawn(move || {
            for step in start..end {
                let first = step * per_step as u64 + share.start as u64;
                let items = cropper.items(first, share.len(), workers).map(|items| Batch { step, items });
                let failed = items.is_err();
                if tx.send(items).is_err() || failed {
                    return;
                }
            }
        });
        Self { rx, handle: Some(handle) }
    }

    /// The next batch (`None` once the range is done).
    pub fn next_batch(&mut self) -> Option<Result<Batch>> {
        self.rx.recv().ok()
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        // Unblock the producer (its send fails once the receiver is gone), then wait for it.
        let (_, dummy) = sync_channel(0);
        drop(std::mem::replace(&mut self.rx, dummy));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_clip(dir: &Path, name: &str, len: usize) -> PathBuf {
        let path = dir.join(name);
        let samples: Vec<f32> = (0..len).map(|i| ((i as f32) * 0.01).sin() * 0.5).collect();
        audio::write_wav(&path, &samples, 16_000, audio::SampleFormat::F32).unwrap();
        path
    }

    fn cropper(dir: &Path) -> Cropper {
        write_clip(dir, "a.wav", 20_000);
        write_clip(dir, "b.wav", 500);
        std::fs::write(dir.join("list.txt"), "# clips\na.wav\n\nb.wav\n").unwrap();
        let list = AudioList::read(&dir.join("list.txt"), 16_000).unwrap();
        Cropper { list, segment_samples: 1000, normalize_gain: false, seed: 3 }
    }

    #[test]
    fn crops_are_deterministic_whatever_the_thread_count() {
        let dir = tempfile::tempdir().unwrap();
        let c = cropper(dir.path());
        let one = c.items(5, 7, 1).unwrap();
        let three = c.items(5, 7, 3).unwrap();
        assert_eq!(one, three);
        assert!(one.iter().all(|x| x.len() == 1000));
        // Every pass visits every file once.
        let files: Vec<_> = (0..2).map(|i| c.file_of(i).to_path_buf()).collect();
        assert_ne!(files[0], files[1]);
        // The short file is zero-padded.
        let short = (0..4).find(|&i| c.file_of(i).ends_with("b.wav")).unwrap();
        assert_eq!(c.item(short).unwrap()[600..], vec![0.0; 400][..]);
    }

    #[test]
    fn loader_yields_batches_in_order_from_any_start() {
        let dir = tempfile::tempdir().unwrap();
        let c = cropper(dir.path());
        let mut loader = Loader::start(c.clone(), 2, 4, 3, 2);
        let b = loader.next_batch().unwrap().unwrap();
        assert_eq!(b.step, 2);
        assert_eq!(b.items, c.items(6, 3, 1).unwrap());
        assert_eq!(loader.next_batch().unwrap().unwrap().step, 3);
        assert!(loader.next_batch().is_none());
    }

    #[test]
    fn bad_lists_are_reported_with_the_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("l.txt"), "missing.wav\n").unwrap();
        let err = AudioList::read(&dir.path().join("l.txt"), 16_000).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("missing.wav"), "{err}");
        std::fs::write(dir.path().join("e.txt"), "\n# nothing\n").unwrap();
        assert!(AudioList::read(&dir.path().join("e.txt"), 16_000).unwrap_err().to_string().contains("names no files"));
    }
}
