"""Record every received frame (not just the ones the UI had time to show) into a take. No ``bpy``.

Rows live in preallocated numpy chunks (float64; an hour at 60 fps is ~160 MB), so
recording costs one row copy per frame. Times are the sender's media times; when a sender
restarts (its clock jumps back) the take continues after the last row instead of
going backwards.

The expression label is kept per frame as an index into the recorder's own label set
(:attr:`Recorder.labels`): the built-in :data:`~protocol.EMOTIONS` first, then every name of
the performer's own in the order the stream first named it, with one score column per label
(up to :data:`MAX_LABELS`). A frame that carries ``/kinemo/face/expression/labels`` is stored
from it (custom names and all), else from the v1 message, so a take bakes the same reactions
that played live.

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
#: Score columns per row: the 7 built-in labels and up to 17 of the performer's own (a profile rarely
#: teaches more than a handful; names past this are not recorded, their frames have no label).
MAX_LABELS = 24
_H = len(HEAD_FIELDS)
_E = len(EYE_FIELDS)
_X = 1 + MAX_LABELS  # expression: label index into Recorder.labels (−1: none), then a score per label
_W = 1 + 1 + NUM_BLENDSHAPES + _H + _E + _X  # time, present, blendshapes, head, eyes, expression
_XB = 2 + NUM_BLENDSHAPES + _H + _E  # where the expression starts in a row
#: What a row is; a journal written with another layout is refused rather than misread.
LAYOUT = {"width": _W, "blendshapes": NUM_BLENDSHAPES, "head": list(HEAD_FIELDS), "eyes": list(EYE_FIELDS),
          "emotions": list(EMOTIONS), "label_columns": MAX_LABELS}
#: The layout before the performer's own labels (7 score columns, EMOTIONS indices). Its rows are this
#: layout's first columns, so old journals are read by padding them (:func:`widen`).
LEGACY_LAYOUT = {"width": _XB + 1 + len(EMOTIONS), "blendshapes": NUM_BLENDSHAPES, "head": list(HEAD_FIELDS),
                 "eyes": list(EYE_FIELDS), "emotions": list(EMOTIONS)}


def widen(rows: np.ndarray) -> np.ndarray:
    """Rows of :data:`LEGACY_LAYOUT` (or this one) → this layout: the extra score columns are 0."""
    rows = np.asarray(rows, np.float64)
    if rows.shape[1] == _W:
        return rows
    out = np.zeros((len(rows), _W))
    out[:, :rows.shape[1]] = rows
    return out


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
        #: What the label index and score columns are of: the built-ins, then the performer's own names.
        self.labels: list[str] = list(EMOTIONS)
        self._label_index = {e: i for i, e in enumerate(EMOTIONS)}
        self._labels_dirty = False  # a name was added since the last drain()

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
            row[_XB], row[_XB + 1:] = -1.0, 0.0
            if sample.present:
                self._put_expression(row, sample)
            self._last_seq = sample.seq

    def _put_expression(self, row: np.ndarray, sample: FaceSample) -> None:
        """The frame's label and scores: over every label when the frame names the performer's own (so
        a custom label is baked), else the v1 built-in view. Called under the lock."""
        labels = sample.expression_labels
        if labels and len(labels) >= 3:
            label = str(labels[0])
            pairs = [(str(labels[k]), labels[k + 1]) for k in range(1, len(labels) - 1, 2)]
            if label in (name for name, _ in pairs):
                for name, score in pairs:
                    j = self._column(name)
                    if j >= 0:
                        row[_XB + 1 + j] = float(score)
                row[_XB] = self._label_index.get(label, -1)
                return
        x = sample.expression
        if x is not None and len(x) == 1 + len(EMOTIONS):
            row[_XB] = EMOTIONS.index(str(x[0])) if str(x[0]) in EMOTIONS else -1
            row[_XB + 1:_XB + 1 + len(EMOTIONS)] = x[1:]

    def _column(self, name: str) -> int:
        """The score column of ``name``, added to :attr:`labels` when new; −1 once MAX_LABELS are taken."""
        j = self._label_index.get(name)
        if j is None:
            if len(self.labels) >= MAX_LABELS:
                return -1
            j = self._label_index[name] = len(self.labels)
            self.labels.append(name)
            self._labels_dirty = True
        return j

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

    def drain(self) -> tuple[int, np.ndarray, list[tuple[int, tuple[str, float, float, float]]], list[str] | None]:
        """(first row, rows from there on, [(index, event)], the label set if it grew) changed since the
        last drain, copied. The labels come with the rows that first use them, so a journal that keeps
        those rows keeps their names too."""
        with self._lock:
            start = self._dirty
            rows = self._slice(start, self._rows)
            self._dirty = self._rows
            events = [(i, self.events[i]) for i in sorted(self._dirty_events)]
            self._dirty_events.clear()
            labels = list(self.labels) if self._labels_dirty else None
            self._labels_dirty = False
        return start, rows, events, labels

    @classmethod
    def restore(cls, name: str, rows: np.ndarray, events: list[tuple[str, float, float, float]],
                labels: list[str] | tuple[str, ...] = EMOTIONS) -> Recorder:
        """A recorder holding ``rows`` (this module's layout) and ``events``, as if it had recorded them;
        ``labels``: what the rows' label indices and score columns are of."""
        rec = cls(name)
        rec.labels = list(labels)[:MAX_LABELS]
        rec._label_index = {e: i for i, e in enumerate(rec.labels)}
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
        """The recording as arrays; ``emotion`` indexes ``labels``, ``emotion_scores`` is (T, len(labels))."""
        with self._lock:
            data = self._slice(0, self._rows)
            events = list(self.events)
            labels = tuple(self.labels)
        b = 2 + NUM_BLENDSHAPES
        e = _XB
        emotion = data[:, e].astype(int)
        emotion[(emotion < 0) | (emotion >= len(labels))] = -1  # a torn journal may name a label it lost
        return {"time": data[:, 0], "present": data[:, 1] > 0.5, "blendshapes": data[:, 2:b],
                "head": data[:, b:b + _H], "eyes": data[:, b + _H:e], "emotion": emotion,
                "emotion_scores": np.clip(data[:, e + 1:e + 1 + len(labels)], 0.0, 1.0), "events": events,
                "labels": labels}

    def take(self) -> Take | None:
        """The take Stop and Bake bakes (times from its first frame); None if nothing was recorded."""
        cols = self.columns()
        if len(cols["time"]) == 0:
            return None
        t0 = cols["time"][0]
        return Take(self.name, cols["time"] - t0, cols["blendshapes"], cols["present"], 0.0, cols["head"], cols["eyes"],
                    [(lb, s - t0, e - t0, c) for lb, s, e, c in cols["events"]],
                    emotion=cols["emotion"] if (cols["emotion"] >= 0).any() else None,
                    emotion_scores=cols["emotion_scores"], labels=cols["labels"])
