#!/usr/bin/env bash
# Trains a small DAC + RVQ codec on CPU for a few minutes and checks that the validation mel distance falls.
#
#   examples/train_tiny.sh [OUT_DIR] [STEPS]
#
# Data: the bundled clips (tests/data), plus 24 sentences synthesised with espeak-ng when it is installed
# (`apt-get install espeak-ng`); validation: a held-out clip (speech_fr_8k.ogg, resampled to 16 kHz). The
# codec has no semantic teacher so that it runs without downloads; add `--semantic hubert` to `xcodec build`
# (with facebook/hubert-base-ls960 in the Hugging Face cache) for the full X-Codec recipe.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/example-train}
steps=${2:-300}
cargo build --release -p xcodec-cli
x=target/release/xcodec
rm -rf "$out" && mkdir -p "$out/data"

$x build --acoustic dac --semantic none -o "$out/model" \
  --set acoustic.params.encoder_width=8 --set acoustic.params.latent_dim=32 --set acoustic.params.decoder_width=64 \
  --set quantizer.params.codebook_size=256 --set quantizer.params.num_quantizers=4 \
  --set 'target_bandwidths_kbps=[0.4, 0.8, 1.6]'

ls "$PWD"/tests/data/{speech_en_16k.wav,speech_de_22k.mp3,speech_en_44k_stereo.flac,music_chords_16k.wav} > "$out/train.txt"
if command -v espeak-ng > /dev/null; then
  i=0
  while read -r line; do
    i=$((i + 1))
    espeak-ng -v en -s 150 -w "$out/data/s$i.wav" "$line"
    echo "$PWD/$out/data/s$i.wav" >> "$out/train.txt"
  done <<'TEXT'
The quick brown fox jumps over the lazy dog.
A codec turns a waveform into a few discrete tokens per frame.
Semantic tokens make audio language models easier to train.
She sells sea shells by the sea shore on a sunny morning.
Every frame of twenty milliseconds becomes a handful of codes.
The decoder learns to rebuild the waveform from those codes.
Residual vector quantization refines the error codebook after codebook.
How much wood would a woodchuck chuck if a woodchuck could chuck wood?
The weather today is cloudy with a chance of light rain in the evening.
Please call Stella and ask her to bring these things with her from the store.
Six spoons of fresh snow peas, five thick slabs of blue cheese.
We also need a small plastic snake and a big toy frog for the kids.
Numbers like seventeen, forty two and one thousand are easy to say.
The museum opens at nine and closes at half past five.
Rust programs can be fast and safe at the same time.
Neural networks learn from examples rather than from rules.
The train to the airport leaves every fifteen minutes.
Listening tests compare the decoded audio with the original.
A quiet room makes the recording much cleaner.
Bright colors and loud music filled the summer festival.
He read the letter twice before he put it back in the envelope.
Our garden has tomatoes, beans, and a row of sunflowers.
The lecture covered signals, spectra and filter banks.
Good night, and thank you for listening.
TEXT
fi
echo "$PWD/tests/data/speech_fr_8k.ogg" > "$out/valid.txt"

time $x train --model "$out/model" -o "$out/run" --max-steps "$steps" \
  --set data.train_list="$out/train.txt" --set data.valid_list="$out/valid.txt" \
  --set data.segment_samples=9600 --set train.batch_size=4 --set train.learning_rate=0.001 \
  --set train.valid_every=50 --set train.checkpoint_every=100 \
  --set 'discriminator.mfd.hidden_channels=[32, 32, 32, 32, 32, 32]'

python3 - "$out/run/metrics.jsonl" <<'PY'
import json, sys
valid = [r for r in map(json.loads, open(sys.argv[1])) if r["kind"] == "valid"]
for r in valid:
    print(f"step {r['step']:5d}  mel distance {r['mel_distance']:.4f}  STFT distance {r['stft_distance']:.3f}  SI-SDR {r['si_sdr']:.1f} dB")
first, last = valid[0]["mel_distance"], valid[-1]["mel_distance"]
print(f"validation mel distance {first:.4f} -> {last:.4f}: {100 * (1 - last / first):.1f} % lower")
sys.exit(0 if last <= 0.7 * first else 1)
PY
echo "curves: $out/run/curves.png"
