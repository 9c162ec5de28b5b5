#!/usr/bin/env bash
# `xcodec tokenize` vs `xcodec encode` one file at a time (a process per file, as a shell loop over a corpus
# does), vs `xcodec encode DIR` (one process, batch 1), vs the PyTorch reference (transformers XcodecModel) in a
# loop over the files; full-size X-Codec (DAC + hubert-base, seeded random weights), 4 kbps, 2 threads, N files
# of 1-30 s cut from the bundled clips (seeded). Prints times, hours of audio per hour and ratios, and how many
# codes tokenize shares with PyTorch. Run on a quiet machine (no build beside it).
# Usage: bench/tokenize.sh [N_FILES (default 200)] [WORK_DIR (default ~/.cache/xcodec-bench-tokenize)]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
work=${2:-$HOME/.cache/xcodec-bench-tokenize}/$n
PY=$(../shared/tools/refenv.sh)
mkdir -p "$work"
[ -f "$work/hf/model.safetensors" ] || "$PY" bench/make_full_hf.py "$work/hf" >/dev/null
if [ ! -d "$work/audio" ]; then
  "$PY" - "$work/audio" "$n" <<'PYEOF'
import os, sys, numpy as np, soundfile as sf
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out + ".tmp", exist_ok=True)
rng = np.random.default_rng(0)
clips = [sf.read(f"tests/data/{c}.wav", dtype="float32")[0] for c in ["speech_en_16k", "music_chords_16k"]]
for i in range(n):
    clip = clips[0] if i % 5 else clips[1]
    looped = np.concatenate([clip] * 40)
    length = int(rng.uniform(1.0, 30.0) * 16000)
    start = int(rng.integers(0, len(clip)))
    sf.write(f"{out}.tmp/clip_{i:04d}.wav", looped[start : start + length], 16000, subtype="PCM_16")
os.rename(out + ".tmp", out)
PYEOF
fi
"$PY" -c "import pyarrow" 2>/dev/null || "$PY" -m pip install -q pyarrow==26.0.1
cargo build --release -q --workspace --features xcodec-cli/mpi,xcodec-cli/wgpu,xcodec-tests/wgpu  # the feature set CI builds: no second compile
x=$PWD/target/release/xcodec
export RAYON_NUM_THREADS=2 OMP_NUM_THREADS=2
hours=$("$PY" -c "import glob, soundfile as sf; print(sum(sf.info(f).duration for f in glob.glob('$work/audio/*.wav')) / 3600)")
t() { local s=$(date +%s.%N); "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $s" | bc -l; }
rm -rf "$work/ds" "$work/codes_dir" "$work/codes_each" "$work/codes_torch"
declare -A T
T[tokenize]=$(t "$x" tokenize --model "$work/hf" --bandwidth 4 -o "$work/ds" "$work/audio")
T[encode-dir]=$(t "$x" encode --model "$work/hf" --bandwidth 4 -o "$work/codes_dir" "$work/audio")
T[encode-each]=$(t bash -c "for f in $work/audio/*.wav; do $x encode --model $work/hf --bandwidth 4 -o $work/codes_each \$f || exit 1; done")
T[pytorch-loop]=$(t "$PY" bench/peers.py torch-encode "$work")
printf "%d files, %.2f h of audio, full-size X-Codec at 4 kbps, 2 threads (%s)\n" "$n" "$hours" \
  "$(lscpu | sed -n 's/^Model name: *//p')"
printf "%-14s %10s %10s %14s\n" run seconds "h/h" "its/tokenize"
for k in tokenize encode-dir encode-each pytorch-loop; do
  printf "%-14s %10.1f %10.1f %14.2f\n" $k "${T[$k]}" "$(echo "$hours * 3600 / ${T[$k]}" | bc -l)" \
    "$(echo "${T[$k]} / ${T[tokenize]}" | bc -l)"
done
"$PY" - "$work" <<'PYEOF'
import glob, os, sys, numpy as np, pyarrow.parquet as pq
w = sys.argv[1]
rows = {os.path.basename(r["path"])[:-4]: np.array(r["codes"]) for r in pq.read_table(f"{w}/ds/data").to_pylist()}
same_dir = np.mean([np.array_equal(rows[os.path.basename(f)[:-4]], np.load(f)) for f in glob.glob(f"{w}/codes_dir/*.npy")])
torch = np.mean([np.mean(rows[os.path.basename(f)[:-4]] == np.load(f)) for f in glob.glob(f"{w}/codes_torch/*.npy")])
print(f"tokenize rows equal to encode's .npy: {same_dir * 100:.1f} % of files; codes equal to PyTorch's: {torch * 100:.2f} %")
PYEOF
