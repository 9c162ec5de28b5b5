"""Generates the semantic-teacher (HuBERT / WavLM) and end-to-end X-Codec parity fixtures from transformers.

Pinned reference environment (../shared/tools/refenv.sh): torch 2.15.0, transformers 5.24.0,
safetensors 0.8.0, numpy 2.4.6, soundfile 0.14.0. Run from the repository root:

    $(../shared/tools/refenv.sh) tests/reference/gen_teachers.py

Writes
  tests/fixtures/teachers/{hubert_base,hubert_large,wavlm_base,wavlm_large}/{config.json,model.safetensors}
      four tiny seeded teachers (hidden 32, 3 layers, 4 heads, hop 320) via `save_pretrained`;
      "base" = group-norm feature extractor + post-layer-norm transformer, "large" = layer-norm feature
      extractor + pre-layer-norm ("stable") transformer with conv biases;
  tests/fixtures/teachers/hubert_base_folded/{config.json,model.safetensors}
      hubert_base with its positional conv's weight norm folded (`remove_parametrizations`);
  tests/fixtures/teachers/hubert_base_bin/{config.json,pytorch_model.bin}
      hubert_base again in the legacy `torch.save(state_dict)` layout;
  tests/fixtures/teachers_parity.safetensors
      `{tag}.input` [1, T] (stored once, shared by the four teachers), `{name}.{tag}.hidden.{i}` (every hidden state, i = 0..3) and
      `{name}.{tag}.xcodec_feature` (pad 160 | 160, mean of the stacked hidden states), for tag "even"
      (speech_en_16k.wav[8000:24000]) and "ragged" ([8000:24123]);
  tests/fixtures/tiny_xcodec_{hubert,wavlm}/{config.json,model.safetensors}
      tiny seeded XcodecModels (acoustic part as in gen_dac_rvq.py, hubert_base / wavlm_base sized teacher),
      written as the hf-audio/xcodec-* ports are: `remove_weight_norm()` then `save_pretrained` (folded convs);
  tests/fixtures/tiny_xcodec_{hubert,wavlm}_wn/{config.json,model.safetensors}
      the same models before folding: the state dict with `apply_weight_norm()`'s parametrizations;
  tests/fixtures/xcodec_{hubert,wavlm}_e2e.safetensors
      for clips "speech" (speech_en_16k.wav) and "music" (music_chords_16k.wav), whole:
      `{clip}.num_samples` int64 [1], `{clip}.semantic` (_extract_semantic_features), `{clip}.embeddings`
      (fc output right before the quantizer), `{clip}.codes.{i}` int64 [1, n_q, F] for the five bandwidths,
      `speech.decoded_window.{i}` = decode(codes_i)[..., 16000:32000] (speech only, to keep the fixtures
      small), and `music.decoded_full` (decode at the top bandwidth).
"""
import math
import os
import sys

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import load_file, save_file

assert torch.__version__.startswith("2.15"), torch.__version__
assert transformers.__version__ == "5.24.0", transformers.__version__

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "..", "shared", "data")
OUT = os.path.join(ROOT, "tests", "fixtures")
TEACHERS = os.path.join(OUT, "teachers")

torch.manual_seed(0)
np.random.seed(0)
torch.set_num_threads(1)

# Same sizes for all four teachers; default conv_kernel (10,3,3,3,3,2,2) / conv_stride (5,2,2,2,2,2,2): hop 320.
COMMON = dict(
    hidden_size=32,
    num_hidden_layers=3,
    num_attention_heads=4,
    intermediate_size=64,
    conv_dim=(16,) * 7,
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=4,
)
BASE = dict(feat_extract_norm="group", do_stable_layer_norm=False, conv_bias=False)
LARGE = dict(feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True)
WAVLM = dict(num_buckets=16, max_bucket_distance=64)


def teacher_config(name):
    if name == "hubert_base":
        return transformers.HubertConfig(**COMMON, **BASE)
    if name == "hubert_large":
        return transformers.HubertConfig(**COMMON, **LARGE)
    if name == "wavlm_base":
        return transformers.WavLMConfig(**COMMON, **BASE, **WAVLM)
    if name == "wavlm_large":
        return transformers.WavLMConfig(**COMMON, **LARGE, **WAVLM)
    raise ValueError(name)


def redraw_teacher(module, gen, prefix=""):
    """Re-draws every parameter of a HuBERT / WavLM so that nothing is identity (norm scales 1, biases 0, ...).

    Weight-norm magnitudes (`original0` / `weight_g`): U[0.25, 0.75]; tensors with dim >= 2: N(0, 1/fan_in) with
    fan_in the size of one output slice; 1-D `*weight` (norm scales): 1 + 0.1 N; everything else (biases,
    masked_spec_embed): 0.1 N; WavLM's gru_rel_pos_const [1, heads, 1, 1]: 1 + 0.5 N.
    """
    with torch.no_grad():
        for name, p in module.named_parameters():
            if not name.startswith(prefix):
                continue
            if name.endswith("original0") or name.endswith("weight_g"):
                v = torch.rand(p.shape, generator=gen) * 0.5 + 0.25
            elif name.endswith("gru_rel_pos_const"):
                v = 1.0 + torch.randn(p.shape, generator=gen) * 0.5  # around its init of 1, so gate_b matters
            elif p.dim() >= 2:
                v = torch.randn(p.shape, generator=gen) / math.sqrt(p[0].numel())
            elif name.endswith("weight"):
                v = 1.0 + 0.1 * torch.randn(p.shape, generator=gen)
            else:
                v = 0.1 * torch.randn(p.shape, generator=gen)
            p.copy_(v)


def load_clip(name):
    audio, sr = sf.read(os.path.join(DATA, name), dtype="float32")
    assert sr == 16000 and audio.ndim == 1, (name, sr, audio.shape)
    return audio


speech = load_clip("speech_en_16k.wav")
music = load_clip("music_chords_16k.wav")

# ---------------------------------------------------------------------------------------------------------------
# 1 + 2: the four teachers and their parity fixtures.
# ---------------------------------------------------------------------------------------------------------------
parity = {}
INPUTS = (("even", speech[8000:24000]), ("ragged", speech[8000:24123]))
for seed, name in enumerate(("hubert_base", "hubert_large", "wavlm_base", "wavlm_large")):
    config = teacher_config(name)
    model = transformers.AutoModel.from_config(config).eval()
    gen = torch.Generator().manual_seed(1000 + seed)
    redraw_teacher(model, gen)
    model.eval()

    d = os.path.join(TEACHERS, name)
    model.save_pretrained(d)
    if name in ("hubert_base", "wavlm_base"):
        print(f"--- {name} state-dict keys:")
        for k, v in model.state_dict().items():
            print(f"  {k} {tuple(v.shape)}")
        saved = load_file(os.path.join(d, "model.safetensors"))
        if sorted(saved) != sorted(model.state_dict()):
            print(f"--- {name} model.safetensors keys differ from state_dict:", sorted(saved))
    if name == "hubert_base":
        # Weight norm folded with torch's own API (as exported / merged checkpoints hold it): the positional
        # conv (`weight_norm(dim=2)`) as one plain `weight`.
        rng = torch.get_rng_state()  # from_pretrained draws initial weights: keep the later fixtures' draws
        folded = transformers.AutoModel.from_pretrained(d).eval()
        torch.set_rng_state(rng)
        torch.nn.utils.parametrize.remove_parametrizations(
            folded.encoder.pos_conv_embed.conv, "weight", leave_parametrized=True
        )
        folded.save_pretrained(os.path.join(TEACHERS, "hubert_base_folded"))
        assert "encoder.pos_conv_embed.conv.weight" in load_file(
            os.path.join(TEACHERS, "hubert_base_folded", "model.safetensors"))
        d_bin = os.path.join(TEACHERS, "hubert_base_bin")
        os.makedirs(d_bin, exist_ok=True)
        config.save_pretrained(d_bin)
        torch.save(model.state_dict(), os.path.join(d_bin, "pytorch_model.bin"))

    with torch.no_grad():
        for tag, samples in INPUTS:
            x = torch.from_numpy(samples.copy()).reshape(1, -1)
            out = model(x, output_hidden_states=True)
            if f"{tag}.input" in parity:
                assert torch.equal(parity[f"{tag}.input"], x)
            parity[f"{tag}.input"] = x  # shared by the four teachers (stored once to keep the fixtures small)
            mags = []
            for i, h in enumerate(out.hidden_states):
                parity[f"{name}.{tag}.hidden.{i}"] = h.float()
                mags.append(h.abs().max().item())
            xp = F.pad(x, (160, 160))
            hs = model(xp, output_hidden_states=True).hidden_states
            feat = torch.stack(hs, 1).mean(1)
            parity[f"{name}.{tag}.xcodec_feature"] = feat.float()
            print(
                f"{name}.{tag}: T={x.shape[1]} frames={out.hidden_states[0].shape[1]} "
                f"max|hidden_i|={[round(m, 3) for m in mags]} max|xcodec_feature|={feat.abs().max().item():.3f} "
                f"(frames {feat.shape[1]})"
            )
            assert max(mags) < 50.0, (name, tag, mags)

save_file({k: v.contiguous() for k, v in parity.items()}, os.path.join(OUT, "teachers_parity.safetensors"))

# ---------------------------------------------------------------------------------------------------------------
# 3: end-to-end tiny XcodecModels with a hubert_base / wavlm_base sized teacher.
# ---------------------------------------------------------------------------------------------------------------
SEMANTIC = {
    "hubert": dict(model_type="hubert", **COMMON, **BASE),
    "wavlm": dict(model_type="wavlm", **COMMON, **BASE, **WAVLM),
}
for teacher in ("hubert", "wavlm"):
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
        semantic_model_config=SEMANTIC[teacher],
    )
    model = transformers.XcodecModel(config).eval()

    # Same redraw as gen_dac_rvq.py for everything but the teacher, which gets the teacher rules above.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("semantic_model."):
                continue
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
    redraw_teacher(model, torch.Generator().manual_seed(2000 + len(teacher)), prefix="semantic_model.")

    model.apply_weight_norm()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("original0"):
                p.copy_(torch.rand_like(p) * 0.5 + 0.25)
    model.eval()
    d = os.path.join(OUT, f"tiny_xcodec_{teacher}")
    # The weight-normed variant: the state dict as `apply_weight_norm()` leaves it
    # (`parametrizations.weight.original0/1`), beside a config written by transformers.
    d_wn = d + "_wn"
    os.makedirs(d_wn, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(d_wn, "model.safetensors"))
    config.save_pretrained(d_wn)
    # The published way: transformers' conversion script for hf-audio/xcodec-* calls `remove_weight_norm()`
    # before `save_pretrained`, so the files hold plain folded conv `weight`s. The reference outputs below
    # come from this folded model.
    model.remove_weight_norm()
    model.save_pretrained(d)
    assert not any("original0" in k or k.endswith("weight_g") for k in load_file(os.path.join(d, "model.safetensors"))
                   if not k.startswith("semantic_model.")), "save_pretrained wrote weight-normed acoustic convs"

    e2e = {}
    with torch.no_grad():
        for clip, audio in (("speech", speech), ("music", music)):
            x = torch.from_numpy(audio.copy()).reshape(1, 1, -1)
            e2e[f"{clip}.num_samples"] = torch.tensor([x.shape[2]], dtype=torch.int64)
            sem = model._extract_semantic_features(x)
            e2e[f"{clip}.semantic"] = sem.float()
            # XcodecModel.encode up to the quantizer.
            e_semantic = model.encoder_semantic(sem.transpose(1, 2))
            if model._get_conv1d_output_lengths(x.shape[2], model.acoustic_encoder) != e_semantic.shape[2]:
                e_acoustic = model.acoustic_encoder(F.pad(x, (model.pad, model.pad)))
            else:
                e_acoustic = model.acoustic_encoder(x)
            emb = torch.cat([e_acoustic, e_semantic], dim=1)
            emb = model.fc(emb.transpose(1, 2)).transpose(1, 2)
            e2e[f"{clip}.embeddings"] = emb.float()
            line = [f"max|semantic|={sem.abs().max().item():.3f}", f"max|embeddings|={emb.abs().max().item():.3f}"]
            for i, bw in enumerate(config.target_bandwidths):
                codes = model.encode(x, bandwidth=bw, return_dict=False).to(torch.int64)
                assert codes.shape[1] == model.quantizer.get_num_quantizers_for_bandwidth(bw)
                assert torch.equal(codes.transpose(0, 1), model.quantizer.encode(emb, bw).to(torch.int64))
                e2e[f"{clip}.codes.{i}"] = codes
                y = model.decode(codes, return_dict=False)
                if clip == "speech":  # music is covered by music.decoded_full (top bandwidth) to save space
                    e2e[f"{clip}.decoded_window.{i}"] = y[..., 16000:32000].float().clone()
                line.append(f"bw{bw}: n_q={codes.shape[1]} F={codes.shape[2]} max|y|={y.abs().max().item():.3f}")
                if clip == "music" and i == len(config.target_bandwidths) - 1:
                    e2e["music.decoded_full"] = y.float().clone()
            print(f"xcodec_{teacher}.{clip}: T={x.shape[2]} frames={sem.shape[1]} " + "; ".join(line))
    save_file({k: v.contiguous() for k, v in e2e.items()}, os.path.join(OUT, f"xcodec_{teacher}_e2e.safetensors"))
    print(f"wrote xcodec_{teacher}_e2e:", sorted(e2e), file=sys.stderr)

print("wrote", len(parity), "teacher parity tensors", file=sys.stderr)
