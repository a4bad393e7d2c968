"""Keep native libraries' log lines (ffmpeg, OpenCV, MediaPipe) off the user's terminal.

Native code writes to file descriptor 2 directly, so the only way to hide it is to
point fd 2 elsewhere for a while. That is process-wide: two threads silencing at once
must share one redirection (else the second saves the first's temp file as "the
terminal" and fd 2 never comes back), and Python's own messages must not travel on fd 2
at all (else a warning printed on the main thread while the video reader silences a
decode is lost). :func:`own_stderr` gives ``sys.stderr`` its own copy of the terminal.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_saved: int | None = None  # the real fd 2 while silenced
_buf = None  # where native writes go while silenced


def own_stderr() -> None:
    """Point ``sys.stderr`` at a duplicate of fd 2, so silencing fd 2 never hides Python's messages.

    Both descriptors share one open file, so the order of lines on the terminal is kept.
    Call once, early, from a program's entry point (the ``kinemo`` command does).
    """
    try:
        if sys.stderr is None or sys.stderr.fileno() != 2:
            return
        fd = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real fd 2 (embedded, captured): nothing to protect
        return
    sys.stderr.flush()
    sys.stderr = open(fd, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",  # noqa: SIM115 - lives as long as the process
                      errors="backslashreplace", closefd=True)


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence fd 2 for the block (nested and concurrent blocks share one silence).

    With ``KINEMO_DEBUG`` set, what was hidden is replayed if the block raises.
    """
    global _depth, _saved, _buf
    with _lock:
        if _depth == 0:
            try:
                saved = os.dup(2)
            except OSError:
                saved = None
            if saved is not None:
                buf = tempfile.TemporaryFile()  # noqa: SIM115 - closed when the last block leaves
                os.dup2(buf.fileno(), 2)
                _saved, _buf = saved, buf
        if _saved is not None:
            _depth += 1
        active = _saved is not None
    if not active:
        yield
        return
    try:
        yield
    except BaseException:
        if os.environ.get("KINEMO_DEBUG"):
            with _lock:
                if _buf is not None and _saved is not None:
                    _buf.seek(0)
                    os.write(_saved, _buf.read()[-4000:])
                    _buf.seek(0, os.SEEK_END)
        raise
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                os.dup2(_saved, 2)
                os.close(_saved)
                _buf.close()
                _saved, _buf = None, None
