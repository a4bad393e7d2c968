"""Frame sources: video files and cameras, one shape (iterate → (index, time, RGB))."""

from __future__ import annotations

import os
import sys
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
        self.decoded = 0

    @property
    def ended_early(self) -> bool:
        """The container promised more frames than could be decoded (truncated or damaged)."""
        return self.total is not None and self._finished and self.decoded < 0.98 * self.total - 1

    _finished = False

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        cv2 = _cv2()
        frame, i = self._first, 0
        while frame is not None:
            self.decoded = i + 1
            yield i, i / self.fps, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            i += 1
            with quiet_stderr():
                ok, frame = self._cap.read()
            if not ok:
                frame = None
        self._finished = True

    def close(self) -> None:
        self._cap.release()


class CameraSource:
    """A live camera (index, device path or stream URL); media time is seconds since the first frame.

    A camera that stops delivering (unplugged, driver hiccup) is reopened for up to
    ``retry_seconds`` before giving up with a clear error.
    """

    realtime = True
    total = None

    def __init__(self, device: int | str = 0, *, retry_seconds: float = 10.0,
                 width: int | None = None, height: int | None = None) -> None:
        self.device = int(device) if str(device).isdigit() else str(device)
        self.retry_seconds = retry_seconds
        self.size = (width, height)
        self.name = f"camera {self.device}"
        self._cap = self._open()
        if self._cap is None:
            raise KinemoError(f"no camera at {self.device}: check it is connected and not in use "
                              f"(try --camera 1), or process a file with 'kinemo video PATH'")
        fps = self._cap.get(_cv2().CAP_PROP_FPS)
        self.fps = float(fps) if fps and 1.0 <= fps <= 1000.0 else DEFAULT_FPS
        self.reconnects = 0
        self._pending = None

    def _open(self):
        cv2 = _cv2()
        with quiet_stderr():
            cap = cv2.VideoCapture(self.device)
        if not cap.isOpened():
            cap.release()
            return None
        w, h = self.size
        if w:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
        if h:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
        return cap

    def _reconnect(self) -> bool:
        sys.stderr.write(f"kinemo: {self.name} stopped delivering frames; reconnecting "
                         f"for up to {self.retry_seconds:g} s (Ctrl-C to stop)\n")
        self._cap.release()
        deadline = time.monotonic() + self.retry_seconds
        while time.monotonic() < deadline:
            cap = self._open()
            if cap is not None:
                with quiet_stderr():
                    ok, frame = cap.read()
                if ok:
                    self._pending = frame  # the frame that proved it is back is delivered, not dropped
                    self._cap = cap
                    self.reconnects += 1
                    sys.stderr.write(f"kinemo: {self.name} is back\n")
                    return True
                cap.release()
            time.sleep(0.5)
        return False

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        cv2 = _cv2()
        t0 = None
        i = 0
        while True:
            if self._pending is not None:
                ok, frame, self._pending = True, self._pending, None
            else:
                with quiet_stderr():
                    ok, frame = self._cap.read()
            if not ok:
                if i > 0 and self._reconnect():
                    continue
                what = ("delivered no frames" if i == 0
                        else f"stopped and did not come back within {self.retry_seconds:g} s")
                raise KinemoError(f"{self.name} {what}")
            now = time.monotonic()
            t0 = now if t0 is None else t0
            yield i, now - t0, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            i += 1

    def close(self) -> None:
        self._cap.release()
