"""3D skeletons (Kinect v1, 20 joints) → our pose files (MediaPipe's 33 landmarks, as MediaPipe reports them).

Real labelled skeleton data (UTKinect-Action3D and the like) comes from a Kinect, not from
MediaPipe: 20 joints in metres in the sensor's frame (y up, z = distance from the sensor,
+x to the sensor's left), and a Kinect places some joints elsewhere than MediaPipe does.
``kinect_to_mediapipe`` films such a skeleton with the Kinect's own colour camera (pinhole,
640×480, fx = 525 px) and rebuilds the 33 landmarks so their proportions match real
MediaPipe output:

- **hips**: the Kinect's hip centre sits near the top of the pelvis (median 0.25 of the way
  from the shoulders to the ankles on upright UTKinect frames, its hip joints 0.31); MediaPipe's
  hips sit at the hip joints proper (0.40 on the ML Kit BlazePose samples, 0.41 on ``dance.mp4``
  tracked by our pipeline). So the
  hip centre is moved down the spine by ``HIP_DROP`` × the Kinect torso (shoulder centre →
  hip centre), and the hips are spread by ``HIP_SPREAD`` (MediaPipe's hips are 0.16 of that
  height apart, the Kinect's 0.12);
- **face**: nose, eyes, ears and mouth are placed around the Kinect head joint (the head's
  centre) facing where the chest faces, the nose at ``NOSE_HEIGHT`` of the way from the
  shoulder-centre joint to the head joint (MediaPipe's nose is 0.16 above the shoulders, the
  Kinect head 0.24);
- **hands and feet**: index, pinky and thumb from the wrist → hand direction; heel and toe
  from the ankle → foot direction;
- shoulders, elbows, wrists, knees and ankles are the Kinect's own (their proportions already
  match MediaPipe's to within 5%).

``scripts/actions/actions_calibrate.py`` measures these numbers again from the data. Every
landmark gets visibility ``VISIBILITY``, and ones outside the image get a low one, as
MediaPipe would.

UTKinect (``read_utkinect``): ``joints/joints_sXX_eYY.txt`` rows are a frame number and 60
numbers; time = frame number / 60 s (about 15 rows per second); repeated frame numbers are
dropped. ``joints/actionLabel.txt`` gives the segments (first and last frame number per
action; ``NaN`` = not performed).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kinemo.body.generator import FACE_POINTS
from kinemo.body.posefile import PoseTrack
from kinemo.body.skeleton import INDEX, NUM_LANDMARKS
from kinemo.errors import KinemoError

#: Kinect v1 (Microsoft SDK) joint order.
KINECT_JOINTS: tuple[str, ...] = (
    "hip_center", "spine", "shoulder_center", "head",
    "shoulder_left", "elbow_left", "wrist_left", "hand_left",
    "shoulder_right", "elbow_right", "wrist_right", "hand_right",
    "hip_left", "knee_left", "ankle_left", "foot_left",
    "hip_right", "knee_right", "ankle_right", "foot_right",
)
K = {n: i for i, n in enumerate(KINECT_JOINTS)}

# Calibration (scripts/actions/actions_calibrate.py prints the measurements these come from).
HIP_DROP = 0.455  # hip centre moves down the spine by this × |shoulder centre − hip centre|
HIP_SPREAD = 1.4  # × the Kinect's hip width
NOSE_HEIGHT = 0.51  # nose at this share of shoulder centre → head joint
VISIBILITY = 0.95
KINECT_SIZE = (640, 480)
KINECT_FX = 525.0 / 640.0  # focal length ÷ image width

# Face points around the head centre in units of body height: the motion generator's face.
_FACE = FACE_POINTS
TORSO_SHARE = 0.29  # MediaPipe torso (shoulder centre → hip centre) ÷ body height


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def kinect_to_world33(joints: np.ndarray) -> np.ndarray:
    """(T, 20, 3) Kinect joints (metres, sensor frame) → (T, 33, 3) MediaPipe-placed points, same frame."""
    j = np.asarray(joints, np.float64)
    if j.ndim != 3 or j.shape[1:] != (20, 3):
        raise KinemoError(f"Kinect joints must be (T, 20, 3), got {j.shape}")
    out = np.zeros((len(j), NUM_LANDMARKS, 3))
    hip_c, sh_c, head = j[:, K["hip_center"]], j[:, K["shoulder_center"]], j[:, K["head"]]
    torso = sh_c - hip_c
    mp_hip_c = hip_c - HIP_DROP * torso
    half_hips = 0.5 * (j[:, K["hip_left"]] - j[:, K["hip_right"]]) * HIP_SPREAD
    # Body frame: up along the spine, left from the right shoulder to the left, forward = up × ... .
    up = _unit(torso)
    left = _unit(j[:, K["shoulder_left"]] - j[:, K["shoulder_right"]])
    left = _unit(left - np.sum(left * up, axis=-1, keepdims=True) * up)
    # Kinect: +x is the sensor's left, z points away from the sensor; a person facing the
    # sensor has forward ≈ −z, and left × up gives that.
    fwd = np.cross(left, up)
    height = np.median(np.linalg.norm(torso, axis=-1)) * (1 + HIP_DROP) / TORSO_SHARE
    neck = head - sh_c
    head_up = _unit(neck)
    nose = sh_c + NOSE_HEIGHT * neck
    head_c = nose - height * (_FACE["nose"][1] * head_up + _FACE["nose"][2] * fwd)
    for name, (x, y, z) in _FACE.items():
        out[:, INDEX[name]] = head_c + height * (x * left + y * head_up + z * fwd)
    for side, s in (("left", 1.0), ("right", -1.0)):
        out[:, INDEX[f"{side}_shoulder"]] = j[:, K[f"shoulder_{side}"]]
        out[:, INDEX[f"{side}_elbow"]] = j[:, K[f"elbow_{side}"]]
        wrist, hand = j[:, K[f"wrist_{side}"]], j[:, K[f"hand_{side}"]]
        out[:, INDEX[f"{side}_wrist"]] = wrist
        f = hand - wrist
        flen = np.maximum(np.linalg.norm(f, axis=-1, keepdims=True), 0.02)
        fu = f / flen
        g = _unit(np.cross(fu, fwd) * s)  # across the palm, towards the thumb
        reach = np.clip(flen, 0.04, 0.12)
        out[:, INDEX[f"{side}_index"]] = wrist + 1.5 * reach * fu + 0.15 * reach * g
        out[:, INDEX[f"{side}_pinky"]] = wrist + 1.3 * reach * fu - 0.25 * reach * g
        out[:, INDEX[f"{side}_thumb"]] = wrist + 0.7 * reach * fu + 0.4 * reach * g
        out[:, INDEX[f"{side}_hip"]] = mp_hip_c + s * half_hips
        out[:, INDEX[f"{side}_knee"]] = j[:, K[f"knee_{side}"]]
        ankle, foot = j[:, K[f"ankle_{side}"]], j[:, K[f"foot_{side}"]]
        out[:, INDEX[f"{side}_ankle"]] = ankle
        toe = foot - ankle
        toe = toe - np.sum(toe * up, axis=-1, keepdims=True) * up  # along the ground
        toe_len = np.linalg.norm(toe, axis=-1, keepdims=True)
        toe = np.where(toe_len > 0.02, toe / np.maximum(toe_len, 1e-9), fwd)
        out[:, INDEX[f"{side}_heel"]] = ankle - 0.035 * height * up - 0.04 * height * toe
        out[:, INDEX[f"{side}_foot_index"]] = ankle - 0.04 * height * up + 0.13 * height * toe
    return out


def project(points: np.ndarray, size: tuple[int, int] = KINECT_SIZE, fx: float = KINECT_FX,
            orthographic: bool = False) -> np.ndarray:
    """Sensor-frame points (T, 33, 3) → MediaPipe-normalised x, y, z (T, 33, 3).

    Pinhole (the Kinect's colour camera) by default; ``orthographic`` keeps every point at
    the hip centre's depth. z is depth relative to the hips in x's scale, as MediaPipe's.
    """
    hips = 0.5 * (points[:, INDEX["left_hip"]] + points[:, INDEX["right_hip"]])
    hip_depth = np.maximum(hips[:, 2:3], 0.3)
    depth = hip_depth if orthographic else np.maximum(points[..., 2], 0.3)
    fy = fx * size[0] / size[1]
    x = 0.5 - fx * points[..., 0] / depth  # +x is the sensor's left: the image's left
    y = 0.5 - fy * points[..., 1] / depth
    z = fx * (points[..., 2] - hip_depth) / hip_depth
    return np.stack([x, y, z], axis=-1)


def kinect_to_mediapipe(joints: np.ndarray, *, size: tuple[int, int] = KINECT_SIZE,
                        orthographic: bool = False) -> np.ndarray:
    """(T, 20, 3) Kinect joints → (T, 33, 4) landmarks as MediaPipe would report them."""
    xyz = project(kinect_to_world33(joints), size, orthographic=orthographic)
    outside = (xyz[..., 0] < -0.02) | (xyz[..., 0] > 1.02) | (xyz[..., 1] < -0.02) | (xyz[..., 1] > 1.02)
    vis = np.where(outside, 0.2, VISIBILITY)
    return np.concatenate([xyz, vis[..., None]], axis=-1).astype(np.float32)


def kinect_track(time: np.ndarray, joints: np.ndarray, **kw) -> PoseTrack:
    """A pose track (``kinemo.body.posefile``) from timed Kinect joints."""
    time = np.asarray(time, np.float64)
    lm = kinect_to_mediapipe(joints, **kw)
    fps = float((len(time) - 1) / max(time[-1] - time[0], 1e-9)) if len(time) > 1 else 30.0
    return PoseTrack(time=time, landmarks=lm, present=np.ones(len(time), bool), fps=fps,
                     size=kw.get("size", KINECT_SIZE))


# --- UTKinect-Action3D -------------------------------------------------------------------------

FRAME_RATE = 60.0  # UTKinect frame numbers per second


@dataclass
class KinectRecording:
    name: str  # e.g. "s01_e01"
    subject: int
    time: np.ndarray  # (T,) seconds
    joints: np.ndarray  # (T, 20, 3) metres
    segments: list[tuple[str, float, float]]  # (label, start, end) seconds

    def track(self, **kw) -> PoseTrack:
        return kinect_track(self.time, self.joints, **kw)


def read_joints(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """One UTKinect joints file → (time in s, (T, 20, 3) joints); repeated frame numbers dropped."""
    try:
        a = np.loadtxt(path, ndmin=2)
    except (OSError, ValueError) as e:
        raise KinemoError(f"cannot read Kinect joints {path}: {e}") from None
    if a.shape[1] != 61:
        raise KinemoError(f"{path}: expected a frame number and 60 numbers per row, got {a.shape[1]} columns")
    frames, first = np.unique(a[:, 0], return_index=True)  # sorted, first occurrence kept
    a = a[first]
    return frames / FRAME_RATE, a[:, 1:].reshape(-1, 20, 3)


def read_labels(path: str | os.PathLike) -> dict[str, list[tuple[str, float, float]]]:
    """``actionLabel.txt`` → {recording: [(label, start s, end s)]}, sorted by start; NaN rows skipped."""
    out: dict[str, list[tuple[str, float, float]]] = {}
    current = None
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        m = re.fullmatch(r"(\w+):\s*(\S+)\s+(\S+)", line)
        if m is None:
            current = line
            out[current] = []
            continue
        if current is None:
            raise KinemoError(f"{path}: a segment before any recording name")
        a, b = float(m.group(2)), float(m.group(3))
        if np.isfinite(a) and np.isfinite(b) and b > a:
            out[current].append((m.group(1), a / FRAME_RATE, b / FRAME_RATE))
    for segs in out.values():
        segs.sort(key=lambda s: s[1])
    return out


def read_utkinect(root: str | os.PathLike) -> list[KinectRecording]:
    """Every recording of UTKinect-Action3D under ``root`` (the folder holding ``joints/``)."""
    root = Path(root)
    jdir = root / "joints" if (root / "joints").is_dir() else root
    labels_path = jdir / "actionLabel.txt"
    if not labels_path.is_file():
        raise KinemoError(f"no UTKinect labels at {labels_path}")
    labels = read_labels(labels_path)
    recs = []
    for name in sorted(labels):
        path = jdir / f"joints_{name}.txt"
        if not path.is_file():
            continue
        t, j = read_joints(path)
        recs.append(KinectRecording(name, int(name[1:3]), t, j, labels[name]))
    return recs


__all__ = ["KINECT_JOINTS", "kinect_to_world33", "kinect_to_mediapipe", "kinect_track", "project",
           "read_joints", "read_labels", "read_utkinect", "KinectRecording"]
