"""Wave needs swings: a hand that moves out and back once is not waving.

On real skeletons (UTKinect, docs/actions.md) the network's `wave` probability is as high
in one-arm pulls and throws as in the two-handed waves it must find, so no threshold tells
them apart. What does is the motion itself: a wave swings the hand from side to side
again and again, a pull or a push reaches out and comes back. This module counts, in the
classifier's own window, how often either wrist turns round horizontally (relative to the
shoulders' centre, by at least ``excursion`` body sizes each way), and moves the `wave`
probability of windows with fewer turns to `other` (≈ 20 µs a window).
"""

from __future__ import annotations

import numpy as np

from kinemo.body.features import STEPS
from kinemo.body.skeleton import CHANNELS, L_SHOULDER, L_WRIST, NUM_LANDMARKS, R_SHOULDER, R_WRIST

#: Default turns and size of a swing, chosen leave-one-subject-out on UTKinect (scripts/actions/actions_eval.py).
MIN_SWINGS = 2
EXCURSION = 0.2  # body sizes (the window's normalisation unit, ≈ torso length): wrist-only flicks do not count


def turns(xs: list[float], excursion: float) -> int:
    """Direction changes of ``xs`` that move at least ``excursion`` each way (see ``reversals``)."""
    lo = hi = extreme = xs[0]
    direction, count = 0, 0  # 0: no leg yet, +1 rising, −1 falling
    for v in xs[1:]:
        if direction == 0:
            lo, hi = min(lo, v), max(hi, v)
            if v - lo >= excursion:
                direction, extreme = 1, v
            elif hi - v >= excursion:
                direction, extreme = -1, v
        elif direction == 1:
            if v > extreme:
                extreme = v
            elif extreme - v >= excursion:
                direction, extreme, count = -1, v, count + 1
        elif v < extreme:
            extreme = v
        elif v - extreme >= excursion:
            direction, extreme, count = 1, v, count + 1
    return count


def reversals(x: np.ndarray, excursion: float) -> np.ndarray:
    """Direction changes of each row of ``x`` (N, T), counting only moves of at least ``excursion``.

    A zig-zag with a dead band: a leg starts once the signal has moved ``excursion`` away from
    the last turning point, so jitter smaller than that never counts. Plain Python over 32
    numbers: for the one window a live frame brings, faster than numpy's per-call overhead.
    """
    return np.array([turns(row, excursion) for row in np.asarray(x, np.float64).tolist()], np.int64)


def wrist_swings(windows: np.ndarray, excursion: float = EXCURSION) -> np.ndarray:
    """(N, STEPS, FEATURES) classifier windows → (N,) turns of the busier wrist."""
    w = np.asarray(windows, np.float32).reshape(-1, STEPS, NUM_LANDMARKS, CHANNELS)
    centre = 0.5 * (w[:, :, L_SHOULDER, 0] + w[:, :, R_SHOULDER, 0])
    return np.maximum(reversals(w[:, :, L_WRIST, 0] - centre, excursion),
                      reversals(w[:, :, R_WRIST, 0] - centre, excursion))


def gate_wave(probs: np.ndarray, windows: np.ndarray, labels: tuple[str, ...], min_swings: int = MIN_SWINGS,
              excursion: float = EXCURSION) -> np.ndarray:
    """``probs`` (N, labels), `wave` moved to `other` where the wrists turn fewer than ``min_swings`` times."""
    if min_swings <= 0 or "wave" not in labels or "other" not in labels:
        return probs
    wave, other = labels.index("wave"), labels.index("other")
    few = wrist_swings(windows, excursion) < min_swings
    if not few.any():
        return probs
    out = np.array(probs, copy=True)
    out[few, other] += out[few, wave]
    out[few, wave] = 0.0
    return out
