"""Bake planning: take samples → per-shape-key keyframe arrays at the scene rate. No ``bpy``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .protocol import ARKIT_NAMES


@dataclass
class CurvePlan:
    data_path: str
    group: str
    frames: np.ndarray  # (N,) scene frames
    values: np.ndarray  # (N,)

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


def plan_shape_keys(times: np.ndarray, blendshapes: np.ndarray, mapping: dict[int, str], *,
                    fps: float, frame_start: float = 1.0) -> list[CurvePlan]:
    """One curve per mapped channel, resampled to ``fps`` and placed from ``frame_start``."""
    offsets, values = resample(times, blendshapes, fps)
    frames = offsets + frame_start
    return [
        CurvePlan(f'key_blocks["{key}"].value', ARKIT_NAMES[i], frames, values[:, i])
        for i, key in sorted(mapping.items())
    ]
