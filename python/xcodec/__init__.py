"""xcodec: neural audio codecs (X-Codec, DAC, EnCodec, SoundStream) in Rust, from Python.

    import xcodec
    codec = xcodec.load("hf-audio/xcodec-hubert-librispeech")   # or a directory, or a .pth
    codes = codec.encode(audio, sample_rate=16000)              # int64 [n_q, frames]
    audio = codec.decode(codes)                                 # float32 [frames * hop_length]

The codes are exactly those of ``xcodec encode`` for a file of the same samples; see docs/src/python.md.
"""

from ._xcodec import Codec, StreamDecoder, StreamEncoder, __version__, load, tokenize_dataset

__all__ = ["Codec", "StreamDecoder", "StreamEncoder", "__version__", "load", "tokenize_dataset"]
