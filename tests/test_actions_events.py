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
    events, _ = run([probs("wave", 0.5)] * 30, options=opts())  # below `on`: never starts
    assert events == []
    events, det = run([probs("wave", 0.9)] * 5 + [probs("wave", 0.45)] * 30, options=opts())  # above `off`: keeps going
    assert [e.phase for e in events] == [EVENT_START] and det.current == "wave"
    assert [e.phase for e in det.flush(10.0)] == [EVENT_END]


def vec(**p: float) -> np.ndarray:
    """A probability vector with the given labels' values (the rest shared out evenly)."""
    rest = [lab for lab in LABELS if lab not in p]
    return np.array([p.get(lab, (1 - sum(p.values())) / max(len(rest), 1)) for lab in LABELS])


def opts(**kw) -> EventOptions:
    """The v2 hysteresis (one on-threshold for every label), with changes."""
    return EventOptions(**{"on": 0.7, "hold_on": 0.1, "on_for": {}, **kw})


def test_per_label_on_thresholds_are_honoured():
    frames = [probs("idle", 0.9)] * 5 + [vec(clap=0.5, idle=0.3)] * 10 + [probs("idle", 0.9)] * 10
    assert run(frames, options=opts())[0] == []  # 0.5 < on = 0.7
    events, _ = run(frames, options=opts(on_for={"clap": 0.45}))
    assert [(e.label, e.phase) for e in events] == [("clap", EVENT_START), ("clap", EVENT_END)]
    waves = [probs("idle", 0.9)] * 5 + [vec(wave=0.5, idle=0.3)] * 10
    assert run(waves, options=opts(on_for={"clap": 0.45}))[0] == []  # other labels keep `on`
    assert run(frames, options=opts(on=0.4, on_for={"clap": 0.6}))[0] == []  # a label's own can be higher


def test_default_thresholds_are_per_label():
    o = EventOptions()
    assert o.on_for.get("clap", o.on) < o.on  # chosen leave-one-subject-out (scripts/actions/actions_eval.py)
    clap = o.on_for["clap"] + 0.02
    events, _ = run([vec(clap=clap, idle=(1 - clap) / 3)] * 10)  # on top, below `on`
    assert [e.label for e in events] == ["clap"]
    assert EventOptions().on_for is not o.on_for  # no shared mutable default


def test_per_label_hold_times_are_honoured():
    # 0.2 s of wave, then of clap (20 fps): with wave's hold at 0.3 s only the clap starts
    frames = [probs("idle", 0.9)] * 5 + [probs("wave", 0.9)] * 4 + [probs("idle", 0.9)] * 5 \
        + [probs("clap", 0.9)] * 4 + [probs("idle", 0.9)] * 10
    events, _ = run(frames, options=opts())
    assert [e.label for e in events if e.phase == EVENT_START] == ["wave", "clap"]
    events, _ = run(frames, options=opts(hold_on_for={"wave": 0.3}))
    assert [e.label for e in events if e.phase == EVENT_START] == ["clap"]


def test_smoothing_stops_a_one_frame_spike_but_keeps_a_real_action():
    spike = [probs("idle", 0.9)] * 10 + [probs("wave", 0.95)] + [probs("idle", 0.9)] * 10
    assert [e.label for e in run(spike, options=opts(hold_on=0.0))[0]] == ["wave", "wave"]  # start + end
    assert run(spike, options=opts(hold_on=0.0, smooth=0.2))[0] == []
    real = [probs("idle", 0.9)] * 10 + [probs("wave", 0.95)] * 20 + [probs("idle", 0.9)] * 20
    raw, _ = run(real, options=opts(hold_on=0.0))
    smooth, _ = run(real, options=opts(hold_on=0.0, smooth=0.2))
    assert [(e.label, e.phase) for e in smooth] == [("wave", EVENT_START), ("wave", EVENT_END)]
    assert smooth[0].time > raw[0].time  # the low-pass delays the start a little
    assert smooth[0].time - raw[0].time < 0.3


def test_smoothing_follows_time_not_frames_and_restarts_when_the_person_leaves():
    det = EventDetector(LABELS, opts(smooth=0.2))
    det.update(0.0, probs("idle", 1.0))
    # a long gap between frames lets the filter settle almost fully on the new value
    assert det._smooth(2.0, probs("wave", 1.0))[LABELS.index("wave")] > 0.99
    det.update(2.1, None)  # nobody in view: the history is dropped
    assert np.allclose(det._smooth(2.2, probs("clap", 1.0)), probs("clap", 1.0))


def test_margin_asks_the_top_label_to_lead():
    close = [probs("idle", 0.9)] * 5 + [vec(wave=0.72, clap=0.26, idle=0.02)] * 10
    clear = [probs("idle", 0.9)] * 5 + [vec(wave=0.72, clap=0.04, idle=0.24)] * 10
    assert [e.label for e in run(close, options=opts())[0]] == ["wave"]
    assert run(close, options=opts(margin=0.5))[0] == []
    assert [e.label for e in run(clear, options=opts(margin=0.4))[0]] == ["wave"]


def test_an_action_still_rising_when_the_source_ends_counts():
    """A clip that is one action from edge to edge: over the threshold on its last frame, not yet held."""
    frames = [probs("idle", 0.9)] * 10 + [probs("wave", 0.9)]  # one frame: hold_on not reached
    events, det = run(frames)
    assert events == []
    flushed = det.flush(0.55)
    assert [(e.label, e.phase) for e in flushed] == [("wave", EVENT_START), ("wave", EVENT_END)]
    assert flushed[0].start == 0.5 and flushed[1].end == 0.55
    assert det.flush(0.6) == []  # nothing twice
    quiet, det = run([probs("idle", 0.9)] * 10)
    assert det.flush(0.5) == []
