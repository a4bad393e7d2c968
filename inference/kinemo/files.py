"""Atomic file writes: a file appears complete or not at all, so nothing half-written is ever left.

The file gets the user's normal permissions (mode 0666 less the umask, as ``open`` would give),
so a colleague or a render-farm account can read a take; a temporary file from ``mkstemp``
would be 0600.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from kinemo.errors import KinemoError


def create_temporary(p: Path) -> tuple[int, str]:
    """A new file beside ``p`` with a random name, created with 0666 so that the umask applies."""
    folder = p.parent if str(p.parent) else Path(".")
    for _ in range(100):
        name = str(folder / f".{p.name}.{secrets.token_hex(4)}{p.suffix}")
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {p}")


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, what: str = "") -> Iterator[IO]:
    """Write to a temporary file beside ``path``, then rename it into place.

    Any OSError becomes one clear ``KinemoError`` ("cannot write <what><path>: …"); the
    temporary file is removed whatever happens.
    """
    p = Path(path)
    tmp = ""
    try:  # creating the temporary file is inside: a read-only folder is the commonest failure
        fd, tmp = create_temporary(p)
        with os.fdopen(fd, mode, **({} if "b" in mode else {"newline": ""})) as f:
            yield f
        os.replace(tmp, p)
    except OSError as e:
        raise KinemoError(f"cannot write {what}{p}: {e.strerror or e}") from None
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
