"""PoseRecorder: collect tracked poses into a PoseTrack (for ``--record-pose`` and examples)."""

from __future__ import annotations

import numpy as np

from kinemo.body.posefile import PoseTrack
from kinemo.body.skeleton import CHANNELS, NUM_LANDMARKS
from kinemo.body.tracker import Pose, PoseTracker
from kinemo.progress import Progress


class PoseRecorder:
    def __init__(self, fps: float) -> None:
        self.fps = fps
        self.times: list[float] = []
        self.poses: list[np.ndarray | None] = []
        self.size: tuple[int, int] = (1, 1)

    def add(self, time_s: float, pose: Pose | None) -> None:
        self.times.append(float(time_s))
        self.poses.append(None if pose is None else pose.landmarks)
        if pose is not None:
            self.size = pose.size

    def track(self) -> PoseTrack:
        empty = np.zeros((NUM_LANDMARKS, CHANNELS), np.float32)
        lm = np.stack([empty if p is None else p for p in self.poses]) if self.poses else \
            np.zeros((0, NUM_LANDMARKS, CHANNELS), np.float32)
        present = np.array([p is not None for p in self.poses], bool)
        return PoseTrack(np.array(self.times), lm, present, self.fps, self.size)


def track_source(source, tracker: PoseTracker, *, progress: bool = True, label: str | None = None) -> PoseTrack:
    """Run every frame of a source through the tracker."""
    rec = PoseRecorder(source.fps)
    bar = Progress(label or f"tracking pose in {source.name}", source.total, enabled=progress)
    try:
        for _, t, rgb in source:
            rec.add(t, tracker.process_video_frame(rgb, int(round(t * 1000))))
            bar.update()
    finally:
        bar.close()
    return rec.track()
