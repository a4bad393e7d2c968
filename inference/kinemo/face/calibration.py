"""Calibration profile: the performer's resting face maps to zero, full expressions still reach 1.

A profile is captured by holding a neutral face for a few seconds. Each channel's
median while resting becomes its offset; values are then rescaled so that the
offset maps to 0 and 1 stays 1, times a per-channel gain (1 by default; raise it
for channels your face never drives to the full range). Head and gaze offsets
make the resting pose look straight ahead.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kinemo import protocol
from kinemo.errors import KinemoError
from kinemo.files import atomic_write

PROFILE_FORMAT = "kinemo-profile"
N = protocol.NUM_BLENDSHAPES


@dataclass
class Profile:
    offsets: np.ndarray = field(default_factory=lambda: np.zeros(N))
    gains: np.ndarray = field(default_factory=lambda: np.ones(N))
    head_offsets: np.ndarray = field(default_factory=lambda: np.zeros(3))  # yaw, pitch, roll
    eye_offsets: np.ndarray = field(default_factory=lambda: np.zeros(4))

    def apply_blendshapes(self, bs: np.ndarray) -> np.ndarray:
        span = np.maximum(1.0 - self.offsets, 1e-3)
        return np.clip((np.asarray(bs, np.float64) - self.offsets) / span * self.gains, 0.0, 1.0)

    @classmethod
    def from_neutral(cls, blendshapes: np.ndarray, heads: np.ndarray, eyes: np.ndarray) -> Profile:
        """From frames of a resting face (rows = frames, with a face)."""
        if len(blendshapes) == 0:
            raise KinemoError("calibration saw no face: look at the camera and try again")
        return cls(offsets=np.median(blendshapes, axis=0), gains=np.ones(N),
                   head_offsets=np.median(np.asarray(heads)[:, :3], axis=0), eye_offsets=np.median(eyes, axis=0))

    def to_json(self) -> dict:
        return {
            "format": PROFILE_FORMAT, "version": 1, "channels": list(protocol.ARKIT_NAMES),
            "offsets": [round(float(v), 6) for v in self.offsets],
            "gains": [round(float(v), 6) for v in self.gains],
            "head_offsets": [round(float(v), 4) for v in self.head_offsets],
            "eye_offsets": [round(float(v), 4) for v in self.eye_offsets],
        }

    def save(self, path: str | os.PathLike) -> Path:
        p = Path(path)
        with atomic_write(p, "w", what="profile ") as f:
            f.write(json.dumps(self.to_json(), indent=1) + "\n")
        return p

    @classmethod
    def load(cls, path: str | os.PathLike) -> Profile:
        p = Path(path)
        try:
            doc = json.loads(p.read_text())
        except FileNotFoundError:
            raise KinemoError(f"no such profile: {p}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise KinemoError(f"profile {p} is not valid JSON ({e})") from None
        try:
            if doc.get("format") != PROFILE_FORMAT:
                raise ValueError(f"format is not '{PROFILE_FORMAT}'")
            channels = doc.get("channels", list(protocol.ARKIT_NAMES))
            offsets, gains = np.zeros(N), np.ones(N)
            for name, off, gain in zip(channels, doc["offsets"], doc["gains"], strict=True):
                i = protocol.ARKIT_INDEX[name]
                offsets[i], gains[i] = float(off), float(gain)
            head = np.array(doc.get("head_offsets", [0, 0, 0]), float).reshape(3)
            eyes = np.array(doc.get("eye_offsets", [0, 0, 0, 0]), float).reshape(4)
            if not (np.all(np.isfinite(offsets)) and np.all(np.isfinite(gains))):
                raise ValueError("non-finite numbers")
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            raise KinemoError(f"profile {p} is not a valid Kinemo profile ({e})") from None
        return cls(np.clip(offsets, 0.0, 0.95), np.clip(gains, 0.0, 10.0), head, eyes)
