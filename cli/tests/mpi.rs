//! `mpirun -np 2 xcodec train` (cargo feature `mpi`, Open MPI): two ranks with half the batch each equal one
//! process with the whole batch; a rank killed mid-run ends the job, and `--resume` continues it to the
//! losses of an uninterrupted job; a rank's own failure is one line naming it and ends the job.
#![cfg(feature = "mpi")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;
use support::{assert_close, losses, ok, setup, train_args, xcodec};

/// `mpirun -np N xcodec` (root and oversubscription allowed: CI runs as root on two cores).
fn mpirun(ranks: usize) -> Command {
    let mut c = Command::new("mpirun");
    c.args(["--allow-run-as-root", "--oversubscribe", "-np", &ranks.to_string(), env!("CARGO_BIN_EXE_xcodec")]);
    c
}

/// Every tensor of two safetensors files, as f32 values by name.
fn tensors(path: &Path) -> Vec<(String, Vec<f32>)> {
    let bytes = std::fs::read(path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<(String, Vec<f32>)> = st
        .tensors()
        .into_iter()
        .filter(|(_, t)| t.dtype() == safetensors::Dtype::F32)
        .map(|(name, t)| (name, t.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Largest difference of two checkpoints' weights: absolute for the tensors trained by gradient, relative
/// to each tensor's largest magnitude for those named with `prefix` (the codebooks).
fn weight_difference(a: &Path, b: &Path, prefix: &str) -> (f64, f64) {
    let (ta, tb) = (tensors(a), tensors(b));
    assert_eq!(ta.len(), tb.len());
    assert!(!ta.is_empty());
    let mut worst = (0.0f64, 0.0f64);
    for ((na, va), (nb, vb)) in ta.iter().zip(&tb) {
        assert_eq!(na, nb);
        let codebook = na.starts_with(prefix);
        let scale = if codebook { va.iter().fold(1e-6f32, |m, v| m.max(v.abs())) as f64 } else { 1.0 };
        let d = va.iter().zip(vb).map(|(x, y)| (x - y).abs() as f64 / scale).fold(0.0, f64::max);
        let slot = if codebook { &mut worst.0 } else { &mut worst.1 };
        *slot = slot.max(d);
    }
    worst
}

fn last_checkpoint(run: &Path, step: u64) -> PathBuf {
    run.join(format!("checkpoints/step-{step:08}"))
}

#[test]
fn two_ranks_with_half_the_batch_each_equal_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let (model, sets) = setup(dir.path());
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    ok(xcodec().args(train_args(&model, &sets, 6, &one)).output().unwrap());
    let out = ok(mpirun(2).args(train_args(&model, &sets, 6, &two)).output().unwrap());
    // Rank 0 alone reports.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("trained 6 steps").count(), 1, "{stdout}");
    let (a, b) = (losses(&one), losses(&two));
    assert!(a.iter().any(|(_, v)| v.iter().any(|(n, _)| n == "adversarial")), "adversarial steps run");
    // f32 sums in another order (each rank's batch of 2, then the sum of two): measured <= 1.1e-5 relative for
    // every logged value but the commitment loss.
    assert_close(&a, &b, 5e-5);
    // Weights trained by gradient: Adam divides each gradient component by its own RMS, so components whose
    // gradients are near zero turn rounding into steps of up to the learning rate. Measured: 1.1e-5 absolute
    // after 6 steps at lr 2e-4 (1 % of the 1.2e-3 Adam can move a weight); bound: 5 % of it. Codebooks (EMA
    // of the residuals, small differences of near-equal vectors): measured 3.7e-4 of their scale.
    let bound = 0.05 * 2e-4 * 6.0;
    let checkpoints = (last_checkpoint(&one, 6), last_checkpoint(&two, 6));
    for file in ["model.safetensors", "discriminators.safetensors"] {
        let (codebooks, rest) = weight_difference(&checkpoints.0.join(file), &checkpoints.1.join(file), "quantizer.");
        eprintln!("{file}: largest weight difference {rest:e} (codebooks {codebooks:e} of their scale)");
        assert!(rest < bound, "{file}: weights differ by {rest:e} after 6 steps (bound {bound:e})");
        assert!(codebooks < 2e-3, "{file}: codebooks differ by {codebooks:e} of their scale after 6 steps");
    }
}

/// The PID of rank `rank` of the job training into `run`.
fn rank_pid(rank: usize, run: &Path) -> Option<u32> {
    let want = format!("OMPI_COMM_WORLD_RANK={rank}");
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let environ = std::fs::read(e.path().join("environ")).ok()?;
        let has = |bytes: &[u8], s: &str| bytes.split(|&b| b == 0).any(|part| part == s.as_bytes());
        (has(&cmdline, run.to_str()?) && has(&environ, &want) && !has(&cmdline, "mpirun")).then_some(pid)
    })
}

#[test]
fn a_killed_rank_ends_the_job_and_resume_continues_to_the_same_losses() {
    let dir = tempfile::tempdir().unwrap();
    let (model, sets) = setup(dir.path());
    let (straight, killed) = (dir.path().join("straight"), dir.path().join("killed"));
    ok(mpirun(2).args(train_args(&model, &sets, 12, &straight)).output().unwrap());

    let mut job = mpirun(2);
    job.args(train_args(&model, &sets, 12, &killed)).stdout(Stdio::null()).stderr(Stdio::piped());
    let child = job.spawn().unwrap();
    let first = killed.join("checkpoints/step-00000004/state.json");
    let start = Instant::now();
    while !first.exists() {
        assert!(start.elapsed() < Duration::from_secs(300), "no checkpoint after 300 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid = rank_pid(1, &killed).expect("rank 1 runs");
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "the job ends when a rank is killed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("rank 1") && stderr.contains("signal 9"), "mpirun names the rank: {stderr}");
    assert!(losses(&killed).len() < 12, "killed mid-run");

    ok(mpirun(2).args(["train", "--resume", "-o", killed.to_str().unwrap()]).output().unwrap());
    assert_eq!(losses(&killed), losses(&straight), "resumed job = uninterrupted job");
}

#[test]
fn a_rank_that_fails_names_itself_and_ends_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let (model, sets) = setup(dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    ok(xcodec().args(train_args(&model, &sets, 2, &a)).output().unwrap());
    // Rank 1 resumes a directory without the checkpoints rank 0 sees: a run directory not shared.
    std::fs::create_dir_all(&b).unwrap();
    std::fs::copy(a.join("train.toml"), b.join("train.toml")).unwrap();
    let start = Instant::now();
    let out = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe"])
        .args(["-np", "1", env!("CARGO_BIN_EXE_xcodec"), "train", "--resume", "--max-steps", "4", "-o"])
        .arg(&a)
        .args([":", "-np", "1", env!("CARGO_BIN_EXE_xcodec"), "train", "--resume", "--max-steps", "4", "-o"])
        .arg(&b)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(start.elapsed() < Duration::from_secs(60), "the job ended instead of waiting for the failed rank");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.starts_with("xcodec: rank 1 of 2:")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains("no checkpoint") && line.contains("filesystem every rank shares"), "{line}");
}
