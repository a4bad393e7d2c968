"""How the leave-one-source-out selection scores (scripts/actions/actions_select.py), without running it."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest
from conftest import ROOT

from kinemo.body.detectors import Thresholds
from kinemo.body.events import ActionEvent, EventOptions

sys.path.insert(0, str(ROOT / "scripts" / "actions"))
import actions_select  # noqa: E402


def test_the_held_out_summary_leaves_sweeps_apart_and_pools_false_events_by_items():
    results = {
        "a": {"score": {"recall": {"wave": 1.0, "walk": 0.5}, "false_per_item": 1.0, "items": 10}},
        "b": {"score": {"recall": {"jump": 0.0, "sweep": 0.0}, "false_per_item": 0.0, "items": 30}},
    }
    o = actions_select.overall(results)
    assert o["macro_recall"] == pytest.approx(0.5)  # (1 + 0.5 + 0) / 3: the sweep is not an action of its own
    assert o["false_per_item"] == pytest.approx(0.5)  # every source alike
    assert o["pooled_false_per_item"] == pytest.approx(0.25)  # 10 false events in 40 items
    assert o["items"] == 40


def test_a_sweep_is_found_by_a_wave_and_chosen_against_false_waves():
    """The generator's horizontal arm waves (label ``sweep``) count as found when a `wave` starts in them; the
    level arm's thresholds are chosen on them against every false `wave`, the raised hand's on the waves alone."""
    rows = [("generator", "sweep", True, {}), ("generator", "sweep", False, {}),
            ("generator", "wave", False, {}), ("generator", "negative", None, {"wave": 2})]
    assert actions_select.action_objective(rows, "sweep") == pytest.approx(0.5 - 2.0 * 0.5)
    assert actions_select.action_objective(rows, "wave") == pytest.approx(0.0 - 2.0 * 0.5)
    assert actions_select.mocap.GENERATOR_EVENT["sweep"] == "wave" and "sweep" in actions_select.PARAMS
    assert "sweep_raise" in actions_select.PARAMS["sweep"] and "sweep_raise" not in actions_select.PARAMS["wave"]


def test_an_event_the_body_really_did_is_neither_found_nor_false(monkeypatch):
    """A dance take's real walk (by the 3-D capture) is not a false event; a walk take's walk is found all the
    same; a walk before the body set off is false."""
    times = np.arange(0.0, 4.0, 0.1)
    dance = actions_select.Stream("ad_x", "dance@0", "negative", times, np.zeros((40, 1)), np.zeros((40, 9)),
                                  did={"walk": np.arange(120) >= 60}, did_fps=30.0)  # walking from 2 s on
    walking = ActionEvent("walk", "start", 0.9, 2.5, 2.5, 2.6)
    early = ActionEvent("walk", "start", 0.9, 0.5, 0.5, 0.6)
    jump = ActionEvent("jump", "start", 0.9, 2.5, 2.5, 2.6)
    assert not dance.counts(walking) and dance.counts(early) and dance.counts(jump)

    def rows(stream, got):
        monkeypatch.setattr(actions_select, "stream_events", lambda *a: got)
        return actions_select.score_rows([stream], Thresholds(), EventOptions())[0]

    assert rows(dance, [walking]) == ("ad_x", "negative", None, {})
    assert rows(dance, [walking, early, jump]) == ("ad_x", "negative", None, {"walk": 1, "jump": 1})
    assert rows(dataclasses.replace(dance, label="walk"), [walking]) == ("ad_x", "walk", True, {})
