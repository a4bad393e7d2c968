"""Expression reactions, the add-on's Blender-independent half: gate, take events, shape-key fades,
defaults, recording and reading the label."""

from __future__ import annotations

import json

import numpy as np
import pytest

from blender_addon import protocol
from blender_addon.expressions import (
    ReactionGate,
    default_reaction,
    envelope,
    parse_keys,
    reaction_curves,
    take_events,
)
from blender_addon.recorder import Recorder
from blender_addon.takes_io import read_take

START, END = protocol.EVENT_START, protocol.EVENT_END


def _scores(label: str, p: float) -> tuple[float, ...]:
    rest = (1.0 - p) / 6
    return tuple(p if e == label else rest for e in protocol.EMOTIONS)


def test_gate_threshold_hold_and_switch():
    g = ReactionGate({"happy", "sad"}, threshold=0.6, hold=0.5)
    assert g.update("happy", 0.55, 0.0) == []  # below the threshold
    assert g.update("neutral", 0.9, 0.1) == []  # not mapped
    assert g.update("happy", 0.7, 0.2) == [("happy", START)]
    assert g.update("happy", 0.9, 0.3) == []
    assert g.update("neutral", 0.9, 0.5) == []  # a dip shorter than the hold keeps it
    assert g.update("happy", 0.4, 0.7) == []
    assert g.update(None, 0.0, 0.79) == []
    assert g.update(None, 0.0, 0.8) == [("happy", END)]  # 0.5 s after it last qualified (0.3)
    assert g.update("happy", 0.8, 1.0) == [("happy", START)]
    assert g.update("sad", 0.8, 1.1) == [("happy", END), ("sad", START)]  # another mapped label: at once
    assert g.close() == [("sad", END)] and g.active is None


def test_take_events_follow_the_live_gate():
    fps = 30
    t = np.arange(90) / fps
    labels = ["neutral"] * 30 + ["happy"] * 30 + ["neutral"] * 30
    emotion = np.array([protocol.EMOTIONS.index(lb) for lb in labels])
    scores = np.array([_scores(lb, 0.8 if lb == "happy" else 0.9) for lb in labels])
    scores[40] = _scores("happy", 0.95)
    ev = take_events(t, emotion, scores, {"happy"}, threshold=0.5, hold=0.5)
    assert len(ev) == 1
    label, s, e, conf = ev[0]
    assert label == "happy" and s == pytest.approx(1.0) and conf == pytest.approx(0.95)
    assert e == pytest.approx(59 / fps + 0.5, abs=1 / fps)  # last happy frame + hold, as live
    # A take that ends mid-reaction closes it at its last frame; no label (−1) never qualifies.
    ev = take_events(t[:45], emotion[:45], scores[:45], {"happy"}, threshold=0.5, hold=0.5)
    assert ev[0][2] == pytest.approx(44 / fps)
    assert take_events(t, np.full(90, -1), scores, {"happy"}, threshold=0.5, hold=0.5) == []
    # Live, frame by frame, gives the same starts and ends.
    g, live = ReactionGate({"happy"}, 0.5, 0.5), []
    for ti, i, sc in zip(t, emotion, scores, strict=True):
        live += [(lb, ph, ti) for lb, ph in g.update(protocol.EMOTIONS[i], sc[i], ti)]
    assert [x[2] for x in live] == pytest.approx([1.0, e])


def test_shape_key_fades_match_live_blend():
    ev = [("happy", 1.0, 2.0, 0.9)]
    frames = np.arange(1.0, 101.0)
    w = envelope(ev, frames, fps=24, frame_start=1, blend_time=0.5)
    assert w[frames == 25][0] == 0.0 and w[frames == 31][0] == pytest.approx(0.5)
    assert w[frames == 37][0] == 1.0 and w[frames == 49][0] == 1.0
    assert w[frames == 55][0] == pytest.approx(0.5) and w[frames == 61][0] == 0.0
    curves = reaction_curves(ev, {"happy": [("Joy", 0.8), ("Fun", 0.4)], "sad": [("Sorrow", 1.0)]},
                             fps=24, frame_start=1, last_frame=100, blend_time=0.5)
    assert set(curves) == {"Joy", "Fun"}  # no sad events: Sorrow is not keyed
    f, v = curves["Joy"]
    assert list(f) == [1, 25, 37, 49, 61, 100] and list(v) == pytest.approx([0, 0, 0.8, 0.8, 0, 0])
    assert np.interp(31, f, v) == pytest.approx(0.4)
    assert curves["Fun"][1].max() == pytest.approx(0.4)


def test_default_reactions_prefer_a_users_action_then_vrm_presets():
    vroid = ["Fcl_ALL_Neutral", "Fcl_ALL_Angry", "Fcl_ALL_Fun", "Fcl_ALL_Joy", "Fcl_ALL_Sorrow",
             "Fcl_ALL_Surprised", "Fcl_MTH_A"]
    assert default_reaction("happy", ["react_happy"], vroid) == ("react_happy", "")
    assert default_reaction("happy", [], vroid) == ("", "Fcl_ALL_Joy")
    assert default_reaction("sad", [], vroid) == ("", "Fcl_ALL_Sorrow")
    assert default_reaction("anger", [], vroid) == ("", "Fcl_ALL_Angry")
    assert default_reaction("surprise", [], vroid) == ("", "Fcl_ALL_Surprised")
    assert default_reaction("fear", [], vroid) == ("", "Fcl_ALL_Surprised")
    assert default_reaction("disgust", [], vroid) == ("", "Fcl_ALL_Angry")
    assert default_reaction("happy", [], ["Basis", "JOY"]) == ("", "JOY")  # VRM 0.x preset, any case
    assert default_reaction("happy", [], ["Fun"]) == ("", "Fun")
    assert default_reaction("sad", [], ["happy", "sad"]) == ("", "sad")  # VRM 1.0 names
    assert default_reaction("fear", [], ["Basis"]) == ("", "")
    assert parse_keys("Joy, Fcl_MTH_Fun=0.5,, bad=x", 0.8) == [("Joy", 0.8), ("Fcl_MTH_Fun", 0.4), ("bad", 0.8)]


def test_recorder_keeps_the_label_and_takes_read_it(tmp_path):
    rec = Recorder("t")
    rec.put(protocol.FaceSample(seq=0, stamp=0, time=0.0))  # no expression stream
    rec.put(protocol.FaceSample(seq=1, stamp=0, time=0.1, expression=("happy", *_scores("happy", 0.7))))
    rec.put(protocol.FaceSample(seq=2, stamp=0, time=0.2, present=False, expression=("happy", *_scores("happy", 0.7))))
    rec.put(protocol.FaceSample(seq=3, stamp=0, time=0.3, expression=("bogus", *_scores("sad", 0.7))))
    cols = rec.columns()
    assert list(cols["emotion"]) == [-1, 1, -1, -1]
    assert cols["emotion_scores"][1, 1] == pytest.approx(0.7) and not cols["emotion_scores"][0].any()
    # Kinemo takes carry the label: names in JSON, indices in NPZ.
    doc = {"format": protocol.TAKE_FORMAT, "fps": 30, "channels": list(protocol.ARKIT_NAMES),
           "time": [0.0, 1 / 30], "blendshapes": [[0.0] * 52] * 2, "emotion": ["happy", "sad"],
           "emotion_scores": [_scores("happy", 0.7), _scores("sad", 0.6)]}
    (tmp_path / "a.json").write_text(json.dumps(doc))
    take = read_take(str(tmp_path / "a.json"))
    assert list(take.emotion) == [1, 2] and take.emotion_scores.shape == (2, 7)
    np.savez(tmp_path / "b.npz", meta=np.array(json.dumps({"fps": 30})), time=np.array([0.0, 0.1]),
             blendshapes=np.zeros((2, 52)), emotion=np.array([3, 9]), emotion_scores=np.full((2, 7), 1 / 7))
    take = read_take(str(tmp_path / "b.npz"))
    assert list(take.emotion) == [3, -1]
    del doc["emotion_scores"]  # half a label stream is no label stream
    (tmp_path / "c.json").write_text(json.dumps(doc))
    assert read_take(str(tmp_path / "c.json")).emotion is None
