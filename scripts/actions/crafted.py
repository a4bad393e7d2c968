"""Crafted real-proportion clips: real BlazePose bodies (ML Kit samples) animated through simple motions.

No labelled real video of squats, jumps or raised arms is at hand, but the ML Kit fitness
samples hold 812 real BlazePose-33 bodies (standing ``squats_up``, crouched ``squats_down``).
``crafted_clip`` animates them: ``squat`` blends a standing and a crouched body (feet on
the ground, scaled to the same shin), ``hands_up`` swings both arms of a standing body up
and holds them, ``jump`` hops a standing body with a crouch before each take-off, ``idle``
stands and sways. Each clip is idle → action → idle with tracker-like jitter, as a
MediaPipe-normalised pose track (square 1000×1000 image), so the classifier can be checked
on real body proportions for the labels UTKinect has no examples of.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kinemo.body.posefile import PoseTrack
from kinemo.body.skeleton import mirror

SIZE = (1000, 1000)
KINDS = ("squat", "hands_up", "jump", "idle")


def read_mlkit(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """``fitness_pose_samples.csv`` → {class: (n, 33, 3) pixel x, y, z}."""
    out: dict[str, list[np.ndarray]] = {}
    for line in Path(path).read_text().splitlines():
        parts = line.strip().split(",")
        if len(parts) != 2 + 99:
            continue
        out.setdefault(parts[1], []).append(np.array(parts[2:], float).reshape(33, 3))
    return {k: np.stack(v) for k, v in out.items()}


def _frontal_standing(poses: np.ndarray) -> np.ndarray:
    sh, an = poses[:, [11, 12], :2].mean(1), poses[:, [27, 28], :2].mean(1)
    h = an[:, 1] - sh[:, 1]
    return poses[(h > 0) & (np.abs(poses[:, 11, 0] - poses[:, 12, 0]) > 0.15 * h)]


def side_view(poses: np.ndarray) -> np.ndarray:
    """The poses seen from the side: shoulders within a third of a torso length of each other."""
    sh, hp = poses[:, [11, 12], :2].mean(1), poses[:, [23, 24], :2].mean(1)
    torso = np.linalg.norm(sh - hp, axis=1)
    return poses[np.abs(poses[:, 11, 0] - poses[:, 12, 0]) < 0.33 * torso]


def _facing(p: np.ndarray) -> float:
    """+1 when the nose is right of the hips in the image (a side view facing right), else −1."""
    return float(np.sign(p[0, 0] - p[[23, 24], 0].mean()) or 1.0)


def _norm(p: np.ndarray, scale: float | None = None) -> tuple[np.ndarray, float]:
    """Feet at (0.5, 0.85), shoulder → ankle height 0.45 of the image (or ``scale``)."""
    feet = p[[27, 28]].mean(0)
    if scale is None:
        scale = 0.45 / max(feet[1] - p[[11, 12], 1].mean(), 1e-6)
    q = (p - feet) * scale
    q[:, 0] += 0.5
    q[:, 1] += 0.85
    q[:, 2] -= q[[23, 24], 2].mean()
    return q, scale


def _rotate_arm(p: np.ndarray, side: int, angle_up: np.ndarray) -> np.ndarray:
    """(T, 33, 3): rotate one arm (elbow, wrist, hand points) about the shoulder in the image plane."""
    sh, el, wr = (11, 13, 15) if side > 0 else (12, 14, 16)
    hand = [17, 19, 21] if side > 0 else [18, 20, 22]
    out = p.copy()
    upper = np.linalg.norm(p[:, el, :2] - p[:, sh, :2], axis=-1)
    fore = np.linalg.norm(p[:, wr, :2] - p[:, el, :2], axis=-1)
    # direction from straight down (0) to straight up (π), towards the body's own side
    outward = float(np.sign(p[0, sh, 0] - p[0, [11, 12], 0].mean())) or float(side)
    d = np.stack([outward * np.sin(angle_up), np.cos(angle_up)], -1)  # image y grows downwards
    out[:, el, :2] = p[:, sh, :2] + upper[:, None] * d
    out[:, wr, :2] = out[:, el, :2] + fore[:, None] * d
    for h in hand:
        out[:, h, :2] = out[:, wr, :2] + 0.25 * fore[:, None] * d
    out[:, [el, wr, *hand], 2] = p[:, [sh], 2]
    return out


def crafted_clip(rng: np.random.Generator, kind: str, poses: dict[str, np.ndarray], fps: float = 30.0,
                 before: float = 1.5, action: float = 3.5, after: float = 1.5, side: bool = False
                 ) -> tuple[PoseTrack, tuple[float, float]]:
    """One clip and the (start, end) seconds of its action segment (``side``: squats seen from the side)."""
    if kind not in KINDS:
        raise ValueError(f"unknown crafted kind {kind!r}")
    if side and kind != "squat":
        raise ValueError("side-view clips are squats only")
    standing = side_view(poses["squats_up"]) if side else _frontal_standing(poses["squats_up"])
    a, scale = _norm(standing[rng.integers(len(standing))])
    t = np.arange(0.0, before + action + after, 1.0 / fps)
    n = len(t)
    s = np.clip(t - before, 0.0, action)  # time into the action
    active = (t >= before) & (t < before + action)
    lm = np.repeat(a[None], n, axis=0)
    sway = 0.004 * np.sin(2 * np.pi * rng.uniform(0.2, 0.4) * t + rng.uniform(0, 6.28))
    lm[..., 0] += sway[:, None] * (0.85 - lm[..., 1]) / 0.45
    if kind == "squat":
        down_all = side_view(poses["squats_down"]) if side else poses["squats_down"]
        b = down_all[rng.integers(len(down_all))]
        shin_a = np.linalg.norm(a[25, :2] - a[27, :2])
        b0, _ = _norm(b, 1.0)
        shin_b = max(np.linalg.norm(b0[25, :2] - b0[27, :2]), 1e-6)
        bn, _ = _norm(b, shin_a / shin_b)
        if side:
            if _facing(bn) != _facing(a):  # face the same way: a mirror image (left and right swap, depth stays)
                bn = mirror(bn)
        elif np.sign(bn[11, 0] - bn[12, 0]) != np.sign(a[11, 0] - a[12, 0]):  # face the same way
            bn[:, 0] = 1.0 - bn[:, 0]
        f = rng.uniform(0.35, 0.6)
        d = np.where(active, 0.5 - 0.5 * np.cos(2 * np.pi * f * s), 0.0)
        lm = (1 - d)[:, None, None] * lm + d[:, None, None] * bn[None]
    elif kind == "hands_up":
        up = np.clip(s / 0.5, 0, 1) * active
        up = up * up * (3 - 2 * up)
        angle = up * rng.uniform(np.radians(150), np.radians(178))
        for side in (1, -1):
            lm = _rotate_arm(lm, side, angle)
    elif kind == "jump":
        f = rng.uniform(0.9, 1.4)
        ph = (s * f) % 1.0
        h = rng.uniform(0.05, 0.1)  # of the image height (the body is 0.6)
        y = np.where(ph < 0.35, 0.03 * np.sin(np.pi * ph / 0.35), 0.0)  # crouch (down = +y)
        air = (ph >= 0.35) & (ph < 0.75)
        sa = (ph - 0.35) / 0.4
        y = np.where(air, -h * 4 * sa * (1 - sa), y) * active
        crouch = np.maximum(y, 0)[:, None]
        upper = lm[..., 1] < lm[:, [25, 26], 1].mean(1, keepdims=True)  # above the knees drops in a crouch
        lm[..., 1] += np.where(upper, crouch, crouch * 0.5) + np.minimum(y, 0)[:, None]
    lm[..., :2] += rng.normal(0, 0.002, lm[..., :2].shape)
    # the samples' depth comes from an older pose model at another scale (from the side the shoulders lie about
    # three torso lengths apart in it, against about 0.7 in a body): the clips keep the picture's x and y only
    lm[..., 2] = 0.0
    vis = np.full((n, 33, 1), 0.95)
    track = PoseTrack(time=t, landmarks=np.concatenate([lm, vis], -1).astype(np.float32),
                      present=np.ones(n, bool), fps=fps, size=SIZE)
    return track, (before, before + action)
