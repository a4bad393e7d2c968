"""Optional key reduction: drop keys that linear interpolation between the kept ones reproduces. No ``bpy``.

Guarantee (the documented error bound): every dropped sample lies within ``tolerance``
of the straight line between the kept keys around it, so with LINEAR interpolation
the reduced curve differs from the full bake by at most ``tolerance`` at every
sampled frame (and, being piecewise linear through the same points, nowhere by more
between them than the full bake's own linear segments do). Kept keys are a subset
of the originals, values unchanged.

The method is one greedy pass per curve (a "swinging door" corridor): from the last
kept key, the allowed slopes narrow with each sample; when the next sample falls
outside them, the previous sample becomes a key. Runs all channels at once.
"""

from __future__ import annotations

import numpy as np


def reduce_keys(frames: np.ndarray, values: np.ndarray, tolerance: float) -> np.ndarray:
    """Boolean mask (N, C) of keys to keep for values (N, C) sampled at increasing ``frames``."""
    x = np.asarray(frames, float)
    y = np.asarray(values, float)
    if y.ndim == 1:
        y = y[:, None]
    n, c = y.shape
    keep = np.ones((n, c), bool)
    if n <= 2 or tolerance <= 0:
        return keep
    keep[1:-1] = False
    cols = np.arange(c)
    anchor = np.zeros(c, int)
    lo = np.full(c, -np.inf)
    hi = np.full(c, np.inf)
    for k in range(1, n):
        ya, xa = y[anchor, cols], x[anchor]
        s = (y[k] - ya) / (x[k] - xa)
        bad = (s < lo) | (s > hi)
        if bad.any():
            keep[k - 1, bad] = True
            anchor[bad] = k - 1
            lo[bad], hi[bad] = -np.inf, np.inf
            ya, xa = y[anchor, cols], x[anchor]
        dx = x[k] - xa
        np.maximum(lo, (y[k] - tolerance - ya) / dx, out=lo)
        np.minimum(hi, (y[k] + tolerance - ya) / dx, out=hi)
    return keep


def max_error(frames: np.ndarray, values: np.ndarray, keep: np.ndarray) -> float:
    """Largest deviation of the original samples from the linear curve through the kept keys."""
    x = np.asarray(frames, float)
    y = np.asarray(values, float).reshape(len(x), -1)
    keep = keep.reshape(y.shape)
    return max((float(np.max(np.abs(np.interp(x, x[keep[:, j]], y[keep[:, j], j]) - y[:, j])))
                for j in range(y.shape[1])), default=0.0)
