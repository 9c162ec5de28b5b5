"""Generates the descript DAC codec fixtures: one tiny seeded DAC in the two layouts the world publishes it in,
and transformers' `DacModel` outputs for parity.

Pinned reference environment (../shared/tools/refenv.sh): torch 2.15.0, transformers 5.24.0,
safetensors 0.8.0, numpy 2.4.6, soundfile 0.14.0; plus, for the descript layout, descript-audio-codec 1.0.0
(`dac`) with descript-audiotools 0.7.2 and argbind 0.3.9 in a venv that sees the reference environment
(how: the end of this header). Run from the repository root:

    /root/.cache/dac-venv/bin/python tests/reference/gen_dac_codec.py

Writes
- tests/fixtures/tiny_dac/{config.json,model.safetensors}: a tiny seeded `transformers.DacModel` written by
  `save_pretrained` (folded conv weights, no weight norm: the way `descript/dac_16khz` & co. are published);
- tests/fixtures/tiny_dac_descript/weights.pth: the same model as a `dac.DAC` saved by descript's own
  `DAC.save(path, package=False)` (`{"state_dict", "metadata": {"kwargs"}}`, weight-normed `weight_g`/`weight_v`,
  `nn.Sequential` indices: the layout of descript's released `weights.pth`);
- tests/fixtures/dac_codec_parity.safetensors: a clip of tests/data/speech_en_16k.wav (a whole number of
  frames, and a ragged length), `DacModel.encode` codes at every codebook count `[1, n, frames]` and
  `DacModel.decode(audio_codes=...)` audio `[1, samples]` for each.

The descript model is built first (weight-normed, random `g` and `v`), the DacModel takes its folded weights
through the key table of transformers' `convert_dac_checkpoint.py`, and the script checks that both give the
same codes and audio before writing anything.

The descript venv: `python3 -m venv /root/.cache/dac-venv`, a `.pth` file in its site-packages naming the
reference environment's site-packages (torch, transformers, numpy, soundfile come from there), then
`pip install --no-deps descript-audio-codec==1.0.0 descript-audiotools==0.7.2 argbind==0.3.9 torchaudio==2.11.1`
and audiotools' imports: `pip install pyloudnorm importlib-resources julius ffmpy rich matplotlib librosa pystoi
torch-stoi flatten-dict markdown2 randomname tensorboard tqdm "protobuf<3.20" ipython docstring_parser pyyaml`.
(torchaudio 2.15 does not exist; 2.11.1 is only imported, never called, by what this script uses.)
"""
import math
import os
import re
import sys

import dac
import numpy as np
import soundfile as sf
import torch
import transformers
from safetensors.torch import save_file

assert torch.__version__.startswith("2.15"), torch.__version__
assert transformers.__version__ == "5.24.0", transformers.__version__
assert dac.__version__ == "1.0.0", dac.__version__

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data")
OUT = os.path.join(ROOT, "tests", "fixtures")

torch.manual_seed(0)
np.random.seed(0)
torch.set_num_threads(1)

# Tiny, with DAC's structure: three strided blocks (hop 2*4*5 = 40, 400 frames/s at 16 kHz), the decoder's
# strides the encoder's reversed (so the odd stride 5 comes first: descript's transposed convs have no output
# padding, so the decoder gives 40 * frames - 8 samples), latent width 4 * 2^3 = 32, 4 codebooks of 64 entries
# of width 8.
KWARGS = dict(
    encoder_dim=4,
    encoder_rates=[2, 4, 5],
    latent_dim=None,
    decoder_dim=16,
    decoder_rates=[5, 4, 2],
    n_codebooks=4,
    codebook_size=64,
    codebook_dim=8,
    quantizer_dropout=False,
    sample_rate=16000,
)
N_BLOCKS = len(KWARGS["encoder_rates"])

descript = dac.DAC(**KWARGS).eval()

# Re-draw every parameter so that no layer is near-identity or near-zero, and so that the latent follows the
# audio (with small filter norms the convs shrink the signal until the biases and Snake offsets dominate and
# every frame gets the same code): v Gaussian; filter norms g (a conv's gain on a random input) in [0.8, 1.6]
# for the convs on the main path, [0.25, 0.75] inside residual units, [0.05, 0.1] for the decoder's last conv
# (keeps the tanh out of saturation); Snake alphas in [0.5, 1.5]; biases ~0.02; codebook entries Gaussian.
in_residual_units = {
    f"{m}.{p}"
    for m, module in descript.named_modules()
    if isinstance(module, dac.model.dac.ResidualUnit)
    for p, _ in module.named_parameters()
}
assert in_residual_units
last_conv = f"decoder.model.{N_BLOCKS + 2}.weight_g"
with torch.no_grad():
    for name, p in descript.named_parameters():
        if name.endswith("alpha"):
            p.copy_(torch.rand_like(p) + 0.5)
        elif name == last_conv:
            p.copy_(torch.rand_like(p) * 0.05 + 0.05)
        elif name.endswith("weight_g"):
            p.copy_(torch.rand_like(p) * 0.5 + 0.25 if name in in_residual_units else torch.rand_like(p) * 0.8 + 0.8)
        elif name.endswith("bias"):
            p.copy_(torch.randn_like(p) * 0.02)
        else:  # weight_v, codebook.weight
            p.copy_(torch.randn_like(p))

# descript key -> transformers key (convert_dac_checkpoint.py's MAPPING, for N_BLOCKS blocks).
def hf_key(key):
    n = N_BLOCKS
    rules = [
        (r"^encoder\.block\.0\.", "encoder.conv1."),
        (rf"^encoder\.block\.{n + 1}\.", "encoder.snake1."),
        (rf"^encoder\.block\.{n + 2}\.", "encoder.conv2."),
        (r"^decoder\.model\.0\.", "decoder.conv1."),
        (rf"^decoder\.model\.{n + 1}\.", "decoder.snake1."),
        (rf"^decoder\.model\.{n + 2}\.", "decoder.conv2."),
    ]
    for a, b in rules:
        if re.match(a, key):
            return re.sub(a, b, key)
    m = re.match(r"^encoder\.block\.(\d+)\.block\.(\d+)\.block\.(\d+)\.(.*)$", key)
    if m:
        i, r, j, rest = int(m[1]), int(m[2]), int(m[3]), m[4]
        return f"encoder.block.{i - 1}.res_unit{r + 1}.{['snake1', 'conv1', 'snake2', 'conv2'][j]}.{rest}"
    m = re.match(r"^encoder\.block\.(\d+)\.block\.([34])\.(.*)$", key)
    if m:
        return f"encoder.block.{int(m[1]) - 1}.{'snake1' if m[2] == '3' else 'conv1'}.{m[3]}"
    m = re.match(r"^decoder\.model\.(\d+)\.block\.(\d+)\.block\.(\d+)\.(.*)$", key)
    if m:
        i, r, j, rest = int(m[1]), int(m[2]), int(m[3]), m[4]
        return f"decoder.block.{i - 1}.res_unit{r - 1}.{['snake1', 'conv1', 'snake2', 'conv2'][j]}.{rest}"
    m = re.match(r"^decoder\.model\.(\d+)\.block\.([01])\.(.*)$", key)
    if m:
        return f"decoder.block.{int(m[1]) - 1}.{'snake1' if m[2] == '0' else 'conv_t1'}.{m[3]}"
    assert key.startswith("quantizer.quantizers."), key
    return key

config = transformers.DacConfig(
    encoder_hidden_size=KWARGS["encoder_dim"],
    downsampling_ratios=KWARGS["encoder_rates"],
    decoder_hidden_size=KWARGS["decoder_dim"],
    n_codebooks=KWARGS["n_codebooks"],
    codebook_size=KWARGS["codebook_size"],
    codebook_dim=KWARGS["codebook_dim"],
    sampling_rate=KWARGS["sample_rate"],
)
assert list(config.upsampling_ratios) == KWARGS["decoder_rates"]
hf = transformers.DacModel(config).eval()

# Fold descript's weight norm (g * v / ||v||, what `remove_weight_norm` leaves) into the DacModel.
state = descript.state_dict()
folded = {}
for key, value in state.items():
    if key.endswith("weight_v"):
        stem = key[: -len("weight_v")]
        g = state[stem + "weight_g"]
        folded[hf_key(stem + "weight")] = torch._weight_norm(value, g, 0)
    elif not key.endswith("weight_g"):
        folded[hf_key(key)] = value
hf.load_state_dict(folded, strict=True)
hf.eval()

audio, sr = sf.read(os.path.join(DATA, "speech_en_16k.wav"), dtype="float32")
assert sr == KWARGS["sample_rate"]
hop = int(np.prod(KWARGS["encoder_rates"]))
fixtures = {}
with torch.no_grad():
    for tag, n in (("even", 100 * hop), ("ragged", 100 * hop + 17)):
        x = torch.from_numpy(audio[4000 : 4000 + n].copy()).reshape(1, 1, -1)
        fixtures[f"{tag}.audio"] = x
        for n_q in range(1, KWARGS["n_codebooks"] + 1):
            codes = hf.encode(x, n_quantizers=n_q).audio_codes  # [1, n_q, frames]
            decoded = hf.decode(audio_codes=codes).audio_values  # [1, samples]
            # descript's own model agrees (codes exactly, audio to float error).
            z, d_codes, _, _, _ = descript.encode(x, n_quantizers=n_q)
            assert torch.equal(d_codes[:, :n_q], codes), (tag, n_q)
            d_audio = descript.decode(descript.quantizer.from_codes(codes)[0])
            assert (d_audio.squeeze(1) - decoded).abs().max() < 1e-5, (tag, n_q)
            fixtures[f"{tag}.codes.{n_q}"] = codes.to(torch.int64)
            fixtures[f"{tag}.decoded.{n_q}"] = decoded
        frames = codes.shape[-1]
        assert decoded.shape[-1] == frames * hop - 8, decoded.shape
        print(f"{tag}: {frames} frames, decoded {decoded.shape[-1]} samples, |audio| max {decoded.abs().max():.3f} "
              f"mean {decoded.abs().mean():.3f}", file=sys.stderr)

os.makedirs(os.path.join(OUT, "tiny_dac"), exist_ok=True)
hf.save_pretrained(os.path.join(OUT, "tiny_dac"))
os.makedirs(os.path.join(OUT, "tiny_dac_descript"), exist_ok=True)
descript.save(os.path.join(OUT, "tiny_dac_descript", "weights.pth"), package=False)
save_file({k: v.contiguous() for k, v in fixtures.items()}, os.path.join(OUT, "dac_codec_parity.safetensors"))

# What was written is what the loaders will read.
from safetensors.torch import load_file  # noqa: E402

written = load_file(os.path.join(OUT, "tiny_dac", "model.safetensors"))
assert not any("weight_g" in k or "parametrizations" in k for k in written), "save_pretrained wrote weight norm"
saved = torch.load(os.path.join(OUT, "tiny_dac_descript", "weights.pth"), weights_only=True)
assert set(saved) == {"state_dict", "metadata"} and "kwargs" in saved["metadata"], saved.keys()
assert any(k.endswith("weight_g") for k in saved["state_dict"])
print("wrote", sorted(fixtures), file=sys.stderr)
