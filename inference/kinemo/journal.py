"""Take journal: every frame appended to disk while it is recorded, so no ending loses the take.

A take lives in this journal (``OUT.journal`` beside the output) while it records; the
finished take file is written from it at the end and the journal removed. A capture killed
hard (SIGKILL, a crash, the out-of-memory killer) leaves the journal behind, and
``kinemo recover OUT`` rebuilds ``OUT`` from it. The writer flushes at least once a second,
so at most the last second is lost.

Layout: a magic line, one line of JSON (the take's metadata), then records. A record is its
payload length and CRC-32 (``<II``), then the payload: the frame's numbers in a fixed order
(:func:`_encode`). A kill can tear the last record; reading stops at the first record that is
short or fails its CRC, so a torn tail costs that one frame and nothing before it. Only
numbers and JSON are read back: nothing in a journal is ever evaluated.
"""

from __future__ import annotations

import json
import os
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kinemo import protocol
from kinemo.errors import KinemoError
from kinemo.frame import NUM_LANDMARKS, Frame

MAGIC = b"KINEMO-TAKE-JOURNAL 1\n"
SUFFIX = ".journal"
FLUSH_SECONDS = 1.0
_RECORD = struct.Struct("<II")  # payload length, CRC-32 of the payload
#: seq, time, stamp, present, has expression, has landmarks, label length, number of scores, image width, height
_HEAD = struct.Struct("<qddBBBBBHH")
_NB, _NH, _NE = protocol.NUM_BLENDSHAPES, len(protocol.HEAD_FIELDS), len(protocol.EYE_FIELDS)
_NA = len(protocol.ACTION_UNITS)


def journal_path(output: str | os.PathLike) -> Path:
    """Where the journal of a take written to ``output`` lives: beside it, ``NAME.journal``."""
    p = Path(output)
    return p.with_name(p.name + SUFFIX)


@dataclass
class JournalExpression:
    """A recorded expression label, as :class:`kinemo.face.expression.Expression` has it."""

    label: str
    scores: np.ndarray
    action_units: np.ndarray
    labels: tuple[str, ...] = protocol.EMOTIONS


def _encode(frame: Frame) -> bytes:
    expr = frame.expression
    lm = frame.landmarks
    # A label set other than the built-ins (taught expressions) travels as one "\n"-joined string.
    label = b""
    n_scores = 0
    if expr is not None:
        names = "\n".join(expr.labels) if expr.labels != protocol.EMOTIONS else ""
        label = (expr.label + ("\t" + names if names else "")).encode("utf-8")
        n_scores = len(expr.scores)
        if len(label) > 255 * 255 or n_scores > 255:
            raise ValueError("too many expression labels to journal")
    w, h = frame.image_size or (0, 0)
    parts = [_HEAD.pack(int(frame.seq), float(frame.time), float(frame.stamp), bool(frame.present),
                        expr is not None, lm is not None, 0, n_scores, int(w), int(h)),
             struct.pack("<H", len(label)),
             np.asarray(frame.blendshapes, "<f4").tobytes(), np.asarray(frame.head, "<f4").tobytes(),
             np.asarray(frame.eyes, "<f4").tobytes()]
    if expr is not None:
        parts += [label, np.asarray(expr.scores, "<f4").tobytes(), np.asarray(expr.action_units, "<f4").tobytes()]
    if lm is not None:
        parts.append(np.asarray(lm, "<f4").tobytes())
    return b"".join(parts)


def _decode(payload: bytes) -> Frame:
    seq, t, stamp, present, has_expr, has_lm, _unused, n_scores, width, height = _HEAD.unpack_from(payload)
    (nlabel,) = struct.unpack_from("<H", payload, _HEAD.size)
    at = _HEAD.size + 2

    def take(n: int) -> np.ndarray:
        nonlocal at
        out = np.frombuffer(payload, "<f4", n, at).astype(np.float32)
        at += 4 * n
        return out

    frame = Frame(seq=seq, time=t, stamp=stamp, present=bool(present), blendshapes=take(_NB), head=take(_NH),
                  eyes=take(_NE), image_size=(width, height) if width and height else None)
    if has_expr:
        label, _, names = payload[at:at + nlabel].decode("utf-8", "replace").partition("\t")
        at += nlabel
        labels = tuple(names.split("\n")) if names else protocol.EMOTIONS
        frame.expression = JournalExpression(label, take(n_scores), take(_NA), labels)  # type: ignore[assignment]
    if has_lm:
        frame.landmarks = take(NUM_LANDMARKS * 3).reshape(NUM_LANDMARKS, 3)
    if at != len(payload):
        raise ValueError("record length does not match its contents")
    return frame


class JournalWriter:
    """Appends frames to a journal, flushed to the operating system at least once a second.

    Memory stays constant however long the take: frames go to disk, not into a list.
    """

    def __init__(self, path: str | os.PathLike, meta: dict) -> None:
        self.path = Path(path)
        try:  # the umask decides the mode, as for any file the user creates
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            raise KinemoError(f"{self.path} holds a take that was not recovered: run 'kinemo recover "
                              f"{self.path.name[:-len(SUFFIX)]}' or delete it") from None
        except OSError as e:
            raise KinemoError(f"cannot write {self.path}: {e.strerror or e}") from None
        self._f = os.fdopen(fd, "wb")
        self._f.write(MAGIC + json.dumps(meta, separators=(",", ":")).encode() + b"\n")
        self._f.flush()
        self._flushed = time.monotonic()
        self.count = 0

    def add(self, frame: Frame) -> None:
        payload = _encode(frame)
        self._f.write(_RECORD.pack(len(payload), zlib.crc32(payload)) + payload)  # one write: never half a header
        self.count += 1
        now = time.monotonic()
        if now - self._flushed >= FLUSH_SECONDS:
            self._f.flush()
            self._flushed = now

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def read_journal(path: str | os.PathLike) -> tuple[dict, list[Frame], bool]:
    """(metadata, frames, torn): every complete record; ``torn`` if a damaged tail was skipped."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise KinemoError(f"cannot read {p}: {e.strerror or e}") from None
    if not data.startswith(MAGIC):
        raise KinemoError(f"{p} is not a Kinemo take journal")
    end = data.find(b"\n", len(MAGIC))
    try:
        meta = json.loads(data[len(MAGIC):end])
        if end < 0 or not isinstance(meta, dict):
            raise ValueError("no metadata line")
    except ValueError as e:
        raise KinemoError(f"{p}: damaged journal header ({e})") from None
    frames: list[Frame] = []
    at, torn = end + 1, False
    while at < len(data):
        if at + _RECORD.size > len(data):
            torn = True
            break
        n, crc = _RECORD.unpack_from(data, at)
        payload = data[at + _RECORD.size:at + _RECORD.size + n]
        if len(payload) < n or zlib.crc32(payload) != crc:
            torn = True
            break
        try:
            frames.append(_decode(payload))
        except (ValueError, struct.error):
            torn = True
            break
        at += _RECORD.size + n
    return meta, frames, torn
