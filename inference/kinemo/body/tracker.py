"""PoseTracker: MediaPipe pose (33 landmarks) → one Pose per frame, for the performer.

Shaped like a MediaPipe task (options dataclass, ``create_from_options``, ``process_*``).
Uses the Tasks ``PoseLandmarker`` when a ``.task`` file is given or found (see
``pose_model``), else the legacy ``mp.solutions.pose`` graph bundled with mediapipe.

Two or more people: by default (``num_poses=1``) MediaPipe locks onto one person and
follows them while they stay tracked. With ``num_poses`` ≥ 2 (Tasks model) it looks for
that many and the performer is the *largest* one in the frame (closest to the camera),
so someone walking past behind is ignored — at up to twice the pose cost, because the
person detector then runs on every frame. The legacy graph always follows one person.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kinemo.body.pose_model import find_pose_model
from kinemo.errors import KinemoError
from kinemo.native import quiet_stderr

os.environ.setdefault("GLOG_minloglevel", "2")


@dataclass
class PoseTrackerOptions:
    model_path: str | os.PathLike | None = None  # a pose_landmarker*.task; None: look it up, else legacy
    legacy: bool = False  # force the bundled legacy graph even when a .task is available
    video: bool = True  # temporal tracking; False: independent stills
    num_poses: int = 1  # ≥ 2: pick the largest of that many people (slower)
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5


@dataclass
class Pose:
    """The performer in one frame."""

    landmarks: np.ndarray  # (33, 4) x, y, z, visibility, MediaPipe-normalised
    people: int  # how many people the tracker saw
    size: tuple[int, int]  # image width, height


def body_area(landmarks: np.ndarray) -> float:
    """Area of the box around the confidently seen landmarks (image fractions)."""
    seen = landmarks[landmarks[:, 3] > 0.5] if (landmarks[:, 3] > 0.5).sum() >= 4 else landmarks
    span = seen[:, :2].max(axis=0) - seen[:, :2].min(axis=0)
    return float(span[0] * span[1])


class PoseTracker:
    def __init__(self, backend, kind: str, options: PoseTrackerOptions) -> None:
        self._backend = backend
        self.kind = kind  # "tasks" or "legacy"
        self.options = options
        self._last_ts = -1

    @classmethod
    def create_from_options(cls, options: PoseTrackerOptions | None = None) -> PoseTracker:
        options = options or PoseTrackerOptions()
        path = None if options.legacy else find_pose_model(options.model_path)
        with quiet_stderr():
            if path is not None:
                return cls(_tasks_landmarker(path, options), "tasks", options)
            import mediapipe as mp

            backend = mp.solutions.pose.Pose(
                static_image_mode=not options.video, model_complexity=1, smooth_landmarks=True,
                min_detection_confidence=options.min_detection_confidence,
                min_tracking_confidence=options.min_tracking_confidence)
        return cls(backend, "legacy", options)

    def process_video_frame(self, rgb: np.ndarray, timestamp_ms: int) -> Pose | None:
        """Track one frame of a stream (timestamps must increase); None: nobody in view."""
        ts = max(int(timestamp_ms), self._last_ts + 1)
        self._last_ts = ts
        return self._process(rgb, ts)

    def process_image(self, rgb: np.ndarray) -> Pose | None:
        return self._process(rgb, None)

    def _process(self, rgb: np.ndarray, ts: int | None) -> Pose | None:
        rgb = np.ascontiguousarray(rgb)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise KinemoError(f"expected an RGB image (H, W, 3), got shape {rgb.shape}")
        size = (rgb.shape[1], rgb.shape[0])
        if self.kind == "legacy":
            result = self._backend.process(rgb)
            if result.pose_landmarks is None:
                return None
            lm = np.array([(p.x, p.y, p.z, p.visibility) for p in result.pose_landmarks.landmark], np.float32)
            return Pose(lm, 1, size)
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        result = (self._backend.detect_for_video(image, ts) if ts is not None and self.options.video
                  else self._backend.detect(image))
        if not result.pose_landmarks:
            return None
        people = [np.array([(p.x, p.y, p.z, p.visibility) for p in person], np.float32)
                  for person in result.pose_landmarks]
        return Pose(max(people, key=body_area), len(people), size)

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> PoseTracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _tasks_landmarker(path: Path, options: PoseTrackerOptions):
    from mediapipe.tasks.python import BaseOptions, vision

    mode = vision.RunningMode.VIDEO if options.video else vision.RunningMode.IMAGE
    task_options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_buffer=path.read_bytes()), running_mode=mode,
        num_poses=options.num_poses, min_pose_detection_confidence=options.min_detection_confidence,
        min_pose_presence_confidence=options.min_presence_confidence,
        min_tracking_confidence=options.min_tracking_confidence)
    try:
        return vision.PoseLandmarker.create_from_options(task_options)
    except (RuntimeError, ValueError) as e:
        raise KinemoError(f"could not load pose model {path}: {str(e).splitlines()[0]}") from None
