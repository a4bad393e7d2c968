"""Keep native libraries' log lines (ffmpeg, OpenCV, MediaPipe) off the user's terminal."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence fd 2 for the block; if it raises, replay what was hidden so nothing is lost."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with tempfile.TemporaryFile() as buf:
        os.dup2(buf.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            buf.seek(0)
            if os.environ.get("KINEMO_DEBUG"):
                os.write(2, buf.read()[-4000:])
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
