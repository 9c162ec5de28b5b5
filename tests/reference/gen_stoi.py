"""Generates tests/fixtures/stoi_cases.json: pystoi's STOI and ESTOI on seeded synthetic speech-like clips,
for parity of the pure-Rust STOI / ESTOI implementation.

Pinned reference environment: pystoi 0.4.1, numpy 2.4.6, scipy 1.17.1 (asserted below), i.e.
`/root/.cache/xcodec-refenv/bin/pip install pystoi==0.4.1` into the reference env. Run from the repository root:

    /root/.cache/xcodec-refenv/bin/python tests/reference/gen_stoi.py

Signals (all seeded with numpy's default_rng, so the file is reproducible):
- "clips": clean speech-like signals (a harmonic series on a gliding f0, a formant-like spectral envelope,
  a syllabic amplitude envelope with short pauses) at 8000, 16000, 22050, 44100 and 48000 Hz, one 8 kHz clip
  with long silent stretches (silent-frame removal matters), and one mostly silent clip that keeps fewer than
  30 frames (pystoi's early `return 1e-5`).
- "noise": one white-noise sequence shared by all cases (each case uses its first `len(clean)` samples).

Encoding, to keep the file small (~285 KiB) while storing the exact samples every score was computed on:
- a clip is 16-bit PCM, little-endian, base64: sample = int16 / 32768 (exact in float32);
- the noise is int8, base64: noise = int8 (as float32);
- a case's processed signal is `clean + noise_gain * noise` evaluated in float32 (one rounded multiply, one
  rounded add: bit-exact in any IEEE-754 language without fused multiply-add), `noise_gain` being a float32
  value written exactly in the JSON.
pystoi gets these float32 signals (promoted to float64, as pystoi itself does internally).

ESTOI in pystoi adds `EPS * standard_normal` dither (~2e-16) inside `row_col_normalize`; np.random is seeded
before every call so the file is deterministic (the dither's effect on the score is ~1e-15).
"""

import base64
import json
import math
import warnings
from pathlib import Path

import numpy as np
import scipy
import pystoi
from importlib.metadata import version

assert version("pystoi") == "0.4.1", version("pystoi")
assert np.__version__ == "2.4.6", np.__version__
assert scipy.__version__ == "1.17.1", scipy.__version__

from pystoi import stoi  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "stoi_cases.json"
rng = np.random.default_rng(20261202)


def speech_like(fs, dur, pauses=True, silences=()):
    """Harmonics of a gliding f0 under a formant-like envelope, with a syllabic amplitude envelope.
    `silences`: (start_s, end_s) stretches set to (near-)silence. Returns int16 PCM."""
    n = int(round(fs * dur))
    t = np.arange(n) / fs
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 2 * np.pi)) + 15 * np.sin(2 * np.pi * 3.1 * t)
    phase = 2 * np.pi * np.cumsum(f0) / fs
    x = np.zeros(n)
    formants = rng.uniform([500, 1200, 2400], [800, 1800, 3000])
    for k in range(1, 40):
        fk = k * f0
        amp = (1 / k) * (0.3 + sum(np.exp(-0.5 * ((fk - fm) / 200) ** 2) for fm in formants))
        amp = np.where(fk < min(4500, 0.45 * fs), amp, 0.0)
        x += amp * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    # syllables at ~4 Hz; the pauses between them dip well below the 40 dB range unless pauses=False
    syl = 0.5 - 0.5 * np.cos(2 * np.pi * 4.0 * t + rng.uniform(0, 2 * np.pi))
    env = syl**2 if pauses else 0.2 + 0.8 * syl
    env *= 1 + 0.3 * np.sin(2 * np.pi * 1.3 * t)
    x *= env
    x += 0.01 * np.std(x) * rng.standard_normal(n)  # breath noise
    for a, b in silences:
        i, j = int(a * fs), int(b * fs)
        x[i:j] = 1e-4 * np.std(x) * rng.standard_normal(j - i)
    x *= 0.5 / np.max(np.abs(x))
    return np.round(x * 32768).astype(np.int16)


CLIPS = {
    "speech_8k": (8000, speech_like(8000, 1.0)),
    "speech_16k": (16000, speech_like(16000, 0.7)),
    "speech_22k": (22050, speech_like(22050, 0.6)),
    "speech_44k": (44100, speech_like(44100, 0.5, pauses=False)),
    "speech_48k": (48000, speech_like(48000, 0.5, pauses=False)),
    "silences_8k": (8000, speech_like(8000, 1.6, silences=[(0.35, 0.9), (1.15, 1.3)])),
    "mostly_silent_8k": (8000, speech_like(8000, 0.5, silences=[(0.25, 0.5)])),
}
n_noise = max(len(c) for _, c in CLIPS.values())
NOISE = np.clip(np.round(32 * rng.standard_normal(n_noise)), -127, 127).astype(np.int8)

CASES = [(clip, snr) for clip in ["speech_8k", "speech_16k", "speech_22k", "speech_44k", "speech_48k"]
         for snr in (-5.0, 0.0, 5.0, 20.0)]
CASES += [("silences_8k", 0.0), ("silences_8k", 10.0), ("mostly_silent_8k", 5.0)]


def b64(a):
    return base64.b64encode(a.astype(a.dtype.newbyteorder("<")).tobytes()).decode("ascii")


cases = []
for clip, snr in CASES:
    fs, pcm = CLIPS[clip]
    clean = pcm.astype(np.float32) / np.float32(32768)
    noise = NOISE[: len(clean)].astype(np.float32)
    gain = np.float32(math.sqrt(np.mean(np.float64(clean) ** 2) / np.mean(np.float64(noise) ** 2) / 10 ** (snr / 10)))
    processed = clean + gain * noise  # float32 arithmetic
    assert processed.dtype == np.float32
    x, y = clean.astype(np.float64), processed.astype(np.float64)
    scores = {}
    for name, ext in (("stoi", False), ("estoi", True)):
        np.random.seed(0)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            scores[name] = float(stoi(x, y, fs, extended=ext))
        scores[name + "_warned"] = any(issubclass(i.category, RuntimeWarning) for i in w)
    cases.append({"name": f"{clip}_snr{snr:+g}", "clip": clip, "snr_db": snr, "noise_gain": float(gain),
                  "stoi": scores["stoi"], "estoi": scores["estoi"], "too_short": scores["stoi_warned"]})
    print(f"{cases[-1]['name']:28s} fs={fs:6d} n={len(clean):6d} stoi={scores['stoi']:.6f} "
          f"estoi={scores['estoi']:.6f}{' (too short: 1e-5)' if scores['stoi_warned'] else ''}")

fixture = {
    "generator": "tests/reference/gen_stoi.py",
    "versions": {"pystoi": "0.4.1", "numpy": np.__version__, "scipy": scipy.__version__},
    "encoding": "clips: base64 int16 LE PCM, sample = v / 32768; noise: base64 int8, sample = v; "
                "processed = clean + noise_gain * noise[..len(clean)] in float32",
    "noise_i8_b64": b64(NOISE),
    "clips": {name: {"sample_rate_hz": fs, "pcm_i16_b64": b64(pcm)} for name, (fs, pcm) in CLIPS.items()},
    "cases": cases,
}
OUT.write_text(json.dumps(fixture, indent=1) + "\n")
print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.1f} KiB, {len(cases)} cases)")
