#!/usr/bin/env bash
# Fuzzes every reader of outside data (tests/fuzz.rs) for longer than CI does: each target runs in rounds of
# CASES cases (fresh random seeds each round) for MINUTES minutes, and the total cases run are printed. It builds
# with the workspace's one feature set (as CI), so nothing is compiled twice.
#   bench/fuzz.sh [MINUTES per target, default 5] [CASES per round, default 2000]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-5}
cases=${2:-2000}
features="xcodec-cli/mpi,xcodec-cli/wgpu,xcodec-tests/wgpu"
cargo test --release --workspace --features "$features" --test fuzz --no-run 2>/dev/null
total=0
for target in codes_files_read_or_fail_cleanly raw_code_streams_read_or_fail_cleanly configs_parse_or_fail_cleanly \
  audio_files_decode_or_fail_cleanly checkpoints_load_or_fail_cleanly; do
  # Loading a model per case is slower: a tenth of the cases a round.
  n=$cases
  [ "$target" = checkpoints_load_or_fail_cleanly ] && n=$((cases / 10))
  end=$((SECONDS + minutes * 60))
  rounds=0
  while [ $SECONDS -lt $end ]; do
    PROPTEST_CASES=$n cargo test --release --workspace --features "$features" --test fuzz -- --exact "$target" \
      -q >/tmp/xcodec-fuzz.log 2>&1 || { cat /tmp/xcodec-fuzz.log; echo "fuzz: $target FAILED"; exit 1; }
    rounds=$((rounds + 1))
  done
  echo "fuzz: $target: $((rounds * n)) cases, no panic"
  total=$((total + rounds * n))
done
echo "fuzz: $total cases in all"
