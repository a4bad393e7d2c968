"""Calibration profile: the performer's resting face maps to zero, full expressions still reach 1.

A profile is captured by holding a neutral face for a few seconds. Each channel's
median while resting becomes its offset; values are then rescaled so that the
offset maps to 0 and 1 stays 1, times a per-channel gain (1 by default; raise it
for channels your face never drives to the full range). Head and gaze offsets
make the resting pose look straight ahead.

The same file holds the user's taught expressions (``kinemo expressions teach``,
:mod:`kinemo.face.personal`), so one ``--profile`` carries everything Kinemo knows about a
performer. Version 1 files (calibration only) still load; examples taught by a version whose
features differ are refused with one line that says to teach them again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kinemo import protocol
from kinemo.errors import KinemoError
from kinemo.files import atomic_write

if TYPE_CHECKING:
    from kinemo.face.personal import PersonalExpressions

PROFILE_FORMAT = "kinemo-profile"
PROFILE_VERSION = 2
N = protocol.NUM_BLENDSHAPES


@dataclass
class Profile:
    offsets: np.ndarray = field(default_factory=lambda: np.zeros(N))
    gains: np.ndarray = field(default_factory=lambda: np.ones(N))
    head_offsets: np.ndarray = field(default_factory=lambda: np.zeros(3))  # yaw, pitch, roll
    eye_offsets: np.ndarray = field(default_factory=lambda: np.zeros(4))
    personal: PersonalExpressions = field(default_factory=lambda: _personal_module().PersonalExpressions())

    @property
    def calibrated(self) -> bool:
        return bool(np.any(self.offsets != 0) or np.any(self.gains != 1))

    def raw_blendshapes(self, calibrated: np.ndarray) -> np.ndarray:
        """Undo :meth:`apply_blendshapes` (where it did not clip): taught examples are stored raw."""
        span = np.maximum(1.0 - self.offsets, 1e-3)
        return np.clip(np.asarray(calibrated, np.float64) * span / np.maximum(self.gains, 1e-6) + self.offsets, 0, 1)

    def classifier(self):
        """The personal classifier of the taught expressions; None when nothing was taught."""
        return self.personal.classifier()

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
        personal = _personal_module()
        doc = {
            "format": PROFILE_FORMAT, "version": PROFILE_VERSION, "channels": list(protocol.ARKIT_NAMES),
            "offsets": [round(float(v), 6) for v in self.offsets],
            "gains": [round(float(v), 6) for v in self.gains],
            "head_offsets": [round(float(v), 4) for v in self.head_offsets],
            "eye_offsets": [round(float(v), 4) for v in self.eye_offsets],
        }
        if self.personal.examples:
            doc["expressions"] = {"version": personal.EXAMPLE_VERSION, "examples": {
                label: [{"blendshapes": [round(float(v), 6) for v in e.blendshapes],
                         "geometry": None if e.geometry is None else [round(float(v), 6) for v in e.geometry]}
                        for e in examples] for label, examples in self.personal.examples.items()}}
        return doc

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
            version = doc.get("version", 1)
            if not isinstance(version, int) or version > PROFILE_VERSION:
                raise ValueError(f"version {version!r} is newer than this Kinemo reads ({PROFILE_VERSION}): "
                                 "update Kinemo")
            personal = _read_personal(p, doc.get("expressions"))
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            raise KinemoError(f"profile {p} is not a valid Kinemo profile ({e})") from None
        return cls(np.clip(offsets, 0.0, 0.95), np.clip(gains, 0.0, 10.0), head, eyes, personal)


def _personal_module():
    from kinemo.face import personal

    return personal


def _read_personal(path: Path, doc) -> PersonalExpressions:
    """The taught expressions of a profile; one clear line when they cannot be used."""
    personal = _personal_module()
    out = personal.PersonalExpressions()
    if doc is None:
        return out
    if doc.get("version") != personal.EXAMPLE_VERSION:
        raise KinemoError(f"profile {path}: its expressions were taught with another version of Kinemo "
                          f"(examples v{doc.get('version')}, this one reads v{personal.EXAMPLE_VERSION}): "
                          "teach them again with 'kinemo expressions teach'")
    width = None
    for label, examples in doc["examples"].items():
        personal.check_label(label)
        if not examples:
            raise ValueError(f"expression {label!r} has no example")
        for e in examples:
            bs = np.asarray(e["blendshapes"], np.float64)
            geo = None if e.get("geometry") is None else np.asarray(e["geometry"], np.float64)
            if bs.shape != (N,) or (geo is not None and (geo.ndim != 1 or geo.size != (width or geo.size))):
                raise ValueError(f"expression {label!r}: an example has the wrong size")
            if not np.all(np.isfinite(bs)) or (geo is not None and not np.all(np.isfinite(geo))):
                raise ValueError(f"expression {label!r}: non-finite numbers")
            width = geo.size if geo is not None else width
            out.add(label, [personal.Example(bs, geo)])
    return out
