"""Take files: Live Link Face CSV, and our JSON/NPZ (same columns plus timestamps and landmarks).

Files appear only when complete (written to a temporary name, then renamed), so
an interrupted run never leaves a half file where a good one was expected.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from kinemo import protocol
from kinemo.errors import KinemoError
from kinemo.frame import NUM_LANDMARKS, Frame

TAKE_FORMAT = protocol.TAKE_FORMAT
TAKE_VERSION = 1
SUFFIXES = (".csv", ".json", ".npz")

#: Live Link Face CSV: 52 blendshapes (PascalCase) then head and eye rotations (radians).
LLF_ROTATIONS = protocol.LLF_ROTATIONS
LLF_HEADER = ("Timecode", "BlendshapeCount",
              *(protocol.pascal_case(n) for n in protocol.ARKIT_NAMES), *LLF_ROTATIONS)
LLF_COUNT = protocol.NUM_BLENDSHAPES + len(LLF_ROTATIONS)  # 61


def timecode(t: float, fps: float) -> str:
    """``HH:MM:SS:FF.fff``: whole frames within the second, then the sub-frame fraction."""
    frames_total = t * fps
    whole_seconds = math.floor(t + 1e-9)
    frame_in_second = frames_total - whole_seconds * fps
    if frame_in_second < 0:
        frame_in_second = 0.0
    ff = math.floor(frame_in_second + 1e-6)
    sub = max(0.0, frame_in_second - ff)
    h, rem = divmod(whole_seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{ff:02d}.{int(round(sub * 1000)) % 1000:03d}"


def llf_row(frame: Frame, fps: float) -> list[str]:
    h = frame.head
    rot = [h[0], h[1], h[2]]
    e = frame.eyes
    values = [*frame.blendshapes.tolist(), *(math.radians(float(v)) for v in rot),
              math.radians(float(e[0])), math.radians(float(e[1])), 0.0,
              math.radians(float(e[2])), math.radians(float(e[3])), 0.0]
    return [timecode(frame.time, fps), str(LLF_COUNT), *(f"{float(v):.9g}" for v in values)]


def check_output_path(path: str | os.PathLike) -> Path:
    """Fail before any work is done if the output cannot be written."""
    p = Path(path)
    if p.is_dir():
        raise KinemoError(f"output path is a directory: {p}")
    if p.suffix.lower() not in SUFFIXES:
        raise KinemoError(f"unsupported output type '{p.suffix or p.name}': use .csv, .json or .npz")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise KinemoError(f"output folder does not exist: {parent}")
    try:  # os.access() is not enough: root, read-only mounts, and /proc-like folders
        with tempfile.TemporaryFile(dir=parent):
            pass
        if p.exists() and not os.access(p, os.W_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as e:
        raise KinemoError(f"cannot write output: {p} ({e.strerror or e})") from None
    return p


class TakeWriter:
    """Collects frames, then writes the file for its suffix on ``close``."""

    def __init__(self, path: str | os.PathLike, *, fps: float, source: str = "") -> None:
        self.path = check_output_path(path)
        self.fps, self.source = float(fps), source
        self.frames: list[Frame] = []

    def add(self, frame: Frame) -> None:
        self.frames.append(frame)

    def close(self) -> Path:
        suffix = self.path.suffix.lower()
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=suffix, dir=self.path.parent)
        os.close(fd)
        try:
            if suffix == ".csv":
                self._write_csv(tmp)
            elif suffix == ".json":
                self._write_json(tmp)
            else:
                self._write_npz(tmp)
            os.replace(tmp, self.path)
        except OSError as e:
            raise KinemoError(f"cannot write output {self.path}: {e.strerror or e}") from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return self.path

    def columns(self) -> dict[str, np.ndarray]:
        n = len(self.frames)
        landmarks = np.full((n, NUM_LANDMARKS, 3), np.nan, np.float32)
        for i, f in enumerate(self.frames):
            if f.landmarks is not None:
                landmarks[i] = f.landmarks
        return {
            "seq": np.array([f.seq for f in self.frames], np.int64),
            "time": np.array([f.time for f in self.frames], np.float64),
            "stamp": np.array([f.stamp for f in self.frames], np.float64),
            "present": np.array([f.present for f in self.frames], bool),
            "blendshapes": np.stack([f.blendshapes for f in self.frames]) if n else np.zeros((0, 52), np.float32),
            "head": (np.stack([f.head for f in self.frames]) if n
                     else np.zeros((0, len(protocol.HEAD_FIELDS)), np.float32)),
            "eyes": np.stack([f.eyes for f in self.frames]) if n else np.zeros((0, 4), np.float32),
            "landmarks": landmarks,
        }

    def _meta(self) -> dict:
        return {"format": TAKE_FORMAT, "version": TAKE_VERSION, "source": self.source, "fps": self.fps,
                "channels": list(protocol.ARKIT_NAMES), "head_fields": list(protocol.HEAD_FIELDS),
                "eye_fields": list(protocol.EYE_FIELDS)}

    def _write_csv(self, tmp: str) -> None:
        with open(tmp, "w", newline="") as f:
            f.write(",".join(LLF_HEADER) + "\n")
            for frame in self.frames:
                f.write(",".join(llf_row(frame, self.fps)) + "\n")

    def _write_json(self, tmp: str) -> None:
        cols = self.columns()
        doc = self._meta()
        for key in ("seq", "time", "stamp", "present", "blendshapes", "head", "eyes"):
            doc[key] = cols[key].tolist()
        doc["landmarks"] = [
            None if not f.present or f.landmarks is None else np.round(f.landmarks.astype(np.float64), 6).tolist()
            for f in self.frames
        ]
        with open(tmp, "w") as f:
            json.dump(doc, f, separators=(",", ":"))

    def _write_npz(self, tmp: str) -> None:
        cols = self.columns()
        meta = json.dumps(self._meta())
        with open(tmp, "wb") as f:
            np.savez_compressed(f, meta=np.array(meta), **cols)


def read_take(path: str | os.PathLike) -> dict:
    """Read a JSON or NPZ take back into columns (numpy arrays) plus metadata."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        doc = json.loads(p.read_text())
        if doc.get("format") != TAKE_FORMAT:
            raise KinemoError(f"{p} is not a Kinemo take")
        out = {k: np.asarray(doc[k]) for k in ("seq", "time", "stamp", "present", "blendshapes", "head", "eyes")}
        out["meta"] = {k: doc[k] for k in ("format", "version", "source", "fps", "channels")}
        return out
    with np.load(p, allow_pickle=False) as z:
        out = {k: z[k] for k in z.files if k != "meta"}
        out["meta"] = json.loads(str(z["meta"]))
    return out
