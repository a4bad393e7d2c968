"""Real motion capture → MediaPipe-33 tracks from any angle (scripts/actions/mocap.py), and v3 on it."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import ROOT, SHARED, pose_events, require

sys.path.insert(0, str(ROOT / "scripts" / "actions"))
import mocap  # noqa: E402

from kinemo.body.skeleton import INDEX  # noqa: E402

MOTION = SHARED / "data" / "motion"


@pytest.fixture(scope="module")
def items() -> dict[str, mocap.MotionFile]:
    return {f"{i.path.parent.name}/{i.path.stem}": i for i in mocap.read_manifest(require(MOTION))}


def test_manifest_gives_every_file_a_source_and_label(items):
    assert len(items) >= 110
    every = mocap.read_manifest(MOTION)
    assert len({i.key for i in every}) == len(every)  # unique, though train/ and test/ share names
    assert {"cmu_seq2seq_expmap/train/jumping/jumping_1", "cmu_seq2seq_expmap/test/jumping/jumping_1"} <= {
        i.key for i in every}
    sources = {i.source for i in items.values()}
    assert {"cmu_iclone", "cmu_expmap", "ad_5yr_old", "ad_8yr_old", "ad_cmu_1006"} <= sources
    assert {i.label for i in items.values()} >= {"walk", "jump", "wave", "negative"}


@pytest.mark.parametrize("name", ["002/002_01", "walking/walking_1", "cmu_1006/wave_hello_1", "cmu1/jumping_jacks"])
def test_every_skeleton_becomes_a_standing_person_facing_forward(items, name):
    """Each of the four rigs: height 1, feet on the floor, head up, and walking goes forwards (+z)."""
    world, fps = mocap.load_world(items[name])
    assert 20 <= fps <= 130 and world.shape[1:] == (33, 3)
    ankles = world[:, [INDEX["left_ankle"], INDEX["right_ankle"]], 1].min(axis=1)
    assert np.percentile(ankles, 5) == pytest.approx(0.045, abs=0.01)
    nose = np.median(world[:, INDEX["nose"], 1])
    assert 0.75 <= nose <= 1.0
    shoulders = np.median(world[:, INDEX["left_shoulder"], 0] - world[:, INDEX["right_shoulder"], 0])
    assert shoulders > 0.1  # +x is the performer's left
    nose_ahead = np.median(world[:, INDEX["nose"], 2] - world[:, INDEX["left_ear"], 2])
    assert nose_ahead > 0  # facing +z


def test_walkers_move_forwards(items):
    world, _ = mocap.load_world(items["walking/walking_1"])
    hips = world[:, [INDEX["left_hip"], INDEX["right_hip"]]].mean(axis=1)
    assert hips[-1, 2] - hips[0, 2] > 0.3  # metres in units of height, along the facing direction


def test_side_view_shows_shoulders_overlapping(items):
    world, fps = mocap.load_world(items["002/002_01"])
    front = mocap.render(world, fps, yaw_deg=0.0, fps=30.0, seed=1)
    side = mocap.render(world, fps, yaw_deg=90.0, fps=15.0, seed=1)
    assert side.fps == 15.0 and len(side) < len(front)

    def width(track):
        lm = track.landmarks
        return np.median(np.abs(lm[:, INDEX["left_shoulder"], 0] - lm[:, INDEX["right_shoulder"], 0]) * track.aspect)

    assert width(side) < 0.35 * width(front)


@pytest.mark.parametrize("name,label", [("002/002_01", "walk"), ("jumping/jumping_4", "jump")])
@pytest.mark.parametrize("yaw", [0.0, 90.0])
def test_real_people_walking_and_jumping_are_found_from_the_front_and_the_side(items, name, label, yaw):
    world, fps = mocap.load_world(items[name])
    assert label in pose_events(mocap.render(world, fps, yaw_deg=yaw, fps=30.0, seed=2))


@pytest.mark.parametrize("name,walks,jumps", [
    ("walking/walking_1", True, False),  # a walk: going somewhere, a foot always on the floor
    ("running/running_1", False, False),  # a run goes somewhere but leaves the floor, one foot after the other
    ("jumping/jumping_4", False, True),  # jumps: both feet leave the floor together
    ("cmu_1006/jump_rope", False, True),
    ("8yr_old/robot", True, False),  # a negative ("robot dance") in which the child walks across the room
    ("8yr_old/skipping", False, False),  # skipping leaves the floor a foot at a time: neither
])
def test_the_capture_tells_what_the_body_did_whatever_the_file_is_called(items, name, walks, jumps):
    world, fps = mocap.load_world(items[name])
    did = mocap.body_did(world, fps)
    assert set(did) == {"walk", "jump"} and all(len(v) == len(world) for v in did.values())
    assert bool(did["walk"].mean() > 0.2) == walks, did["walk"].mean()
    assert bool(did["jump"].mean() > 0.2) == jumps, did["jump"].mean()
