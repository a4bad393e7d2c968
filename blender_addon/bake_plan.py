"""Bake planning: a take → keyframe arrays per f-curve at the scene rate. No ``bpy``.

Same shaping as live (smoothing on the raw weights, then per-channel shaping), then
linear resampling onto the scene's frame grid, then optional key reduction. The
result is a list of :class:`CurvePlan` that :mod:`fcurves` writes in bulk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import rig
from .keyreduce import reduce_keys
from .protocol import ARKIT_NAMES
from .retarget import Retarget, smooth_take


@dataclass
class CurvePlan:
    data_path: str
    group: str
    frames: np.ndarray  # (N,) scene frames
    values: np.ndarray  # (N,)
    index: int = 0  # array index (quaternion w, x, y, z …)

    def interleaved(self) -> np.ndarray:
        """[f0, v0, f1, v1, …] — the layout ``keyframe_points.foreach_set('co', …)`` wants."""
        out = np.empty(2 * len(self.frames), np.float32)
        out[0::2], out[1::2] = self.frames, self.values
        return out


def resample(times: np.ndarray, values: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Linear resampling onto a grid of 1/fps steps from the first sample: (frame offsets, values)."""
    times = np.asarray(times, float)
    values = np.asarray(values, float)
    if len(times) == 1:
        return np.zeros(1), values[:1].copy()
    n = int(np.floor((times[-1] - times[0]) * fps + 1e-6)) + 1
    grid = times[0] + np.arange(n) / fps
    out = np.empty((n, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.interp(grid, times, values[:, j])
    return np.arange(n, dtype=float), out


def shape_take(times: np.ndarray, blendshapes: np.ndarray, retarget: Retarget | None = None,
               smoothing: float = 0.0) -> np.ndarray:
    """Smoothing then shaping, exactly as the live session does per frame."""
    values = smooth_take(times, blendshapes, smoothing)
    return retarget.apply(values) if retarget is not None else values


def _reduced(plans: list[CurvePlan], tolerance: float) -> list[CurvePlan]:
    if tolerance <= 0 or not plans:
        return plans
    frames = plans[0].frames
    mask = reduce_keys(frames, np.stack([p.values for p in plans], axis=1), tolerance)
    return [CurvePlan(p.data_path, p.group, p.frames[mask[:, j]], p.values[mask[:, j]], p.index)
            for j, p in enumerate(plans)]


def plan_shape_keys(times: np.ndarray, blendshapes: np.ndarray, mapping: dict[int, str] | dict[int, list[str]], *,
                    fps: float, frame_start: float = 1.0, retarget: Retarget | None = None,
                    smoothing: float = 0.0, tolerance: float = 0.0) -> list[CurvePlan]:
    """One curve per driven shape key (in channel order). A key driven by several channels takes
    their maximum, as live does."""
    shaped = shape_take(times, blendshapes, retarget, smoothing)
    offsets, values = resample(times, shaped, fps)
    frames = offsets + frame_start
    sources: dict[str, list[int]] = {}
    for i, keys in sorted(mapping.items()):
        for key in [keys] if isinstance(keys, str) else keys:
            sources.setdefault(key, []).append(i)
    plans = [
        CurvePlan(f'key_blocks["{key}"].value', ARKIT_NAMES[idx[0]], frames,
                  values[:, idx[0]] if len(idx) == 1 else values[:, idx].max(axis=1))
        for key, idx in sources.items()
    ]
    return _reduced(plans, tolerance)


# -- bones -----------------------------------------------------------------------------

def quat_to_euler(q: np.ndarray, order: str = "XYZ") -> np.ndarray:
    """(…, 4) (w, x, y, z) → (…, 3) Euler angles in radians for Blender's ``order`` (first letter applied first)."""
    q = np.asarray(q, float)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = np.moveaxis(q, -1, 0)
    m = np.empty((*q.shape[:-1], 3, 3))
    m[..., 0, 0] = 1 - 2 * (y * y + z * z)
    m[..., 0, 1] = 2 * (x * y - w * z)
    m[..., 0, 2] = 2 * (x * z + w * y)
    m[..., 1, 0] = 2 * (x * y + w * z)
    m[..., 1, 1] = 1 - 2 * (x * x + z * z)
    m[..., 1, 2] = 2 * (y * z - w * x)
    m[..., 2, 0] = 2 * (x * z - w * y)
    m[..., 2, 1] = 2 * (y * z + w * x)
    m[..., 2, 2] = 1 - 2 * (x * x + y * y)
    i, j, k = ("XYZ".index(a) for a in order)
    s = 1.0 if (i, j, k) in ((0, 1, 2), (1, 2, 0), (2, 0, 1)) else -1.0
    out = np.empty((*q.shape[:-1], 3))
    out[..., i] = np.arctan2(s * m[..., k, j], m[..., k, k])
    out[..., j] = np.arcsin(np.clip(-s * m[..., k, i], -1.0, 1.0))
    out[..., k] = np.arctan2(s * m[..., j, i], m[..., i, i])
    return out


@dataclass(frozen=True)
class BoneTargets:
    """Bone names (empty: not driven) with their rotation modes (``QUATERNION`` or an Euler order)."""

    head: str = ""
    neck: str = ""
    eye_left: str = ""
    eye_right: str = ""
    root: str = ""
    modes: tuple[tuple[str, str], ...] = ()  # (bone, rotation mode)

    def mode(self, bone: str) -> str:
        return dict(self.modes).get(bone, "QUATERNION")


def _rotation_plans(bone: str, mode: str, frames: np.ndarray, quats: np.ndarray) -> list[CurvePlan]:
    base = f'pose.bones["{bone}"]'
    if mode == "QUATERNION":
        return [CurvePlan(f"{base}.rotation_quaternion", bone, frames, quats[:, i], i) for i in range(4)]
    eul = quat_to_euler(quats, mode)
    return [CurvePlan(f"{base}.rotation_euler", bone, frames, eul[:, i], i) for i in range(3)]


def plan_bones(times: np.ndarray, head: np.ndarray, eyes: np.ndarray, bones: BoneTargets, *, fps: float,
               frame_start: float = 1.0, axes: rig.AxisMap = rig.DEFAULT_AXES,
               eye_axes: rig.AxisMap = rig.DEFAULT_AXES,
               neck_share: float = 0.0, root_scale: float = 1.0, smoothing: float = 0.0,
               tolerance: float = 0.0) -> list[CurvePlan]:
    """Rotation curves for head/neck/eyes and location curves for the root bone."""
    raw = np.concatenate([np.asarray(head, float)[:, :6], np.asarray(eyes, float)[:, :4]], axis=1)
    offsets, values = resample(times, smooth_take(times, raw, smoothing), fps)
    frames = offsets + frame_start
    h, e = values[:, :6], values[:, 6:10]
    plans: list[CurvePlan] = []
    q_head, q_neck = rig.head_neck(h, axes, neck_share if bones.neck else 0.0)
    q_left, q_right = rig.eye_rotations(e, eye_axes)
    for bone, quats in ((bones.head, q_head), (bones.neck, q_neck), (bones.eye_left, q_left),
                        (bones.eye_right, q_right)):
        if bone:
            plans += _rotation_plans(bone, bones.mode(bone), frames, quats)
    if bones.root:
        loc = rig.root_offset(h, h[0], root_scale)
        plans += [CurvePlan(f'pose.bones["{bones.root}"].location', bones.root, frames, loc[:, i], i)
                  for i in range(3)]
    return _reduced(plans, tolerance)
