"""Record every received frame (not just the ones the UI had time to show) into a take. No ``bpy``.

Rows live in preallocated numpy chunks (an hour at 60 fps is ~55 MB), so recording
costs one row copy per frame. Times are the sender's media times; when a sender
restarts (its clock jumps back) the take continues after the last row instead of
going backwards.

For the crash journal (:mod:`take_journal`) the recorder remembers which rows and
events changed since the last :meth:`Recorder.drain`; draining copies just those, under
the lock, so the journal's writer thread never holds up the receiver for long.
"""

from __future__ import annotations

import threading

import numpy as np

from .protocol import EMOTIONS, EYE_FIELDS, HEAD_FIELDS, NUM_BLENDSHAPES, FaceSample
from .takes_io import Take

CHUNK = 4096
_H = len(HEAD_FIELDS)
_E = len(EYE_FIELDS)
_X = 1 + len(EMOTIONS)  # expression: label index (−1: none), then the scores
_W = 1 + 1 + NUM_BLENDSHAPES + _H + _E + _X  # time, present, blendshapes, head, eyes, expression
_LABEL_INDEX = {e: i for i, e in enumerate(EMOTIONS)}
#: What a row is; a journal written with another layout is refused rather than misread.
LAYOUT = {"width": _W, "blendshapes": NUM_BLENDSHAPES, "head": list(HEAD_FIELDS), "eyes": list(EYE_FIELDS),
          "emotions": list(EMOTIONS)}


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
        self._dirty = 0  # first row changed since the last drain()
        self._dirty_events: set[int] = set()
        self.journal = None  # the take_journal.JournalWriter appending this take to disk, if any

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
                self._dirty = min(self._dirty, self._rows - 1)  # the journal must write this row again
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
                    self._dirty_events.add(i)
                    return
            self._dirty_events.add(len(self.events))
            self.events.append((label, start, max(end, start), confidence))

    def _slice(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as one new array (the chunks are full but for the last)."""
        parts = []
        while start < stop:
            c, r = divmod(start, CHUNK)
            n = min(CHUNK - r, stop - start)
            parts.append(self._chunks[c][r:r + n])
            start += n
        return np.concatenate(parts) if parts else np.empty((0, _W))

    def drain(self) -> tuple[int, np.ndarray, list[tuple[int, tuple[str, float, float, float]]]]:
        """(first row, rows from there on, [(index, event)]) changed since the last drain, copied."""
        with self._lock:
            start = self._dirty
            rows = self._slice(start, self._rows)
            self._dirty = self._rows
            events = [(i, self.events[i]) for i in sorted(self._dirty_events)]
            self._dirty_events.clear()
        return start, rows, events

    @classmethod
    def restore(cls, name: str, rows: np.ndarray, events: list[tuple[str, float, float, float]]) -> Recorder:
        """A recorder holding ``rows`` (this module's layout) and ``events``, as if it had recorded them."""
        rec = cls(name)
        rows = np.asarray(rows, np.float64).reshape(-1, _W)
        rec._chunks = [rows[i:i + CHUNK].copy() for i in range(0, len(rows), CHUNK)] or rec._chunks
        rec._rows = len(rows)
        rec._n = len(rec._chunks[-1]) if len(rows) else 0
        if rec._n and rec._n < CHUNK:  # put() may append after a restore: give the last chunk its room
            last = np.empty((CHUNK, _W))
            last[:rec._n] = rec._chunks[-1]
            rec._chunks[-1] = last
        rec._last_time = rows[-1, 0] if len(rows) else -np.inf
        rec._dirty = rec._rows
        rec.events = list(events)
        return rec

    def columns(self) -> dict[str, np.ndarray]:
        with self._lock:
            data = self._slice(0, self._rows)
            events = list(self.events)
        b = 2 + NUM_BLENDSHAPES
        e = b + _H + _E
        return {"time": data[:, 0], "present": data[:, 1] > 0.5, "blendshapes": data[:, 2:b],
                "head": data[:, b:b + _H], "eyes": data[:, b + _H:e], "emotion": data[:, e].astype(int),
                "emotion_scores": np.clip(data[:, e + 1:], 0.0, 1.0), "events": events}

    def take(self) -> Take | None:
        """The take Stop and Bake bakes (times from its first frame); None if nothing was recorded."""
        cols = self.columns()
        if len(cols["time"]) == 0:
            return None
        t0 = cols["time"][0]
        return Take(self.name, cols["time"] - t0, cols["blendshapes"], cols["present"], 0.0, cols["head"], cols["eyes"],
                    [(lb, s - t0, e - t0, c) for lb, s, e, c in cols["events"]],
                    emotion=cols["emotion"] if (cols["emotion"] >= 0).any() else None,
                    emotion_scores=cols["emotion_scores"])
