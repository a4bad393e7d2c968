"""Expression reactions in real Blender: the streamed label drives a VRM-style shape-key preset and a
user's react_<label> Actions live (threshold, hold, fade), and again in a recorded take's bake."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from addon_rigs import Sender, bundle, reaction_avatar
from conftest import addon_module, free_udp_port

from blender_addon import protocol

VROID_KEYS = ("Basis", "jawOpen", "Fcl_ALL_Joy", "Fcl_ALL_Sorrow", "Fcl_ALL_Surprised", "Extra")


@pytest.fixture
def scene(blender):
    bpy = blender
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.context.scene.kinemo.port = free_udp_port()
    yield bpy.context.scene
    addon_module("live").SESSION.stop()


def _scores(label: str, p: float) -> tuple[float, ...]:
    rest = (1.0 - p) / 6
    return tuple(p if e == label else rest for e in protocol.EMOTIONS)


def _frame(seq: int, t: float, label: str, p: float) -> bytes:
    sample = protocol.FaceSample(seq=seq, stamp=time.time(), time=t, expression=(label, *_scores(label, p)))
    return bundle(protocol.encode_sample(sample))


def _avatar(bpy, scene):
    """A VRoid-style face (Fcl_ALL_* presets) and a rig whose hand Action is the user's react_sad."""
    return reaction_avatar(bpy, scene, VROID_KEYS, "sad")


def _influence(arm, label):
    track = arm.animation_data.nla_tracks.get(addon_module("drive").EXPRESSION_TRACK_PREFIX + label)
    return track.strips[0].fcurves.find("influence").keyframe_points[0].co[1]


def test_label_drives_vrm_preset_and_users_action_live(blender, scene):
    bpy = blender
    face, arm = _avatar(bpy, scene)
    s = scene.kinemo
    s.expression_threshold, s.expression_hold, s.expression_blend = 0.6, 0.3, 0.2
    assert bpy.ops.kinemo.expression_map_defaults() == {"FINISHED"}
    rows = {m.name: (m.action.name if m.action else "", m.shape_keys) for m in s.expressions}
    assert rows == {"happy": ("", "Fcl_ALL_Joy"), "sad": ("react_sad", ""), "surprise": ("", "Fcl_ALL_Surprised"),
                    "fear": ("", "Fcl_ALL_Surprised")}
    assert bpy.ops.kinemo.live_start() == {"FINISHED"}
    session = addon_module("live").SESSION
    sender = Sender(session.receiver.port)
    joy = face.data.shape_keys.key_blocks["Fcl_ALL_Joy"]
    t0 = time.monotonic()
    seq = [0]

    def push(dt: float, label: str, p: float) -> None:
        seq[0] += 1
        sender.send(_frame(seq[0], seq[0] / 30, label, p))
        deadline = time.time() + 5
        while session.receiver.stats.frames < seq[0]:  # one tick per frame, at the frame's time
            assert time.time() < deadline, "the frame never arrived"
            time.sleep(0.002)
        assert session.tick(now=t0 + dt) is not None

    push(0.0, "happy", 0.5)  # below the threshold: nothing
    assert joy.value == 0.0 and not session._gate.active
    push(0.05, "happy", 0.8)
    assert session._gate.active == "happy" and joy.value == pytest.approx(0.25)  # fading in over 0.2 s
    push(0.15, "happy", 0.8)
    assert joy.value == pytest.approx(0.75)
    push(0.3, "happy", 0.8)
    assert joy.value == pytest.approx(1.0)
    push(0.4, "sad", 0.9)  # another mapped label: happy fades out, sad's Action fades in
    assert joy.value == pytest.approx(0.5) and _influence(arm, "sad") == pytest.approx(0.5)
    push(0.6, "sad", 0.9)
    assert joy.value == 0.0 and _influence(arm, "sad") == pytest.approx(1.0)
    bpy.context.view_layer.update()
    z = arm.evaluated_get(bpy.context.evaluated_depsgraph_get()).pose.bones["hand"].location.z
    assert 0.0 < z <= 1.0  # the Action plays
    push(0.7, "neutral", 0.9)  # shorter than the hold: sad stays
    push(0.85, "neutral", 0.9)
    assert _influence(arm, "sad") == pytest.approx(1.0)
    push(0.95, "neutral", 0.9)  # 0.35 s since sad last qualified: it ends and fades
    assert _influence(arm, "sad") == pytest.approx(0.5)
    push(1.2, "neutral", 0.9)
    assert _influence(arm, "sad") == 0.0
    s.use_expressions = False  # the switch in the panel header: nothing reacts
    push(1.3, "happy", 0.9)
    push(1.6, "happy", 0.9)
    assert joy.value == 0.0
    session.stop()  # live tracks are preview only
    assert not [t for t in arm.animation_data.nla_tracks if t.name.startswith("Kinemo live")]
    sender.close()


def _keys(action, key, path):
    fc = next(fc for fc in addon_module("fcurves").action_fcurves(action, key) if fc.data_path == path)
    co = np.empty(2 * len(fc.keyframe_points), np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co.reshape(-1, 2)


def test_recorded_take_bakes_reactions_as_keys_and_strips(blender, scene, tmp_path):
    bpy = blender
    face, arm = _avatar(bpy, scene)
    key = face.data.shape_keys
    # A shape-key Action of the user's: it plays on the face's shape keys, not on the rig.
    react = bpy.data.actions.new("react_surprise")
    key.animation_data_create().action = react
    for frame, v in ((1, 0.0), (11, 1.0)):
        key.key_blocks["Extra"].value = v
        key.key_blocks["Extra"].keyframe_insert("value", frame=frame)
    key.animation_data.action = None
    key.key_blocks["Extra"].value = 0.0
    react.use_fake_user = True
    s = scene.kinemo
    s.expression_threshold, s.expression_hold, s.expression_blend = 0.6, 0.3, 0.2
    assert bpy.ops.kinemo.expression_map_set(label="happy", shape_keys="Fcl_ALL_Joy=0.8") == {"FINISHED"}
    assert bpy.ops.kinemo.expression_map_set(label="sad", action="react_sad") == {"FINISHED"}
    assert bpy.ops.kinemo.expression_map_set(label="surprise", action="react_surprise") == {"FINISHED"}
    with pytest.raises(RuntimeError, match="No Action named"):
        bpy.ops.kinemo.expression_map_set(label="anger", action="no such")
    assert "anger" not in [m.name for m in s.expressions]
    scene.render.fps, scene.render.fps_base, scene.frame_start = 30, 1.0, 1
    labels = ["neutral"] * 15 + ["happy"] * 15 + ["sad"] * 30 + ["surprise"] * 15
    assert bpy.ops.kinemo.live_start() == {"FINISHED"}
    session = addon_module("live").SESSION
    sender = Sender(session.receiver.port)
    assert bpy.ops.kinemo.record_start() == {"FINISHED"}
    for i, lb in enumerate(labels):
        sender.send(_frame(100 + i, 7.0 + i / 30, lb, 0.9))
        time.sleep(0.003)
    deadline = time.time() + 5
    while len(session.receiver.recorder) < len(labels) and time.time() < deadline:
        time.sleep(0.01)
    session.tick()
    assert bpy.ops.kinemo.record_stop("EXEC_DEFAULT", True) == {"FINISHED"}
    joy = _keys(key.animation_data.action, key, 'key_blocks["Fcl_ALL_Joy"].value')
    # happy from 0.5 s (frame 16), faded in over 0.2 s; sad takes over at 1.0 s (frame 31).
    np.testing.assert_allclose(joy, [[1, 0], [16, 0], [22, 0.8], [31, 0.8], [37, 0], [75, 0]], atol=1e-5)
    sad = [st for t in arm.animation_data.nla_tracks if t.name.startswith("Kinemo expression: sad") for st in t.strips]
    assert len(sad) == 1 and sad[0].frame_start == pytest.approx(31) and sad[0].action.name == "react_sad"
    surprise = [st for t in key.animation_data.nla_tracks if t.name.startswith("Kinemo expression: surprise")
                for st in t.strips]
    assert len(surprise) == 1 and surprise[0].frame_start == pytest.approx(61)
    # The same take from a file bakes the same reactions.
    doc = {"format": protocol.TAKE_FORMAT, "fps": 30, "channels": list(protocol.ARKIT_NAMES),
           "time": [i / 30 for i in range(len(labels))], "blendshapes": [[0.0] * 52] * len(labels),
           "emotion": labels, "emotion_scores": [_scores(lb, 0.9) for lb in labels]}
    (tmp_path / "shot.json").write_text(json.dumps(doc))
    assert bpy.ops.kinemo.import_take(filepath=str(tmp_path / "shot.json")) == {"FINISHED"}
    again = _keys(key.animation_data.action, key, 'key_blocks["Fcl_ALL_Joy"].value')
    assert key.animation_data.action.name == "shot"
    np.testing.assert_allclose(again, joy, atol=1e-5)
    sender.close()
