"""Optional life for the upper face (``--blinks``): blinks, small gaze drift, brows that follow the voice.

Speech says little about the eyes, so the network leaves them at rest; a face that never
blinks looks dead, though. Blinks come every 2–6 s (the paper adds one about every
5 s), the eyes wander slowly, and the brows lift a little on loud syllables. Seeded, so
a file gives the same take twice; off by default so evaluations compare the network.
"""

from __future__ import annotations

import numpy as np

from kinemo.protocol import ARKIT_INDEX

_BLINK = [ARKIT_INDEX["eyeBlinkLeft"], ARKIT_INDEX["eyeBlinkRight"]]
_SQUINT = [ARKIT_INDEX["eyeSquintLeft"], ARKIT_INDEX["eyeSquintRight"]]
_LOOK = {
    "up": [ARKIT_INDEX["eyeLookUpLeft"], ARKIT_INDEX["eyeLookUpRight"]],
    "down": [ARKIT_INDEX["eyeLookDownLeft"], ARKIT_INDEX["eyeLookDownRight"]],
    "left": [ARKIT_INDEX["eyeLookOutLeft"], ARKIT_INDEX["eyeLookInRight"]],  # performer's left
    "right": [ARKIT_INDEX["eyeLookInLeft"], ARKIT_INDEX["eyeLookOutRight"]],
}
_BROWS = [ARKIT_INDEX["browInnerUp"], ARKIT_INDEX["browOuterUpLeft"], ARKIT_INDEX["browOuterUpRight"]]


class IdleMotion:
    def __init__(self, fps: float, seed: int = 0) -> None:
        self.fps = fps
        self.rng = np.random.default_rng(seed)
        self._next_blink = self.rng.uniform(0.5, 3.0)
        self._blink_t: float | None = None
        self._gaze = np.zeros(2)
        self._brow = 0.0

    def _blink_amount(self, t: float) -> float:
        if self._blink_t is None and t >= self._next_blink:
            self._blink_t = t
        if self._blink_t is None:
            return 0.0
        dt = t - self._blink_t
        close, hold, opening = 0.07, 0.04, 0.15
        if dt < close:
            return dt / close
        if dt < close + hold:
            return 1.0
        if dt < close + hold + opening:
            return 1.0 - (dt - close - hold) / opening
        self._blink_t = None
        self._next_blink = t + self.rng.uniform(2.0, 6.0)
        return 0.0

    def apply(self, t: float, pose: np.ndarray, loudness: float) -> np.ndarray:
        """Add idle motion to one 52-channel pose at time ``t``; ``loudness`` in 0–1."""
        out = pose.copy()
        b = self._blink_amount(t)
        out[_BLINK] = out[_BLINK] + b * (0.9 - out[_BLINK])
        out[_SQUINT] = out[_SQUINT] + 0.2 * b
        k = 1.0 / self.fps
        self._gaze += -self._gaze * 0.5 * k + self.rng.normal(0, 0.25, 2) * np.sqrt(k)
        gx, gy = np.clip(self._gaze, -0.3, 0.3)
        out[_LOOK["left"]] += max(gx, 0.0)
        out[_LOOK["right"]] += max(-gx, 0.0)
        out[_LOOK["up"]] += max(gy, 0.0)
        out[_LOOK["down"]] += max(-gy, 0.0)
        self._brow += (0.25 * max(loudness - 0.6, 0.0) - self._brow) * min(1.0, 8.0 * k)
        out[_BROWS] += self._brow
        return np.clip(out, 0.0, 1.0)
