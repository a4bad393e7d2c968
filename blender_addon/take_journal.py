"""Crash journal of a take being recorded: append-only on disk, read back after a crash. No ``bpy``.

A recording lives in memory (:class:`~.recorder.Recorder`); if Blender dies, it is gone.
So while recording, a writer thread appends the rows that changed to a journal file
every :data:`FLUSH_INTERVAL` seconds. The receiver thread only marks rows dirty in
memory, and the main thread does nothing at all, so the disk never stalls the UI or
the network. A killed process leaves the file with, at worst, a torn last record.

File: ``MAGIC``, then records ``<kind u8><length u32><crc32 u32><payload>``. Kinds:
a JSON header first, rows (``<start u32><count u32>`` + float64 row-major, the
recorder's own layout), events (JSON ``[[index, label, start, end, confidence]]``) and
labels (JSON list: the recorder's label set, built-ins then the performer's own names,
written whenever it grew and before the rows that use it; the last one counts).
A later record for a row or event index replaces the earlier one (a frame sent as
separate messages is completed after it was journaled). Journals written before the
performer's own labels (:data:`~.recorder.LEGACY_LAYOUT`: 7 score columns, no labels
record) are still read: their rows are padded to today's layout. Reading stops at the first
incomplete or corrupt record: what came before it is trusted, nothing after. Nothing
is unpickled or evaluated: JSON, ``struct`` and raw float64 only.

While its writer runs, a journal is locked (``flock``; a byte lock on Windows), so
another Blender (or this one) never offers to recover a take that is still recording.
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .protocol import EMOTIONS
from .recorder import LAYOUT, LEGACY_LAYOUT, MAX_LABELS, Recorder, widen

MAGIC = b"KINEMOJ1"
FORMAT = "kinemo-take-journal"
VERSION = 1
SUFFIX = ".kinemo-journal"
FLUSH_INTERVAL = 0.5  # seconds: a crash loses at most about this much (the issue asks for ≤ 1 s)
HEADER, ROWS, EVENTS, LABELS = 0, 1, 2, 3
_REC = struct.Struct("<BII")  # kind, payload length, crc32 of the payload
_SPAN = struct.Struct("<II")  # first row index, row count
_MAX_RECORD = 1 << 30  # a length beyond this is corruption, not data
_WIDTH = LAYOUT["width"]

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt


class JournalError(ValueError):
    """A journal we cannot use; the message is shown to the user as is."""


def _lock(fd: int, exclusive: bool) -> bool:
    """Non-blocking advisory lock on the whole file; False if another open file holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        else:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return True
    except OSError:
        return False


def _unlock(fd: int) -> None:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    except OSError:
        pass


def encode(kind: int, payload: bytes) -> bytes:
    return _REC.pack(kind, len(payload), zlib.crc32(payload)) + payload


_serial = itertools.count(1)


def journal_name(blend_name: str, when: float | None = None) -> str:
    """``shot.blend.20250101-120000-4242-1.kinemo-journal``: named after its .blend, sorts by time,
    unique per process (pid) and per take (a counter)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if when is None else when))
    return f"{blend_name or 'unsaved'}.{stamp}-{os.getpid()}-{next(_serial)}{SUFFIX}"


class JournalWriter:
    """Appends a recorder's changes to ``path`` from its own thread until closed or detached.

    ``attached()`` says whether the recorder still belongs to the live session: when a
    stop path drops it without telling us (file load, a new Start Live), the writer
    flushes what is left and closes by itself, keeping the file for recovery. Never
    raises after :meth:`open`; a write failure stops journaling and sets :attr:`error`.
    """

    def __init__(self, recorder: Recorder, path: str, header: dict,
                 attached: Callable[[], bool] = lambda: True) -> None:
        self.recorder, self.path, self.header = recorder, path, header
        self.attached = attached
        self.error = ""
        self.rows_written = 0  # rows on disk as of the last flush
        self._fd: int | None = None
        self._size = 0
        self._stop = threading.Event()
        self._io = threading.Lock()  # flush() from close() and from the thread never interleave
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        """Create the file, lock it, write the header, start the thread. Raises OSError."""
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
        try:
            if not _lock(fd, exclusive=True):
                raise OSError(f"{self.path} is locked by another process")
            head = {"format": FORMAT, "version": VERSION, "layout": LAYOUT, "started": time.time(), **self.header}
            self._write(fd, MAGIC + encode(HEADER, json.dumps(head).encode()))
        except BaseException:
            os.close(fd)
            remove(self.path)
            raise
        self._fd = fd
        self._thread = threading.Thread(target=self._run, name="kinemo-journal", daemon=True)
        self._thread.start()
        WRITERS.add(self)

    def _write(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        self._size += len(data)

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL):
            self.flush()
            try:
                attached = self.attached()
            except Exception:  # noqa: BLE001 - a broken check must not kill the journal silently
                attached = False
            if not attached:
                break
        self._finish()

    def flush(self) -> None:
        """Append what changed since the last flush and ``fsync`` it. Never raises."""
        with self._io:
            fd = self._fd
            if fd is None:
                return
            good = self._size
            try:
                start, rows, events, labels = self.recorder.drain()
                data = b""
                if labels is not None:  # before the rows naming them: a torn tail never keeps rows without names
                    data += encode(LABELS, json.dumps(labels).encode())
                if len(rows):
                    payload = _SPAN.pack(start, len(rows)) + np.ascontiguousarray(rows, "<f8").tobytes()
                    data += encode(ROWS, payload)
                if events:
                    data += encode(EVENTS, json.dumps([[i, *ev] for i, ev in events]).encode())
                if data:
                    self._write(fd, data)
                    os.fsync(fd)
                    self.rows_written = start + len(rows)
            except Exception as e:  # noqa: BLE001 - disk full, drive gone: the take stays in memory
                self.error = f"Crash journal stopped: {getattr(e, 'strerror', None) or e}"
                try:
                    os.ftruncate(fd, good)  # no torn record in the middle of the file
                except OSError:
                    pass
                self._close_fd()

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            _unlock(fd)
            try:
                os.close(fd)
            except OSError:
                pass

    def _finish(self) -> None:
        self.flush()
        with self._io:
            self._close_fd()
        WRITERS.discard(self)

    def close(self) -> None:
        """Flush the rest and close; the file stays (the take is still recoverable)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
        self._finish()

    def discard(self) -> None:
        """Close and delete: the take was baked or thrown away on purpose."""
        self.close()
        remove(self.path)


WRITERS: set[JournalWriter] = set()  # running writers, so unregister can close them all


def close_all() -> None:
    for writer in list(WRITERS):
        writer.close()


def remove(path: str) -> None:
    """Delete a journal (gone already is fine)."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


# -- reading --------------------------------------------------------------------
@dataclass
class Journal:
    header: dict
    rows: np.ndarray  # (T, width), the recorder's layout
    events: list[tuple[str, float, float, float]] = field(default_factory=list)
    torn: bool = False  # reading stopped at an incomplete or corrupt record
    labels: list[str] = field(default_factory=lambda: list(EMOTIONS))  # what the rows' label indices are of

    @property
    def name(self) -> str:
        return str(self.header.get("take") or "take")

    def recorder(self) -> Recorder:
        """The recorder a normal stop would have had, to build the take the same way."""
        return Recorder.restore(self.name, self.rows, self.events, self.labels)


def _records(f):
    """(kind, payload) until the end or the first torn/corrupt record; then (None, b"")."""
    while True:
        head = f.read(_REC.size)
        if not head:
            return
        if len(head) < _REC.size:
            yield None, b""
            return
        kind, length, crc = _REC.unpack(head)
        payload = f.read(length) if length <= _MAX_RECORD else b""
        if len(payload) != length or zlib.crc32(payload) != crc:
            yield None, b""
            return
        yield kind, payload


def read_header(path: str) -> dict:
    """The header alone (cheap: for listing journals). Raises JournalError or OSError."""
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise JournalError(f"{os.path.basename(path)} is not a Kinemo journal")
        for kind, payload in _records(f):
            if kind != HEADER:
                break
            return _check_header(path, payload)
    raise JournalError(f"{os.path.basename(path)} has no readable header")


def _check_header(path: str, payload: bytes) -> dict:
    try:
        header = json.loads(payload)
    except ValueError as e:
        raise JournalError(f"{os.path.basename(path)}: bad header ({e})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("version") != VERSION:
        raise JournalError(f"{os.path.basename(path)} is not a version {VERSION} Kinemo journal")
    if header.get("layout") not in (LAYOUT, LEGACY_LAYOUT):
        raise JournalError(f"{os.path.basename(path)} was written by a Kinemo with another frame layout")
    return header


def read_journal(path: str) -> Journal:
    """Everything up to the first torn or corrupt record. Raises JournalError or OSError."""
    blocks: list[tuple[int, np.ndarray]] = []
    events: dict[int, tuple[str, float, float, float]] = {}
    labels = list(EMOTIONS)
    header, torn, count, width = None, False, 0, _WIDTH
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise JournalError(f"{os.path.basename(path)} is not a Kinemo journal")
        for kind, payload in _records(f):
            if kind is None:
                torn = True
                break
            if header is None:
                if kind != HEADER:
                    raise JournalError(f"{os.path.basename(path)} has no readable header")
                header = _check_header(path, payload)
                width = int(header["layout"]["width"])
            elif kind == ROWS:
                block = _rows(payload, count, width)
                if block is None:
                    torn = True
                    break
                start, rows = block
                blocks.append(block)
                count = max(count, start + len(rows))
            elif kind == EVENTS:
                parsed = _events(payload)
                if parsed is None:
                    torn = True
                    break
                events.update(parsed)
            elif kind == LABELS:
                names = _labels(payload)
                if names is None:
                    torn = True
                    break
                labels = names
    if header is None:
        raise JournalError(f"{os.path.basename(path)} has no readable header")
    data = np.empty((count, width), np.float64)
    for start, rows in blocks:
        data[start:start + len(rows)] = rows
    return Journal(header, widen(data), [events[i] for i in sorted(events)], torn, labels)


def _rows(payload: bytes, count: int, width: int = _WIDTH) -> tuple[int, np.ndarray] | None:
    if len(payload) < _SPAN.size:
        return None
    start, n = _SPAN.unpack_from(payload)
    body = memoryview(payload)[_SPAN.size:]
    if start > count or len(body) != n * width * 8:  # rows are journaled without gaps
        return None
    return start, np.frombuffer(body, "<f8").reshape(n, width)  # as the recorder held them: the CRC vouches


def _labels(payload: bytes) -> list[str] | None:
    """A labels record: the built-ins first, then distinct names, at most MAX_LABELS; None if not."""
    try:
        names = json.loads(payload)
    except ValueError:
        return None
    if (not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names)
            or not 0 < len(names) <= MAX_LABELS or names[:len(EMOTIONS)] != list(EMOTIONS)):
        return None
    return names


def _events(payload: bytes) -> dict[int, tuple[str, float, float, float]] | None:
    try:
        items = json.loads(payload)
        out = {}
        for i, label, start, end, conf in items:
            vals = (float(start), float(end), float(conf))
            if not isinstance(i, int) or i < 0 or not isinstance(label, str) or not np.isfinite(vals).all():
                return None
            out[i] = (label, *vals)
        return out
    except (ValueError, TypeError):
        return None


# -- finding ----------------------------------------------------------------------
@dataclass(frozen=True)
class Found:
    """A journal left behind, as the panel lists it."""

    path: str
    take: str
    started: float
    size: int

    @property
    def frames(self) -> int:
        """About how many frames it holds, from the file size (the panel must not read the file)."""
        return self.size // (_WIDTH * 8 + 4)


def is_live(path: str) -> bool:
    """Is a writer (in any process) still appending to ``path``?"""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return False
    try:
        if _lock(fd, exclusive=False):
            _unlock(fd)
            return False
        return True
    finally:
        os.close(fd)


def _same_blend(a: str, b: str) -> bool:
    if not a or not b:
        return a == b
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def find(blend_path: str, user_dir: str) -> list[Found]:
    """Journals left for this .blend (``""``: an unsaved file), newest first; live ones excluded.

    A saved file's journals are beside it (named after it) or, when its folder was not
    writable, in ``user_dir`` with the file's path in the header. An unsaved file's are
    in ``user_dir``. Unreadable files are skipped, never raised."""
    paths = []
    if blend_path:
        folder, name = os.path.split(os.path.abspath(blend_path))
        paths += glob.glob(os.path.join(glob.escape(folder), glob.escape(name) + ".*" + SUFFIX))
    if user_dir:
        paths += glob.glob(os.path.join(glob.escape(user_dir), "*" + SUFFIX))
    out: list[Found] = []
    for path in sorted(set(paths)):
        try:
            header = read_header(path)
            if os.path.dirname(os.path.abspath(path)) == os.path.abspath(user_dir or "") and \
                    not _same_blend(str(header.get("blend", "")), blend_path):
                continue
            if is_live(path):
                continue
            out.append(Found(path, str(header.get("take") or "take"), float(header.get("started", 0.0)),
                             os.path.getsize(path)))
        except (OSError, JournalError, TypeError, ValueError):
            continue
    return sorted(out, key=lambda fd: fd.started, reverse=True)
