#!/usr/bin/env bash
# Peak memory of `xcodec encode` / `xcodec decode` on a 10-minute and a 60-minute generated file: windows
# with context keep it flat in the file's length. Not a test (it takes minutes); prints one line per run.
# Usage: bench/rss_long_files.sh [MODEL]   (default: the tiny fixture model, so that only the I/O and window
# bookkeeping is measured; pass a full-size model directory to measure that too)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-tests/fixtures/tiny_xcodec_hubert}
cargo build --release -q
x=$PWD/target/release/xcodec
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A long file: the bundled speech clip repeated (16-bit PCM WAV, 16 kHz), made by a tiny Python script.
make_wav() { # seconds path
  python3 - "$1" "$2" <<'PY'
import sys, wave
seconds, path = int(sys.argv[1]), sys.argv[2]
with wave.open("tests/data/speech_en_16k.wav") as w:
    clip = w.readframes(w.getnframes())
need = seconds * 16000 * 2
with wave.open(path, "wb") as out:
    out.setnchannels(1); out.setsampwidth(2); out.setframerate(16000)
    written = 0
    while written < need:
        part = clip[: need - written]
        out.writeframes(part)
        written += len(part)
PY
}
peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }
printf "%-8s %-7s %12s\n" minutes step "peak RSS MB"
for minutes in 10 60; do
  make_wav $((minutes * 60)) "$work/long_$minutes.wav"
  kb=$(peak "$x" encode --model "$model" -o "$work/codes" "$work/long_$minutes.wav")
  printf "%-8s %-7s %12.1f\n" "$minutes" encode "$(echo "$kb / 1024" | bc -l)"
  kb=$(peak "$x" decode --model "$model" -o "$work/audio" "$work/codes/long_$minutes.npy")
  printf "%-8s %-7s %12.1f\n" "$minutes" decode "$(echo "$kb / 1024" | bc -l)"
done
