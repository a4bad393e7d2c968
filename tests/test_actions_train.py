"""Teaching a new action from a few examples (`kinemo actions train`), stored as files."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import run_kinemo
from test_actions_cli import one_line_error

from kinemo.body.generator import generate
from kinemo.body.posefile import PoseTrack, write_pose_file


def pose_file(path, script, seed):
    seq = generate(np.random.default_rng(seed), script)
    present = np.ones(len(seq.time), bool)
    return write_pose_file(path, PoseTrack(seq.time, seq.landmarks, present, seq.fps, seq.size))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """'punch' (a motion the shipped model never saw) taught from three recorded examples."""
    tmp = tmp_path_factory.mktemp("train")
    examples = [str(pose_file(tmp / f"punch{i}.npz", [("punch", 3.0)], 900 + i)) for i in range(3)]
    r = run_kinemo("actions", "train", "punch", "--examples", *examples, "--actions-dir", str(tmp / "mine"))
    return r, tmp


def events_for(tmp, script, seed, name):
    path = pose_file(tmp / f"{name}.npz", script, seed)
    r = run_kinemo("actions", "--pose-file", str(path), "-o", str(tmp / f"{name}.json"), "--no-osc",
                   "--actions-dir", str(tmp / "mine"))
    assert r.returncode == 0, r.stderr
    return json.loads((tmp / f"{name}.json").read_text())


def test_trained_action_is_stored_and_listed(trained):
    r, tmp = trained
    assert r.returncode == 0, r.stderr
    assert "learned 'punch' from 3 examples" in r.stderr
    assert (tmp / "mine" / "punch.npz").is_file()
    listing = run_kinemo("actions", "list", "--actions-dir", str(tmp / "mine"))
    assert "punch" in listing.stdout and "wave" in listing.stdout


def test_trained_action_is_recognised_in_a_new_take(trained):
    _, tmp = trained
    hits = 0
    for seed in (950, 951, 952):
        doc = events_for(tmp, [("idle", 2.0), ("punch", 3.0), ("idle", 2.0)], seed, f"take{seed}")
        assert doc["labels"][-1] == "punch"
        punches = [e for e in doc["events"] if e["label"] == "punch"]
        hits += bool(punches and 1.8 <= punches[0]["start"] <= 3.0)
        assert all(e["start"] >= 1.5 for e in punches)  # nothing during the idle lead-in
    assert hits >= 2


def test_trained_action_does_not_steal_builtin_actions(trained):
    _, tmp = trained
    for seed, label in ((960, "wave"), (961, "squat"), (962, "idle")):
        doc = events_for(tmp, [("idle", 1.5), (label, 3.0), ("idle", 1.0)], seed, f"other{seed}")
        assert not [e for e in doc["events"] if e["label"] == "punch"], doc["events"]


def test_name_problems_are_clear_errors(trained, tmp_path):
    _, tmp = trained
    ex = str(tmp / "punch0.npz")
    mine = ["--actions-dir", str(tmp / "mine")]
    assert "bad action name" in one_line_error(run_kinemo("actions", "train", "Punch!", "--examples", ex, *mine))
    assert "built-in action" in one_line_error(run_kinemo("actions", "train", "wave", "--examples", ex, *mine))
    assert "already exists" in one_line_error(run_kinemo("actions", "train", "punch", "--examples", ex, *mine))
    msg = one_line_error(run_kinemo("actions", "remove", "kick", *mine))
    assert "unknown action 'kick'" in msg and "punch" in msg
    assert "no such pose file" in one_line_error(
        run_kinemo("actions", "train", "kick", "--examples", str(tmp_path / "missing.npz"), *mine))


def test_remove_forgets_the_action(trained, tmp_path):
    _, tmp = trained
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copy(tmp / "mine" / "punch.npz", mine / "jab.npz")  # actions are plain files
    assert "jab" in run_kinemo("actions", "list", "--actions-dir", str(mine)).stdout
    assert run_kinemo("actions", "remove", "jab", "--actions-dir", str(mine)).returncode == 0
    assert not (mine / "jab.npz").exists()
    out = run_kinemo("actions", "list", "--actions-dir", str(mine)).stdout
    assert "yours" in out and "jab" not in out
