"""How the leave-one-source-out selection scores (scripts/actions/actions_select.py), without running it."""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT

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
