"""Pictures for checking a take by eye: ``kinemo video|webcam --preview OUT.mp4``.

Every processed frame of the input is written once, with what the tracker saw drawn on it:
the 478-point mesh (tesselation, eyes/lips/irises brighter), the head's axes at the nose tip
(red = the performer's left, green = up, blue = towards the camera) and a panel with the
strongest blendshapes of that frame as bars. The overlay shows the unsmoothed tracking, i.e.
exactly what MediaPipe measured on that picture. Frames without a face say so.

Encoding: H.264 (yuv420p, plays everywhere) through the ``ffmpeg`` executable when there is
one, else OpenCV's MPEG-4 writer. :class:`VideoWriter` is also what the demo uses.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from kinemo import protocol
from kinemo.errors import KinemoError
from kinemo.frame import Frame

SUFFIXES = (".mp4",)
TOP_K = 6
NOSE_TIP = 1
PANEL_WIDTH = 230


class VideoWriter:
    """RGB frames (H, W, 3 uint8) → an .mp4; the size is fixed by the first frame (padded to even)."""

    def __init__(self, path: str | Path, fps: float, *, crf: int = 23) -> None:
        self.path = Path(path)
        self.fps = float(fps) if fps and fps > 0 else 25.0
        self.crf = crf
        self.count = 0
        self.size: tuple[int, int] | None = None  # (width, height) written
        self._proc: subprocess.Popen | None = None
        self._cv = None
        self._tmp = self.path.with_name(f".{self.path.stem}.part{self.path.suffix}")

    def _open(self, w: int, h: int) -> None:
        self.size = (w + w % 2, h + h % 2)
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg:
            cmd = [ffmpeg, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                   "-s", f"{self.size[0]}x{self.size[1]}", "-r", f"{self.fps:g}", "-i", "-",
                   "-c:v", "libx264", "-preset", "veryfast", "-crf", str(self.crf), "-pix_fmt", "yuv420p",
                   "-movflags", "+faststart", "-f", "mp4", str(self._tmp)]
            self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        else:  # pragma: no cover - machines without ffmpeg
            import cv2

            self._cv = cv2.VideoWriter(str(self._tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self.size)
            if not self._cv.isOpened():
                raise KinemoError(f"cannot write video {self.path}")

    def add(self, rgb: np.ndarray) -> None:
        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8:
            rgb = np.clip(rgb, 0, 255).astype(np.uint8)
        if self.size is None:
            self._open(rgb.shape[1], rgb.shape[0])
        w, h = self.size
        if rgb.shape[:2] != (h, w):
            out = np.zeros((h, w, 3), np.uint8)
            hh, ww = min(h, rgb.shape[0]), min(w, rgb.shape[1])
            out[:hh, :ww] = rgb[:hh, :ww, :3]
            rgb = out
        if self._proc is not None:
            try:
                self._proc.stdin.write(np.ascontiguousarray(rgb[..., :3]).tobytes())
            except BrokenPipeError:
                raise KinemoError(f"cannot write video {self.path}: "
                                  f"{self._proc.stderr.read().decode(errors='replace').strip()}") from None
        else:  # pragma: no cover
            import cv2

            self._cv.write(cv2.cvtColor(rgb[..., :3], cv2.COLOR_RGB2BGR))
        self.count += 1

    def close(self) -> Path | None:
        """Finish the file; None when no frame was written."""
        if self._proc is not None:
            self._proc.stdin.close()
            err = self._proc.stderr.read().decode(errors="replace").strip()
            if self._proc.wait() != 0:
                self._tmp.unlink(missing_ok=True)
                raise KinemoError(f"cannot write video {self.path}: {err}")
        elif self._cv is not None:  # pragma: no cover
            self._cv.release()
        if self.count == 0:
            return None
        self._tmp.replace(self.path)
        return self.path

    def discard(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._tmp.unlink(missing_ok=True)


def _mesh_edges() -> np.ndarray:
    from mediapipe.tasks.python.vision import FaceLandmarksConnections as C

    return np.array([(c.start, c.end) for c in C.FACE_LANDMARKS_TESSELATION], np.int32)


def _feature_edges() -> np.ndarray:
    from mediapipe.tasks.python.vision import FaceLandmarksConnections as C

    groups = (C.FACE_LANDMARKS_LIPS, C.FACE_LANDMARKS_LEFT_EYE, C.FACE_LANDMARKS_RIGHT_EYE,
              C.FACE_LANDMARKS_LEFT_EYEBROW, C.FACE_LANDMARKS_RIGHT_EYEBROW, C.FACE_LANDMARKS_FACE_OVAL,
              C.FACE_LANDMARKS_LEFT_IRIS, C.FACE_LANDMARKS_RIGHT_IRIS)
    return np.array([(c.start, c.end) for g in groups for c in g], np.int32)


def head_axes_2d(head: np.ndarray) -> np.ndarray:
    """(3, 2) image-space directions (x right, y down) of the head's x (performer's left), y (up), z (forward)."""
    from kinemo.face.headpose import matrix_from_quaternion

    r = matrix_from_quaternion(np.asarray(head, float)[6:10])  # canonical → camera (x right, y up, z out)
    return np.stack([r[0, :], -r[1, :]], axis=1)


def draw_overlay(rgb: np.ndarray, frame: Frame, *, edges: np.ndarray | None = None,
                 features: np.ndarray | None = None, top_k: int = TOP_K) -> np.ndarray:
    """The input picture with the tracked mesh and head axes, and the blendshape panel on its right."""
    import cv2

    img = np.ascontiguousarray(rgb[..., :3]).copy()
    h, w = img.shape[:2]
    scale = max(1, round(min(w, h) / 360))
    if frame.present and frame.landmarks is not None:
        pts = np.asarray(frame.landmarks, float)[:, :2] * (w, h)
        ipts = np.round(pts * 16).astype(np.int32)  # 4 fractional bits: smooth thin lines
        edges = _mesh_edges() if edges is None else edges
        features = _feature_edges() if features is None else features
        mesh = img.copy()
        cv2.polylines(mesh, [ipts[e] for e in edges], False, (90, 230, 120), 1, cv2.LINE_AA, shift=4)
        img = cv2.addWeighted(mesh, 0.45, img, 0.55, 0)
        cv2.polylines(img, [ipts[e] for e in features], False, (120, 255, 160), scale, cv2.LINE_AA, shift=4)
        iod = float(np.linalg.norm(pts[33] - pts[263]))
        nose = pts[NOSE_TIP]
        for d, colour in zip(head_axes_2d(frame.head), ((235, 60, 60), (60, 220, 60), (70, 120, 255)), strict=True):
            end = nose + d * 0.8 * iod
            cv2.arrowedLine(img, tuple(np.round(nose).astype(int)), tuple(np.round(end).astype(int)), colour,
                            2 * scale, cv2.LINE_AA, tipLength=0.15)
    else:
        cv2.putText(img, "no face", (10, h - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, (255, 80, 80),
                    scale, cv2.LINE_AA)
    return np.concatenate([img, blendshape_panel(frame, h, top_k=top_k)], axis=1)


def blendshape_panel(frame: Frame, height: int, *, top_k: int = TOP_K, width: int = PANEL_WIDTH) -> np.ndarray:
    import cv2

    panel = np.full((height, width, 3), 24, np.uint8)
    bs = np.asarray(frame.blendshapes, float)
    order = np.argsort(-bs)[:top_k]
    row = max(14, min(34, (height - 30) // max(top_k, 1)))
    font = min(0.42, 0.38 * row / 22)
    cv2.putText(panel, f"t {frame.time:6.2f} s  #{frame.seq}", (8, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                (200, 200, 200), 1, cv2.LINE_AA)
    for k, i in enumerate(order):
        y = 28 + k * row
        v = float(bs[i]) if frame.present else 0.0
        cv2.rectangle(panel, (8, y + row // 2), (8 + int((width - 16) * v), y + row - 3), (80, 170, 255), -1)
        cv2.putText(panel, f"{protocol.ARKIT_NAMES[i]} {v:.2f}", (8, y + row // 2 - 2), cv2.FONT_HERSHEY_SIMPLEX,
                    font, (235, 235, 235), 1, cv2.LINE_AA)
    return panel


class PreviewWriter:
    """``--preview``: the pipeline hands over each decoded picture (``on_frame``) and, in order, its
    tracked frame (a sink); both meet here by sequence number and become one video frame."""

    def __init__(self, path: str | Path, fps: float) -> None:
        self.video = VideoWriter(path, fps)
        self._pictures: dict[int, np.ndarray] = {}
        self._edges = _mesh_edges()
        self._features = _feature_edges()

    def picture(self, rgb: np.ndarray, t: float, seq: int) -> None:
        self._pictures[seq] = rgb  # at most one per tracker in flight: the sink takes them in order

    def add(self, frame: Frame) -> None:
        rgb = self._pictures.pop(frame.seq, None)
        if rgb is None:
            return
        self.video.add(draw_overlay(rgb, frame, edges=self._edges, features=self._features))

    @property
    def count(self) -> int:
        return self.video.count

    def close(self) -> Path | None:
        self._pictures.clear()
        return self.video.close()
