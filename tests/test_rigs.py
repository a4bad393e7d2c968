"""The demo avatar (stylised head): every shape key stays in its region, every body action moves the bones it should."""

import sys

import numpy as np
import pytest
from conftest import ROOT

from kinemo.protocol import ARKIT_NAMES

sys.path.insert(0, str(ROOT / "rigs"))

from avatar import ACTIONS, HEAD_CENTRE, action_keys, build_avatar  # noqa: E402
from demo_head import FEATURES, RADIUS, _region_and_motion  # noqa: E402

EXPECTED_BONES = {
    "wave": {"upper_arm.R", "forearm.R"},
    "clap": {"upper_arm.L", "upper_arm.R", "forearm.L", "forearm.R"},
    "hands_up": {"upper_arm.L", "upper_arm.R"},
    "jump": {"root", "thigh.L", "thigh.R", "shin.L", "shin.R"},
    "squat": {"root", "thigh.L", "thigh.R", "shin.L", "shin.R", "upper_arm.L", "upper_arm.R"},
    "walk": {"thigh.L", "thigh.R", "shin.L", "shin.R", "upper_arm.L", "upper_arm.R"},
    "bow": {"spine", "chest", "neck"},
    "idle": {"chest", "neck"},
}


@pytest.fixture(scope="module")
def avatar(blender):
    bpy = blender
    bpy.ops.wm.read_homefile(use_empty=True)
    parts = build_avatar(bpy, head="stylised")  # the ball head; the human head: test_face_rig.py
    yield bpy, parts
    bpy.ops.wm.read_homefile(use_empty=True)


def _fcurves(action, id_data_slot=None):
    if hasattr(action, "layers"):
        out = []
        for layer in action.layers:
            for strip in layer.strips:
                for bag in strip.channelbags:
                    out += list(bag.fcurves)
        return out
    return list(action.fcurves)


def test_every_arkit_shape_key_moves_only_its_region(avatar):
    _, parts = avatar
    head = parts["head"]
    keys = head.data.shape_keys.key_blocks
    assert [k.name for k in keys][1:] == list(ARKIT_NAMES)
    n = len(head.data.vertices)
    basis = np.empty(n * 3, np.float32)
    keys["Basis"].data.foreach_get("co", basis)
    basis = basis.reshape(n, 3)
    for name in ARKIT_NAMES:
        co = np.empty(n * 3, np.float32)
        keys[name].data.foreach_get("co", co)
        delta = co.reshape(n, 3) - basis
        moved = np.linalg.norm(delta, axis=1) > 1e-6
        assert moved.sum() >= 3, f"{name} moves nothing"
        feature, side, _ = _region_and_motion(name)
        centre = np.array(FEATURES[feature])
        centres = [centre * (-1 if side == -1 else 1, 1, 1)]
        if side == 0 and centre[0]:
            centres.append(centre * (-1, 1, 1))
        dist = np.min([np.linalg.norm(basis[moved] - c, axis=1) for c in centres], axis=0)
        assert np.all(dist <= RADIUS[feature] + 1e-6), f"{name} moves vertices outside its region"
        xs = basis[moved][:, 0]
        if name.endswith("Left") and side == 1:
            assert np.all(xs > 0), f"{name} moves the right side"  # the performer's left is +X
        if name.endswith("Right") and side == -1:
            assert np.all(xs < 0), f"{name} moves the left side"


def test_key_shapes_are_plausible(avatar):
    _, parts = avatar
    keys = parts["head"].data.shape_keys.key_blocks
    n = len(keys["Basis"].data)

    def delta(name):
        a, b = np.empty(n * 3, np.float32), np.empty(n * 3, np.float32)
        keys[name].data.foreach_get("co", a)
        keys["Basis"].data.foreach_get("co", b)
        b = b.reshape(n, 3)
        d = a.reshape(n, 3) - b
        moved = np.linalg.norm(d, axis=1) > 1e-6
        return b[moved], d[moved]

    co, d = delta("jawOpen")
    assert np.all(co[:, 2] < -0.1) and d[:, 2].mean() < -0.05  # lower face drops
    co, d = delta("eyeBlinkLeft")
    assert np.all(co[:, 0] > 0) and np.all(np.abs(co[:, 2] - FEATURES["eye"][2]) < 0.2) and np.all(d[:, 2] < 0)
    co, d = delta("mouthSmileLeft")
    assert np.all(co[:, 0] > 0) and np.all(d[:, 2] > 0)  # the left corner goes up
    co, d = delta("browInnerUp")
    assert np.all(d[:, 2] > 0) and np.all(co[:, 2] > 0.2)


def test_each_body_action_animates_its_bones(avatar):
    bpy, parts = avatar
    assert [a.name for a in parts["actions"]] == list(ACTIONS)
    for label in ACTIONS:
        action = bpy.data.actions[label]
        assert action.use_fake_user, f"{label} would be lost on save"
        bones = {fc.data_path.split('"')[1] for fc in _fcurves(action)}
        assert bones == EXPECTED_BONES[label], label
        assert set(action_keys()[label]) == EXPECTED_BONES[label]
        frames = [kp.co[0] for fc in _fcurves(action) for kp in fc.keyframe_points]
        assert max(frames) - min(frames) >= 20, f"{label} is too short to see"


def test_actions_really_move_the_rig(avatar):
    bpy, parts = avatar
    rig = parts["rig"]
    rest = {b.name: (rig.matrix_world @ b.tail).copy() for b in rig.pose.bones}
    rig.animation_data.action = bpy.data.actions["hands_up"]
    bpy.context.scene.frame_set(24)
    hand_l = rig.matrix_world @ rig.pose.bones["upper_arm.L"].tail
    hand_r = rig.matrix_world @ rig.pose.bones["upper_arm.R"].tail
    assert hand_l.z > rest["upper_arm.L"].z + 1.0 and hand_l.x > 0.5  # up and still on its own side
    assert hand_r.z > rest["upper_arm.R"].z + 1.0 and hand_r.x < -0.5
    rig.animation_data.action = bpy.data.actions["jump"]
    bpy.context.scene.frame_set(12)
    assert rig.pose.bones["root"].location.z > 1.0
    rig.animation_data.action = None
    for pb in rig.pose.bones:
        pb.rotation_euler = (0, 0, 0)
        pb.location = (0, 0, 0)
    bpy.context.view_layer.update()


def test_eyes_are_objects_that_gaze_bones_turn(avatar):
    bpy, parts = avatar
    rig = parts["rig"]
    eye = parts["eye.L"]
    assert eye.parent is rig and eye.parent_bone == "eye.L"
    assert eye.matrix_world.translation.z == pytest.approx(HEAD_CENTRE[2] + FEATURES["eye"][2], abs=0.05)
    before = eye.matrix_world.copy()
    rig.pose.bones["eye.L"].rotation_euler = (0.0, 0.0, 0.4)
    bpy.context.view_layer.update()
    assert not np.allclose(np.array(before), np.array(eye.matrix_world), atol=1e-4)
    rig.pose.bones["eye.L"].rotation_euler = (0.0, 0.0, 0.0)
