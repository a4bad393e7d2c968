"""Action events (``/kinemo/body/event``) → action weights live, NLA strip placements baked. No ``bpy``.

Live, each mapped label has its own NLA track; an event's start fades the action in
over the blend time and its end fades it out, while the action plays (looping) from
the moment it was recognised. Baked, each event becomes a strip at its media time,
as long as the event (the action repeats to fill it), with blend in/out; events of
one label that overlap go on further tracks, because strips on a track cannot overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .protocol import EVENT_END, EVENT_START


@dataclass
class LiveAction:
    active: bool
    started: float  # wall clock when it was recognised
    weight: float = 0.0


class ActionBlender:
    def __init__(self, blend_time: float = 0.25) -> None:
        self.blend_time = blend_time
        self.actions: dict[str, LiveAction] = {}
        self._t: float | None = None

    def event(self, label: str, phase: str, now: float) -> None:
        cur = self.actions.get(label)
        if phase == EVENT_START:
            if cur is None or (not cur.active and cur.weight <= 0.0):
                self.actions[label] = LiveAction(True, now)
            else:
                cur.active = True
        elif phase == EVENT_END and cur is not None:
            cur.active = False

    def step(self, now: float) -> dict[str, tuple[float, float]]:
        """{label: (weight 0–1, seconds since it started)}; finished actions report weight 0 once."""
        dt = 0.0 if self._t is None else max(0.0, now - self._t)
        self._t = now
        rate = math.inf if self.blend_time <= 0 else dt / self.blend_time
        out = {}
        for label, a in list(self.actions.items()):
            a.weight = min(1.0, a.weight + rate) if a.active else max(0.0, a.weight - rate)
            out[label] = (a.weight, now - a.started)
            if not a.active and a.weight <= 0.0:
                del self.actions[label]
        return out


@dataclass(frozen=True)
class StripPlan:
    label: str
    track: int  # 0 for the label's first track, 1… for overlapping events
    frame_start: float
    frame_end: float
    blend: float  # frames of fade in and out


def plan_strips(events: list[tuple[str, float, float, float]], *, fps: float, frame_start: float,
                lengths: dict[str, float], blend_time: float = 0.25) -> list[StripPlan]:
    """Strips for (label, start s, end s, confidence) events of labels with an action (length in frames)."""
    out: list[StripPlan] = []
    track_ends: dict[str, list[float]] = {}
    for label, start, end, _conf in sorted(events, key=lambda e: (e[1], e[0])):
        if label not in lengths:
            continue
        f0 = frame_start + start * fps
        f1 = max(frame_start + end * fps, f0 + max(1.0, lengths[label]))  # an unfinished event plays once
        ends = track_ends.setdefault(label, [])
        track = next((i for i, e in enumerate(ends) if e <= f0), len(ends))
        if track == len(ends):
            ends.append(f1)
        else:
            ends[track] = f1
        blend = min(blend_time * fps, (f1 - f0) / 2)
        out.append(StripPlan(label, track, f0, f1, blend))
    return out
