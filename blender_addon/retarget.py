"""Per-channel shaping (gain, offset, clamp, invert, mirror) and smoothing. No ``bpy``.

The same code shapes a live frame and a whole take before baking, so a bake looks
like what the animator previewed. Order per channel: pick the source (its mirror
partner when *mirror* is on, for a mirrored webcam), invert (1 − v), scale by gain,
add offset, clamp to [min, max].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .protocol import ARKIT_INDEX, ARKIT_NAMES, NUM_BLENDSHAPES


def mirror_partner(name: str) -> str:
    """``eyeBlinkLeft`` ↔ ``eyeBlinkRight``, ``jawLeft`` ↔ ``jawRight``; centred channels are their own."""
    for a, b in (("Left", "Right"), ("Right", "Left")):
        if name.endswith(a):
            return name[: -len(a)] + b
    return name


MIRROR_INDEX = np.array([ARKIT_INDEX[mirror_partner(n)] for n in ARKIT_NAMES])


@dataclass
class ChannelShape:
    gain: float = 1.0
    offset: float = 0.0
    min: float = 0.0
    max: float = 1.0
    invert: bool = False
    mirror: bool = False

    def is_identity(self) -> bool:
        return self == ChannelShape()


class Retarget:
    """52 channel shapes compiled into arrays: one vectorised expression per frame or per take."""

    def __init__(self, shapes: dict[int, ChannelShape] | None = None) -> None:
        shapes = shapes or {}
        get = [shapes.get(i, ChannelShape()) for i in range(NUM_BLENDSHAPES)]
        self.source = np.array([MIRROR_INDEX[i] if s.mirror else i for i, s in enumerate(get)])
        self.gain = np.array([s.gain for s in get])
        self.offset = np.array([s.offset for s in get])
        self.lo = np.array([s.min for s in get])
        self.hi = np.array([max(s.min, s.max) for s in get])
        self.invert = np.array([s.invert for s in get])

    def apply(self, values: np.ndarray) -> np.ndarray:
        """(…, 52) raw weights → shaped weights, same shape."""
        v = np.asarray(values, float)[..., self.source]
        v = np.where(self.invert, 1.0 - v, v)
        return np.clip(v * self.gain + self.offset, self.lo, self.hi)


def smoothing_alpha(dt: float, time_constant: float) -> float:
    """Exponential smoothing weight for a step of ``dt`` seconds: independent of frame rate."""
    if time_constant <= 0.0 or dt <= 0.0:
        return 1.0
    return 1.0 - math.exp(-dt / time_constant)


class Smoother:
    """Live exponential smoothing of any float vector, by wall-clock or media time.

    A time constant of 0 is a plain pass-through that keeps no state, and a non-finite input
    (or state) starts over from the next good frame instead of poisoning every later one."""

    def __init__(self, time_constant: float = 0.0) -> None:
        self.time_constant = time_constant
        self.state: np.ndarray | None = None
        self.t: float | None = None

    def reset(self) -> None:
        self.state, self.t = None, None

    def __call__(self, values: np.ndarray, t: float) -> np.ndarray:
        values = np.asarray(values, float)
        if self.time_constant <= 0.0 or not np.isfinite(values).all():
            self.reset()
            return values.copy()
        if self.state is None or self.t is None or self.state.shape != values.shape \
                or not np.isfinite(self.state).all() or not math.isfinite(t - self.t):
            self.state = values.copy()
        else:
            a = smoothing_alpha(t - self.t, self.time_constant)
            self.state += a * (values - self.state)
        self.t = t
        return self.state.copy()


def smooth_take(times: np.ndarray, values: np.ndarray, time_constant: float) -> np.ndarray:
    """The live smoother run over a whole take (T, C), so bakes match previews."""
    values = np.asarray(values, float)
    if time_constant <= 0.0 or len(values) < 2:
        return values.copy()
    out = np.empty_like(values)
    out[0] = values[0]
    dts = np.diff(np.asarray(times, float))
    alphas = 1.0 - np.exp(-np.maximum(dts, 0.0) / time_constant)
    for t in range(1, len(values)):
        out[t] = out[t - 1] + alphas[t - 1] * (values[t] - out[t - 1])
    return out
