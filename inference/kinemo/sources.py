"""Frame sources: video files and cameras, one shape (iterate → (index, time, RGB))."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from kinemo.errors import KinemoError
from kinemo.native import quiet_stderr

DEFAULT_FPS = 30.0
os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")  # our own errors say what went wrong


class Source(Protocol):
    name: str
    fps: float
    total: int | None  # frame count when known
    realtime: bool  # True when frames arrive on their own clock (cameras)

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]: ...

    def close(self) -> None: ...


def _cv2():
    import cv2

    try:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except AttributeError:
        pass
    return cv2


class VideoSource:
    """Decodes every frame of a video file; media time is index / fps."""

    realtime = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise KinemoError(f"no such file: {self.path}")
        if not self.path.is_file():
            raise KinemoError(f"not a file: {self.path}")
        cv2 = _cv2()
        with quiet_stderr():
            self._cap = cv2.VideoCapture(str(self.path))
            ok, first = (self._cap.read() if self._cap.isOpened() else (False, None))
        if not ok or first is None:
            self._cap.release()
            raise KinemoError(f"not a readable video: {self.path} (expected e.g. .mp4, .mov, .mpg, .avi)")
        self._first = first
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and 1.0 <= fps <= 1000.0 else DEFAULT_FPS
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.total = count if count > 0 else None
        self.name = self.path.name

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        cv2 = _cv2()
        frame, i = self._first, 0
        while frame is not None:
            yield i, i / self.fps, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            i += 1
            ok, frame = self._cap.read()
            if not ok:
                frame = None

    def close(self) -> None:
        self._cap.release()


class CameraSource:
    """A live camera; media time is seconds since the first frame."""

    realtime = True
    total = None

    def __init__(self, index: int = 0, *, width: int | None = None, height: int | None = None) -> None:
        cv2 = _cv2()
        with quiet_stderr():
            self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise KinemoError(f"no camera at index {index}: check it is connected and not in use "
                              f"(try --camera 1), or process a file with 'kinemo video PATH'")
        if width:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 1.0 <= fps <= 1000.0 else DEFAULT_FPS
        self.name = f"camera {index}"

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        cv2 = _cv2()
        t0 = None
        i = 0
        while True:
            ok, frame = self._cap.read()
            if not ok:
                if i == 0:
                    raise KinemoError(f"{self.name} opened but delivered no frames")
                return
            now = time.monotonic()
            t0 = now if t0 is None else t0
            yield i, now - t0, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            i += 1

    def close(self) -> None:
        self._cap.release()
