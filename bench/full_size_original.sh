#!/usr/bin/env bash
# A full-size X-Codec checkpoint in the ORIGINAL research code's layout (about 710 MB, 514 tensors, random
# weights; made here, never committed), loaded by xcodec: `info`, `convert` and a decode-only convert, timed.
# Usage: bench/full_size_original.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(../shared/tools/refenv.sh)
work=${1:-$(mktemp -d)}
[ -f "$work/hf/model.safetensors" ] || "$PY" bench/make_full_hf.py "$work/hf"
[ -f "$work/original/xcodec_full.pth" ] || XCODEC_ORIG_SRC="$work/hf" XCODEC_ORIG_OUT="$work/original" \
  XCODEC_ORIG_TEACHER=hubert_base XCODEC_ORIG_NAME=xcodec_full.pth "$PY" tests/reference/gen_original.py >/dev/null
ls -la "$work/original"
cargo build --release -q
x=./target/release/xcodec
time "$x" info "$work/original/xcodec_full.pth"
time "$x" convert --model "$work/original/xcodec_full.pth" -o "$work/converted"
time "$x" convert --model "$work/original/xcodec_full.pth" --decoder-only -o "$work/decoder"
du -h "$work/converted/model.safetensors" "$work/decoder/model.safetensors"
time "$x" info "$work/converted"
