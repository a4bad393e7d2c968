"""Head, neck and eye bone rotations from head pose and gaze. No ``bpy``; numpy, vectorised.

Pose-bone rotations are already relative to the rest pose, so a frame's angles become
a bone-local quaternion (w, x, y, z) directly. Which bone axis each angle turns about
depends on how the rig's bones point, hence the axis mapping; the defaults suit bones
pointing up (+Z) in a character facing −Y (Rigify, Mixamo, VRM imports): yaw about
+Y (along the bone), pitch about −X, roll about −Z. The protocol's head rotation is
R = Ry(yaw)·Rx(−pitch)·Rz(−roll), so the quaternion is built yaw, then pitch, then roll.
A neck share s gives the neck s of each angle and the head the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

AXES = ("X", "-X", "Y", "-Y", "Z", "-Z")


@dataclass(frozen=True)
class AxisMap:
    yaw: str = "Y"
    pitch: str = "-X"
    roll: str = "-Z"


DEFAULT_AXES = AxisMap()


def axis_quat(axis: str, degrees: np.ndarray) -> np.ndarray:
    """Quaternions (…, 4) as (w, x, y, z) for rotations of ``degrees`` about a signed bone axis."""
    if axis not in AXES:
        raise ValueError(f"axis must be one of {AXES}, not {axis!r}")
    sign = -1.0 if axis.startswith("-") else 1.0
    half = np.radians(np.asarray(degrees, float)) * sign / 2.0
    out = np.zeros((*half.shape, 4))
    out[..., 0] = np.cos(half)
    out[..., 1 + "XYZ".index(axis[-1])] = np.sin(half)
    return out


def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of (…, 4) (w, x, y, z) arrays."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz,
                     aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw], axis=-1)


def rotation(yaw, pitch, roll, axes: AxisMap) -> np.ndarray:
    return qmul(qmul(axis_quat(axes.yaw, yaw), axis_quat(axes.pitch, pitch)), axis_quat(axes.roll, roll))


def head_neck(head: np.ndarray, axes: AxisMap = DEFAULT_AXES, neck_share: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(head quaternions, neck quaternions) from (…, ≥3) yaw/pitch/roll degrees."""
    head = np.asarray(head, float)
    y, p, r = head[..., 0], head[..., 1], head[..., 2]
    s = min(max(neck_share, 0.0), 1.0)
    return rotation(y * (1 - s), p * (1 - s), r * (1 - s), axes), rotation(y * s, p * s, r * s, axes)


def eye_rotations(eyes: np.ndarray, axes: AxisMap = DEFAULT_AXES) -> tuple[np.ndarray, np.ndarray]:
    """(left eye, right eye) quaternions from (…, 4) [left yaw, left pitch, right yaw, right pitch]."""
    eyes = np.asarray(eyes, float)
    zero = np.zeros(eyes.shape[:-1])
    return rotation(eyes[..., 0], eyes[..., 1], zero, axes), rotation(eyes[..., 2], eyes[..., 3], zero, axes)


# -- one frame, plain floats: the live path (numpy's per-call overhead dwarfs 4 multiplications) --

def _axis_q(axis: str, degrees: float) -> tuple[float, float, float, float]:
    half = math.radians(-degrees if axis.startswith("-") else degrees) / 2.0
    q = [math.cos(half), 0.0, 0.0, 0.0]
    q[1 + "XYZ".index(axis[-1])] = math.sin(half)
    return (q[0], q[1], q[2], q[3])


def _mul(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float, float]:
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw)


def rotation_one(yaw: float, pitch: float, roll: float, axes: AxisMap) -> tuple[float, float, float, float]:
    """:func:`rotation` for a single frame, (w, x, y, z)."""
    return _mul(_mul(_axis_q(axes.yaw, yaw), _axis_q(axes.pitch, pitch)), _axis_q(axes.roll, roll))


def root_offset(head: np.ndarray, reference: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Root-bone location (…, 3) in metres from head translation (cm, camera space) minus a reference.

    For a root bone aligned with the world (character facing −Y): the performer moving to
    their left (camera +x) moves the avatar +X, up +Z, towards the camera (+z) forward (−Y).
    """
    d = (np.asarray(head, float)[..., 3:6] - np.asarray(reference, float)[..., 3:6]) * (scale / 100.0)
    return np.stack([d[..., 0], -d[..., 2], d[..., 1]], axis=-1)
