"""Hysteresis: probabilities in, events out — no flicker, right times, clean endings."""

from __future__ import annotations

import numpy as np

from kinemo.body.events import EventDetector, EventOptions
from kinemo.protocol import EVENT_END, EVENT_START

LABELS = ("idle", "wave", "clap")


def probs(label: str, p: float) -> np.ndarray:
    out = np.full(len(LABELS), (1 - p) / (len(LABELS) - 1))
    out[LABELS.index(label)] = p
    return out


def run(frames, fps: float = 20.0, options: EventOptions | None = None):
    det = EventDetector(LABELS, options)
    events = []
    for i, f in enumerate(frames):
        events += det.update(i / fps, f)
    return events, det


def test_single_frame_spikes_make_no_events():
    frames = [probs("idle", 0.9)] * 10
    for i in range(0, 10, 3):
        frames[i] = probs("wave", 0.95)  # one frame in three: flicker
    events, _ = run(frames)
    assert events == []


def test_start_is_backdated_and_end_waits_for_hold_off():
    frames = [probs("idle", 0.9)] * 10 + [probs("wave", 0.9)] * 20 + [probs("idle", 0.9)] * 20
    events, det = run(frames)
    assert [(e.label, e.phase) for e in events] == [("wave", EVENT_START), ("wave", EVENT_END)]
    start, end = events
    assert start.start == start.end == 0.5  # the first frame of the confirming run
    assert abs(start.time - 0.6) < 1e-9  # decided after hold_on = 0.1 s
    assert abs(end.end - 1.5) < 1e-9  # when it dropped, not when that was decided
    assert abs(end.time - 1.8) < 1e-9  # after hold_off = 0.3 s
    assert 0.6 < end.confidence <= 0.9
    assert det.current is None


def test_a_dip_shorter_than_hold_off_keeps_the_event():
    frames = [probs("wave", 0.9)] * 10 + [probs("idle", 0.8)] * 3 + [probs("wave", 0.9)] * 10
    events, det = run(frames)
    assert [e.phase for e in events] == [EVENT_START]
    assert det.current == "wave"


def test_switching_actions_ends_the_first_then_starts_the_second():
    frames = [probs("wave", 0.9)] * 10 + [probs("clap", 0.9)] * 10
    events, _ = run(frames)
    assert [(e.label, e.phase) for e in events] == [("wave", EVENT_START), ("wave", EVENT_END),
                                                     ("clap", EVENT_START)]
    assert events[1].end == events[2].start == 0.5


def test_person_leaving_ends_the_event_at_once():
    events, det = run([probs("clap", 0.9)] * 10 + [None] * 5)
    assert [(e.label, e.phase) for e in events] == [("clap", EVENT_START), ("clap", EVENT_END)]
    assert events[1].end == 0.5
    assert run([None] * 5)[0] == []


def test_thresholds_between_on_and_off_do_nothing_new():
    events, _ = run([probs("wave", 0.5)] * 30)  # below `on`: never starts
    assert events == []
    events, det = run([probs("wave", 0.9)] * 5 + [probs("wave", 0.45)] * 30)  # above `off`: keeps going
    assert [e.phase for e in events] == [EVENT_START] and det.current == "wave"
    assert [e.phase for e in det.flush(10.0)] == [EVENT_END]
