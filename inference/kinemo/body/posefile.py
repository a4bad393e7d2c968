"""Pose files: a recorded pose track as ``.npz`` (written by ``--record-pose``, read by ``--pose-file``).

Keys: ``landmarks`` float32 (T, 33, 4) = x, y, z, visibility exactly as MediaPipe
normalises them (x by image width, y by height, z ≈ x's scale, relative to the hips);
``fps`` float. Optional: ``time`` float64 (T,) seconds (default index / fps), ``present``
bool (T,) (default: frames with any visibility > 0), ``size`` int (2,) image width and
height (default square), ``format`` = "kinemo-pose". Frames without a person hold zeros.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kinemo.body.skeleton import CHANNELS, NUM_LANDMARKS
from kinemo.errors import KinemoError
from kinemo.files import atomic_write

POSE_FORMAT = "kinemo-pose"


@dataclass
class PoseTrack:
    time: np.ndarray  # (T,)
    landmarks: np.ndarray  # (T, 33, 4)
    present: np.ndarray  # (T,) bool
    fps: float
    size: tuple[int, int] = (1, 1)

    @property
    def aspect(self) -> float:
        return self.size[0] / self.size[1]

    def __len__(self) -> int:
        return len(self.time)


def write_pose_file(path: str | os.PathLike, track: PoseTrack) -> Path:
    """Write atomically (temporary name, then rename)."""
    p = Path(path)
    if p.suffix.lower() != ".npz":
        raise KinemoError(f"pose file must end in .npz: {p}")
    if not (p.parent if str(p.parent) else Path(".")).is_dir():
        raise KinemoError(f"folder does not exist: {p.parent}")
    with atomic_write(p, what="pose file ") as f:
        np.savez_compressed(f, format=np.array(POSE_FORMAT), landmarks=track.landmarks.astype(np.float32),
                            fps=np.float64(track.fps), time=track.time.astype(np.float64),
                            present=track.present.astype(bool), size=np.array(track.size, np.int64))
    return p


def read_pose_file(path: str | os.PathLike) -> PoseTrack:
    """Read and validate; every problem is one clear KinemoError."""
    p = Path(path)
    if not p.is_file():
        raise KinemoError(f"no such pose file: {p}")
    try:
        with np.load(p, allow_pickle=False) as z:
            files = set(z.files)
            missing = {"landmarks", "fps"} - files
            if missing:
                raise KinemoError(f"{p} is not a pose file: missing {', '.join(sorted(missing))} "
                                  f"(expected landmarks (T,33,4) and fps; see docs/actions.md)")
            lm = np.asarray(z["landmarks"], np.float32)
            fps = float(z["fps"])
            time = np.asarray(z["time"], np.float64) if "time" in files else None
            present = np.asarray(z["present"], bool) if "present" in files else None
            size = tuple(int(v) for v in z["size"]) if "size" in files else (1, 1)
    except KinemoError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
        raise KinemoError(f"cannot read pose file {p}: damaged or truncated ({type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else 'no detail'})") from None
    if lm.ndim != 3 or lm.shape[1:] != (NUM_LANDMARKS, CHANNELS):
        raise KinemoError(f"{p}: landmarks have shape {lm.shape}, expected (T, {NUM_LANDMARKS}, {CHANNELS})")
    if len(lm) == 0:
        raise KinemoError(f"{p}: the pose file holds no frames")
    if not (np.isfinite(fps) and 0 < fps <= 1000):
        raise KinemoError(f"{p}: fps {fps} is not a frame rate")
    if time is None:
        time = np.arange(len(lm)) / fps
    if time.shape != (len(lm),) or not np.all(np.isfinite(time)) or np.any(np.diff(time) <= 0):
        raise KinemoError(f"{p}: time must hold {len(lm)} increasing seconds")
    if present is None:
        present = np.isfinite(lm).all(axis=(1, 2)) & (lm[..., 3] > 0).any(axis=1)
    if present.shape != (len(lm),):
        raise KinemoError(f"{p}: present must hold {len(lm)} flags")
    if len(size) != 2 or min(size) <= 0:
        raise KinemoError(f"{p}: size must be (width, height) in pixels")
    present = present & np.isfinite(lm).all(axis=(1, 2))
    lm = np.where(present[:, None, None], lm, 0.0).astype(np.float32)
    return PoseTrack(time=time, landmarks=lm, present=present, fps=fps, size=(size[0], size[1]))
