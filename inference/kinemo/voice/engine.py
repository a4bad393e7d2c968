"""VoiceAnimator: speech → ARKit frames (and landmarks), one engine for files and live input.

Shaped like a MediaPipe task: an options dataclass, ``create_from_options``, and
``process_audio_block`` for the one input type (16 kHz mono samples, any block size),
plus ``finish`` at the end of a stream. A file is just a stream of large blocks, so the
file path and the microphone path produce the same curves (up to the smoothing choice).

Per block: log-mel frames (10 ms) → causal network (declared look-ahead) → silence gate
→ resampling to the output frame rate → smoothing → 52 channels (+ idle motion,
+ landmarks) → :class:`kinemo.frame.Frame`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kinemo.frame import Frame
from kinemo.protocol import ARKIT_INDEX
from kinemo.voice.emotion import EmotionLayer, poses_from_profile
from kinemo.voice.features import FRAME_RATE, HOP, N_MELS, SAMPLE_RATE, WIN, LogMelStream
from kinemo.voice.idle import IdleMotion
from kinemo.voice.net import VoiceNet, load_voice_net
from kinemo.voice.smoothing import OnePole, Passthrough, SavgolStream, savgol_window
from kinemo.voice.visemes import NEUTRAL, SPEECH_INDEX

SMOOTHING = ("savgol", "live", "none")
LANDMARK_IMAGE = (1000, 1000)  # landmarks are placed in a nominal square image, face centred
SMALL = 4  # up to this many frames per step take the frame-by-frame path (live blocks)


@dataclass
class VoiceAnimatorOptions:
    model_path: str | Path | None = None  # None: the network shipped in kinemo/assets
    fps: float = 60.0
    smoothing: str = "savgol"  # savgol: files (needs ~75 ms more look-ahead); live: one-pole; none
    blinks: bool = False  # idle blinks, gaze drift and brow motion
    seed: int = 0  # for --blinks
    landmarks: bool = False  # decode 478-point landmarks per frame (costs time and memory)
    gate_db: float = -55.0  # frames quieter than this (dBFS) around a moment close the mouth
    threads: int = 1
    emotion: str = "neutral"  # the line's emotion: a built-in name, or one taught into ``profile``
    emotion_intensity: float = 1.0
    profile: object = None  # a kinemo.face.calibration.Profile whose taught expressions can be emotions


class _RateConverter:
    """100 Hz curves → ``fps`` by linear interpolation, streamed."""

    def __init__(self, fps: float, channels: int) -> None:
        self.fps = fps
        self.next_out = 0  # index of the next output frame
        self._buf = np.zeros((0, channels), np.float32)  # source frames from index _base on
        self._base = 0
        self.limit: float | None = None  # media duration: no output frame at or after it

    def ready_until(self, sources: int) -> int:
        """Output frames (from 0) that ``sources`` 100 Hz frames are enough for (before any limit)."""
        return math.floor((sources - 1) * self.fps / FRAME_RATE + 1e-9) + 1 if sources > 0 else 0

    def push(self, frames: np.ndarray) -> tuple[np.ndarray, list[float]]:
        """New 100 Hz frames → (output frames at ``fps``, their times in seconds)."""
        if len(frames):
            self._buf = np.concatenate([self._buf, frames]) if len(self._buf) else frames
        last = self._base + len(self._buf) - 1  # last source index available
        end = self.ready_until(last + 1)
        if self.limit is not None:
            end = min(end, math.ceil(self.limit * self.fps - 1e-9))
        start = self.next_out
        count = max(end, start) - start
        if count <= SMALL:  # a sound-card block: one or two frames, cheaper frame by frame (same numbers)
            out, times = self._few(start, count, last)
        else:
            ms = np.arange(start, start + count)
            pos = ms * (FRAME_RATE / self.fps)
            i = np.floor(pos + 1e-9).astype(np.int64)
            frac = np.clip(pos - i, 0.0, 1.0).astype(np.float32)[:, None]
            a = self._buf[i - self._base]
            b = self._buf[np.minimum(i + 1, last) - self._base]
            out = a + (b - a) * frac
            times = (ms / self.fps).tolist()
        self.next_out = start + count
        drop = min(math.floor(self.next_out * FRAME_RATE / self.fps + 1e-9) - self._base, len(self._buf))
        if drop > 0:
            self._buf = self._buf[drop:]
            self._base += drop
        return out.astype(np.float32, copy=False), times

    def _few(self, start: int, count: int, last: int) -> tuple[np.ndarray, list[float]]:
        """``push``'s interpolation for a handful of frames, in plain Python arithmetic."""
        out = np.empty((count, self._buf.shape[1]), np.float32)
        times = []
        for j, m in enumerate(range(start, start + count)):
            pos = m * (FRAME_RATE / self.fps)
            i = math.floor(pos + 1e-9)
            frac = np.float32(min(max(pos - i, 0.0), 1.0))
            a = self._buf[i - self._base]
            out[j] = a + (self._buf[min(i + 1, last) - self._base] - a) * frac
            times.append(m / self.fps)
        return out, times


class VoiceAnimator:
    def __init__(self, net: VoiceNet, options: VoiceAnimatorOptions) -> None:
        self.options = options
        self.net = net
        # the network's channels, wherever they sit among the 52; the others keep the neutral face
        self._index = np.array([ARKIT_INDEX[c] for c in net.channels], np.int64)
        self._rest = NEUTRAL[self._index]  # what silence shows
        self._landmarks = _LandmarkDecoder.load() if options.landmarks else None
        self.emotion = EmotionLayer(options.fps, poses_from_profile(options.profile))
        self.emotion.set(options.emotion, options.emotion_intensity, immediately=True)
        # a network fed feature frames alone (not the file network, which reads the samples) may be
        # fed late: frames of a block that completes no output frame wait for the next block
        self._deferrable = isinstance(net, VoiceNet)
        self.reset()

    @classmethod
    def create_from_options(cls, options: VoiceAnimatorOptions) -> VoiceAnimator:
        return cls(load_voice_net(options.model_path, threads=options.threads), options)

    # -- timing -------------------------------------------------------------------------
    @property
    def lookahead_s(self) -> float:
        """Future audio needed before a frame can be emitted (algorithmic latency)."""
        net = (self.net.delay + 1) / FRAME_RATE  # the network's own look-ahead
        interp = 1.0 / FRAME_RATE  # the next 10 ms frame for interpolation
        return net + interp + self._smoother_delay / self.options.fps

    def reset(self) -> None:
        o = self.options
        self.net.reset()
        self._mel = LogMelStream()
        self._rate = _RateConverter(o.fps, len(self._index))
        if o.smoothing == "savgol":
            self._smoother = SavgolStream(savgol_window(o.fps))
        elif o.smoothing == "live":
            self._smoother = OnePole(0.02, o.fps)
        elif o.smoothing == "none":
            self._smoother = Passthrough()
        else:
            raise ValueError(f"smoothing must be one of {SMOOTHING}")
        self._smoother_delay = getattr(self._smoother, "delay", 0)
        self._idle = IdleMotion(o.fps, o.seed) if o.blinks else None
        self._db = np.zeros(0, np.float32)  # level of feature frames, from index _db_base
        self._db_base = 0
        self._net_frames = 0  # network outputs produced so far
        self._pending = np.zeros((0, N_MELS), np.float32)  # feature frames deferred to the next block
        self._samples_in = 0
        self._times: list[float] = []  # times of smoothed-but-unemitted frames (the smoother's lag)
        self._loud: list[float] = []
        self.seq = 0
        self._finished = False

    # -- processing ---------------------------------------------------------------------
    def process_audio_block(self, samples: np.ndarray) -> list[Frame]:
        """16 kHz mono float32 samples (any count) → the frames that became complete."""
        samples = np.asarray(samples, np.float32).reshape(-1)
        self._samples_in += len(samples)
        return self._run(samples)

    def finish(self) -> list[Frame]:
        """End of stream: treat what follows as silence and emit the remaining frames."""
        if self._finished:
            return []
        self._finished = True
        self._rate.limit = self._samples_in / SAMPLE_RATE
        pad = np.zeros((self.net.delay + 3) * HOP + WIN, np.float32)
        frames = self._run(pad, final=True)
        tail = self._smoother.flush()
        return frames + self._emit(tail)

    def process_file(self, source, block: int = SAMPLE_RATE * 10) -> Iterator[Frame]:
        """All frames of an :class:`~kinemo.voice.audio_io.AudioFileSource` (or any ``blocks()``)."""
        for samples in source.blocks(block):
            yield from self.process_audio_block(samples)
        yield from self.finish()

    def _run(self, samples: np.ndarray, final: bool = False) -> list[Frame]:
        feats = self._mel.push(samples)
        if len(feats) == 0 and not final:
            return []
        self._db = np.concatenate([self._db, self._mel.last_db])
        if self._deferrable:
            if len(self._pending):
                feats = np.concatenate([self._pending, feats])
            if not final and not self._would_emit(len(feats)):
                # no output frame can leave this block: run these frames with the next block's, in
                # one network call (the same curves; a live block that emits nothing costs little)
                self._pending = feats
                return []
            self._pending = feats[:0]
        out = self.net.push(feats, samples, final)
        first = self._net_frames
        self._net_frames += len(out)
        d = self.net.delay
        skip = max(0, d - first)  # outputs for times before 0 are dropped
        if skip >= len(out) or len(out) == 0:
            return []
        if skip:
            out = out[skip:]
        k0 = first + skip - d  # label index of out[0]
        out = self._gate(out, k0)
        curves, times = self._rate.push(out)
        if len(curves) == 0:
            return []
        self._times.extend(times)
        if self._idle is not None:
            self._loud.extend(self._loudness(np.array(times)).tolist())
        return self._emit(self._smoother.push(curves))

    def _would_emit(self, n: int) -> bool:
        """Whether ``n`` more network frames would let the rate converter emit an output frame."""
        labels = self._net_frames + n - self.net.delay  # label frames known after them
        return self._rate.ready_until(labels) > self._rate.next_out

    def _gate(self, out: np.ndarray, k0: int) -> np.ndarray:
        """Close the mouth where the audio around a moment (−150 ms … +look-ahead) is silent."""
        n, base = len(out), self._db_base
        if n <= SMALL:  # a sound-card block: frame by frame is cheaper (same result)
            loud_frames = self._db >= self.options.gate_db
            gated = np.array(out, np.float32)
            for j in range(n):
                lo = max(k0 + j - 15 - base, 0)
                hi = min(k0 + j + self.net.gate_ahead + 1 - base, len(self._db))
                if hi <= lo or not loud_frames[lo:hi].any():
                    gated[j] = self._rest
        else:
            ks = np.arange(k0, k0 + n)
            lo = np.maximum(ks - 15 - base, 0)
            hi = np.minimum(ks + self.net.gate_ahead + 1 - base, len(self._db))
            loud = np.concatenate([[0], np.cumsum(self._db >= self.options.gate_db)])
            active = loud[np.maximum(hi, lo)] - loud[lo] > 0
            gated = np.where(active[:, None], out, self._rest[None, :])
        cut = max(0, k0 + n - 1 - 16 - base)  # keep what later frames still look back at
        if cut > 0:
            self._db = self._db[cut:]
            self._db_base += cut
        return np.clip(gated, 0.0, 1.0, out=gated)

    def _loudness(self, times: np.ndarray) -> np.ndarray:
        if not self.options.blinks or len(times) == 0:
            return np.zeros(len(times))
        idx = np.clip((times * FRAME_RATE).astype(int) - self._db_base, 0, max(len(self._db) - 1, 0))
        db = self._db[idx] if len(self._db) else np.full(len(times), -100.0)
        return np.clip((db + 45.0) / 30.0, 0.0, 1.0)

    def _emit(self, curves: np.ndarray) -> list[Frame]:
        n = len(curves)
        if n == 0:
            return []
        times = self._times[:n]
        del self._times[:n]
        poses = np.empty((n, len(NEUTRAL)), np.float32)
        poses[:] = NEUTRAL
        poses[:, self._index] = np.clip(curves, 0.0, 1.0)
        self.emotion.apply(poses)
        points = self._landmarks.decode(poses[:, SPEECH_INDEX]) if self._landmarks is not None else None
        now = time.time()
        seq = self.seq
        if self._idle is None:
            shapes = [poses[i].copy() for i in range(n)]
        else:
            loud = self._loud[:n]
            del self._loud[:n]
            shapes = [np.asarray(self._idle.apply(times[i], poses[i], loud[i]), np.float32) for i in range(n)]
        if points is None:
            frames = [Frame(seq=seq + i, time=times[i], stamp=now, present=True, blendshapes=shapes[i])
                      for i in range(n)]
        else:
            frames = [Frame(seq=seq + i, time=times[i], stamp=now, present=True, blendshapes=shapes[i],
                            landmarks=points[i], image_size=LANDMARK_IMAGE) for i in range(n)]
        self.seq = seq + n
        return frames


class _LandmarkDecoder:
    """Speech curves → PCA landmark coefficients (linear) → 478 points, in a fixed frontal pose."""

    ASSET = Path(__file__).resolve().parent.parent / "assets" / "voice_landmarks.npz"

    def __init__(self, weights: np.ndarray, bias: np.ndarray, pca) -> None:
        self.weights, self.bias, self.pca = weights, bias, pca
        from kinemo.face.landmarks import Similarity

        self.pose = Similarity(0.12, np.eye(3), np.array([0.5, 0.5, 0.0]))
        self._basis = (pca.components.T * 1.0).astype(np.float32)  # (1434, K)

    @classmethod
    def load(cls) -> _LandmarkDecoder:
        from kinemo.errors import KinemoError

        try:
            from kinemo.face.landmarks import LandmarkPCA
        except ImportError:
            raise KinemoError("landmarks are not available in this build") from None
        if not cls.ASSET.is_file():
            raise KinemoError(f"voice landmark map missing: {cls.ASSET}")
        with np.load(cls.ASSET, allow_pickle=False) as z:
            return cls(z["weights"].astype(np.float32), z["bias"].astype(np.float32), LandmarkPCA.load())

    def coefficients(self, curves: np.ndarray) -> np.ndarray:
        return curves @ self.weights + self.bias

    def decode(self, curves: np.ndarray) -> np.ndarray:
        coeffs = self.coefficients(curves)
        shapes = self.pca.mean.reshape(1, -1) + coeffs @ self.pca.components  # (n, 1434)
        shapes = shapes.reshape(len(curves), -1, 3)
        return (self.pose.scale * shapes @ self.pose.rotation.T + self.pose.translation).astype(np.float32)
