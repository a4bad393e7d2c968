"""Run a source through the face tracker into OSC and/or a take file."""

from __future__ import annotations

import time
from dataclasses import dataclass

from kinemo.face import FaceTracker
from kinemo.frame import Frame
from kinemo.osc_out import OscSender
from kinemo.progress import Progress
from kinemo.sources import Source
from kinemo.takes import TakeWriter


@dataclass
class RunStats:
    frames: int = 0
    faces: int = 0
    seconds: float = 0.0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def run_face(source: Source, tracker: FaceTracker, *, sender: OscSender | None = None,
             writer: TakeWriter | None = None, realtime: bool = False,
             max_frames: int | None = None, progress: bool = True) -> RunStats:
    stats = RunStats()
    bar = Progress(f"tracking {source.name}", source.total, enabled=progress)
    start = time.perf_counter()
    try:
        for index, t, rgb in source:
            if max_frames is not None and index >= max_frames:
                break
            if realtime and not source.realtime:
                delay = start + t - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            frame: Frame = tracker.process_video_frame(rgb, int(round(t * 1000)), seq=index, time_s=t)
            if sender is not None:
                sender.send(frame)
            if writer is not None:
                writer.add(frame)
            stats.frames += 1
            stats.faces += int(frame.present)
            bar.update()
    finally:
        stats.seconds = time.perf_counter() - start
        bar.close()
    return stats
