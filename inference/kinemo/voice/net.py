"""The shipped voice network (ONNX, run by onnxruntime on the CPU), fed block by block.

The network is causal over 10 ms feature frames and declares its own delay: output
frame ``i`` describes the face at feature frame ``i - delay``. It is exported as a state
machine: each convolution's recent inputs are explicit states carried from call to call,
so a block of ``n`` new frames costs ``n`` frames of compute, and any split of the stream
into blocks gives the outputs of the whole-file run — live and offline agree.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kinemo.errors import KinemoError
from kinemo.ort_session import cpu_session
from kinemo.voice.features import SILENCE_FRAME

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_MODEL = ASSETS / "voice_net.onnx"  # the live (causal) network: kinemo mic, --engine live
FILE_MODEL = ASSETS / "voice_file.onnx"  # the file network (Whisper encoder + head): kinemo audio


class VoiceNet:
    def __init__(self, model_path: str | Path | None = None, *, threads: int = 1) -> None:
        path = Path(model_path) if model_path else DEFAULT_MODEL
        meta_path = path.with_suffix(".json")
        if not path.is_file() or not meta_path.is_file():
            raise KinemoError(f"voice model not found: {path} (and {meta_path.name} beside it)")
        self._session = cpu_session(path, threads, what="voice model")
        meta = json.loads(meta_path.read_text())
        self.delay = int(meta["delay_frames"])
        self.gate_ahead = self.delay  # the silence gate looks as far ahead as the network does
        self.receptive = int(meta["receptive_frames"])
        self.channels: tuple[str, ...] = tuple(meta["channels"])
        self._state_shapes = [tuple(shape) for shape in meta["states"]]
        self.meta = meta
        self.path = path
        self.reset()

    def reset(self) -> None:
        """Forget the stream; the past is silence (the model is warmed up on it)."""
        self._states = [np.zeros(shape, np.float32) for shape in self._state_shapes]
        self.push(np.repeat(SILENCE_FRAME[None], self.receptive, axis=0))

    def push(self, frames: np.ndarray, samples: np.ndarray | None = None, final: bool = False) -> np.ndarray:
        """New feature frames (n, N_MELS) → n output frames (n, channels), each ``delay`` frames late.

        ``samples`` and ``final`` are for front-ends that read the audio itself (the file
        network); this one needs only the log-mel frames.
        """
        if len(frames) == 0:
            return np.zeros((0, len(self.channels)), np.float32)
        feeds = {"features": np.ascontiguousarray(frames, np.float32)[None]}
        feeds.update({f"state{i}": s for i, s in enumerate(self._states)})
        out, *self._states = self._session.run(None, feeds)
        return out[0]


def load_voice_net(model_path: str | Path | None = None, *, threads: int = 1):
    """The network a model file describes: the causal live network, or the Whisper file network."""
    path = Path(model_path) if model_path else DEFAULT_MODEL
    meta_path = path.with_suffix(".json")
    if not path.is_file() or not meta_path.is_file():
        raise KinemoError(f"voice model not found: {path} (and {meta_path.name} beside it)")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as e:
        raise KinemoError(f"could not read {meta_path}: {e}") from None
    if meta.get("front") == "whisper":
        from kinemo.voice.whisper import WhisperVoiceNet

        return WhisperVoiceNet(path, meta, threads=threads)
    return VoiceNet(path, threads=threads)
