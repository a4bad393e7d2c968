"""Hysteresis: per-frame class probabilities → action events that do not flicker.

Background labels (``idle``, and ``other`` — motion that is none of the actions) never
become events. An action starts once its probability has stayed at or above its
on-threshold (``on``, or the label's own in ``on_for``), and on top, for ``hold_on`` seconds
(or the label's own in ``hold_on_for``); it ends once it has stayed below ``off`` for
``hold_off`` seconds, when another action starts, or when the person leaves. The gap between
the on- and off-thresholds and the hold times are what stop a label from flickering on noisy
frames. The start time is backdated to the first frame of the run that confirmed it.

Optional, off by default (tried on UTKinect, no gain; docs/actions.md): ``smooth`` low-passes
the probabilities (causal one-pole, time constant in seconds, so uneven frame times are
handled) before all of the above, and ``margin`` also asks the top label to lead the
runner-up by that much before it can start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from kinemo.body.detectors import ACTIONS as BUILTIN_ACTIONS
from kinemo.protocol import EVENT_END, EVENT_START


@dataclass
class ActionEvent:
    label: str
    phase: str  # EVENT_START or EVENT_END
    confidence: float  # mean probability over the event so far
    start: float  # media time, seconds
    end: float  # = start while ongoing
    time: float  # media time at which the event was decided


@dataclass
class EventOptions:
    # on, on_for and hold_on: chosen leave-one-subject-out on UTKinect
    # (scripts/actions/actions_eval.py, docs/actions.md);
    # v1: on 0.6 for every label; v2: 0.7 for every label; v2.1 (same network): clap's own 0.4;
    # v2.2 (the wave gate of kinemo.body.swings in the classifier): wave's own 0.6
    on: float = 0.7
    off: float = 0.35
    hold_on: float = 0.1
    hold_off: float = 0.3
    background: str | tuple[str, ...] = ("idle", "other")  # labels that never become events
    # per-label `on`: the kinematic detectors score 0.5 exactly at their thresholds (kinemo.body.detectors)
    on_for: dict[str, float] = field(default_factory=lambda: dict.fromkeys(BUILTIN_ACTIONS, 0.5))
    hold_on_for: dict[str, float] = field(default_factory=dict)  # per-label `hold_on`
    smooth: float = 0.0  # s: time constant of a causal one-pole low-pass on the probabilities (0 = off)
    margin: float = 0.0  # to start, the top label must also lead the runner-up by this much


def _quiet(background: str | tuple[str, ...]) -> frozenset[str]:
    return frozenset((background,) if isinstance(background, str) else background)


class EventDetector:
    def __init__(self, labels: tuple[str, ...], options: EventOptions | None = None) -> None:
        self.labels = labels
        self.options = options or EventOptions()
        self.current: str | None = None
        self._start = 0.0
        self._sum = 0.0
        self._n = 0
        self._cand: str | None = None
        self._cand_since = 0.0
        self._cand_probs: list[float] = []
        self._low_since: float | None = None
        self._quiet = _quiet(self.options.background)
        self._smoothed: np.ndarray | None = None
        self._last_time = 0.0

    def _smooth(self, time: float, probs: np.ndarray) -> np.ndarray:
        tau = self.options.smooth
        if tau <= 0:
            return probs
        if self._smoothed is None:
            self._smoothed = np.asarray(probs, np.float64).copy()
        else:
            a = 1.0 - math.exp(-max(time - self._last_time, 0.0) / tau)
            self._smoothed += a * (probs - self._smoothed)
        self._last_time = time
        return self._smoothed

    def update(self, time: float, probs: np.ndarray | None) -> list[ActionEvent]:
        """Feed one frame (``probs`` None: nobody in view); returns the events it decided."""
        o = self.options
        if probs is None:
            self._cand, self._smoothed = None, None
            return [self._end(time, time)] if self.current else []
        probs = self._smooth(time, probs)
        events: list[ActionEvent] = []
        top = int(np.argmax(probs))
        label, p = self.labels[top], float(probs[top])
        lead = p - float(np.partition(probs, -2)[-2]) if o.margin > 0 and len(probs) > 1 else 1.0
        started = False
        if (label not in self._quiet and p >= o.on_for.get(label, o.on) and lead >= o.margin
                and label != self.current):
            if self._cand != label:
                self._cand, self._cand_since, self._cand_probs = label, time, []
            self._cand_probs.append(p)
            if time - self._cand_since >= o.hold_on_for.get(label, o.hold_on) - 1e-9:
                if self.current:
                    events.append(self._end(self._cand_since, time))
                self.current, self._start, self._low_since = label, self._cand_since, None
                self._sum, self._n = float(sum(self._cand_probs)), len(self._cand_probs)
                events.append(ActionEvent(label, EVENT_START, self._sum / self._n, self._start, self._start, time))
                self._cand, started = None, True
        else:
            self._cand = None
        if self.current and not started:
            pc = float(probs[self.labels.index(self.current)])
            self._sum += pc
            self._n += 1
            if pc >= o.off:
                self._low_since = None
            else:
                self._low_since = time if self._low_since is None else self._low_since
                if time - self._low_since >= o.hold_off - 1e-9:
                    events.append(self._end(self._low_since, time))
        return events

    def _end(self, end: float, now: float) -> ActionEvent:
        label, self.current = self.current or "", None
        conf = self._sum / max(self._n, 1)
        return ActionEvent(label, EVENT_END, conf, self._start, max(end, self._start), now)

    def flush(self, time: float) -> list[ActionEvent]:
        """End whatever is running (end of the source).

        An action that was on top and over its threshold on the last frames but had not yet
        held for ``hold_on`` still counts: the source ended, not the action (a clip that is
        one squat from edge to edge).
        """
        events: list[ActionEvent] = []
        if self._cand is not None and self._cand_probs:
            if self.current:
                events.append(self._end(self._cand_since, time))
            conf = float(sum(self._cand_probs)) / len(self._cand_probs)
            self.current, self._start = self._cand, self._cand_since
            self._sum, self._n, self._cand = conf * len(self._cand_probs), len(self._cand_probs), None
            events.append(ActionEvent(self.current, EVENT_START, conf, self._start, self._start, time))
        if self.current:
            events.append(self._end(time, time))
        return events
