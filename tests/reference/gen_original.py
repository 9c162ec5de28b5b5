"""Converts the tiny Hugging Face-layout X-Codec fixture into the layout of the ORIGINAL X-Codec research code.

Pinned reference environment (../shared/tools/refenv.sh): torch 2.15.0, transformers 5.24.0,
safetensors 0.8.0, numpy 2.4.6. Run from the repository root:

    $(../shared/tools/refenv.sh) tests/reference/gen_original.py

Reads tests/fixtures/tiny_xcodec_hubert/{config.json,model.safetensors} (written by gen_teachers.py) and writes
tests/fixtures/original_hubert/
  xcodec_tiny.pth       the same tensors, renamed to the state-dict names of github.com/zhenye234/xcodec
                        (models/soundstream_semantic.py `SoundStream`, descriptaudiocodec/dac/model/dac.py
                        `Encoder`/`Decoder` built from nn.Sequential, modules/semantic_module.py, quantization/vq.py),
                        saved with `torch.save(OrderedDict)` (zip format). The acoustic ENCODER's weight-normed convs
                        use the old spelling `<conv>.weight_g` / `<conv>.weight_v`, the acoustic DECODER's keep the new
                        `<conv>.parametrizations.weight.original0` / `.original1`, so one file exercises both; the
                        teacher's positional conv uses the old spelling as in the released checkpoints. One non-tensor
                        entry (`_step`, an int) is included, as real checkpoints can carry such entries;
  config.yaml           the original code's `generator:` config (OmegaConf format), `semantic_techer` pointing at
  teacher_config.json   the fixture's `semantic_model_config` (our extension for tiny teachers; the released
                        configs say `hubert_base` etc.).

Only names change, so the end-to-end references in tests/fixtures/xcodec_hubert_e2e.safetensors apply unchanged.
The renaming table is verified by mapping every key back with a separately written inverse table and comparing
every tensor bitwise with the source safetensors file (after re-loading the written .pth).
"""
import collections
import json
import os
import re
import sys

import numpy as np
import torch
import transformers
import safetensors
from safetensors.torch import load_file

assert torch.__version__.startswith("2.15"), torch.__version__
assert transformers.__version__ == "5.24.0", transformers.__version__
assert safetensors.__version__ == "0.8.0", safetensors.__version__
assert np.__version__ == "2.4.6", np.__version__

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The committed fixture by default; bench/full_size_original.sh points these at a full-size model instead.
SRC = os.environ.get("XCODEC_ORIG_SRC", os.path.join(ROOT, "tests", "fixtures", "tiny_xcodec_hubert"))
OUT = os.environ.get("XCODEC_ORIG_OUT", os.path.join(ROOT, "tests", "fixtures", "original_hubert"))
PTH_NAME = os.environ.get("XCODEC_ORIG_NAME", "xcodec_tiny.pth")
# `semantic_techer` in the yaml: a released teacher name (hubert_base, ...) or our teacher_config.json extension.
TEACHER_NAME = os.environ.get("XCODEC_ORIG_TEACHER", "teacher_config.json")

torch.manual_seed(0)
np.random.seed(0)
torch.set_num_threads(1)

with open(os.path.join(SRC, "config.json")) as f:
    config = json.load(f)
hf = load_file(os.path.join(SRC, "model.safetensors"))

acoustic = config["acoustic_model_config"]
ratios = list(acoustic["downsampling_ratios"])
assert list(acoustic["upsampling_ratios"]) == ratios, "original code uses one `ratios` list for both"
N = len(ratios)  # number of strides (4): encoder.block.{1..N} / decoder_2.model.{1..N} are the strided blocks
D = acoustic["hidden_size"]
BINS = config["codebook_size"]
teacher = config["semantic_model_config"]
assert teacher["model_type"] == "hubert", teacher["model_type"]

# ---------------------------------------------------------------------------------------------------------------
# Renaming table HF -> original. Each rule: (anchored regex on the HF key, function of the match -> original key).
# First match wins; every key must match exactly one rule (checked below).
# Weight-norm spelling is handled afterwards (see `respell_forward`).
# ---------------------------------------------------------------------------------------------------------------
# DAC residual unit internals (nn.Sequential): Snake1d, WNConv1d(k=7), Snake1d, WNConv1d(k=1).
RES_FWD = {"snake1": "0", "conv1": "1", "snake2": "2", "conv2": "3"}
# DAC EncoderBlock.block: ResidualUnit x3, Snake1d, WNConv1d(stride).
ENC_BLOCK_FWD = {"res_unit1": "0", "res_unit2": "1", "res_unit3": "2", "snake1": "3", "conv1": "4"}
# DAC DecoderBlock.block: Snake1d, WNConvTranspose1d(stride), ResidualUnit x3.
DEC_BLOCK_FWD = {"snake1": "0", "conv_t1": "1", "res_unit1": "2", "res_unit2": "3", "res_unit3": "4"}

FORWARD_RULES = [
    # acoustic encoder -> encoder.block.*
    (r"acoustic_encoder\.conv1\.(.+)", lambda m: f"encoder.block.0.{m[1]}"),
    (r"acoustic_encoder\.block\.(\d+)\.(res_unit[123])\.(snake1|conv1|snake2|conv2)\.(.+)",
     lambda m: f"encoder.block.{int(m[1]) + 1}.block.{ENC_BLOCK_FWD[m[2]]}.block.{RES_FWD[m[3]]}.{m[4]}"),
    (r"acoustic_encoder\.block\.(\d+)\.(snake1|conv1)\.(.+)",
     lambda m: f"encoder.block.{int(m[1]) + 1}.block.{ENC_BLOCK_FWD[m[2]]}.{m[3]}"),
    (r"acoustic_encoder\.snake1\.(.+)", lambda m: f"encoder.block.{N + 1}.{m[1]}"),
    (r"acoustic_encoder\.conv2\.(.+)", lambda m: f"encoder.block.{N + 2}.{m[1]}"),
    # acoustic decoder -> decoder_2.model.*
    (r"acoustic_decoder\.conv1\.(.+)", lambda m: f"decoder_2.model.0.{m[1]}"),
    (r"acoustic_decoder\.block\.(\d+)\.(res_unit[123])\.(snake1|conv1|snake2|conv2)\.(.+)",
     lambda m: f"decoder_2.model.{int(m[1]) + 1}.block.{DEC_BLOCK_FWD[m[2]]}.block.{RES_FWD[m[3]]}.{m[4]}"),
    (r"acoustic_decoder\.block\.(\d+)\.(snake1|conv_t1)\.(.+)",
     lambda m: f"decoder_2.model.{int(m[1]) + 1}.block.{DEC_BLOCK_FWD[m[2]]}.{m[3]}"),
    (r"acoustic_decoder\.snake1\.(.+)", lambda m: f"decoder_2.model.{N + 1}.{m[1]}"),
    (r"acoustic_decoder\.conv2\.(.+)", lambda m: f"decoder_2.model.{N + 2}.{m[1]}"),
    # semantic encoder / decoder: wrapped convs gain a `.conv.` level; the 1x1 res-unit conv2 is a bare nn.Conv1d
    (r"encoder_semantic\.conv\.(weight|bias)", lambda m: f"encoder_semantic.conv.conv.{m[1]}"),
    (r"(encoder|decoder)_semantic\.conv_blocks\.(\d+)\.conv\.(weight|bias)",
     lambda m: f"{m[1]}_semantic.conv_blocks.{m[2]}.conv.conv.{m[3]}"),
    (r"(encoder|decoder)_semantic\.conv_blocks\.(\d+)\.res_units\.(\d+)\.conv1\.(weight|bias)",
     lambda m: f"{m[1]}_semantic.conv_blocks.{m[2]}.res_units.{m[3]}.conv1.conv.{m[4]}"),
    (r"(encoder|decoder)_semantic\.conv_blocks\.(\d+)\.res_units\.(\d+)\.conv2\.(weight|bias)",
     lambda m: f"{m[1]}_semantic.conv_blocks.{m[2]}.res_units.{m[3]}.conv2.{m[4]}"),
    (r"decoder_semantic\.(conv1|conv2)\.(weight|bias)", lambda m: f"decoder_semantic.{m[1]}.conv.{m[2]}"),
    # projections
    (r"fc\.(weight|bias)", lambda m: f"fc_prior.{m[1]}"),
    (r"fc1\.(weight|bias)", lambda m: f"fc_post1.{m[1]}"),
    (r"fc2\.(weight|bias)", lambda m: f"fc_post2.{m[1]}"),
    # quantizer
    (r"quantizer\.quantizers\.(\d+)\.codebook\.(inited|cluster_size|embed|embed_avg)",
     lambda m: f"quantizer.vq.layers.{m[1]}._codebook.{m[2]}"),
    # teacher: Hugging Face names (pos-conv spelling handled in respell_forward)
    (r"semantic_model\.(.+)", lambda m: f"semantic_model.{m[1]}"),
]

# Inverse table original -> HF, written out separately (not derived from the forward one) so the round trip
# really checks both.
RES_INV = {"0": "snake1", "1": "conv1", "2": "snake2", "3": "conv2"}
ENC_BLOCK_INV = {"0": "res_unit1", "1": "res_unit2", "2": "res_unit3", "3": "snake1", "4": "conv1"}
DEC_BLOCK_INV = {"0": "snake1", "1": "conv_t1", "2": "res_unit1", "3": "res_unit2", "4": "res_unit3"}


def _enc_top(m):
    i = int(m[1])
    name = {0: "conv1", N + 1: "snake1", N + 2: "conv2"}[i]
    return f"acoustic_encoder.{name}.{m[2]}"


def _dec_top(m):
    i = int(m[1])
    name = {0: "conv1", N + 1: "snake1", N + 2: "conv2"}[i]
    return f"acoustic_decoder.{name}.{m[2]}"


INVERSE_RULES = [
    (r"encoder\.block\.(\d+)\.block\.([012])\.block\.([0-3])\.(.+)",
     lambda m: f"acoustic_encoder.block.{int(m[1]) - 1}.{ENC_BLOCK_INV[m[2]]}.{RES_INV[m[3]]}.{m[4]}"),
    (r"encoder\.block\.(\d+)\.block\.([34])\.(.+)",
     lambda m: f"acoustic_encoder.block.{int(m[1]) - 1}.{ENC_BLOCK_INV[m[2]]}.{m[3]}"),
    (r"encoder\.block\.(\d+)\.(alpha|bias|weight.*|parametrizations\..+)", _enc_top),
    (r"decoder_2\.model\.(\d+)\.block\.([234])\.block\.([0-3])\.(.+)",
     lambda m: f"acoustic_decoder.block.{int(m[1]) - 1}.{DEC_BLOCK_INV[m[2]]}.{RES_INV[m[3]]}.{m[4]}"),
    (r"decoder_2\.model\.(\d+)\.block\.([01])\.(.+)",
     lambda m: f"acoustic_decoder.block.{int(m[1]) - 1}.{DEC_BLOCK_INV[m[2]]}.{m[3]}"),
    (r"decoder_2\.model\.(\d+)\.(alpha|bias|weight.*|parametrizations\..+)", _dec_top),
    (r"encoder_semantic\.conv\.conv\.(weight|bias)", lambda m: f"encoder_semantic.conv.{m[1]}"),
    (r"(encoder|decoder)_semantic\.conv_blocks\.(\d+)\.conv\.conv\.(weight|bias)",
     lambda m: f"{m[1]}_semantic.conv_blocks.{m[2]}.conv.{m[3]}"),
    (r"(encoder|decoder)_semantic\.conv_blocks\.(\d+)\.res_units\.(\d+)\.conv1\.conv\.(weight|bias)",
     lambda m: f"{m[1]}_semantic.conv_blocks.{m[2]}.res_units.{m[3]}.conv1.{m[4]}"),
    (r"(encoder|decoder)_semantic\.conv_blocks\.(\d+)\.res_units\.(\d+)\.conv2\.(weight|bias)",
     lambda m: f"{m[1]}_semantic.conv_blocks.{m[2]}.res_units.{m[3]}.conv2.{m[4]}"),
    (r"decoder_semantic\.(conv1|conv2)\.conv\.(weight|bias)", lambda m: f"decoder_semantic.{m[1]}.{m[2]}"),
    (r"fc_prior\.(weight|bias)", lambda m: f"fc.{m[1]}"),
    (r"fc_post1\.(weight|bias)", lambda m: f"fc1.{m[1]}"),
    (r"fc_post2\.(weight|bias)", lambda m: f"fc2.{m[1]}"),
    (r"quantizer\.vq\.layers\.(\d+)\._codebook\.(inited|cluster_size|embed|embed_avg)",
     lambda m: f"quantizer.quantizers.{m[1]}.codebook.{m[2]}"),
    (r"semantic_model\.(.+)", lambda m: f"semantic_model.{m[1]}"),
]

NEW_G, NEW_V = ".parametrizations.weight.original0", ".parametrizations.weight.original1"
POS_CONV = "semantic_model.encoder.pos_conv_embed.conv"


def respell_forward(key):
    """New -> old weight-norm spelling for the acoustic encoder and the teacher's positional conv."""
    if key.startswith("encoder.block.") or key.startswith(POS_CONV + "."):
        if key.endswith(NEW_G):
            return key[: -len(NEW_G)] + ".weight_g"
        if key.endswith(NEW_V):
            return key[: -len(NEW_V)] + ".weight_v"
    return key


def respell_inverse(key):
    if key.endswith(".weight_g"):
        return key[: -len(".weight_g")] + NEW_G
    if key.endswith(".weight_v"):
        return key[: -len(".weight_v")] + NEW_V
    return key


def apply_rules(rules, key):
    hits = [(pat, fn) for pat, fn in rules if re.fullmatch(pat, key)]
    assert hits, f"no rule for {key}"
    pat, fn = hits[0]
    return fn(re.fullmatch(pat, key))


def to_original(key):
    return respell_forward(apply_rules(FORWARD_RULES, key))


def to_hf(key):
    return apply_rules(INVERSE_RULES, respell_inverse(key))


# Every HF key must match exactly one forward rule.
for k in hf:
    n = sum(1 for pat, _ in FORWARD_RULES if re.fullmatch(pat, k))
    assert n == 1, (k, n)

mapping = collections.OrderedDict((k, to_original(k)) for k in hf)
assert len(mapping) == len(hf), len(hf)
assert len(set(mapping.values())) == len(mapping), "duplicate original-layout names"
# No original-layout key may still carry an HF-only module name.
for v in mapping.values():
    assert not re.search(r"acoustic_|res_unit\d|conv_t1|quantizers\.|\.codebook\.|^fc[12]?\.", v), v
    if v.startswith("encoder.block.") or v.startswith(POS_CONV + "."):
        assert "parametrizations" not in v, v
    if v.startswith("decoder_2."):
        assert not v.endswith("weight_g") and not v.endswith("weight_v"), v
n_old = sum(v.endswith(".weight_g") for v in mapping.values())
n_new = sum(v.endswith(NEW_G) for v in mapping.values())
print(f"weight norm: {n_old} convs in old spelling (weight_g/v), {n_new} in new spelling (original0/1)")
assert n_old > 0 and n_new > 0

# Weight-norm g must not be trivially all ones.
for k in ["acoustic_encoder.conv1", "acoustic_encoder.block.0.res_unit1.conv1", "acoustic_decoder.block.0.conv_t1",
          "acoustic_decoder.conv2", "semantic_model.encoder.pos_conv_embed.conv"]:
    g = hf[k + NEW_G]
    print(f"g {k}: shape {tuple(g.shape)} min {g.min().item():+.4f} max {g.max().item():+.4f}")
    assert not torch.all(g == 1.0), k

state = collections.OrderedDict()
state["_step"] = 12345  # non-tensor entry: the loader must skip it
for k, v in hf.items():
    assert v.dtype == torch.float32, (k, v.dtype)
    state[mapping[k]] = v.contiguous().clone()

os.makedirs(OUT, exist_ok=True)
pth = os.path.join(OUT, PTH_NAME)
torch.save(state, pth)

# Round trip: re-load the written file, map every key back with the inverse table, compare bitwise.
loaded = torch.load(pth, map_location="cpu", weights_only=True)
assert list(loaded.keys()) == list(state.keys())
assert loaded["_step"] == 12345
back = {}
for k, v in loaded.items():
    if not isinstance(v, torch.Tensor):
        continue
    hk = to_hf(k)
    assert hk not in back, f"inverse maps two keys to {hk}"
    back[hk] = v
assert set(back) == set(hf), (set(back) ^ set(hf))
for k, v in hf.items():
    w = back[k]
    assert w.dtype == v.dtype and w.shape == v.shape, k
    assert v.contiguous().numpy().tobytes() == w.contiguous().numpy().tobytes(), k
    assert mapping[k] == to_original(k) and to_hf(mapping[k]) == k
print(f"round trip OK: {len(back)} tensors bitwise identical to {os.path.relpath(SRC, ROOT)}/model.safetensors")

# config.yaml in the original code's (OmegaConf) format, written by hand (no PyYAML needed).
def flow(xs):
    return "[" + ", ".join(str(x) for x in xs) + "]"


yaml = (
    "generator:\n"
    "  name: SoundStream\n"
    "  config:\n"
    "    n_filters: 32\n"
    f"    D: {D}\n"
    f"    target_bandwidths: {flow(config['target_bandwidths'])}\n"
    f"    ratios: {flow(ratios)}\n"
    f"    sample_rate: {config['sample_rate']}\n"
    f"    bins: {BINS}\n"
    f"    semantic_techer: {TEACHER_NAME}\n"
)
with open(os.path.join(OUT, "config.yaml"), "w") as f:
    f.write(yaml)
if TEACHER_NAME.endswith(".json"):
    with open(os.path.join(OUT, TEACHER_NAME), "w") as f:
        json.dump(teacher, f, indent=2, sort_keys=True)
        f.write("\n")

print("config.yaml:\n" + yaml)
for name in [PTH_NAME, "config.yaml"] + ([TEACHER_NAME] if TEACHER_NAME.endswith(".json") else []):
    print(f"{name}: {os.path.getsize(os.path.join(OUT, name))} bytes")
print(f"tensors: {len(back)} (+ 1 non-tensor entry)")
print("first 20 mapped keys:")
for k in list(state.keys())[:20]:
    print("  ", k)
if "--all" in sys.argv:
    for k, v in mapping.items():
        print(f"{k} -> {v}")
