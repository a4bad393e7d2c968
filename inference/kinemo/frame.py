"""Frame: everything the service knows about one instant of a performance."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kinemo import protocol

NUM_LANDMARKS = 478
#: yaw, pitch, roll, x, y, z, then the identity quaternion.
NEUTRAL_HEAD = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1], np.float32)


@dataclass
class Frame:
    """One tracked frame. Arrays are float32 so files hold exactly what OSC sends."""

    seq: int
    time: float  # media time, seconds since the source started
    stamp: float  # wall clock (Unix seconds) when the frame was captured/decoded
    present: bool = False
    blendshapes: np.ndarray = field(default_factory=lambda: np.zeros(protocol.NUM_BLENDSHAPES, np.float32))
    head: np.ndarray = field(default_factory=lambda: NEUTRAL_HEAD.copy())
    eyes: np.ndarray = field(default_factory=lambda: np.zeros(len(protocol.EYE_FIELDS), np.float32))
    landmarks: np.ndarray | None = None  # (478, 3) normalised image coordinates, or None

    def to_sample(self) -> protocol.FaceSample:
        return protocol.FaceSample(
            seq=self.seq, stamp=self.stamp, time=self.time, present=self.present,
            blendshapes=tuple(self.blendshapes.tolist()),
            head=tuple(self.head.tolist()), eyes=tuple(self.eyes.tolist()),
        )
