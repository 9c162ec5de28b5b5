"""The PyTorch and ONNX Runtime sides of bench/compare.sh (full-size X-Codec, 2 threads).

    python bench/peers.py prepare WORK            # model (HF layout), ONNX exports, six 10 s speech files
    python bench/peers.py {torch,ort}-encode WORK # encode WORK/audio/*.wav -> WORK/codes_{torch,ort}/*.npy
    python bench/peers.py {torch,ort}-decode WORK # decode WORK/codes_torch/*.npy -> WORK/out_{torch,ort}/*.wav

Each call is one process (model load included), timed by the caller. Pinned: torch 2.15, transformers 5.24,
onnxruntime 1.32 (../shared/tools/refenv.sh).
"""
import glob
import os
import subprocess
import sys

import numpy as np
import soundfile as sf
import torch
import transformers

THREADS = 2
torch.set_num_threads(THREADS)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def model(work):
    cfg = transformers.XcodecConfig.from_pretrained(os.path.join(work, "hf"))
    m = transformers.XcodecModel(cfg).eval()
    m.apply_weight_norm()
    from safetensors.torch import load_file

    m.load_state_dict(load_file(os.path.join(work, "hf", "model.safetensors")))
    m.remove_weight_norm()
    return m


class Enc(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m.encode(x, bandwidth=4.0, return_dict=False)


class Dec(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, c):
        return self.m.decode(c, return_dict=False)


def prepare(work):
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "make_full_hf.py"), os.path.join(work, "hf")], check=True)
    os.makedirs(os.path.join(work, "audio"), exist_ok=True)
    clip, sr = sf.read(os.path.join(ROOT, "tests", "data", "speech_en_16k.wav"), dtype="float32")
    looped = np.concatenate([clip] * 8)
    for i in range(6):
        start = i * 25000
        sf.write(os.path.join(work, "audio", f"speech_{i}.wav"), looped[start : start + 160000], sr, subtype="PCM_16")
    m = model(work)
    x = torch.zeros(1, 1, 160000)
    with torch.no_grad():
        codes = Enc(m)(x)
    dyn = dict(dynamo=False)
    torch.onnx.export(Enc(m), (x,), os.path.join(work, "enc.onnx"), input_names=["audio"], output_names=["codes"],
                      dynamic_axes={"audio": {2: "t"}, "codes": {2: "f"}}, **dyn)
    torch.onnx.export(Dec(m), (codes,), os.path.join(work, "dec.onnx"), input_names=["codes"], output_names=["audio"],
                      dynamic_axes={"codes": {2: "f"}, "audio": {2: "t"}}, **dyn)


def runner(work, engine, step):
    """A function running one encode (audio -> codes) or decode (codes -> audio) with `engine`."""
    if engine == "torch":
        m = (Enc if step == "encode" else Dec)(model(work))
        return lambda a: m(torch.from_numpy(a)).numpy()
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = THREADS
    s = ort.InferenceSession(os.path.join(work, f"{step[:3]}.onnx"), so)
    name = "audio" if step == "encode" else "codes"
    return lambda a: s.run(None, {name: a})[0]


def audio_files(work):
    return sorted(glob.glob(os.path.join(work, "audio", "*.wav")))


def encode(work, engine):
    out = os.path.join(work, f"codes_{engine}")
    os.makedirs(out, exist_ok=True)
    run = runner(work, engine, "encode")
    with torch.no_grad():
        for f in audio_files(work):
            x, _ = sf.read(f, dtype="float32")
            codes = run(x.reshape(1, 1, -1))[0]
            np.save(os.path.join(out, os.path.basename(f)[:-4] + ".npy"), codes.astype(np.uint16))


def decode(work, engine):
    out = os.path.join(work, f"out_{engine}")
    os.makedirs(out, exist_ok=True)
    run = runner(work, engine, "decode")
    with torch.no_grad():
        for f in sorted(glob.glob(os.path.join(work, "codes_torch", "*.npy"))):
            c = np.load(f).astype(np.int64)[None]
            y = run(c)[0, 0]
            sf.write(os.path.join(out, os.path.basename(f)[:-4] + ".wav"), y, 16000, subtype="FLOAT")


if __name__ == "__main__":
    cmd, work = sys.argv[1], sys.argv[2]
    if cmd == "prepare":
        prepare(work)
    else:
        engine, step = cmd.split("-")
        (encode if step == "encode" else decode)(work, engine)
