"""Generates the DAC encoder/decoder and RVQ parity fixtures from transformers' XcodecModel.

Pinned reference environment (../shared/tools/refenv.sh): torch 2.15.0, transformers 5.24.0,
safetensors 0.8.0, numpy 2.4.6, soundfile 0.14.0. Run from the repository root:

    $(../shared/tools/refenv.sh) tests/reference/gen_dac_rvq.py

Writes tests/fixtures/tiny_xcodec/{config.json,model.safetensors} (a tiny seeded XcodecModel in the
Hugging Face layout, weight norm applied as `parametrizations.weight.original0/1`) and
tests/fixtures/dac_rvq_parity.safetensors (inputs and reference outputs).
"""
import json
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
OUT = os.path.join(ROOT, "tests", "fixtures")

torch.manual_seed(0)
np.random.seed(0)
torch.set_num_threads(1)

# Tiny config with the real hop (8*5*4*2 = 320) and a 32-entry codebook: 5 bits x 50 Hz = 0.25 kbps a codebook,
# so these five bandwidths select 1/2/3/4/8 codebooks like the real 0.5/1/1.5/2/4 kbps with 1024 entries
# (and every ratio is exact in binary floating point, as it is for the real model).
config = transformers.XcodecConfig(
    target_bandwidths=[0.25, 0.5, 0.75, 1.0, 2.0],
    sample_rate=16000,
    codebook_size=32,
    acoustic_model_config=dict(
        encoder_hidden_size=4,
        downsampling_ratios=[8, 5, 4, 2],
        decoder_hidden_size=32,
        upsampling_ratios=[8, 5, 4, 2],
        hidden_size=8,
    ),
    semantic_model_config=dict(
        model_type="hubert",
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8, 8, 8, 8, 8, 8, 8),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
    ),
)
model = transformers.XcodecModel(config).eval()

# Re-draw every parameter so that no layer is near-identity or near-zero (HF initialises codebooks to zero
# and the acoustic convs with std 0.02, which would make a parity test weak).
with torch.no_grad():
    for name, p in model.named_parameters():
        if name.endswith("alpha"):
            p.copy_(torch.rand_like(p) + 0.5)
        elif p.dim() >= 2:
            fan_in = p[0].numel() if "conv_t" not in name else p.shape[0] * p.shape[2]
            p.copy_(torch.randn_like(p) / math.sqrt(fan_in))
        else:
            p.copy_(torch.randn_like(p) * 0.1)
    for q in model.quantizer.quantizers:
        cb = q.codebook
        cb.embed.copy_(torch.randn_like(cb.embed) * 0.5)
        cb.embed_avg.copy_(cb.embed * 3.0)
        cb.cluster_size.copy_(torch.rand_like(cb.cluster_size) * 10.0)
        cb.inited.fill_(1.0)

model.apply_weight_norm()
with torch.no_grad():
    # Filter norms (weight-norm `g`) in [0.25, 0.75] keep activations O(1), so an absolute tolerance means something.
    for name, p in model.named_parameters():
        if name.endswith("original0"):
            p.copy_(torch.rand_like(p) * 0.5 + 0.25)
os.makedirs(os.path.join(OUT, "tiny_xcodec"), exist_ok=True)
state = {k: v.contiguous() for k, v in model.state_dict().items()}
save_file(state, os.path.join(OUT, "tiny_xcodec", "model.safetensors"))
config.save_pretrained(os.path.join(OUT, "tiny_xcodec"))

audio, sr = sf.read(os.path.join(DATA, "speech_en_16k.wav"), dtype="float32")
assert sr == 16000
fixtures = {}
with torch.no_grad():
    # A whole number of frames and a ragged length (the encoder floors).
    for tag, n in (("even", 16000), ("ragged", 16000 + 123)):
        x = torch.from_numpy(audio[8000 : 8000 + n].copy()).reshape(1, 1, -1)
        z = model.acoustic_encoder(x)
        y = model.acoustic_decoder(z)
        fixtures[f"{tag}.audio"] = x
        fixtures[f"{tag}.latent"] = z
        fixtures[f"{tag}.decoded"] = y

    # RVQ on embeddings of the model's width ([batch 2, dim, frames 37]).
    dim = config.hidden_size
    emb = torch.randn(2, dim, 37) * 0.8
    fixtures["rvq.input"] = emb
    for i, bw in enumerate(config.target_bandwidths):
        codes = model.quantizer.encode(emb, bw)  # [n_q, batch, frames]
        fixtures[f"rvq.codes.{i}"] = codes.to(torch.int64)
        fixtures[f"rvq.quantized.{i}"] = model.quantizer.decode(codes)

save_file({k: v.contiguous() for k, v in fixtures.items()}, os.path.join(OUT, "dac_rvq_parity.safetensors"))
print("wrote", sorted(fixtures), file=sys.stderr)
