"""Smoothing: a One-Euro filter for live streams, zero-phase smoothing for files.

One-Euro (Casiez, Roussel & Vogel, CHI 2012) adapts its cut-off to the signal's
speed: still channels are smoothed hard (no jitter), fast ones lightly (little
lag). Files have the whole signal, so they use a symmetric Savitzky-Golay
window instead, which smooths without any lag at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Defaults tuned on the GRID clips for 0-1 blendshape weights (scripts/bench/bench_smoothing.py).
DEFAULT_MIN_CUTOFF = 0.5  # Hz: cut-off for a still signal
DEFAULT_BETA = 10.0  # how fast the cut-off rises with speed (per unit/s)
DEFAULT_D_CUTOFF = 1.0  # Hz: cut-off for the speed estimate
DEFAULT_WINDOW_S = 0.3  # seconds: Savitzky-Golay window for files


def _alpha(cutoff: float, dt: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


@dataclass
class OneEuroOptions:
    min_cutoff: float = DEFAULT_MIN_CUTOFF
    beta: float = DEFAULT_BETA
    d_cutoff: float = DEFAULT_D_CUTOFF


class OneEuroFilter:
    """Vectorised over channels; ``filter(x, t)`` with ``t`` in seconds."""

    def __init__(self, options: OneEuroOptions | None = None) -> None:
        self.options = options or OneEuroOptions()
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t = 0.0

    def reset(self) -> None:
        self._x = self._dx = None

    def filter(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self._x is None or t <= self._t:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return x.copy()
        o = self.options
        dt = t - self._t
        dx = (x - self._x) / dt
        a_d = _alpha(o.d_cutoff, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        cutoff = o.min_cutoff + o.beta * np.abs(self._dx)
        tau = 1.0 / (2.0 * np.pi * cutoff)
        a = 1.0 / (1.0 + tau / dt)
        self._x = a * x + (1 - a) * self._x
        self._t = t
        return self._x.copy()


def zero_phase(values: np.ndarray, fps: float, window_s: float = DEFAULT_WINDOW_S) -> np.ndarray:
    """Savitzky-Golay (quadratic) over ``window_s`` along axis 0; no lag, peaks kept."""
    from scipy.signal import savgol_filter

    values = np.asarray(values, np.float64)
    n = len(values)
    window = int(round(window_s * fps)) | 1  # odd
    window = min(window, n if n % 2 else n - 1)
    if window < 5:
        return values.copy()
    return savgol_filter(values, window, 2, axis=0, mode="interp")
