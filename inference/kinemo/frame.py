"""Frame: everything the service knows about one instant of a performance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from kinemo import protocol

if TYPE_CHECKING:
    from kinemo.face.expression import Expression
    from kinemo.face.landmarks import LandmarkPCA

NUM_LANDMARKS = 478
#: yaw, pitch, roll, x, y, z, then the identity quaternion.
NEUTRAL_HEAD = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1], np.float32)
LANDMARK_MODES = ("none", "68", "478", "pca")


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
    landmarks: np.ndarray | None = None  # (478, 3) MediaPipe-normalised image coordinates, or None
    image_size: tuple[int, int] | None = None  # (width, height) of the analysed image
    expression: Expression | None = None

    def to_sample(self, landmarks: str = "none", pca: LandmarkPCA | None = None) -> protocol.FaceSample:
        sample = protocol.FaceSample(
            seq=self.seq, stamp=self.stamp, time=self.time, present=self.present,
            blendshapes=tuple(self.blendshapes.tolist()),
            head=tuple(self.head.tolist()), eyes=tuple(self.eyes.tolist()),
        )
        if self.expression is not None:
            sample.expression = self.expression.as_message()
            if self.expression.custom:
                sample.expression_labels = self.expression.as_labels_message()
            sample.action_units = tuple(self.expression.action_units.tolist())
        if self.landmarks is not None and landmarks != "none":
            if landmarks == "68":
                from kinemo.face.landmarks import MESH_TO_IBUG68

                sample.landmarks68 = tuple(self.landmarks[MESH_TO_IBUG68, :2].ravel().tolist())
            elif landmarks == "478":
                sample.landmarks = tuple(self.landmarks.ravel().tolist())
            elif landmarks == "pca" and pca is not None:
                sample.landmarks_pca = tuple(encode_compact(self, pca).tolist())
        return sample


def encode_compact(frame: Frame, pca: LandmarkPCA) -> np.ndarray:
    """Pose (scale, quaternion, translation) + PCA coefficients, float32: 28 numbers for 20 components."""
    from kinemo.face.landmarks import to_metric

    w, h = frame.image_size or (1, 1)
    coeffs, pose = pca.encode(to_metric(frame.landmarks, w, h))
    return np.concatenate([[pose.scale], pose.quaternion(), pose.translation, coeffs]).astype(np.float32)
