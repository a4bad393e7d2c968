"""Body: MediaPipe pose → an action classifier over a sliding window → action events.

Heavy parts (MediaPipe, onnxruntime) load only when used, so importing this package is cheap:
``from kinemo.body import ActionPipeline`` imports the pipeline on first access.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ActionPipeline": "kinemo.body.pipeline", "ActionPipelineOptions": "kinemo.body.pipeline",
    "ActionResult": "kinemo.body.pipeline", "ActionEvent": "kinemo.body.events",
    "PoseTracker": "kinemo.body.tracker", "PoseTrackerOptions": "kinemo.body.tracker",
    "PoseWorker": "kinemo.body.worker", "BodySender": "kinemo.body.osc",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kinemo.body' has no attribute {name!r}")
