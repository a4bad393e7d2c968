"""Record every received frame (not just the ones the UI had time to show) into a take. No ``bpy``.

Rows live in preallocated numpy chunks (an hour at 60 fps is ~55 MB), so recording
costs one row copy per frame. Times are the sender's media times; when a sender
restarts (its clock jumps back) the take continues after the last row instead of
going backwards.
"""

from __future__ import annotations

import threading

import numpy as np

from .protocol import EMOTIONS, EYE_FIELDS, HEAD_FIELDS, NUM_BLENDSHAPES, FaceSample

CHUNK = 4096
_H = len(HEAD_FIELDS)
_E = len(EYE_FIELDS)
_X = 1 + len(EMOTIONS)  # expression: label index (−1: none), then the scores
_W = 1 + 1 + NUM_BLENDSHAPES + _H + _E + _X  # time, present, blendshapes, head, eyes, expression
_LABEL_INDEX = {e: i for i, e in enumerate(EMOTIONS)}


class Recorder:
    def __init__(self, name: str = "take") -> None:
        self.name = name
        self._chunks: list[np.ndarray] = [np.empty((CHUNK, _W), np.float64)]
        self._n = 0  # rows in the last chunk
        self._rows = 0
        self._last_seq: int | None = None
        self._offset = 0.0  # added to media time after a sender restart
        self._last_time = -np.inf
        self.events: list[tuple[str, float, float, float]] = []  # (label, start, end, confidence)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._rows

    def put(self, sample: FaceSample) -> None:
        """Add the frame, or update the last row if it is the same frame (unbundled messages)."""
        with self._lock:
            same = sample.seq == self._last_seq and self._rows > 0
            if not same:
                t = sample.time + self._offset
                if t <= self._last_time:  # sender restarted: continue after the last row
                    self._offset += self._last_time - sample.time + 1e-3
                    t = sample.time + self._offset
                if self._n == CHUNK:
                    self._chunks.append(np.empty((CHUNK, _W), np.float64))
                    self._n = 0
                self._n += 1
                self._rows += 1
                self._last_time = t
            else:
                t = self._last_time
            row = self._chunks[-1][self._n - 1]
            row[0], row[1] = t, 1.0 if sample.present else 0.0
            row[2:2 + NUM_BLENDSHAPES] = sample.blendshapes
            head = sample.head[:_H]
            row[2 + NUM_BLENDSHAPES:2 + NUM_BLENDSHAPES + len(head)] = head
            b = 2 + NUM_BLENDSHAPES + _H
            row[b:b + _E] = sample.eyes[:_E]
            x = sample.expression
            if x is not None and len(x) == _X and sample.present:
                row[b + _E] = _LABEL_INDEX.get(str(x[0]), -1)
                row[b + _E + 1:] = x[1:]
            else:
                row[b + _E], row[b + _E + 1:] = -1.0, 0.0
            self._last_seq = sample.seq

    def add_event(self, label: str, start: float, end: float, confidence: float) -> None:
        """An action event (media times); a later event for the same start updates it."""
        with self._lock:
            start, end = start + self._offset, end + self._offset
            for i, (lb, st, _, _) in enumerate(self.events):
                if lb == label and abs(st - start) < 1e-6:
                    self.events[i] = (label, start, max(end, start), confidence)
                    return
            self.events.append((label, start, max(end, start), confidence))

    def columns(self) -> dict[str, np.ndarray]:
        with self._lock:
            data = np.concatenate([*self._chunks[:-1], self._chunks[-1][: self._n]]) if self._rows else \
                np.empty((0, _W))
            events = list(self.events)
        b = 2 + NUM_BLENDSHAPES
        e = b + _H + _E
        return {"time": data[:, 0], "present": data[:, 1] > 0.5, "blendshapes": data[:, 2:b],
                "head": data[:, b:b + _H], "eyes": data[:, b + _H:e], "emotion": data[:, e].astype(int),
                "emotion_scores": np.clip(data[:, e + 1:], 0.0, 1.0), "events": events}
