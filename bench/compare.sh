#!/usr/bin/env bash
# xcodec vs PyTorch vs ONNX Runtime on the full-size X-Codec (transformers XcodecModel: DAC + hubert-base,
# seeded random weights), six 10 s speech files at 4 kbps, 2 threads, whole processes (model load included),
# encode and decode timed separately; prints each time, peer/xcodec ratios and xcodec's GFLOP/s.
# Run on a quiet machine (no build beside it). Usage: bench/compare.sh [WORK_DIR] (default ~/.cache/xcodec-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(../shared/tools/refenv.sh)
work=${1:-$HOME/.cache/xcodec-bench}
mkdir -p "$work"
[ -f "$work/dec.onnx" ] || "$PY" bench/peers.py prepare "$work" >/dev/null 2>&1
cargo build --release -q
x=$PWD/target/release/xcodec
export RAYON_NUM_THREADS=2 OMP_NUM_THREADS=2
t() { local s=$(date +%s.%N); "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $s" | bc -l; }
declare -A T
T[torch-encode]=$(t "$PY" bench/peers.py torch-encode "$work")
T[ort-encode]=$(t "$PY" bench/peers.py ort-encode "$work")
T[xcodec-encode]=$(t "$x" encode --model "$work/hf" --bandwidth 4 -o "$work/codes_xcodec" "$work/audio")
T[torch-decode]=$(t "$PY" bench/peers.py torch-decode "$work")
T[ort-decode]=$(t "$PY" bench/peers.py ort-decode "$work")
T[xcodec-decode]=$(t "$x" decode --model "$work/hf" --sample-format f32 -o "$work/out_xcodec" "$work/codes_torch")
printf "%-8s %10s %10s %10s %12s %12s %14s\n" step pytorch onnxrt xcodec "torch/xcodec" "ort/xcodec" "xcodec GFLOP/s"
for step in encode decode; do
  gflop=$([ $step = encode ] && echo 258 || echo 245)
  tx=${T[xcodec-$step]}
  printf "%-8s %9.2fs %9.2fs %9.2fs %12.2f %12.2f %14.1f\n" $step ${T[torch-$step]} ${T[ort-$step]} "$tx" \
    "$(echo "${T[torch-$step]} / $tx" | bc -l)" "$(echo "${T[ort-$step]} / $tx" | bc -l)" "$(echo "6 * $gflop / $tx" | bc -l)"
done
# Agreement of xcodec's codes with PyTorch's (same model, same files).
"$PY" - "$work" <<'PYEOF'
import glob, os, sys, numpy as np
w = sys.argv[1]
a = [np.load(f) for f in sorted(glob.glob(os.path.join(w, "codes_torch", "*.npy")))]
b = [np.load(f) for f in sorted(glob.glob(os.path.join(w, "codes_xcodec", "*.npy")))]
agree = np.mean([np.mean(x == y) for x, y in zip(a, b)])
print(f"codes equal to PyTorch's: {agree * 100:.2f} %")
PYEOF
