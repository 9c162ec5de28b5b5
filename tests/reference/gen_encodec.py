"""Generates the EnCodec encoder/decoder/RVQ parity fixtures from transformers' EncodecModel.

Pinned reference environment (../shared/tools/refenv.sh): torch 2.15.0, transformers 5.24.0,
safetensors 0.8.0, numpy 2.4.6, soundfile 0.14.0. Run from the repository root:

    $(../shared/tools/refenv.sh) tests/reference/gen_encodec.py

Writes three tiny seeded EncodecModels in the Hugging Face layout (config.json + model.safetensors, weight norm as
`parametrizations.weight.original0/1`) under tests/fixtures/encodec/:
  causal_wn/      like facebook/encodec_24khz: causal convs, weight norm, reflect padding, 2-layer LSTM
  noncausal_tgn/  like facebook/encodec_48khz (mono, no chunking/normalisation): split padding, time group norm
  variant/        the other knobs: constant padding, trim_right_ratio 0.5, 2 residual layers with dilation
                  growth 3, residual kernel 5, compress 1, no conv shortcut, 1 LSTM layer, kernels 5/3, odd stride
and tests/fixtures/encodec/parity.safetensors with inputs and reference outputs for each:
  {case}.audio (shared); {model}.{case}.latent (encoder) / .decoded (decoder on the reference latent)
  {model}.{case}.codes.{i} (EncodecModel.encode at target_bandwidths[i], [batch, n_q, frames])
  {model}.{case}.audio_values (EncodecModel.decode of the codes at the highest bandwidth)
"""
import math
import os
import sys

import numpy as np
import soundfile as sf
import torch
import transformers
from safetensors.torch import save_file

assert torch.__version__.startswith("2.15"), torch.__version__
assert transformers.__version__ == "5.24.0", transformers.__version__

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "..", "shared", "data")
OUT = os.path.join(ROOT, "tests", "fixtures", "encodec")

torch.manual_seed(0)
np.random.seed(0)
torch.set_num_threads(1)

# Codebooks of 32 (16) entries keep the files small; the bandwidths are exact multiples of one codebook's kbps
# (5 bits x 75 Hz = 0.375 kbps for causal_wn), so they select 1/2/4/8 codebooks like EnCodec's 1.5/3/6/12 kbps.
# noncausal_tgn has hop 40 (not 320) to keep its file small.
CONFIGS = {
    "causal_wn": dict(
        sampling_rate=24000, target_bandwidths=[0.375, 0.75, 1.5, 3.0], hidden_size=8, num_filters=2,
        codebook_size=32, upsampling_ratios=[8, 5, 4, 2],
    ),
    "noncausal_tgn": dict(
        sampling_rate=48000, target_bandwidths=[6.0, 12.0, 24.0, 48.0], hidden_size=8, num_filters=2,
        codebook_size=32, upsampling_ratios=[5, 4, 2], norm_type="time_group_norm", use_causal_conv=False,
    ),
    "variant": dict(
        sampling_rate=24000, target_bandwidths=[4.0, 8.0, 16.0], hidden_size=6, num_filters=2, codebook_size=16,
        upsampling_ratios=[4, 3, 2], pad_mode="constant", trim_right_ratio=0.5, num_residual_layers=2,
        dilation_growth_rate=3, residual_kernel_size=5, compress=1, use_conv_shortcut=False, num_lstm_layers=1,
        kernel_size=5, last_kernel_size=3,
    ),
}

audio, sr = sf.read(os.path.join(DATA, "speech_en_16k.wav"), dtype="float32")
assert sr == 16000


def clip(start, n):
    return torch.from_numpy(audio[start : start + n].copy())


# A batch of two whole-frame clips, a ragged clip, and one shorter than the reflect padding deep in the encoder.
CASES = {
    "even": torch.stack([clip(8000, 1600), clip(20000, 1600)]).reshape(2, 1, -1),
    "ragged": clip(12000, 1600 + 77).reshape(1, 1, -1),
    "short": clip(30000, 100).reshape(1, 1, -1),
}


def redraw(model):
    """Re-draws every parameter so no layer is near-identity or near-zero and activations stay O(1)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("original0"):  # weight-norm g: filter norms around 1
                p.copy_(torch.rand_like(p) * 0.6 + 0.7)
            elif name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif p.dim() >= 2:
                fan_in = p[0].numel() if "lstm" in name or p.dim() == 2 else p.shape[1] * p.shape[2]
                p.copy_(torch.randn_like(p) / math.sqrt(fan_in))
            else:
                p.copy_(torch.randn_like(p) * 0.1)


def set_codebooks(model, latent):
    """Codebook entries at the scale of the residual each codebook sees, so every code carries information."""
    scale = latent.std().item()
    with torch.no_grad():
        for i, layer in enumerate(model.quantizer.layers):
            cb = layer.codebook
            cb.embed.copy_(torch.randn_like(cb.embed) * scale * 0.7**i)
            cb.embed_avg.copy_(cb.embed * 3.0)
            cb.cluster_size.copy_(torch.rand_like(cb.cluster_size) * 10.0)
            cb.inited.fill_(1.0)


fixtures = {}
for name, overrides in CONFIGS.items():
    config = transformers.EncodecConfig(**overrides)
    model = transformers.EncodecModel(config).eval()
    redraw(model)
    with torch.no_grad():
        set_codebooks(model, model.encoder(CASES["even"]))
    out_dir = os.path.join(OUT, name)
    os.makedirs(out_dir, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(out_dir, "model.safetensors"))
    config.save_pretrained(out_dir)
    with torch.no_grad():
        for case, x in CASES.items():
            z = model.encoder(x)
            y = model.decoder(z)
            key = f"{name}.{case}"
            fixtures.setdefault(f"{case}.audio", x)
            fixtures[f"{key}.latent"] = z
            fixtures[f"{key}.decoded"] = y
            print(f"{key}: latent std {z.std():.3f}, decoded std {y.std():.3f}, shape {tuple(y.shape)}", file=sys.stderr)
            for i, bw in enumerate(config.target_bandwidths):
                enc = model.encode(x, bandwidth=bw)
                codes = enc.audio_codes[0]  # [batch, n_q, frames] (one chunk: no chunking configured)
                fixtures[f"{key}.codes.{i}"] = codes.to(torch.int64)
                if i == len(config.target_bandwidths) - 1:
                    fixtures[f"{key}.audio_values"] = model.decode(enc.audio_codes, enc.audio_scales).audio_values

save_file({k: v.contiguous() for k, v in fixtures.items()}, os.path.join(OUT, "parity.safetensors"))
print("wrote", len(fixtures), "tensors", file=sys.stderr)
