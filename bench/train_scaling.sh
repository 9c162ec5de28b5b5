#!/usr/bin/env bash
# Training throughput of the data-parallel paths on this machine, printed as ratios measured in one run:
#  - processes: 1 process on one core vs `mpirun -np 2` (one core each, the batch split between the ranks);
#  - devices:   1 CPU replica vs 2 in-process replicas (`--devices cpu,cpu`), both with every core.
# Same global batch everywhere, so "speedup" is steps/s against steps/s. A small DAC codec (no teacher) of
# ~0.3 M parameters, 0.5 s crops, batch 8; the first 2 steps (k-means, warm-up) are not timed. Needs a build
# with `--features mpi` and Open MPI. Run on a quiet machine (no build beside it).
# Usage: bench/train_scaling.sh [STEPS (default 20)] [WORK_DIR (default a temp dir)]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-20}
work=${2:-$(mktemp -d)}
x=$PWD/target/release/xcodec
cargo build --release --workspace --features xcodec-cli/mpi -q
mkdir -p "$work"
[ -d "$work/model" ] || "$x" build --acoustic dac --semantic none -o "$work/model" \
  --set acoustic.params.encoder_width=16 --set acoustic.params.latent_dim=32 \
  --set acoustic.params.decoder_width=96 --set quantizer.params.codebook_size=64 \
  --set quantizer.params.num_quantizers=4 --set "target_bandwidths_kbps=[0.6, 1.2]" >/dev/null
ls "$PWD"/tests/data/*16k*.wav > "$work/train.txt"
sets=(--set "data.train_list=$work/train.txt" --set data.segment_samples=8000 --set data.workers=1
  --set train.batch_size=8 --set train.checkpoint_every=100000 --set train.valid_every=0
  --set train.disc_start_step=0 --set "discriminator.mfd.hop_lengths=[64, 128]"
  --set "discriminator.mfd.hidden_channels=[32, 32]")

# Steps per second over steps 3..N from the run's own per-step seconds.
rate() {
  python3 - "$1/metrics.jsonl" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
secs = sum(r["seconds"] for r in rows[2:])
print(f"{(len(rows) - 2) / secs:.3f}")
PYEOF
}
run() { # NAME DEVICES LAUNCH...
  local name=$1 devices=$2; shift 2
  rm -rf "$work/$name"
  "$@" train --devices "$devices" --model "$work/model" "${sets[@]}" --max-steps "$steps" -o "$work/$name" >/dev/null 2>"$work/$name.log" \
    || { cat "$work/$name.log"; exit 1; }
  rate "$work/$name"
}
mpi=(mpirun --allow-run-as-root --oversubscribe --bind-to core)
one_core=$(run one_core cpu "${mpi[@]}" -np 1 -x RAYON_NUM_THREADS=1 "$x")
two_ranks=$(run two_ranks cpu "${mpi[@]}" -np 2 -x RAYON_NUM_THREADS=1 "$x")
one_dev=$(run one_device cpu "$x")
two_dev=$(run two_devices cpu,cpu "$x")
lscpu | grep -E "Model name|^CPU\(s\)" | sed 's/  */ /g'
printf "%-36s %8s %8s\n" "path" "steps/s" "ratio"
printf "%-36s %8s %8s\n" "1 process, 1 core" "$one_core" "1.00"
printf "%-36s %8s %8s\n" "mpirun -np 2, 1 core each" "$two_ranks" "$(python3 -c "print(f'{$two_ranks/$one_core:.2f}')")"
printf "%-36s %8s %8s\n" "1 replica (--devices cpu), all cores" "$one_dev" "1.00"
printf "%-36s %8s %8s\n" "2 replicas (--devices cpu,cpu)" "$two_dev" "$(python3 -c "print(f'{$two_dev/$one_dev:.2f}')")"
