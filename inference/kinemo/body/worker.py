"""PoseWorker: run the action pipeline on its own thread, always on the newest frame.

For face + body from one camera: the face tracker keeps the camera's pace on the main
thread, and body poses are tracked as fast as the second core allows. Frames that
arrive while the worker is busy replace each other (only the newest waits), so pose
never falls behind real time; the classifier resamples whatever rate it gets.
MediaPipe releases the GIL while it computes, so the two really run in parallel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from kinemo.body.pipeline import ActionPipeline, ActionResult


class PoseWorker:
    def __init__(self, pipeline: ActionPipeline,
                 on_result: Callable[[ActionResult, int], None] | None = None) -> None:
        self.pipeline = pipeline
        self.on_result = on_result  # called on the worker thread with (result, frame seq)
        self.processed = 0
        self.dropped = 0
        self.error: BaseException | None = None
        self._cond = threading.Condition()
        self._pending: tuple[np.ndarray, float, int] | None = None
        self._closing = False
        self._thread = threading.Thread(target=self._loop, name="kinemo-pose", daemon=True)
        self._thread.start()

    def submit(self, rgb: np.ndarray, time_s: float, seq: int = 0) -> None:
        """Hand over a frame without waiting; a frame still waiting is replaced."""
        with self._cond:
            if self._pending is not None:
                self.dropped += 1
            self._pending = (rgb, time_s, seq)
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closing:
                    self._cond.wait()
                if self._pending is None:
                    return
                rgb, t, seq = self._pending
                self._pending = None
            try:
                result = self.pipeline.process_frame(rgb, t)
                self.processed += 1
                if self.on_result is not None:
                    self.on_result(result, seq)
            except BaseException as e:  # surfaced to the caller by close()
                self.error = e
                return

    def close(self, timeout: float | None = None) -> None:
        """Finish the frame in hand, stop the thread, and re-raise a worker error."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
