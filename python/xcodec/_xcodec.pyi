"""Type stubs of the xcodec extension module (re-exported by ``xcodec``)."""

import os
from typing import Any, Dict, List, Optional, Sequence, Union, overload

import numpy as np
import numpy.typing as npt

__version__: str

# numpy arrays, torch tensors (duck-typed) or anything numpy.asarray / numpy.from_dlpack takes.
ArrayLike = Any
PathLike = Union[str, "os.PathLike[str]"]

class Codec:
    """A loaded codec: ``encode`` audio to codes, ``decode`` codes to audio, stream either way (causal codecs)."""

    @property
    def sample_rate(self) -> int:
        """The model's sample rate in Hz."""
    @property
    def frame_rate(self) -> float:
        """Code frames per second."""
    @property
    def hop_length(self) -> int:
        """Samples per code frame."""
    @property
    def bandwidths(self) -> List[float]:
        """The bandwidths offered, in kbps (the last is the default)."""
    @property
    def codebook_size(self) -> int:
        """Entries per codebook (codes are ``0..codebook_size``)."""
    @property
    def num_codebooks(self) -> int:
        """Codebooks at the highest bandwidth."""
    @property
    def source(self) -> str:
        """What was loaded ("xcodec directory m", "original checkpoint x.pth", ...)."""
    @overload
    def encode(
        self,
        audio: Union[List[ArrayLike], tuple],
        sample_rate: int,
        bandwidth: Optional[float] = None,
        resample: bool = False,
        batch_size: int = 16,
    ) -> List[npt.NDArray[np.int64]]: ...
    @overload
    def encode(
        self,
        audio: ArrayLike,
        sample_rate: int,
        bandwidth: Optional[float] = None,
        resample: bool = False,
        batch_size: int = 16,
    ) -> npt.NDArray[np.int64]:
        """Codes ``[n_q, frames]`` (int64) of ``[samples]`` or ``[channels, samples]`` float32 audio at
        ``sample_rate`` Hz, exactly ``xcodec encode``'s for a file of these samples; a list of clips of any
        lengths gives a list of codes (batched, each exactly as alone). ``resample=True`` resamples to the
        model's rate as the CLI does; another rate without it raises ValueError. Bad input (dtype, NaN,
        empty, shape, bandwidth) raises ValueError with the CLI's message."""
    @overload
    def decode(self, codes: Union[List[ArrayLike], tuple]) -> List[npt.NDArray[np.float32]]: ...
    @overload
    def decode(self, codes: ArrayLike) -> npt.NDArray[np.float32]:
        """Audio (float32 ``[frames * hop_length]``) of codes ``[n_q, frames]`` of any integer dtype, as
        ``xcodec decode`` decodes them; codes out of range raise ValueError."""
    def stream_encoder(self, bandwidth: Optional[float] = None) -> StreamEncoder:
        """A streaming encoder (causal codecs without a semantic teacher; others raise ValueError)."""
    def stream_decoder(self) -> StreamDecoder:
        """A streaming decoder (causal acoustic decoders; others raise ValueError)."""

class StreamEncoder:
    """Encodes audio chunk by chunk; the concatenated codes equal ``Codec.encode`` of the whole audio."""

    @property
    def num_codebooks(self) -> int:
        """Codebooks per frame."""
    def push(self, audio: ArrayLike) -> npt.NDArray[np.int64]:
        """The next chunk (float32 at the model's rate, any length) -> codes ``[n_q, k]`` of the whole
        frames now complete (k may be 0)."""
    def finish(self) -> npt.NDArray[np.int64]:
        """Ends the stream -> codes of the last partial frame (``[n_q, 0]`` or ``[n_q, 1]``)."""

class StreamDecoder:
    """Decodes codes chunk by chunk; the concatenated audio equals ``Codec.decode`` of all the codes."""

    def push(self, codes: ArrayLike) -> npt.NDArray[np.float32]:
        """Codes ``[n_q, k]`` -> their ``k * hop_length`` samples."""
    def finish(self) -> npt.NDArray[np.float32]:
        """Ends the stream (returns an empty array: the decoder holds nothing back)."""

def load(model: PathLike, device: str = "cpu", config: Optional[PathLike] = None) -> Codec:
    """Loads a model as the CLI's ``--model``: our directory, a Hugging Face directory or hub id (from the
    HF cache), an original ``.pth`` (``config``: its yaml, default config.yaml beside it) or descript's DAC
    ``.pth``."""

def tokenize_dataset(
    model: Union[Codec, PathLike],
    inputs: Union[PathLike, Sequence[PathLike]],
    output: PathLike,
    *,
    bandwidth: Optional[float] = None,
    batch_seconds: float = 60.0,
    shard: Optional[str] = None,
    workers: int = 2,
    rows_per_part: int = 1000,
    gain: float = 1.0,
    window_seconds: float = 30.0,
    context_seconds: float = 2.0,
    device: str = "cpu",
    config: Optional[PathLike] = None,
) -> Dict[str, Any]:
    """``xcodec tokenize`` (Parquet parts, resume, shards, errors file) from Python; returns the summary
    (files, encoded, resumed, failed, audio_seconds, codes, elapsed_seconds, errors_file)."""
