"""Head rotation and gaze from MediaPipe's outputs, in the protocol's conventions.

MediaPipe's facial transformation matrix maps the canonical face into camera
space (right-handed: x right, y up, z towards the camera, centimetres). We
decompose its rotation as R = Ry(yaw) · Rx(-pitch) · Rz(-roll) so that, for a
performer facing an unmirrored camera, positive yaw turns the head to the
performer's left, positive pitch lifts the chin, and positive roll tilts the
head towards the performer's left shoulder.
"""

from __future__ import annotations

import math

import numpy as np

from kinemo.protocol import ARKIT_INDEX

#: Eye rotation (degrees) reached when an eye-look blendshape is 1.0.
GAZE_YAW_RANGE = 30.0
GAZE_PITCH_RANGE = 25.0


def quaternion_from_matrix(m: np.ndarray) -> np.ndarray:
    """(x, y, z, w) of a 3×3 rotation matrix (acting on column vectors)."""
    w = np.sqrt(max(0.0, 1.0 + m[0, 0] + m[1, 1] + m[2, 2])) / 2.0
    x = np.sqrt(max(0.0, 1.0 + m[0, 0] - m[1, 1] - m[2, 2])) / 2.0
    y = np.sqrt(max(0.0, 1.0 - m[0, 0] + m[1, 1] - m[2, 2])) / 2.0
    z = np.sqrt(max(0.0, 1.0 - m[0, 0] - m[1, 1] + m[2, 2])) / 2.0
    return np.array([np.copysign(x, m[2, 1] - m[1, 2]), np.copysign(y, m[0, 2] - m[2, 0]),
                     np.copysign(z, m[1, 0] - m[0, 1]), w])


def matrix_from_quaternion(q: np.ndarray) -> np.ndarray:
    x, y, z, w = np.asarray(q, float) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def head_from_matrix(matrix: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) in degrees, (x, y, z) translation in cm, rotation quaternion (x, y, z, w)."""
    m = np.asarray(matrix, dtype=np.float64).reshape(4, 4)
    r = m[:3, :3]
    # Remove any scale so the decomposition sees a pure rotation.
    r = r / np.linalg.norm(r, axis=0, keepdims=True)
    yaw = math.atan2(r[0, 2], r[2, 2])
    pitch = -math.asin(max(-1.0, min(1.0, -r[1, 2])))
    roll = -math.atan2(r[1, 0], r[1, 1])
    rot = np.degrees([yaw, pitch, roll])
    return np.concatenate([rot, m[:3, 3], quaternion_from_matrix(r)]).astype(np.float32)


def matrix_from_head(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Inverse of :func:`head_from_matrix`'s rotation part (used by tests and the demo)."""
    a, b, c = math.radians(yaw), math.radians(-pitch), math.radians(-roll)
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    m = np.eye(4)
    m[:3, :3] = ry @ rx @ rz
    return m


def gaze_from_blendshapes(bs: np.ndarray) -> np.ndarray:
    """(leftYaw, leftPitch, rightYaw, rightPitch) in degrees; yaw + = performer's left, pitch + = up."""
    def g(name: str) -> float:
        return float(bs[ARKIT_INDEX[name]])

    left_yaw = (g("eyeLookOutLeft") - g("eyeLookInLeft")) * GAZE_YAW_RANGE
    right_yaw = (g("eyeLookInRight") - g("eyeLookOutRight")) * GAZE_YAW_RANGE
    left_pitch = (g("eyeLookUpLeft") - g("eyeLookDownLeft")) * GAZE_PITCH_RANGE
    right_pitch = (g("eyeLookUpRight") - g("eyeLookDownRight")) * GAZE_PITCH_RANGE
    return np.array([left_yaw, left_pitch, right_yaw, right_pitch], np.float32)
