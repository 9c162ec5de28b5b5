"""Generates the one-generator-step gradient parity fixture: the X-Codec training forward of the tiny HuBERT
model (tests/fixtures/tiny_xcodec_hubert_wn, the weight-normed state dict, transformers' XcodecModel), EnCodec's training RVQ (straight-through,
commitment averaged over codebooks), and X-Codec's generator loss with its default weights — multi-resolution
STFT (1) + sub-band STFT (1) + least-squares adversarial (1) + feature matching (20) against a tiny seeded
multi-frequency discriminator + semantic MSE (100) + commitment (1) — then the loss terms and the gradients of
a few generator parameters.

Pinned reference environment (../shared/tools/refenv.sh): torch 2.15.0, transformers 5.24.0,
safetensors 0.8.0, numpy 2.4.6, scipy 1.17.1, soundfile 0.14.0. Run from the repository root:

    $(../shared/tools/refenv.sh) tests/reference/gen_train_step.py

The loss and discriminator modules are the ones tests/reference/gen_losses.py restates from the original code
(ParallelWaveGAN, X-Codec); their definitions are taken from that file by name (its fixture-writing code is not
run), so both fixtures test one reference.

Writes tests/fixtures/train_step/{discriminators.safetensors,train_step.safetensors}.
"""
import ast
import math
import os
import re

import numpy as np
import scipy
import scipy.signal
import soundfile as sf
import torch
import torch.nn as nn
import torch.nn.functional as F
import transformers
from safetensors.torch import load_file, save_file

assert torch.__version__.startswith("2.15"), torch.__version__
assert transformers.__version__ == "5.24.0", transformers.__version__
assert np.__version__ == "2.4.6", np.__version__
assert scipy.__version__ == "1.17.1", scipy.__version__

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "train_step")
os.makedirs(OUT, exist_ok=True)

torch.manual_seed(0)
np.random.seed(0)
torch.set_num_threads(1)


def reference_defs(names):
    """The named top-level functions and classes of gen_losses.py, without running its fixture code."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen_losses.py")
    tree = ast.parse(open(path).read(), path)
    nodes = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in names]
    assert sorted(n.name for n in nodes) == sorted(names), [n.name for n in nodes]
    ns = {"torch": torch, "nn": nn, "F": F, "np": np, "math": math, "scipy": scipy, "re": re}
    exec(compile(ast.Module(body=nodes, type_ignores=[]), path, "exec"), ns)
    return ns


ref = reference_defs([
    "pwg_stft", "STFTLoss", "MultiResolutionSTFTLoss", "design_prototype_filter", "PQMF", "create_fb_matrix",
    "TorchSTFT", "FrequenceDiscriminator", "MultiFrequencyDiscriminator", "redraw_discriminator", "rust_name", "lsgan_g",
    "feature_match",
])

TINY = os.path.join(ROOT, "tests", "fixtures", "tiny_xcodec_hubert_wn")
model = transformers.XcodecModel(transformers.XcodecConfig.from_pretrained(TINY)).eval()
model.apply_weight_norm()  # the fixture holds weight-normed convs (parametrizations.weight.original0/1)
model.load_state_dict(load_file(os.path.join(TINY, "model.safetensors")), strict=True)
hop = int(np.prod(model.config.acoustic_model_config.downsampling_ratios))

# A tiny multi-frequency discriminator (the Rust test builds the same: hops [32, 64], 32 channels), with weights
# redrawn so every layer matters, saved under the Rust module's names.
mfd = ref["MultiFrequencyDiscriminator"]([32, 64], [32, 32], sample_rate=16000)
ref["redraw_discriminator"](mfd)
save_file({ref["rust_name"]("mfd", n): p.detach().contiguous() for n, p in mfd.named_parameters()},
          os.path.join(OUT, "discriminators.safetensors"))

audio, sr = sf.read(os.path.join(ROOT, "tests", "data", "speech_en_16k.wav"), dtype="float32")
assert sr == 16000
x = torch.from_numpy(audio[16000 : 16000 + 30 * hop].copy()).reshape(1, 1, -1)

# --- X-Codec's training forward (its SoundStream.forward, on transformers' modules) ---
features = model._extract_semantic_features(x).detach()  # [1, frames, hidden], no gradient
e_semantic = model.encoder_semantic(features.transpose(1, 2))
if model._get_conv1d_output_lengths(x.shape[2], model.acoustic_encoder) != e_semantic.shape[2]:
    e_acoustic = model.acoustic_encoder(F.pad(x, (model.pad, model.pad)))
else:
    e_acoustic = model.acoustic_encoder(x)
emb = model.fc(torch.cat([e_acoustic, e_semantic], dim=1).transpose(1, 2)).transpose(1, 2)

# EnCodec's ResidualVectorQuantization in training mode (codebooks frozen here: their EMA is not a gradient).
n_q = len(model.quantizer.quantizers)
residual, quantized_out, commit = emb, 0.0, []
for layer in model.quantizer.quantizers[:n_q]:
    embed = layer.codebook.embed
    b, d, f = residual.shape
    r = residual.transpose(1, 2).reshape(-1, d)
    dist = -(r.pow(2).sum(1, keepdim=True) - 2 * r @ embed.t() + embed.pow(2).sum(1)[None, :])
    q = F.embedding(dist.max(dim=-1).indices, embed).view(b, f, d).transpose(1, 2)
    commit.append(F.mse_loss(q.detach(), residual))
    q = residual + (q - residual).detach()
    residual = residual - q
    quantized_out = quantized_out + q
commitment = torch.stack(commit).mean()
q_semantic = model.fc1(quantized_out.transpose(1, 2)).transpose(1, 2)
q_acoustic = model.fc2(quantized_out.transpose(1, 2)).transpose(1, 2)
y = model.acoustic_decoder(q_acoustic)[:, :, : x.shape[2]]
o_semantic = model.decoder_semantic(q_semantic)
semantic = F.mse_loss(o_semantic, features.transpose(1, 2))

# --- X-Codec's generator loss ---
full = ref["MultiResolutionSTFTLoss"]([512, 1024, 2048], [480, 960, 1200], [120, 240, 300])
sc, mag = full(y.squeeze(1), x.squeeze(1))
pqmf = ref["PQMF"](6)
sub = ref["MultiResolutionSTFTLoss"]([128, 256, 256], [80, 120, 200], [20, 40, 50])
ys, xs = pqmf.analysis(y), pqmf.analysis(x)
sub_sc, sub_mag = sub(ys.reshape(-1, ys.shape[-1]), xs.reshape(-1, xs.shape[-1]))
real_outs, real_f = mfd(x)
fake_outs, fake_f = mfd(y)
adversarial = ref["lsgan_g"](fake_outs)
matching = ref["feature_match"](real_f, fake_f)
terms = {
    "stft": sc + mag,
    "subband_stft": sub_sc + sub_mag,
    "semantic": semantic,
    "commitment": commitment,
    "adversarial": adversarial,
    "feature_matching": matching,
}
total = terms["stft"] + terms["subband_stft"] + 100 * semantic + commitment + adversarial + 20 * matching
model.zero_grad()
total.backward()

CHECKED = [
    "fc.weight", "fc.bias", "fc1.weight", "fc2.weight",
    "acoustic_encoder.conv1.parametrizations.weight.original0",
    "acoustic_encoder.block.0.res_unit1.conv1.parametrizations.weight.original1",
    "acoustic_decoder.block.0.res_unit1.conv1.parametrizations.weight.original1",
    "acoustic_decoder.conv2.parametrizations.weight.original1",
    "encoder_semantic.conv.weight", "decoder_semantic.conv2.weight",
]
params = dict(model.named_parameters())
fx = {"audio": x, "decoded": y.detach(), "loss.total": total.detach().reshape(1)}
for k, v in terms.items():
    fx[f"loss.{k}"] = v.detach().reshape(1)
for name in CHECKED:
    fx[f"grad.{name}"] = params[name].grad.detach().clone()
save_file({k: v.contiguous() for k, v in fx.items()}, os.path.join(OUT, "train_step.safetensors"))
print({k: float(v) for k, v in fx.items() if k.startswith("loss.")})
