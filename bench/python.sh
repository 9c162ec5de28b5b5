#!/usr/bin/env bash
# Clips/s from Python: the xcodec wheel vs transformers.XcodecModel in the same process, on the same clips and
# the same full-size X-Codec (DAC + hubert-base, seeded random weights, the HF layout written by make_full_hf.py
# and read by both), encode at 4 kbps and decode, 2 threads each. Installs target/wheels/xcodec-*.whl (python/ci.sh
# builds it) into the reference env. Run on a quiet machine. Usage: bench/python.sh [WORK_DIR] [N_CLIPS]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(../shared/tools/refenv.sh)
work=${1:-$HOME/.cache/xcodec-bench}
n=${2:-6}
[ -f "$work/hf/model.safetensors" ] || "$PY" bench/make_full_hf.py "$work/hf"
wheel=$(ls target/wheels/xcodec-*.whl 2>/dev/null | head -1)
[ -n "$wheel" ] || { echo "no wheel in target/wheels: run python/ci.sh first" >&2; exit 1; }
"$PY" -m pip install -q --force-reinstall --no-deps "$wheel"
lscpu | grep -E "^(Model name|CPU\(s\))"
echo "SIMD: $(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
export RAYON_NUM_THREADS=2 OMP_NUM_THREADS=2
"$PY" - "$work" "$n" <<'PYEOF'
import os, sys, time
import numpy as np
import torch, wave
sys.path.insert(0, "bench")
import peers  # its model(): XcodecModel(config) with make_full_hf.py's weights
import xcodec

work, n = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(2)
with wave.open("tests/data/speech_en_16k.wav") as w:
    speech = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
looped = np.concatenate([speech] * 8)
seconds = [3.0, 4.5, 6.0, 2.5, 5.0, 3.5]
clips = [looped[i * 20000 : i * 20000 + int(16000 * seconds[i % 6])].copy() for i in range(n)]
audio_s = sum(len(c) for c in clips) / 16000

ref = peers.model(work)
ours = xcodec.load(os.path.join(work, "hf"))
def clock(f):
    f(clips[:1])  # warm-up
    t = time.perf_counter(); out = f(clips); return time.perf_counter() - t, out

def first(out):  # return_dict=False gives the tensor or a 1-tuple of it, by version
    return out[0] if isinstance(out, tuple) else out
def torch_encode(cs):
    with torch.no_grad():
        return [first(ref.encode(torch.from_numpy(c)[None, None], bandwidth=4.0, return_dict=False))[0].numpy() for c in cs]
def torch_decode(codes):
    with torch.no_grad():
        return [first(ref.decode(torch.from_numpy(c)[None], return_dict=False))[0, 0].numpy() for c in codes]

rows = []
t, torch_codes = clock(torch_encode); rows.append(("encode", "transformers (loop)", t))
t, our_codes = clock(lambda cs: [ours.encode(c, 16000, bandwidth=4.0) for c in cs]); rows.append(("encode", "xcodec (loop)", t))
t, batch = clock(lambda cs: ours.encode(cs, 16000, bandwidth=4.0)); rows.append(("encode", "xcodec (one list call)", t))
assert all(np.array_equal(a, b) for a, b in zip(batch, our_codes)), "batched codes differ from single calls"
agree = np.mean([np.mean(a == b) for a, b in zip(torch_codes, our_codes)])
dec_torch = lambda cs: torch_decode([torch_codes[i] for i in range(len(cs))])
dec_ours = lambda cs: ours.decode([torch_codes[i] for i in range(len(cs))])
t, y_ref = clock(dec_torch); rows.append(("decode", "transformers (loop)", t))
t, y_ours = clock(dec_ours); rows.append(("decode", "xcodec (list call)", t))
err = max(float(np.max(np.abs(a - b[: len(a)]))) for a, b in zip(y_ours, y_ref))
print(f"{n} clips, {audio_s:.1f} s of audio, full-size X-Codec at 4 kbps, 2 threads")
print(f"{'step':7} {'engine':24} {'seconds':>8} {'clips/s':>8} {'x real time':>12}")
for step, engine, t in rows:
    print(f"{step:7} {engine:24} {t:8.2f} {n / t:8.2f} {audio_s / t:12.1f}")
print(f"codes equal to transformers': {agree * 100:.2f} %; decode max |diff| from the same codes: {err:.2e}")
PYEOF
