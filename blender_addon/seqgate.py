"""Sequence-number policy: never let an older frame replace a newer one. No ``bpy``.

UDP may reorder and duplicate datagrams. ``seq`` wraps at 2**31 (the protocol masks
it), so "newer" is serial-number arithmetic. A sender that restarts begins again at
0; that is told apart from reordering by a jump back of more than ``window`` frames,
a silence longer than ``restart_after`` seconds, or a different sender address.
"""

from __future__ import annotations

SEQ_MOD = 1 << 31
HALF = 1 << 30

NEWER, SAME, STALE, RESTART = "newer", "same", "stale", "restart"


def seq_delta(seq: int, current: int) -> int:
    """How far ``seq`` is ahead of ``current`` (negative: behind), modulo 2**31."""
    d = (seq - current) % SEQ_MOD
    return d - SEQ_MOD if d >= HALF else d


class SeqGate:
    def __init__(self, window: int = 120, restart_after: float = 0.5) -> None:
        self.window, self.restart_after = window, restart_after
        self.current: int | None = None
        self.sender: object = None
        self.last_time: float = 0.0

    def classify(self, seq: int, now: float, sender: object = None) -> str:
        """NEWER/SAME/STALE/RESTART for a message carrying ``seq``; does not change state."""
        if self.current is None:
            return NEWER
        if sender is not None and self.sender is not None and sender != self.sender:
            return RESTART
        if now - self.last_time > self.restart_after:
            return RESTART if seq_delta(seq, self.current) <= 0 else NEWER
        d = seq_delta(seq, self.current)
        if d > 0:
            return NEWER
        if d == 0:
            return SAME
        return RESTART if -d > self.window else STALE

    def accept(self, seq: int, now: float, sender: object = None) -> None:
        self.current, self.last_time = seq, now
        if sender is not None:
            self.sender = sender
