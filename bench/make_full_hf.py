"""Writes a full-size transformers XcodecModel (DAC + hubert-base, the X-Codec speech shape: 16 kHz, hop 320,
8 x 1024 codebooks, 256 + 768 dims) with seeded random weights, in the Hugging Face layout (config.json +
model.safetensors, weight norm applied as in the released checkpoints). Used by bench scripts; never committed.

    $(../shared/tools/refenv.sh) bench/make_full_hf.py OUT_DIR
"""
import os
import sys

import torch
import transformers
from safetensors.torch import save_file

assert transformers.__version__ == "5.24.0", transformers.__version__
out = sys.argv[1]
torch.manual_seed(0)
model = transformers.XcodecModel(transformers.XcodecConfig()).eval()
with torch.no_grad():
    for q in model.quantizer.quantizers:
        cb = q.codebook
        cb.embed.copy_(torch.randn_like(cb.embed))
        cb.embed_avg.copy_(cb.embed)
        cb.cluster_size.fill_(1.0)
        cb.inited.fill_(1.0)
model.apply_weight_norm()
os.makedirs(out, exist_ok=True)
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(out, "model.safetensors"))
model.config.save_pretrained(out)
print(f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters -> {out}")
