"""Mocap carried by the MakeHuman body and rendered (scripts/actions/render_mocap.py): the real tracker sees it."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, run_kinemo

sys.path.insert(0, str(ROOT / "scripts" / "actions"))
import render_mocap  # noqa: E402

from kinemo.body.generator import Body, forward_kinematics, smoothstep  # noqa: E402
from kinemo.body.posefile import read_pose_file  # noqa: E402
from kinemo.body.skeleton import INDEX  # noqa: E402

FILM = """
import sys, numpy as np
sys.path.insert(0, {actions!r})
import bpy, render_mocap
world = np.load({world!r})
render_mocap.film(bpy, render_mocap.Path({blend!r}), world, 30.0, {yaw}, 15.0, render_mocap.Path({out!r}))
"""


def test_world_axes_become_blenders():
    """Mocap's +x (the performer's left), +y (up), +z (facing) → Blender's +x, +z, −y (the avatar faces −y)."""
    got = render_mocap.to_blender(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), 2.0)
    np.testing.assert_allclose(got, [[2, 0, 0], [0, 0, 2], [0, -2, 0]], atol=1e-12)


def test_camera_pans_after_the_hips_from_its_yaw():
    hips = np.stack([np.linspace(0, 3, 60), np.zeros(60), np.full(60, 0.9)], 1)  # walking to the side
    where, look = render_mocap.camera_path(hips, 0.0, 15.0)
    assert np.all(np.diff(look[:, 0]) >= -1e-9) and look[-1, 0] > 2.0  # follows, smoothed
    assert np.allclose(where[:, 1] - look[:, 1], -render_mocap.CAMERA_M)  # in front of the avatar (−y)
    where, look = render_mocap.camera_path(hips, 90.0, 15.0)
    assert np.allclose(where[:, 0] - look[:, 0], render_mocap.CAMERA_M)  # at its left (+x)


@pytest.mark.parametrize("yaw", [0.0, 90.0])
def test_raised_arms_rendered_on_the_body_are_tracked_as_raised(tmp_path, yaw):
    """A body that stands 1 s, then raises both arms overhead for 2 s: MediaPipe's pose tracker, run on the
    rendered video by ``kinemo actions --video``, finds the person and the wrists going from below the
    shoulders to above the nose (the retargeting moves the body; the camera keeps it in frame)."""
    blend = tmp_path / "avatar.blend"
    subprocess.run([sys.executable, str(ROOT / "rigs" / "build_avatar.py"), str(blend)], check=True,
                   capture_output=True, timeout=300)
    t = np.arange(0, 3.0, 1 / 30)
    n = len(t)
    up = smoothstep((t - 1.0) / 0.5)[:, None]
    p = {"root": np.zeros((n, 3)), "yaw": np.zeros((n, 1)), "torso": np.zeros((n, 3)), "head": np.zeros((n, 3)),
         "hand_l": (1 - up) * [0.09, -0.96, 0.06] + up * [0.15, 0.97, 0.1],
         "hand_r": (1 - up) * [-0.09, -0.96, 0.06] + up * [-0.15, 0.97, 0.1],
         "foot_l": np.tile([0.065, 0.0, 0.0], (n, 1)), "foot_r": np.tile([-0.065, 0.0, 0.0], (n, 1))}
    world = forward_kinematics(p, Body())
    np.save(tmp_path / "world.npy", world)
    video = tmp_path / "raise.mp4"
    script = FILM.format(actions=str(ROOT / "scripts" / "actions"), world=str(tmp_path / "world.npy"),
                         blend=str(blend), yaw=yaw, out=str(video))
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=600)
    pose = tmp_path / "raise.npz"
    r = run_kinemo("actions", "--video", str(video), "--record-pose", str(pose), "--no-osc",
                   "-o", str(tmp_path / "events.json"))
    assert r.returncode == 0, r.stderr[-2000:]
    track = read_pose_file(pose)
    assert len(track.time) == 45 and track.present.mean() > 0.9
    y = track.landmarks[..., 1]  # image y grows downwards
    wrists = np.maximum(y[:, INDEX["left_wrist"]], y[:, INDEX["right_wrist"]])  # the lower wrist
    before, after = slice(0, 12), slice(-10, None)
    assert np.all(wrists[before] > y[before, INDEX["left_shoulder"]])
    assert np.all(wrists[after] < y[after, INDEX["nose"]])
    assert json.loads((tmp_path / "events.json").read_text())["person_frames"] >= 40


def test_video_names_lead_back_to_their_motion_file_and_view():
    """The evaluation finds each video's file and view from its name, also where two files share a folder and
    stem (the CMU exp-map set's train/ and test/)."""
    import mocap
    import render_eval
    from conftest import SHARED, require

    every = mocap.read_manifest(require(SHARED / "data" / "motion"))
    items = render_eval.index(every)
    twins = [i for i in every if i.path.stem == "jumping_1"]
    assert len(twins) == 2
    for item in twins:
        name = render_mocap.video_name(item, 90.0, 15.0)
        video = render_eval.parse(render_mocap.Path("/x") / name, items)
        assert video.item is item and video.yaw == 90 and video.fps == 15.0
    assert render_eval.parse(render_mocap.Path("/x/holiday.mp4"), items) is None


def test_frames_without_a_person_are_nobody_in_view_not_a_pose_of_zeros():
    """A tracker that loses the person for a frame leaves zeros there, marked absent; the evaluation skips them
    as ``kinemo actions`` does. Read as a pose, the zeros fire a `jump` in a body standing still."""
    import render_eval

    from kinemo.body.generator import TRAIN, generate, with_config
    from kinemo.body.posefile import PoseTrack

    front = with_config(TRAIN, camera_yaw_deg=(-10.0, 10.0), mirror_prob=0.0, upper_body_prob=0.0,
                        noise=(0.002, 0.004), fps=(25.0, 30.0), drop_frame_prob=(0.0, 0.0))
    seq = generate(np.random.default_rng(0), [("idle", 3.0), ("idle", 3.0)], front)
    lm, present = seq.landmarks.copy(), np.ones(len(seq.time), bool)
    lm[[40, 90]], present[[40, 90]] = 0.0, False
    assert render_eval.events(PoseTrack(seq.time, lm, present, seq.fps, seq.size)) == []
    assert render_eval.events(PoseTrack(seq.time, lm, np.ones_like(present), seq.fps, seq.size)) == ["jump"]


def test_the_depth_scale_of_a_track_is_recovered_per_view():
    """``render_eval.depth_scale`` compares a track's wrist depths with the motion file's: a track filmed with
    its depth doubled (what MediaPipe does on the renders, about) measures about 2 from each side."""
    import mocap
    import render_eval
    from conftest import SHARED, require

    from kinemo.body.generator import with_config

    every = mocap.read_manifest(require(SHARED / "data" / "motion"))
    item = next(i for i in every if i.key.endswith("cmu_1006/wave_hello_2"))
    world, fps = mocap.load_world(item)
    pitch = math.degrees(math.atan2(render_mocap.CAMERA_RISE, render_mocap.CAMERA_M))  # the renders' camera
    cfg = with_config(mocap.CAMERA, depth_scale=(2.0, 2.0), noise=(0.001, 0.001), occlusion_prob=(0.0, 0.0),
                      camera_pitch_deg=(pitch, pitch))
    tracks = [(yaw, mocap.render(world, fps, yaw_deg=float(yaw), fps=15.0, seed=yaw, cfg=cfg), world, fps)
              for yaw in (0, 90)]
    got = render_eval.depth_scale(tracks)
    for yaw in (0, 90):
        slope, corr, frames = got[yaw]
        assert slope == pytest.approx(2.0, rel=0.25) and corr > 0.9 and frames > 30, (yaw, got[yaw])


def test_generator_takes_render_as_motion_files_of_their_own():
    """A generator take is a motion file named by its label and number: the same name gives the same motion
    (the videos and the evaluation must agree on it) and its video's name leads back to it."""
    import mocap
    import render_eval

    item = mocap.generator_item("clap", 3)
    world, fps = mocap.load_world(item)
    again, _ = mocap.load_world(mocap.generator_item("clap", 3))
    other, _ = mocap.load_world(mocap.generator_item("clap", 4))
    assert world.shape[1:] == (33, 3) and fps == mocap.GENERATOR_FPS
    np.testing.assert_array_equal(world, again)
    assert world.shape != other.shape or not np.allclose(world, other)
    video = render_eval.parse(render_mocap.Path("/x") / render_mocap.video_name(item, 90.0, 15.0), {})
    assert video.item.key == "generator/clap3" and video.item.label == "clap" and video.yaw == 90
    assert render_eval.parse(render_mocap.Path("/x/generator__generator-jump1__y0_f15.mp4"), {}) is None
    assert [i.key for i in render_mocap.chosen(["generator"], 1)] == [f"generator/{g}0" for g in mocap.GENERATOR_LABELS]


def test_a_generator_sweep_renders_as_a_wave_with_a_straight_level_arm():
    """``sweep`` takes (the horizontal arm wave) are found by a `wave` event, and their body holds one arm straight
    out at about shoulder height while it sweeps."""
    import mocap
    import render_eval

    item = mocap.generator_item("sweep", 2)
    assert item.label == "wave" and item.key == "generator/sweep2"
    video = render_eval.parse(render_mocap.Path("/x") / render_mocap.video_name(item, 0.0, 15.0), {})
    assert video.item.key == "generator/sweep2" and video.item.label == "wave"
    world, fps = mocap.load_world(item)
    mid = world[len(world) // 2:len(world) * 3 // 4]
    straight = []
    for side in ("left", "right"):
        sh, el, wr = (mid[:, INDEX[f"{side}_{j}"]] for j in ("shoulder", "elbow", "wrist"))
        path = np.linalg.norm(el - sh, axis=-1) + np.linalg.norm(wr - el, axis=-1)
        level = np.abs(wr[:, 1] - sh[:, 1]) < 0.5 * path
        straight.append(float(np.mean((np.linalg.norm(wr - sh, axis=-1) > 0.97 * path) & level)))
    assert max(straight) > 0.9
