"""Few-shot detectors for the user's own actions, fitted in seconds with numpy (no torch).

A user action is a one-vs-rest logistic detector over a window descriptor: the shipped
network's 64-d embedding plus simple pose statistics (mean, spread of 13 key joints and
of the distance between the hands over the window), which also carry motion the network
was never trained to tell apart. Positives are the example windows, multiplied by
augmentation (mirror, turning the body ±35° using MediaPipe's depth, tempo × 0.8-1.25,
jitter), so three examples cover more than three viewpoints. Negatives are windows of
the built-in vocabulary rendered by the motion generator — extra of the two built-in
actions the examples most resemble ("hard negatives"), so the detector learns the
difference instead of firing on its nearest neighbour. Seeds are fixed: the same
examples always give the same detector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinemo.body.dataset import make_windows
from kinemo.body.features import FEATURES, STEPS, WINDOW_SECONDS, window_at
from kinemo.body.posefile import PoseTrack
from kinemo.body.skeleton import INDEX, L_WRIST, R_WRIST, mirror

KEY_JOINTS = [INDEX[n] for n in (
    "nose", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")]
STRIDE = 0.1  # s between example windows
AUGMENTED_COPIES = 11
NEGATIVE_TAKES = 6  # per built-in label
HARD_TAKES = 16  # per hard-negative label


@dataclass
class Detector:
    """logistic(((φ - mean) / scale) · weights + bias), φ = [embedding, descriptor]."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray

    def score(self, phi: np.ndarray) -> np.ndarray:
        z = ((phi - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def descriptor(windows: np.ndarray) -> np.ndarray:
    """Pose statistics of (N, STEPS, FEATURES) windows: position and spread of key joints, hands' distance."""
    w = windows.reshape(len(windows), STEPS, -1, 4)
    joints = w[:, :, KEY_JOINTS, :3]
    hands = np.linalg.norm(w[:, :, L_WRIST, :3] - w[:, :, R_WRIST, :3], axis=-1)
    n = len(windows)
    return np.concatenate([joints.mean(1).reshape(n, -1), joints.std(1).reshape(n, -1),
                           np.stack([hands.mean(1), hands.min(1), hands.std(1)], axis=1)], axis=1)


def track_windows(track: PoseTrack, stride: float = STRIDE) -> np.ndarray:
    """Every window (one per ``stride`` s) inside the person-present part of a track."""
    t, lm = track.time[track.present], track.landmarks[track.present]
    if len(t) < 2:
        return np.zeros((0, STEPS, FEATURES), np.float32)
    first = t[0] + min(WINDOW_SECONDS, t[-1] - t[0])
    return np.stack([window_at(t, lm, e, track.aspect) for e in np.arange(first, t[-1] + 1e-9, stride)])


def augment(rng: np.random.Generator, track: PoseTrack) -> PoseTrack:
    """The same example seen mirrored, from another angle, faster or slower, noisier."""
    t, lm = track.time[track.present], track.landmarks[track.present].copy()
    if rng.random() < 0.5:
        lm = mirror(lm)
    a = track.aspect
    turn = rng.uniform(-0.6, 0.6)
    x, z = lm[..., 0] * a, lm[..., 2] * a
    cx = 0.5 * (x[:, INDEX["left_hip"]] + x[:, INDEX["right_hip"]])[:, None]
    lm[..., 0] = (cx + (x - cx) * np.cos(turn) + z * np.sin(turn)) / a
    lm[..., 2] = (-(x - cx) * np.sin(turn) + z * np.cos(turn)) / a
    lm[..., :2] += rng.normal(0, 0.004, lm[..., :2].shape)
    return PoseTrack(t * rng.uniform(0.8, 1.25), lm, np.ones(len(t), bool), track.fps, track.size)


def fit(classifier, examples: list[PoseTrack], *, seed: int = 0, iterations: int = 800) -> Detector:
    """A detector for the action shown in ``examples`` (``classifier``: the shipped ActionClassifier)."""
    rng = np.random.default_rng(seed)
    pos = []
    for track in examples:
        pos.append(track_windows(track))
        for _ in range(AUGMENTED_COPIES):
            pos.append(track_windows(augment(rng, track), stride=STRIDE * 3))
    positives = np.concatenate(pos)
    # A user action is by definition none of the built-in actions, i.e. "other" motion to the
    # network: negatives come from the actions and idle, never from the "other" class.
    vocab = tuple(v for v in classifier.builtin if v != "other")
    negatives = [make_windows(np.random.default_rng(seed + 1), vocab, NEGATIVE_TAKES, 8).x]
    looks_like = np.bincount(classifier.builtin_probabilities(positives).argmax(1), minlength=len(classifier.builtin))
    hard = tuple(classifier.builtin[i] for i in np.argsort(-looks_like)[:2]
                 if looks_like[i] > 0.1 * len(positives) and classifier.builtin[i] != "other")
    if hard:
        negatives.append(make_windows(np.random.default_rng(seed + 2), hard, HARD_TAKES, 8).x)
    x = np.concatenate([positives, *negatives])
    phi = classifier.descriptor(x)
    y = np.r_[np.ones(len(positives)), np.zeros(len(x) - len(positives))]
    mean, scale = phi.mean(0), phi.std(0) + 1e-6
    z = (phi - mean) / scale
    w, b, lam, lr = np.zeros(z.shape[1]), 0.0, 1e-2, 0.2
    for _ in range(iterations):  # L2-regularised logistic regression, full-batch gradient descent
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w + b, -30, 30)))
        g = p - y
        w -= lr * (z.T @ g / len(y) + lam * w)
        b -= lr * float(g.mean())
    return Detector(w.astype(np.float32), float(b), mean.astype(np.float32), scale.astype(np.float32))
