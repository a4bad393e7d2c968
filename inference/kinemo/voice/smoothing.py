"""Curve post-processing at the output frame rate, streamable: offline Savitzky-Golay, live one-pole.

Savitzky-Golay fits a low-order polynomial in a sliding window: it removes jitter but
keeps the peaks of fast closures (/p/, /b/, /m/) that a plain average flattens. As a
FIR filter it needs half its window of future frames, fine for files; live output uses
a one-pole low-pass instead, which needs none.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import savgol_coeffs


def savgol_window(fps: float) -> int:
    """About 150 ms, odd, at least 5 frames."""
    w = max(5, int(round(0.15 * fps)))
    return w if w % 2 else w + 1


class SavgolStream:
    """Centred Savitzky-Golay over a stream; output lags input by ``delay`` frames, edges replicated."""

    def __init__(self, window: int, polyorder: int = 2) -> None:
        self.coeffs = savgol_coeffs(window, polyorder, use="dot").astype(np.float32)
        self.delay = window // 2
        self._buf: np.ndarray | None = None
        self._last: np.ndarray | None = None

    def push(self, frames: np.ndarray) -> np.ndarray:
        if len(frames) == 0:
            return frames
        if self._buf is None:  # replicate the first frame into the past
            self._buf = np.repeat(frames[:1], self.delay, axis=0)
        self._last = frames[-1]
        self._buf = np.concatenate([self._buf, frames])
        w = len(self.coeffs)
        n = len(self._buf) - w + 1
        if n <= 0:
            return frames[:0]
        out = np.zeros((n, self._buf.shape[1]), np.float32)
        for k, c in enumerate(self.coeffs):  # FIR taps, one vector operation each
            out += c * self._buf[k:k + n]
        self._buf = self._buf[n:]
        return out.astype(np.float32)

    def flush(self) -> np.ndarray:
        if self._buf is None or self._last is None:
            return np.zeros((0, 0), np.float32)
        pending = len(self._buf) - self.delay  # frames still owed
        out = self.push(np.repeat(self._last[None], self.delay, axis=0))
        return out[:pending] if pending >= 0 else out[:0]


class OnePole:
    """Exponential smoothing with time constant ``tau`` seconds; no look-ahead."""

    delay = 0

    def __init__(self, tau: float, fps: float) -> None:
        self.alpha = float(1.0 - np.exp(-1.0 / (max(tau, 1e-6) * fps)))
        self._state: np.ndarray | None = None

    def push(self, frames: np.ndarray) -> np.ndarray:
        out = np.empty_like(frames)
        s = self._state
        for i, f in enumerate(frames):
            s = f.copy() if s is None else s + self.alpha * (f - s)
            out[i] = s
        self._state = s
        return out

    def flush(self) -> np.ndarray:
        return np.zeros((0, 0), np.float32)


class Passthrough:
    delay = 0

    def push(self, frames: np.ndarray) -> np.ndarray:
        return frames

    def flush(self) -> np.ndarray:
        return np.zeros((0, 0), np.float32)
