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
from kinemo.voice.features import N_MELS, SILENCE_FRAME

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_MODEL = ASSETS / "voice_net.onnx"


class VoiceNet:
    SMALL = 8  # pushes of up to this many frames (live blocks) run on bound, preallocated buffers

    def __init__(self, model_path: str | Path | None = None, *, threads: int = 1) -> None:
        path = Path(model_path) if model_path else DEFAULT_MODEL
        meta_path = path.with_suffix(".json")
        if not path.is_file() or not meta_path.is_file():
            raise KinemoError(f"voice model not found: {path} (and {meta_path.name} beside it)")
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, int(threads))
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own types for a damaged file
            raise KinemoError(f"could not load voice model {path}: {str(e).splitlines()[0]}") from None
        meta = json.loads(meta_path.read_text())
        self.delay = int(meta["delay_frames"])
        self.receptive = int(meta["receptive_frames"])
        self.channels: tuple[str, ...] = tuple(meta["channels"])
        self._state_shapes = [tuple(shape) for shape in meta["states"]]
        self.meta = meta
        self.path = path
        self._outputs = [o.name for o in self._session.get_outputs()]  # curves, then the next states
        self.reset()

    def reset(self) -> None:
        """Forget the stream; the past is silence (the model is warmed up on it)."""
        self._states = [np.zeros(shape, np.float32) for shape in self._state_shapes]
        self._bound: dict[int, tuple] = {}  # n → (input, output, bindings) for small pushes
        self._pair: tuple[list[np.ndarray], list[np.ndarray]] | None = None
        out = self._run(np.repeat(SILENCE_FRAME[None], self.receptive, axis=0))
        # Small pushes (live blocks) run on preallocated buffers bound to the session: the
        # states ping-pong between two sets of arrays instead of being fed and returned as
        # new tensors on every call. Only when the model's outputs have the declared shapes.
        shapes = [(s.shape, s.dtype) for s in self._states]
        if (len(self._outputs) == len(self._state_shapes) + 1 and out.shape == (self.receptive, len(self.channels))
                and shapes == [(shape, np.float32) for shape in self._state_shapes]):
            self._pair = ([np.ascontiguousarray(s) for s in self._states],
                          [np.zeros(shape, np.float32) for shape in self._state_shapes])
            self._states = self._pair[0]

    def push(self, frames: np.ndarray) -> np.ndarray:
        """New feature frames (n, N_MELS) → n output frames (n, channels), each ``delay`` frames late."""
        if len(frames) == 0:
            return np.zeros((0, len(self.channels)), np.float32)
        if self._pair is not None and len(frames) <= self.SMALL:
            try:
                return self._run_bound(frames)
            except Exception:  # noqa: BLE001 - binding unsupported here: feed tensors instead
                self._pair = None  # the input states were not touched; run them the plain way
        return self._run(frames)

    def _run(self, frames: np.ndarray) -> np.ndarray:
        feeds = {"features": np.ascontiguousarray(frames, np.float32)[None]}
        feeds.update({f"state{i}": s for i, s in enumerate(self._states)})
        out, *states = self._session.run(None, feeds)
        if self._pair is not None:  # keep the bound arrays current
            for dst, src in zip(self._states, states, strict=True):
                np.copyto(dst, src)
        else:
            self._states = states
        return out[0]

    def _run_bound(self, frames: np.ndarray) -> np.ndarray:
        n = len(frames)
        entry = self._bound.get(n)
        if entry is None:
            entry = self._bound[n] = self._bind(n)
        features, curves, bindings = entry
        np.copyto(features[0], frames, casting="same_kind")
        current = 0 if self._states is self._pair[0] else 1
        self._session.run_with_iobinding(bindings[current])
        self._states = self._pair[1 - current]
        return curves[0].copy()

    def _bind(self, n: int) -> tuple:
        from onnxruntime import OrtValue

        features = np.zeros((1, n, N_MELS), np.float32)
        curves = np.zeros((1, n, len(self.channels)), np.float32)
        values = [[OrtValue.ortvalue_from_numpy(a) for a in arrays] for arrays in self._pair]
        bindings = []
        for src, dst in ((0, 1), (1, 0)):
            b = self._session.io_binding()
            b.bind_ortvalue_input("features", OrtValue.ortvalue_from_numpy(features))
            b.bind_ortvalue_output(self._outputs[0], OrtValue.ortvalue_from_numpy(curves))
            for i, name in enumerate(self._outputs[1:]):
                b.bind_ortvalue_input(f"state{i}", values[src][i])
                b.bind_ortvalue_output(name, values[dst][i])
            bindings.append(b)
        return features, curves, bindings
