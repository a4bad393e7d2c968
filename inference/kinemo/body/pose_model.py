"""Where the Tasks pose model comes from. Pose never downloads: without a ``.task`` file the
legacy ``mp.solutions.pose`` graph, bundled inside the mediapipe 0.10.21 wheel, is used."""

from __future__ import annotations

import os
from pathlib import Path

from kinemo import models
from kinemo.errors import KinemoError

POSE_LANDMARKER = models.ModelSpec(
    name="pose_landmarker_lite",
    filename="pose_landmarker_lite.task",
    url="https://storage.googleapis.com/mediapipe-models/pose_landmarker/pose_landmarker_lite/float16/1/"
        "pose_landmarker_lite.task",
    # The copy in ../shared/models (assembled from the official .tflite files); used for the
    # record only: pose files are found, never downloaded, so nothing is checked against it.
    sha256="13e7d670589b982b7abb0c3daa5b6fc8c0adc3fea2cfb3f03d8c650169a35497",
    licence="Apache-2.0 (Google MediaPipe)",
)


def find_pose_model(explicit: str | os.PathLike | None = None) -> Path | None:
    """``explicit`` (must exist), else ``$KINEMO_MODEL_DIR`` or the user cache; None: use legacy."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise KinemoError(f"pose model not found: {path}")
        return path
    for folder in (os.environ.get("KINEMO_MODEL_DIR"), models.cache_dir()):
        if folder and (Path(folder) / POSE_LANDMARKER.filename).is_file():
            return Path(folder) / POSE_LANDMARKER.filename
    return None
