"""Stop signals: SIGTERM (``kill``, a service manager) and SIGHUP (a closed terminal) end a run as Ctrl-C does.

Each raises :class:`StopSignal`, a ``KeyboardInterrupt``, in the main thread, so every command's
Ctrl-C path (finish the take, write the file, close the streams) runs unchanged. A second stop
signal while that finishing work runs is ignored: a launcher that sends SIGTERM twice must not
cut the take file short. The exit status is the shell's for the signal (128 + its number).
"""

from __future__ import annotations

import signal

SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None)


class StopSignal(KeyboardInterrupt):
    """A stop signal arrived; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop(signum: int, _frame) -> None:
    for s in SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    raise StopSignal(signum)


def install() -> None:
    """Turn SIGTERM and SIGHUP into :class:`StopSignal` (main thread only, as Python requires)."""
    for s in SIGNALS:
        signal.signal(s, _stop)


def exit_status(interrupt: BaseException | None, *, stopped_normally: bool = False) -> int:
    """0 for a run that ended by itself; 128 + N for stop signal N; Ctrl-C 130, or 0 where it is the
    normal way to stop (a camera, a live stream)."""
    if interrupt is None:
        return 0
    if isinstance(interrupt, StopSignal):
        return 128 + interrupt.signum
    return 0 if stopped_normally else 130
