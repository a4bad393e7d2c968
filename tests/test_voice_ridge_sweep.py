"""The linear-head sweep's recipe language and group weights (scripts/voice/voice_ridge_sweep.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts" / "voice"))
from voice_ridge_sweep import drawn_speakers, group_weights, main, parse_recipe  # noqa: E402


def test_recipes_read_like_the_training_flags():
    assert parse_recipe("v24:share=0.1,labels=spread,full") == (
        "v24", {"lam": 0.3, "share": 0.1, "labels": "spread", "full": True, "extra": False})
    assert parse_recipe("plain") == ("plain", {"lam": 0.3, "share": 0.0, "labels": "raw", "full": False,
                                               "extra": False})
    assert parse_recipe("new:share=0.1,extra")[1]["extra"] is True  # also learns from --extra's recordings
    assert parse_recipe("c:lam=1,labels=centred")[1]["lam"] == 1.0


@pytest.mark.parametrize("bad", ["", ":lam=1", "a/b:lam=1", "x:lam=", "x:labels=zscore", "x:share=1", "x:lam=0",
                                 "x:fast", "x:extra=1"])
def test_bad_recipes_say_why(bad):
    with pytest.raises(ValueError, match="recipe|cannot read|share must"):
        parse_recipe(bad)


def test_bad_recipe_on_the_command_line_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["x:labels=zscore"])
    assert exit_.value.code == 2
    assert "cannot read 'labels=zscore'" in capsys.readouterr().err


def test_group_weights_give_the_training_speakers_their_share():
    counts = np.array([1000.0, 10, 30, 20, 40])  # s1, then four other speakers
    w = group_weights(counts, [0, 1, 2, 4], 0.25)  # speaker 3 is the fold's held-out one
    assert w[0] == 1 and w[3] == 0
    other = (w[1:] * counts[1:]).sum()
    assert np.isclose(other / (other + counts[0]), 0.25)
    assert np.allclose(w[[1, 2, 4]], w[1])  # every frame of the other speakers weighs the same
    assert np.array_equal(group_weights(counts, [0, 1, 2], 0.0), [1, 1, 1, 0, 0])  # as in the data


def test_a_recipe_can_learn_from_fewer_speakers_reproducibly():
    name, r = parse_recipe("k3:share=0.1,labels=spread,full,speakers=3,draw=2")
    assert (r["speakers"], r["draw"]) == (3, 2)
    others = [1, 2, 4, 5, 6, 7, 8, 9, 10]
    picked = drawn_speakers(others, r, fold=1)
    assert len(picked) == 3 and set(picked) <= set(others)
    assert picked == drawn_speakers(others, r, fold=1)  # the same draw every run
    assert drawn_speakers(others, {**r, "draw": 3}, fold=1) != picked or \
        drawn_speakers(others, {**r, "draw": 4}, fold=1) != picked  # other draws, other speakers
    assert drawn_speakers(others, parse_recipe("all")[1], fold=1) == others
    assert drawn_speakers(others, {**r, "speakers": 0}, fold=1) == []
    with pytest.raises(ValueError, match="cannot read"):
        parse_recipe("x:speakers=many")
