"""The xcodec Python package against the `xcodec` CLI: same codes for the same file and model, batches equal
single calls, arrays from torch or any `__array__`/`__dlpack__` object, one-line errors as the CLI's.

Needs XCODEC_BIN (the CLI built from the same tree; python/ci.sh sets it). torch is optional."""

import os
import struct
import subprocess
import sys
import wave

import numpy as np
import pytest

import xcodec

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("XCODEC_BIN", os.path.join(ROOT, "target", "release", "xcodec"))
DATA = os.path.join(ROOT, "tests", "data")
HUBERT = os.path.join(ROOT, "tests", "fixtures", "tiny_xcodec_hubert")  # X-Codec (DAC + HuBERT), HF layout, 16 kHz
ENCODEC = os.path.join(ROOT, "tests", "fixtures", "encodec", "causal_wn")  # causal EnCodec, HF layout, 24 kHz
SPEECH = os.path.join(DATA, "speech_en_16k.wav")


def cli(*args, check=True):
    out = subprocess.run([BIN, *args], capture_output=True, text=True)
    if check and out.returncode != 0:
        raise AssertionError(f"xcodec {' '.join(args)} failed: {out.stderr}")
    return out


def read_wav(path):
    """A 16-bit PCM WAV as float32 [channels, samples] (int / 32768, as the CLI scales it) and its rate."""
    with wave.open(path) as w:
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        x = raw.reshape(-1, w.getnchannels()).T.astype(np.float32) / np.float32(32768)
        return x, w.getframerate()


def write_wav(path, samples, rate):
    """float [channels, samples] in [-1, 1) -> 16-bit PCM WAV (exactly representable: read back bit for bit)."""
    pcm = np.round(np.clip(samples, -1, 32767 / 32768) * 32768).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(pcm.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.T.tobytes())


def read_f32_wav(path):
    """A 32-bit float WAV's samples (the `wave` module reads PCM only)."""
    data = open(path, "rb").read()
    pos = 12
    while pos < len(data):
        tag, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if tag == b"data":
            return np.frombuffer(data[pos + 8 : pos + 8 + size], dtype="<f4")
        pos += 8 + size + (size & 1)
    raise AssertionError(f"{path}: no data chunk")


def cli_codes(model, wav, tmp_path, *extra):
    out = tmp_path / "codes"
    cli("encode", "--model", model, *extra, "-o", str(out), wav)
    return np.load(out / (os.path.splitext(os.path.basename(wav))[0] + ".npy"))


@pytest.fixture(scope="module")
def hubert():
    return xcodec.load(HUBERT)


@pytest.fixture(scope="module")
def encodec():
    return xcodec.load(ENCODEC)


@pytest.fixture(scope="module")
def soundstream(tmp_path_factory):
    """A tiny causal SoundStream without a teacher (streams), built by the CLI as its stream tests build it."""
    model = str(tmp_path_factory.mktemp("soundstream") / "model")
    sets = ["acoustic.params.num_filters=2", "acoustic.params.hidden_size=8", "quantizer.params.codebook_size=64",
            "target_bandwidths_kbps=[0.3, 0.6, 2.4]"]
    cli("build", "--acoustic", "soundstream", "--semantic", "none", "-o", model, *sum((["--set", s] for s in sets), []))
    return model


@pytest.fixture(scope="module")
def speech():
    x, rate = read_wav(SPEECH)
    assert rate == 16000
    return x[0]


def test_properties(hubert, encodec):
    assert (hubert.sample_rate, hubert.frame_rate, hubert.hop_length) == (16000, 50.0, 320)
    assert hubert.bandwidths[-1] > 0 and hubert.codebook_size > 1 and hubert.num_codebooks >= 1
    assert encodec.sample_rate == 24000 and encodec.codebook_size == 32
    assert "Codec(" in repr(hubert)


@pytest.mark.parametrize("which", ["hubert", "encodec"])
def test_codes_equal_the_cli(which, hubert, encodec, speech, tmp_path):
    codec, model = (hubert, HUBERT) if which == "hubert" else (encodec, ENCODEC)
    expected = cli_codes(model, SPEECH, tmp_path)
    # EnCodec runs at 24 kHz: the CLI resamples the 16 kHz file, and so does resample=True.
    codes = codec.encode(speech, 16000, resample=codec.sample_rate != 16000)
    assert codes.dtype == np.int64 and codes.shape == expected.shape
    np.testing.assert_array_equal(codes, expected)


def test_lower_bandwidth_equals_the_cli(hubert, speech, tmp_path):
    bw = hubert.bandwidths[0]
    expected = cli_codes(HUBERT, SPEECH, tmp_path, "--bandwidth", str(bw))
    np.testing.assert_array_equal(hubert.encode(speech, 16000, bandwidth=bw), expected)


def test_resampled_stereo_equals_the_cli(hubert, speech, tmp_path):
    # A 22.05 kHz stereo file: the CLI mixes down (channel mean) then resamples; so does encode.
    stereo = np.stack([speech[:40000], 0.5 * speech[1000:41000]])
    path = str(tmp_path / "stereo_22k.wav")
    write_wav(path, stereo, 22050)
    x, rate = read_wav(path)
    assert x.shape == (2, 40000) and rate == 22050
    np.testing.assert_array_equal(hubert.encode(x, rate, resample=True), cli_codes(HUBERT, path, tmp_path))


def test_long_clip_is_windowed_as_the_cli(hubert, speech, tmp_path):
    # Longer than one 30 s window plus context: encoded in windows, as the CLI encodes a long file.
    long = np.tile(speech, 4)[: 16000 * 36]
    path = str(tmp_path / "long.wav")
    write_wav(path, long[None], 16000)
    x, _ = read_wav(path)
    np.testing.assert_array_equal(hubert.encode(x[0], 16000), cli_codes(HUBERT, path, tmp_path))


@pytest.mark.parametrize("which", ["hubert", "encodec"])
def test_a_batch_of_different_lengths_equals_single_calls(which, hubert, encodec, speech):
    codec = hubert if which == "hubert" else encodec
    rate = codec.sample_rate
    clips = [speech[:4800], speech[:27200], speech[3000:83000], speech[:400], speech[:16000]]
    if rate != 16000:
        clips = [np.resize(c, len(c) * rate // 16000) for c in clips]
    batch = codec.encode(clips, rate, batch_size=3)
    assert isinstance(batch, list) and len(batch) == len(clips)
    for got, clip in zip(batch, clips):
        np.testing.assert_array_equal(got, codec.encode(clip, rate))


def test_decode_equals_the_cli(hubert, speech, tmp_path):
    codes = hubert.encode(speech, 16000)
    np.save(tmp_path / "c.npy", codes.astype(np.uint16))
    cli("decode", "--model", HUBERT, "--sample-format", "f32", "-o", str(tmp_path / "out"), str(tmp_path / "c.npy"))
    audio = hubert.decode(codes)
    assert audio.dtype == np.float32 and audio.shape == (codes.shape[1] * hubert.hop_length,)
    np.testing.assert_array_equal(audio, read_f32_wav(str(tmp_path / "out" / "c.wav")))
    # Any integer dtype; a list gives a list.
    np.testing.assert_array_equal(hubert.decode(codes.astype(np.uint16)), audio)
    both = hubert.decode([codes, codes[:, :7]])
    np.testing.assert_array_equal(both[0], audio)
    assert both[1].shape == (7 * hubert.hop_length,)


class ArrayOnly:
    """Exposes the samples through `__array__` only (like many array libraries)."""

    def __init__(self, a):
        self.a = a

    def __array__(self, dtype=None, copy=None):
        return self.a


class DlpackOnly:
    """Exposes the samples through the DLPack protocol only."""

    def __init__(self, a):
        self.a = a

    def __dlpack__(self, **kwargs):
        return self.a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()


def test_array_like_objects(hubert, speech):
    expected = hubert.encode(speech, 16000)
    np.testing.assert_array_equal(hubert.encode(ArrayOnly(speech), 16000), expected)
    np.testing.assert_array_equal(hubert.encode(DlpackOnly(speech), 16000), expected)
    # Strided and float64 inputs are converted (copied), with the same codes.
    doubled = np.repeat(speech, 2)[::2]
    assert not doubled.flags.c_contiguous
    np.testing.assert_array_equal(hubert.encode(doubled, 16000), expected)
    np.testing.assert_array_equal(hubert.encode(speech.astype(np.float64), 16000), expected)


def test_torch_tensors(hubert, speech):
    torch = pytest.importorskip("torch")
    expected = hubert.encode(speech, 16000)
    t = torch.from_numpy(speech)
    np.testing.assert_array_equal(hubert.encode(t, 16000), expected)
    np.testing.assert_array_equal(hubert.encode(t.clone().requires_grad_(True), 16000), expected)
    np.testing.assert_array_equal(hubert.encode(t[None].repeat(2, 1), 16000), expected)  # [2, T] stereo, same channels
    np.testing.assert_array_equal(hubert.decode(torch.from_numpy(expected)), hubert.decode(expected))


def test_bad_input_is_a_value_error_with_the_message(hubert, speech):
    with pytest.raises(ValueError, match=r"^audio must be float32 \(or float64\) samples.*got int16"):
        hubert.encode((speech * 32767).astype(np.int16), 16000)
    nan = speech.copy()
    nan[5] = np.nan
    with pytest.raises(ValueError) as e:
        hubert.encode(nan, 16000)
    assert str(e.value) == "bad input: sample 5 is not finite (NaN or inf); check the gain and the file"
    with pytest.raises(ValueError) as e:
        hubert.encode([speech, nan], 16000)
    assert str(e.value) == "audio[1]: bad input: sample 5 is not finite (NaN or inf); check the gain and the file"
    with pytest.raises(ValueError) as e:
        hubert.encode(np.zeros(0, np.float32), 16000)
    assert str(e.value) == "bad input: audio is empty (0 samples)"
    with pytest.raises(ValueError) as e:
        hubert.encode(speech, 44100)
    assert str(e.value).startswith("audio is at 44100 Hz but the model runs at 16000 Hz; pass resample=True")
    with pytest.raises(ValueError, match=r"^audio must be \[samples\] or \[channels, samples\]; got shape \[1, 1, "):
        hubert.encode(speech[None, None], 16000)
    with pytest.raises(ValueError, match=r"looks like \[samples, channels\]; pass its transpose"):
        hubert.encode(np.stack([speech, speech], axis=1), 16000)
    with pytest.raises(ValueError, match=r"^audio must be a numpy array, a torch tensor"):
        hubert.encode("speech.wav", 16000)


def test_bandwidth_error_is_the_clis(hubert, speech, tmp_path):
    with pytest.raises(ValueError) as e:
        hubert.encode(speech, 16000, bandwidth=3.3)
    out = cli("encode", "--model", HUBERT, "--bandwidth", "3.3", "-o", str(tmp_path), SPEECH, check=False)
    assert out.returncode != 0
    assert out.stderr.strip() == f"xcodec: {e.value}"


def test_codes_out_of_range_raise(hubert, tmp_path):
    bad = np.zeros((1, 10), np.int64)
    bad[0, 3] = hubert.codebook_size
    with pytest.raises(ValueError) as e:
        hubert.decode(bad)
    np.save(tmp_path / "bad.npy", bad)
    out = cli("decode", "--model", HUBERT, "-o", str(tmp_path / "o"), str(tmp_path / "bad.npy"), check=False)
    assert out.returncode != 0 and str(e.value) in out.stderr, out.stderr
    assert str(e.value).startswith(f"bad input: code {hubert.codebook_size} at codebook 0, frame 3 is outside")
    with pytest.raises(ValueError, match="bad input: code -1 at codebook 0, frame 0"):
        hubert.decode(-np.ones((1, 4), np.int64))
    with pytest.raises(ValueError, match="codes have 99 codebooks but this model has at most"):
        hubert.decode(np.zeros((99, 4), np.int64))
    with pytest.raises(ValueError, match=r"^codes must be integers"):
        hubert.decode(np.zeros((1, 4), np.float32))


def test_streams_equal_the_whole_clip(soundstream, speech, tmp_path):
    codec = xcodec.load(soundstream)
    x = speech[: 16000 * 2 + 123]  # not a whole number of frames
    whole = codec.encode(x, 16000)
    path = str(tmp_path / "x.wav")
    write_wav(path, x[None], 16000)
    np.testing.assert_array_equal(whole, cli_codes(soundstream, path, tmp_path))
    enc = codec.stream_encoder()
    pieces = [enc.push(x[i : i + 1000]) for i in range(0, len(x), 1000)] + [enc.finish()]
    assert all(p.shape[0] == enc.num_codebooks for p in pieces)
    np.testing.assert_array_equal(np.concatenate(pieces, axis=1), whole)
    with pytest.raises(ValueError, match="this stream encoder is finished"):
        enc.push(x[:100])
    dec = codec.stream_decoder()
    audio = [dec.push(whole[:, i : i + 7]) for i in range(0, whole.shape[1], 7)] + [dec.finish()]
    np.testing.assert_allclose(np.concatenate(audio), codec.decode(whole), atol=1e-6)
    with pytest.raises(ValueError, match="codes have 2 codebooks but this stream started with"):
        dec2 = codec.stream_decoder()
        dec2.push(whole[:, :3])
        dec2.push(whole[:2, 3:6])


def test_streams_refused_with_the_reason(hubert, encodec, soundstream):
    with pytest.raises(ValueError, match="cannot stream-encode: its semantic teacher"):
        hubert.stream_encoder()
    with pytest.raises(ValueError, match="this encoder cannot stream: it needs causal convs without reflect"):
        encodec.stream_encoder()
    with pytest.raises(ValueError) as e:
        xcodec.load(soundstream).stream_encoder().finish()
    assert str(e.value) == "bad input: the audio input is empty (0 samples)"


def test_tokenize_dataset_writes_the_clis_parts(tmp_path):
    inputs = [SPEECH, os.path.join(DATA, "music_chords_16k.wav")]
    cli("tokenize", "--model", HUBERT, "-o", str(tmp_path / "cli"), *inputs)
    summary = xcodec.tokenize_dataset(HUBERT, inputs, tmp_path / "py")
    assert (summary["files"], summary["encoded"], summary["failed"]) == (2, 2, 0)
    part = os.path.join("data", "part-00000-of-00001-000000.parquet")
    assert open(tmp_path / "py" / part, "rb").read() == open(tmp_path / "cli" / part, "rb").read()
    again = xcodec.tokenize_dataset(xcodec.load(HUBERT), inputs, tmp_path / "py")  # resumes: nothing to do
    assert (again["encoded"], again["resumed"]) == (0, 2)
    with pytest.raises(ValueError, match="no audio files in"):
        xcodec.tokenize_dataset(HUBERT, [str(tmp_path / "empty_dir_missing")] * 0, tmp_path / "x")


def test_load_errors_are_the_clis(tmp_path):
    missing = str(tmp_path / "nothing")
    with pytest.raises(OSError) as e:
        xcodec.load(missing)
    out = cli("info", missing, check=False)
    assert out.stderr.strip() == f"xcodec: {e.value}"
    with pytest.raises(ValueError, match="--device tpu"):
        xcodec.load(HUBERT, device="tpu")


def test_the_gil_is_released(hubert, speech):
    import threading

    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(1)
            stop.wait(0.001)

    t = threading.Thread(target=tick)
    t.start()
    before = len(ticks)
    hubert.encode([speech] * 4, 16000)
    stop.set()
    t.join()
    assert len(ticks) - before > 5, "another Python thread did not run while encoding"
