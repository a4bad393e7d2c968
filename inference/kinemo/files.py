"""Atomic file writes: a file appears complete or not at all, so nothing half-written is ever left."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from kinemo.errors import KinemoError


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, what: str = "") -> Iterator[IO]:
    """Write to a temporary file beside ``path``, then rename it into place.

    Any OSError becomes one clear ``KinemoError`` ("cannot write <what><path>: …"); the
    temporary file is removed whatever happens.
    """
    p = Path(path)
    tmp = ""
    try:  # creating the temporary file is inside: a read-only folder is the commonest failure
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=p.suffix, dir=p.parent if str(p.parent) else ".")
        with os.fdopen(fd, mode, **({} if "b" in mode else {"newline": ""})) as f:
            yield f
        os.replace(tmp, p)
    except OSError as e:
        raise KinemoError(f"cannot write {what}{p}: {e.strerror or e}") from None
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
