"""Face: camera or video frames → 52 ARKit blendshapes, head pose, gaze, landmarks and expression.

``tracker`` (MediaPipe Face Landmarker → :class:`kinemo.frame.Frame`) feeds ``motion``, the
per-frame stage that applies ``calibration`` (the performer's neutral profile), ``smoothing``
(One-Euro live, zero-phase for files) and ``expression`` (action units and the emotion label).
``headpose`` turns MediaPipe's transform into yaw/pitch/roll and gaze; ``landmarks`` holds the
478-point mesh, its 68-point view and the compact PCA code. ``kinemo.pipeline`` runs it all on
threads.

Heavy parts (MediaPipe) load only when used: ``from kinemo.face import FaceTracker`` imports the
tracker module on first access.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "FaceTracker": "kinemo.face.tracker", "FaceTrackerOptions": "kinemo.face.tracker",
    "choose_face": "kinemo.face.tracker", "blendshapes_to_arkit": "kinemo.face.tracker",
    "MotionProcessor": "kinemo.face.motion", "MotionOptions": "kinemo.face.motion",
    "Profile": "kinemo.face.calibration",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kinemo.face' has no attribute {name!r}")
