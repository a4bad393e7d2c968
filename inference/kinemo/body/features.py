"""Pose windows → classifier input, invariant to where the person is in the frame and how big.

A window is a fixed stretch of time (``STEPS`` samples at ``RATE`` Hz) resampled from
whatever frame rate the source has, so 15-FPS webcams and 60-FPS videos look alike.
Coordinates are re-centred on the window's mean hip centre and divided by the window's
body size, so position and scale in the image cancel by construction, while motion of
the whole body inside the window (a jump, a squat, walking across) is kept.
"""

from __future__ import annotations

import numpy as np

from kinemo.body.skeleton import CHANNELS, L_HIP, L_SHOULDER, NUM_LANDMARKS, R_HIP, R_SHOULDER

RATE = 20.0  # Hz
STEPS = 32  # 1.6 s of motion per window
WINDOW_SECONDS = (STEPS - 1) / RATE
FEATURES = NUM_LANDMARKS * CHANNELS  # 132 per step


def sample_times(end_time: float, steps: int = STEPS) -> np.ndarray:
    """The instants a window of ``steps`` samples ending at ``end_time`` looks at, oldest first."""
    return end_time - (steps - 1 - np.arange(steps)) / RATE


def resample(times: np.ndarray, landmarks: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Linear interpolation of (T, 33, 4) landmarks at times ``at``; edges are held."""
    times = np.asarray(times, np.float64)
    flat = landmarks.reshape(len(times), -1)
    idx = np.clip(np.searchsorted(times, at, side="right"), 1, len(times) - 1) if len(times) > 1 else None
    if idx is None:
        return np.repeat(landmarks[:1], len(at), axis=0).astype(np.float32)
    t0, t1 = times[idx - 1], times[idx]
    w = np.clip((at - t0) / np.maximum(t1 - t0, 1e-9), 0.0, 1.0)[:, None]
    out = flat[idx - 1] * (1 - w) + flat[idx] * w
    return out.reshape(len(at), NUM_LANDMARKS, CHANNELS).astype(np.float32)


def normalize(window: np.ndarray, aspect: float = 1.0) -> np.ndarray:
    """(STEPS, 33, 4) MediaPipe-normalised landmarks → (STEPS, 132) classifier features.

    ``aspect`` is image width / height: MediaPipe divides x by the width and y by the
    height, so x (and z, which shares x's scale) are multiplied back to square units.
    """
    w = np.asarray(window, np.float32)
    xyz = w[..., :3] * np.array([aspect, 1.0, aspect], np.float32)
    hips = 0.5 * (xyz[:, L_HIP, :2] + xyz[:, R_HIP, :2])
    shoulders = 0.5 * (xyz[:, L_SHOULDER, :2] + xyz[:, R_SHOULDER, :2])
    torso = np.linalg.norm(shoulders - hips, axis=-1)
    width = np.linalg.norm(xyz[:, L_SHOULDER, :2] - xyz[:, R_SHOULDER, :2], axis=-1)
    size = float(np.percentile(np.maximum(torso, 1.4 * width), 90))
    size = max(size, 1e-3)
    centre = hips.mean(axis=0)
    out = np.empty_like(w)
    out[..., 0] = (xyz[..., 0] - centre[0]) / size
    out[..., 1] = (xyz[..., 1] - centre[1]) / size
    out[..., 2] = xyz[..., 2] / size
    out[..., 3] = w[..., 3]
    np.clip(out[..., :3], -8.0, 8.0, out=out[..., :3])
    return out.reshape(STEPS, FEATURES)


def window_at(times: np.ndarray, landmarks: np.ndarray, end_time: float, aspect: float = 1.0) -> np.ndarray:
    """The classifier input for the window ending at ``end_time``."""
    return normalize(resample(times, landmarks, sample_times(end_time)), aspect)


def _square_xyz(raw: np.ndarray, aspect: float) -> np.ndarray:
    xyz = raw[..., :3].copy()
    xyz[..., [0, 2]] *= aspect  # MediaPipe's z shares x's scale
    return xyz


def history_at(times: np.ndarray, landmarks: np.ndarray, end_time: float, aspect: float,
               steps: int) -> np.ndarray:
    """The last ``steps`` samples at ``RATE`` Hz before ``end_time`` (the detectors': ``kinematics.LONG``):
    (steps, 33, 3) x, y and MediaPipe's depth z in square units.

    What the kinematic detectors (``kinemo.body.kinematics``) measure: raw image geometry,
    aspect undone, nothing normalised yet.
    """
    return _square_xyz(resample(times, landmarks, sample_times(end_time, steps)), aspect)


def window_and_history(times: np.ndarray, landmarks: np.ndarray, end_time: float, aspect: float,
                       steps: int) -> tuple[np.ndarray, np.ndarray]:
    """``window_at`` and ``history_at`` from one resampling: the window's instants are the history's last
    ``STEPS`` (``steps`` ≥ ``STEPS``), so every frame interpolates its pose once."""
    raw = resample(times, landmarks, sample_times(end_time, steps))
    return normalize(raw[-STEPS:], aspect), _square_xyz(raw, aspect)
