"""FaceTracker: MediaPipe Face Landmarker (Tasks API) → Frame.

Shaped like a MediaPipe task: an options dataclass, ``create_from_options``,
and one ``process_*`` method per input type.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kinemo import models, protocol
from kinemo.errors import KinemoError
from kinemo.face.headpose import gaze_from_blendshapes, head_from_matrix
from kinemo.frame import Frame
from kinemo.native import quiet_stderr

os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's C++ logging off the terminal


@dataclass
class FaceTrackerOptions:
    model_path: str | os.PathLike | None = None  # None: resolve through the model store
    video: bool = True  # True: temporal tracking (VIDEO mode); False: independent stills
    # 1: MediaPipe tracks the face it acquired (least jitter). More: it also searches every
    # frame for other faces and we follow choose_face()'s pick (measured ~60% more jitter).
    num_faces: int = 1
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5


def blendshapes_to_arkit(categories) -> np.ndarray:
    """MediaPipe categories → 52 floats in ARKit order (drops ``_neutral``, ``tongueOut`` = 0)."""
    out = np.zeros(protocol.NUM_BLENDSHAPES, np.float32)
    for c in categories:
        i = protocol.ARKIT_INDEX.get(c.category_name)
        if i is not None:
            out[i] = c.score
    return out


def choose_face(meshes: list[np.ndarray]) -> int:
    """The performer when several faces are in view: the largest face (bounding-box area);
    faces within 20% of the largest count as equal, and then the one nearest the image
    centre wins. Bystanders are usually smaller or off-centre."""
    if len(meshes) == 1:
        return 0
    areas = [float(np.ptp(m[:, 0]) * np.ptp(m[:, 1])) for m in meshes]
    biggest = max(areas)
    candidates = [i for i, a in enumerate(areas) if a >= 0.8 * biggest]
    return min(candidates, key=lambda i: float(np.hypot(*(meshes[i][:, :2].mean(axis=0) - 0.5))))


class FaceTracker:
    def __init__(self, landmarker, options: FaceTrackerOptions) -> None:
        self._landmarker = landmarker
        self.options = options
        self._last_ts = -1

    @classmethod
    def create_from_options(cls, options: FaceTrackerOptions) -> FaceTracker:
        path = models.resolve(models.FACE_LANDMARKER, options.model_path)
        with quiet_stderr():
            from mediapipe.tasks.python import BaseOptions, vision

            mode = vision.RunningMode.VIDEO if options.video else vision.RunningMode.IMAGE
            task_options = vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_buffer=Path(path).read_bytes()),
                running_mode=mode,
                num_faces=options.num_faces,
                min_face_detection_confidence=options.min_detection_confidence,
                min_face_presence_confidence=options.min_presence_confidence,
                min_tracking_confidence=options.min_tracking_confidence,
                output_face_blendshapes=True,
                output_facial_transformation_matrixes=True,
            )
            try:
                landmarker = vision.FaceLandmarker.create_from_options(task_options)
            except (RuntimeError, ValueError) as e:
                raise KinemoError(f"could not load face model {path}: {str(e).splitlines()[0]}") from None
        return cls(landmarker, options)

    def process_video_frame(self, rgb: np.ndarray, timestamp_ms: int, *, seq: int = 0,
                            time_s: float | None = None, stamp: float | None = None) -> Frame:
        """Track one frame of a stream; timestamps must increase."""
        import mediapipe as mp

        ts = max(int(timestamp_ms), self._last_ts + 1)
        self._last_ts = ts
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        result = self._landmarker.detect_for_video(image, ts)
        frame = self._to_frame(result, seq, ts / 1000.0 if time_s is None else time_s, stamp)
        frame.image_size = (rgb.shape[1], rgb.shape[0])
        return frame

    def process_image(self, rgb: np.ndarray, *, seq: int = 0, time_s: float = 0.0,
                      stamp: float | None = None) -> Frame:
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        frame = self._to_frame(self._landmarker.detect(image), seq, time_s, stamp)
        frame.image_size = (rgb.shape[1], rgb.shape[0])
        return frame

    @staticmethod
    def _to_frame(result, seq: int, time_s: float, stamp: float | None) -> Frame:
        frame = Frame(seq=seq, time=float(time_s), stamp=time.time() if stamp is None else stamp)
        if not result.face_landmarks:
            return frame
        meshes = [np.array([(p.x, p.y, p.z) for p in face], np.float32) for face in result.face_landmarks]
        k = choose_face(meshes)
        frame.present = True
        frame.landmarks = meshes[k]
        if len(result.face_blendshapes) > k:
            frame.blendshapes = blendshapes_to_arkit(result.face_blendshapes[k])
        if len(result.facial_transformation_matrixes) > k:
            frame.head = head_from_matrix(np.asarray(result.facial_transformation_matrixes[k]))
        frame.eyes = gaze_from_blendshapes(frame.blendshapes)
        return frame

    def close(self) -> None:
        self._landmarker.close()

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
