"""Emotion on a speaking face: the line's emotion shown where speech leaves the muscles free.

Speech alone drives the jaw and lips; a happy, furious or sad line also lives in the brows,
the eyes, the cheeks and the nose, and it bends the mouth. An :class:`EmotionLayer` adds an
emotion's pose to the speech curves, frame by frame:

- upper face (brows, eyes, cheeks, nose): the pose is added as it is — speech does not use
  these muscles;
- mouth: the pose is added too, but what would fight the speech gives way to it: pose
  channels that close or press the lips (``mouthPress``, ``mouthRoll``, ``mouthClose``) fade as
  the jaw opens, so an angry mouth still opens; channels that pull the lips apart
  (``mouthStretch``, ``mouthUpperUp``, ``mouthLowerDown``) fade while speech closes the lips, so a
  smile still closes on /b m p/; ``jawOpen`` stays speech's alone (a surprised jaw only adds a
  little on top), so the timing of the mouth is the voice's.

Poses: the built-in emotions as MediaPipe scores them on real posed faces (the photos we may
train on; ``scripts/voice/voice_emotion_poses.py``), each guaranteed its FACS prototype's defining
channels (Ekman & Friesen's EMFACS action units, as in :mod:`kinemo.face.expression`) so that
it reads as that emotion; or the user's own taught expressions from a profile (the taught face
minus the taught neutral).
Changes ramp over ``RAMP_S``, so a live switch never pops.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from kinemo.errors import KinemoError
from kinemo.protocol import ARKIT_INDEX, EMOTIONS, NUM_BLENDSHAPES

RAMP_S = 0.3
ASSET = Path(__file__).resolve().parent.parent / "assets" / "emotion_poses.npz"
#: Below this, a FACS defining channel of an emotion is raised to it in the pose: MediaPipe barely scores
#: some action units (AU9 nose wrinkle, AU5 upper-lid raise), and a face that should read as angry must.
KEY_FLOOR = 0.25


def _facs_channels(contradicting: bool = False) -> dict[str, tuple[str, ...]]:
    """Each emotion's defining action units (EMFACS weight 1, no jaw drop) as ARKit channels; or, with
    ``contradicting``, the units that contradict it (a smile in anger)."""
    from kinemo.face.expression import AU_BLENDSHAPES, PROTOTYPES

    return {e: tuple(c for au, w in (contra if contradicting else support).items()
                     if (contradicting or w >= 1.0) and au != 26 for c in AU_BLENDSHAPES[au])
            for e, (support, contra) in PROTOTYPES.items()}


#: The FACS channels an emotion is recognised by: what the pose guarantees and the evaluation checks.
KEY_CHANNELS: dict[str, tuple[str, ...]] = _facs_channels()
#: Channels that contradict an emotion: its pose never raises them (photos of shouting anger half-smile).
CONTRADICTING: dict[str, tuple[str, ...]] = _facs_channels(contradicting=True)


@lru_cache(maxsize=1)
def builtin_poses() -> dict[str, np.ndarray]:
    """The built-in emotions as ARKit poses added to speech at intensity 1: how MediaPipe scores each emotion
    on real posed faces minus how it scores a neutral one (``scripts/voice/voice_emotion_poses.py`` measures
    it on the photos we may train on), with the emotion's FACS channels raised to at least KEY_FLOOR."""
    with np.load(ASSET, allow_pickle=False) as z:
        measured = {str(n): p.astype(np.float32) for n, p in zip(z["names"], z["poses"], strict=True)}
    out = {"neutral": np.zeros(NUM_BLENDSHAPES, np.float32)}
    for name, pose in measured.items():
        pose = pose.copy()
        keys = [ARKIT_INDEX[c] for c in KEY_CHANNELS.get(name, ())]
        pose[keys] = np.maximum(pose[keys], KEY_FLOOR)
        against = [ARKIT_INDEX[c] for c in CONTRADICTING.get(name, ())]
        pose[against] = np.minimum(pose[against], 0.0)
        out[name] = pose
    return out


_CLOSING = [ARKIT_INDEX[n] for n in ("mouthPressLeft", "mouthPressRight", "mouthRollLower", "mouthRollUpper",
                                     "mouthClose")]
_OPENING = [ARKIT_INDEX[n] for n in ("mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft",
                                     "mouthUpperUpRight", "mouthLowerDownLeft", "mouthLowerDownRight")]
_JAW, _CLOSE = ARKIT_INDEX["jawOpen"], ARKIT_INDEX["mouthClose"]
JAW_OPEN_FULL = 0.35  # jawOpen at which a talking mouth counts as fully open (MediaPipe's range)
LIPS_CLOSED_FULL = 0.15  # mouthClose at which the lips count as closed


def parse_emotion(text: str) -> tuple[str, float]:
    """``NAME`` or ``NAME:INTENSITY`` (0-1, default 1) → (name, intensity)."""
    name, _, value = (text or "").partition(":")
    name = name.strip()
    try:
        intensity = float(value) if value.strip() else 1.0
    except ValueError:
        raise KinemoError(f"--emotion {text!r}: the intensity after ':' must be a number 0-1") from None
    if not name or not 0.0 <= intensity <= 1.0:
        raise KinemoError(f"--emotion {text!r}: use NAME or NAME:INTENSITY with an intensity 0-1")
    return name, intensity


def poses_from_profile(profile) -> dict[str, np.ndarray]:
    """The user's taught expressions as poses: each taught face minus the taught neutral (or the rest pose)."""
    from kinemo.voice.visemes import NEUTRAL

    examples = profile.personal.examples if profile is not None else {}
    if not examples:
        return {}
    mean = {label: np.mean([e.blendshapes for e in ex], axis=0) for label, ex in examples.items()}
    rest = mean.get("neutral", NEUTRAL)
    return {label: np.clip(face - rest, 0.0, 1.0).astype(np.float32) for label, face in mean.items()
            if label != "neutral"}


@dataclass
class _State:
    pose: np.ndarray
    intensity: float


class EmotionLayer:
    """Adds an emotion's pose to speech frames; ``set`` switches emotion (ramped), thread-safe enough for
    a control thread (one reference swap)."""

    def __init__(self, fps: float, custom: dict[str, np.ndarray] | None = None) -> None:
        self.fps = float(fps)
        self.poses = builtin_poses() | dict(custom or {})
        self._target = _State(np.zeros(NUM_BLENDSHAPES, np.float32), 0.0)
        self._current = np.zeros(NUM_BLENDSHAPES, np.float32)  # pose × intensity as shown now
        self.name, self.intensity = "neutral", 0.0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n in EMOTIONS if n in self.poses) + tuple(sorted(n for n in self.poses
                                                                           if n not in EMOTIONS))

    def check(self, name: str) -> str:
        if name not in self.poses:
            raise KinemoError(f"unknown emotion {name!r}: use one of {', '.join(self.names)} (your own taught "
                              "expressions need --profile)")
        return name

    def set(self, name: str, intensity: float = 1.0, *, immediately: bool = False) -> None:
        self.check(name)
        self.name, self.intensity = name, float(np.clip(intensity, 0.0, 1.0))
        self._target = _State(self.poses[name], self.intensity)
        if immediately:
            self._current = (self.poses[name] * self.intensity).astype(np.float32)

    @property
    def active(self) -> bool:
        return bool(self._target.intensity > 0 and self._target.pose.any()) or bool(self._current.any())

    def apply(self, poses: np.ndarray) -> np.ndarray:
        """(n, 52) speech frames → the same with the emotion, in place and returned."""
        if not self.active:
            return poses
        target = (self._target.pose * self._target.intensity).astype(np.float32)
        step = 1.0 / max(RAMP_S * self.fps, 1.0)
        add = np.empty_like(poses)
        i = 0
        while i < len(poses) and not np.array_equal(self._current, target):  # ramping: frame by frame
            self._current = (self._current + np.clip(target - self._current, -step, step)).astype(np.float32)
            add[i] = self._current
            i += 1
        add[i:] = target  # steady: the whole rest of the block at once
        openness = np.minimum(poses[:, _JAW] / JAW_OPEN_FULL, 1.0)[:, None]
        closed = np.minimum(poses[:, _CLOSE] / LIPS_CLOSED_FULL, 1.0)[:, None]
        add[:, _CLOSING] *= 1.0 - openness  # an angry, pressed mouth still opens for a vowel
        add[:, _OPENING] *= 1.0 - closed  # a smile still closes on /b m p/
        np.clip(poses + add, 0.0, 1.0, out=poses)
        return poses
