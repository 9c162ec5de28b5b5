#!/usr/bin/env bash
# The GPU check, in one run: (1) parity of the GPU path with the CPU on the tiny fixtures (X-Codec with HuBERT and
# WavLM teachers, DAC, EnCodec: codes agreement and decoded-audio difference); (2) encode and decode throughput of
# a full-size X-Codec (DAC + HuBERT-base shape, 16 kHz, 8 x 1024 codebooks) at several batch sizes; (3) the time of
# a full-size training step; PyTorch (transformers XcodecModel) side by side when a python with torch 2.15 and
# transformers 5.24 is there. Needs no network: only this tree and a prebuilt binary (docs/src/gpu.md).
#
# Usage: bench/gpu.sh [DEVICE (default wgpu; wgpu:cpu = a software Vulkan, cuda:0 for a CUDA build)]
# Environment: XCODEC (the binary, default target/release/xcodec), WORK (scratch dir, default a temporary one),
#   FILES (clips, 32), CLIP_SECONDS (10), BATCHES ("1 8 32"), TRAIN_BATCH (8), TRAIN_SECONDS (1), STEPS (3),
#   TORCH_PYTHON (a python with torch + transformers; default: python3 if it has them), MODEL (full | tiny: a
#   small DAC X-Codec, for a quick run on a software Vulkan).
# On an H200-class machine the defaults take about 3 minutes; on Mesa's llvmpipe use MODEL=tiny and small sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=${1:-wgpu}
x=${XCODEC:-$PWD/target/release/xcodec}
files=${FILES:-32} clip_seconds=${CLIP_SECONDS:-10} batches=${BATCHES:-1 8 32}
train_batch=${TRAIN_BATCH:-8} train_seconds=${TRAIN_SECONDS:-1} steps=${STEPS:-3} model_kind=${MODEL:-full}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
[ -x "$x" ] || { echo "gpu.sh: no binary at $x; build one first: cargo build --release --features wgpu (see docs/src/gpu.md)" >&2; exit 2; }
py=python3
command -v "$py" >/dev/null || { echo "gpu.sh: needs python3 (standard library only) to compare outputs" >&2; exit 2; }
torch_py=${TORCH_PYTHON:-}
if [ -z "$torch_py" ] && python3 -c "import torch, transformers" 2>/dev/null; then torch_py=python3; fi
now() { date +%s.%N; }
# A command's output kept in a log, shown only when it fails.
quiet() { "$@" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; echo "gpu.sh: failed: $*" >&2; exit 1; }; }
since() { echo "$(now) - $1" | bc -l; }
echo "gpu.sh: device $dev, binary $x, work $work"
quiet "$x" encode --device "$dev" --model tests/fixtures/tiny_dac -o "$work/probe" tests/data/speech_en_16k.wav

# (1) Parity with the CPU on the tiny fixtures.
compare() { # CPU_CODES GPU_CODES CPU_WAV GPU_WAV -> "codes equal %, max audio difference"
  "$py" - "$@" <<'PYEOF'
import struct, sys
def npy(path):
    b = open(path, "rb").read()
    n = struct.unpack("<H", b[8:10])[0]
    return b[10 + n:]
def wav_f32(path):
    b = open(path, "rb").read()
    i = 12
    while i < len(b):
        tag, size = b[i:i + 4], struct.unpack("<I", b[i + 4:i + 8])[0]
        if tag == b"data":
            d = b[i + 8:i + 8 + size]
            return struct.unpack(f"<{len(d) // 4}f", d)
        i += 8 + size + (size & 1)
a, b = npy(sys.argv[1]), npy(sys.argv[2])
codes = [a[i:i + 2] == b[i:i + 2] for i in range(0, min(len(a), len(b)), 2)]
same = sum(codes) / max(len(codes), 1) * 100 if len(a) == len(b) else 0.0
wa, wb = wav_f32(sys.argv[3]), wav_f32(sys.argv[4])
err = max(abs(p - q) for p, q in zip(wa, wb)) if len(wa) == len(wb) else float("inf")
print(f"{same:.3f} {err:.2e}")
PYEOF
}
printf "\n%-22s %14s %18s\n" "tiny fixture" "codes equal %" "audio max |diff|"
for m in tiny_xcodec_hubert tiny_xcodec_wavlm tiny_dac encodec/causal_wn; do
  for d in cpu "$dev"; do
    o="$work/parity/${m//\//_}/${d//:/_}"
    quiet "$x" encode --device "$d" --model "tests/fixtures/$m" -o "$o/codes" tests/data/speech_en_16k.wav
    # Both decode the CPU's codes, so each decoder is judged on the same input.
    quiet "$x" decode --device "$d" --model "tests/fixtures/$m" --sample-format f32 -o "$o/audio" \
      "$work/parity/${m//\//_}/cpu/codes/speech_en_16k.npy"
  done
  p="$work/parity/${m//\//_}"
  read -r same err < <(compare "$p/cpu/codes/speech_en_16k.npy" "$p/${dev//:/_}/codes/speech_en_16k.npy" \
    "$p/cpu/audio/speech_en_16k.wav" "$p/${dev//:/_}/audio/speech_en_16k.wav")
  printf "%-22s %14s %18s\n" "$m" "$same" "$err"
done

# (2) Throughput of the full-size model.
if [ ! -d "$work/model" ]; then
  if [ "$model_kind" = tiny ]; then
    quiet "$x" build --acoustic dac --semantic none -o "$work/model" --set acoustic.params.encoder_width=8 \
      --set acoustic.params.decoder_width=32 --set acoustic.params.latent_dim=32
  elif [ -n "$torch_py" ]; then
    "$torch_py" bench/make_full_hf.py "$work/model" >/dev/null # the same weights for both sides
  else
    quiet "$x" build --acoustic dac --semantic hubert --set 'semantic.params.pretrained=""' -o "$work/model"
  fi
fi
if [ ! -d "$work/audio" ]; then
  "$py" - "$work/audio" "$files" "$clip_seconds" <<'PYEOF'
import os, sys, wave
out, n, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
with wave.open("tests/data/speech_en_16k.wav") as w:
    frames = w.readframes(w.getnframes())
length = int(seconds * 16000) * 2
looped = frames * (length // len(frames) + 2)
os.makedirs(out + ".tmp", exist_ok=True)
for i in range(n):
    start = (i * 7919 * 2) % len(frames)
    with wave.open(f"{out}.tmp/clip_{i:04d}.wav", "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(looped[start:start + length])
os.rename(out + ".tmp", out)
PYEOF
fi
hours=$(echo "$files * $clip_seconds / 3600" | bc -l)
printf "\n%s model, %d clips of %s s (%.3f h), device %s\n" "$model_kind" "$files" "$clip_seconds" "$hours" "$dev"
printf "%-10s %6s %10s %10s   (xcodec: whole runs, model load included; torch: model load + encode loop)\n" step batch seconds "h/h"
for b in $batches; do
  rm -rf "$work/codes"
  s=$(now)
  quiet "$x" encode --device "$dev" --model "$work/model" --batch-size "$b" -o "$work/codes" "$work/audio"
  t=$(since "$s")
  printf "%-10s %6s %10.2f %10.1f\n" encode "$b" "$t" "$(echo "$hours * 3600 / $t" | bc -l)"
done
rm -rf "$work/decoded"
s=$(now)
quiet "$x" decode --device "$dev" --model "$work/model" -o "$work/decoded" "$work/codes"
t=$(since "$s")
printf "%-10s %6s %10.2f %10.1f\n" decode 1 "$t" "$(echo "$hours * 3600 / $t" | bc -l)"

# PyTorch on the same model and clips, where it is installed (CUDA when the machine has it).
if [ -n "$torch_py" ] && [ "$model_kind" != tiny ]; then
  "$torch_py" - "$work" "$batches" <<'PYEOF'
import glob, sys, time, wave, numpy as np, torch, transformers
from safetensors.torch import load_file
work, batches = sys.argv[1], [int(b) for b in sys.argv[2].split()]
dev = "cuda" if torch.cuda.is_available() else "cpu"
def load():
    m = transformers.XcodecModel(transformers.XcodecConfig.from_pretrained(f"{work}/model")).eval()
    m.apply_weight_norm()
    m.load_state_dict(load_file(f"{work}/model/model.safetensors"))
    m.remove_weight_norm()
    return m.to(dev)
clips = []
for f in sorted(glob.glob(f"{work}/audio/*.wav")):
    with wave.open(f) as w:
        clips.append(np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768)
hours = sum(len(c) for c in clips) / 16000 / 3600
for b in batches:
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    t0 = time.time()
    m = load()
    with torch.no_grad():
        for i in range(0, len(clips), b):
            x = torch.from_numpy(np.stack(clips[i:i + b])[:, None]).to(dev)
            codes = m.encode(x, bandwidth=4.0, return_dict=False)
            codes.cpu()
    sync()
    t = time.time() - t0
    print(f"{'torch-enc':<10} {b:>6} {t:>10.2f} {hours * 3600 / t:>10.1f}  ({dev})")
PYEOF
fi

# (3) A training step of the same model (the discriminators from the first step; MODEL=tiny: small ones too).
# Random weights make a random teacher with features in the hundreds: the semantic loss (~1e4) then gave NaN
# gradients by step 2 here, so it is off (its fc_post1 + semantic decoder are a small part of a step), and a tiny
# learning rate keeps the few timed steps where they started (only their time is measured).
ls "$work/audio"/*.wav > "$work/train.txt"
rm -rf "$work/run"
small=()
[ "$model_kind" = tiny ] && small=(--set "discriminator.mfd.hop_lengths=[32, 64]" --set "discriminator.mfd.hidden_channels=[32, 32]")
quiet "$x" train --model "$work/model" --devices "$dev" --max-steps "$steps" -o "$work/run" \
  --set "data.train_list=\"$work/train.txt\"" --set "data.segment_samples=$((train_seconds * 16000))" \
  --set "train.batch_size=$train_batch" --set train.disc_start_step=0 --set train.valid_every=0 --set train.learning_rate=1e-7 --set loss.semantic=0 \
  --set "train.checkpoint_every=$((steps + 1))" "${small[@]}"
"$py" - "$work/run/metrics.jsonl" "$train_batch" "$train_seconds" <<'PYEOF'
import json, sys
steps = [json.loads(l)["seconds"] for l in open(sys.argv[1]) if '"kind":"train"' in l]
print(f"\ntraining step (batch {sys.argv[2]} x {sys.argv[3]} s, generator + discriminators): first {steps[0]:.2f} s"
      f" (kernels compiled), then {min(steps[1:] or steps):.2f} s")
PYEOF
