"""The add-on in real Blender: mapping, bones, actions, record/bake/undo, takes, faults.

Runs on bpy 5.0.1 here and, through tests/test_addon_bpy42.py, on the Blender 4.2 LTS
wheel (legacy ``Action.fcurves``). Imports nothing from the service.
"""

from __future__ import annotations

import json
import math
import random
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from addon_rigs import CC_FACE_KEYS, Sender, bundle, frame_bundle, head_rig, shape_key_mesh, tick_until
from conftest import ADDON_MODULE, ROOT, addon_module, free_udp_port

from blender_addon import protocol
from blender_addon.takes_io import LLF_HEADER, read_take, timecode


@pytest.fixture
def scene(blender):
    bpy = blender
    bpy.ops.wm.read_homefile(use_empty=True)
    yield bpy.context.scene
    addon_module("live").SESSION.stop()


@pytest.fixture
def live(scene):
    """The operator-started session on a free port; yields (session, sender)."""
    session = addon_module("live").SESSION
    scene.kinemo.port = free_udp_port()
    yield session
    session.stop()


def _start(bpy, scene) -> tuple:
    assert bpy.ops.kinemo.live_start() == {"FINISHED"}
    session = addon_module("live").SESSION
    return session, Sender(session.receiver.port)


def _fcurves(action, id_data):
    return list(addon_module("fcurves").action_fcurves(action, id_data))


def _curve(action, id_data, path, index=0):
    return next(fc for fc in _fcurves(action, id_data) if fc.data_path == path and fc.array_index == index)


def _keys(fc) -> np.ndarray:
    co = np.empty(2 * len(fc.keyframe_points), np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co.reshape(-1, 2)


def test_running_on_the_expected_blender(blender):
    import os

    want = os.environ.get("KINEMO_EXPECT_BLENDER")
    if want:
        assert ".".join(map(str, blender.app.version[:2])) == want


def test_cc_names_teeth_mesh_and_channel_shaping_live(blender, scene, live):
    bpy = blender
    face = shape_key_mesh(bpy, "Face", CC_FACE_KEYS)
    teeth = shape_key_mesh(bpy, "Teeth", ("Basis", "jawOpen"))
    s = scene.kinemo
    s.target = face
    bpy.context.view_layer.objects.active = teeth
    assert bpy.ops.kinemo.target_add() == {"FINISHED"}
    assert bpy.ops.kinemo.mapping_reset() == {"FINISHED"}
    s.channels["jawOpen"].gain = 0.5
    s.channels["eyeBlinkLeft"].invert = True
    s.channels["mouthSmileLeft"].mirror = True  # takes mouthSmileRight's value
    s.channels["eyeBlinkRight"].enabled = False
    session, sender = _start(bpy, scene)
    kb = face.data.shape_keys.key_blocks
    kb["Eye_Blink_R"].value = 0.33  # a disabled channel leaves the user's value alone
    blend = {"jawOpen": 0.8, "eyeBlinkLeft": 0.2, "eyeBlinkRight": 0.9, "mouthSmileRight": 0.6,
             "browInnerUp": 0.7, "eyeLookInLeft": 0.4, "mouthFunnel": 0.25}
    sender.send(frame_bundle(1, blend=blend))
    tick_until(session, lambda smp: smp.seq == 1)
    assert kb["Jaw_Open"].value == pytest.approx(0.4)
    assert kb["Eye_Blink_L"].value == pytest.approx(0.8)
    assert kb["Eye_Blink_R"].value == pytest.approx(0.33)
    assert kb["Mouth_Smile_L"].value == pytest.approx(0.6)
    assert kb["Brow_Raise_Inner_L"].value == pytest.approx(0.7) == kb["Brow_Raise_Inner_R"].value
    assert kb["Eye_L_Look_R"].value == pytest.approx(0.4)  # left eye looking towards the nose = "in"
    assert kb["Mouth_Funnel_Up_L"].value == pytest.approx(0.25)
    assert kb["Custom_Wrinkle"].value == 0.0
    assert teeth.data.shape_keys.key_blocks["jawOpen"].value == pytest.approx(0.4)
    # An edit while live takes effect at once (property update → session reconfigured).
    s.channels["jawOpen"].gain = 1.0
    sender.send(frame_bundle(2, blend=blend))
    tick_until(session, lambda smp: smp.seq == 2)
    assert kb["Jaw_Open"].value == pytest.approx(0.8)
    sender.close()


def _forward(arm, bone: str):
    """The bone's rest-forward (−Y world) direction after posing, in armature space."""
    from mathutils import Vector

    pb = arm.pose.bones[bone]
    rest = arm.data.bones[bone].matrix_local.to_3x3()
    return pb.matrix.to_3x3() @ rest.inverted() @ Vector((0, -1, 0))


def test_head_neck_and_eye_bones_follow_head_pose_and_gaze(blender, scene, live):
    bpy = blender
    arm = head_rig(bpy)
    s = scene.kinemo
    s.armature = arm
    s.head_bone, s.neck_bone, s.eye_left_bone, s.eye_right_bone = "head", "neck", "eye.L", "eye.R"
    s.neck_share = 0.25
    s.eye_yaw_axis, s.eye_pitch_axis = "Z", "X"  # these eye bones point forward (-Y), not up
    arm.pose.bones["eye.L"].rotation_mode = "XYZ"  # any rotation mode is honoured
    session, sender = _start(bpy, scene)
    sender.send(frame_bundle(1, head=(30.0, 0.0, 0.0, 0, 0, 0)))
    tick_until(session, lambda smp: smp.seq == 1)
    bpy.context.view_layer.update()
    fwd = _forward(arm, "head")
    # Performer turns to their left by 30°: the avatar (facing −Y) turns towards +X, 30° in all.
    assert math.degrees(math.atan2(fwd.x, -fwd.y)) == pytest.approx(30.0, abs=0.01)
    neck_angle = math.degrees(arm.pose.bones["neck"].rotation_quaternion.angle)
    assert neck_angle == pytest.approx(7.5, abs=1e-3)
    sender.send(frame_bundle(2, eyes=(20.0, 10.0, 20.0, 10.0)))
    tick_until(session, lambda smp: smp.seq == 2)
    bpy.context.view_layer.update()
    for eye in ("eye.L", "eye.R"):
        e = _forward(arm, eye)  # gaze towards the performer's left and up
        assert math.degrees(math.atan2(e.x, -e.y)) == pytest.approx(20.0, abs=0.01), eye
        assert math.degrees(math.asin(e.z)) == pytest.approx(10.0, abs=0.01), eye
    sender.send(frame_bundle(3, head=(0.0, 15.0, 0.0, 0, 0, 0)))
    tick_until(session, lambda smp: smp.seq == 3)
    bpy.context.view_layer.update()
    fwd = _forward(arm, "head")
    assert math.degrees(math.atan2(fwd.z, -fwd.y)) == pytest.approx(15.0, abs=0.01)  # chin up
    sender.close()


def _influence(arm, label):
    track = arm.animation_data.nla_tracks.get(addon_module("drive").LIVE_TRACK_PREFIX + label)
    return track.strips[0].fcurves.find("influence").keyframe_points[0].co[1]


def test_action_events_blend_actions_in_and_out_live(blender, scene, live):
    bpy = blender
    arm = head_rig(bpy)
    s = scene.kinemo
    s.armature = arm
    s.action_blend = 0.2
    assert bpy.ops.kinemo.action_map_add(label="wave", action="wave") == {"FINISHED"}
    session, sender = _start(bpy, scene)
    t0 = time.monotonic()

    def event(seq, phase):
        sender.send(bundle([protocol.encode_event(seq, time.time(), seq / 30, label="wave", phase=phase,
                                                    confidence=0.9, start=0.1, end=0.1)]))
        deadline = time.time() + 5
        while not session.receiver.events and time.time() < deadline:
            time.sleep(0.002)

    event(1, protocol.EVENT_START)
    session.tick(now=t0)
    assert _influence(arm, "wave") == 0.0
    session.tick(now=t0 + 0.1)
    assert _influence(arm, "wave") == pytest.approx(0.5)
    session.tick(now=t0 + 0.3)
    assert _influence(arm, "wave") == pytest.approx(1.0)
    bpy.context.view_layer.update()
    dg = bpy.context.evaluated_depsgraph_get()
    z = arm.evaluated_get(dg).pose.bones["hand"].location.z
    assert 0.0 < z <= 1.0  # the action plays (from the moment it was recognised)
    event(2, protocol.EVENT_END)
    session.tick(now=t0 + 0.4)
    assert _influence(arm, "wave") == pytest.approx(0.5)
    session.tick(now=t0 + 0.6)
    assert _influence(arm, "wave") == 0.0
    session.stop()  # live tracks are preview only: removed on stop
    assert not [t for t in arm.animation_data.nla_tracks if t.name.startswith("Kinemo live")]
    sender.close()


def test_record_then_bake_new_actions_and_one_undo_step(blender, scene, live):
    bpy = blender
    face = shape_key_mesh(bpy, "Face", ("Basis", "jawOpen", "eyeBlinkLeft"))
    arm = head_rig(bpy)
    s = scene.kinemo
    s.target, s.armature, s.head_bone = face, arm, "head"
    s.take_name = "shot1"
    assert bpy.ops.kinemo.action_map_add(label="wave", action="wave") == {"FINISHED"}
    scene.render.fps, scene.render.fps_base, scene.frame_start = 60, 1.0, 1
    old = bpy.data.actions.new("handmade")
    face.data.shape_keys.animation_data_create().action = old
    bpy.ops.ed.undo_push(message="before")
    session, sender = _start(bpy, scene)
    assert bpy.ops.kinemo.record_start() == {"FINISHED"}
    for i in range(31):  # one second at 30 fps, media time from the sender
        sender.send(frame_bundle(100 + i, time_s=5.0 + i / 30, blend={"jawOpen": i / 30},
                                 head=(i, 0, 0, 0, 0, 0)))
        if i == 10:
            sender.send(bundle([protocol.encode_event(200, time.time(), 5.0 + i / 30, label="wave",
                                                      phase=protocol.EVENT_START, confidence=0.8,
                                                      start=5.0 + i / 30, end=5.0 + i / 30)]))
        if i == 25:
            sender.send(bundle([protocol.encode_event(201, time.time(), 5.0 + i / 30, label="wave",
                                                      phase=protocol.EVENT_END, confidence=0.8,
                                                      start=5.0 + 10 / 30, end=5.0 + 25 / 30)]))
        time.sleep(0.003)
    deadline = time.time() + 5
    while len(session.receiver.recorder) < 31 and time.time() < deadline:
        time.sleep(0.01)
    session.tick()
    assert len(session.receiver.recorder) == 31  # every frame, though the UI applied only some
    assert bpy.ops.kinemo.record_stop("EXEC_DEFAULT", True) == {"FINISHED"}
    key = face.data.shape_keys
    action = key.animation_data.action
    assert action.name == "shot1" and action is not old and bpy.data.actions["handmade"].use_fake_user
    jaw = _keys(_curve(action, key, 'key_blocks["jawOpen"].value'))
    assert len(jaw) == 61 and jaw[0, 0] == 1 and jaw[-1, 0] == 61  # resampled 30 → 60 fps
    np.testing.assert_allclose(jaw[:, 1], np.arange(61) / 60, atol=1e-5)
    head_w = _keys(_curve(arm.animation_data.action, arm, 'pose.bones["head"].rotation_quaternion', 0))
    assert head_w[-1, 1] == pytest.approx(math.cos(math.radians(30) / 2), abs=1e-5)
    strips = [st for t in arm.animation_data.nla_tracks if t.name.startswith("Kinemo: wave") for st in t.strips]
    assert len(strips) == 1 and strips[0].frame_start == pytest.approx(21)  # 10/30 s after the start at 60 fps
    assert strips[0].frame_end >= 51
    # One undo step takes the whole bake back.
    assert bpy.ops.ed.undo() == {"FINISHED"}
    face = bpy.data.objects["Face"]
    assert face.data.shape_keys.animation_data.action.name == "handmade"
    assert "shot1" not in bpy.data.actions
    assert not [t for t in bpy.data.objects["Rig"].animation_data.nla_tracks if t.name.startswith("Kinemo:")]
    sender.close()


def _write_llf(path: Path, n: int = 30, fps: int = 30) -> np.ndarray:
    """A Live Link Face CSV in the real column order (JawRight before JawLeft…)."""
    rng = np.random.default_rng(3)
    values = rng.uniform(0, 1, (n, protocol.NUM_BLENDSHAPES))
    rows = [",".join(LLF_HEADER)]
    for f in range(n):
        rot = ["0.1", "-0.05", "0.02", "0", "0", "0", "0", "0", "0"]
        rows.append(",".join([timecode(f / fps, fps), "61", *(f"{v:.6f}" for v in values[f]), *rot]))
    path.write_text("\n".join(rows) + "\n")
    return np.round(values, 6)


def test_llf_csv_import_then_export_round_trip(blender, scene, tmp_path):
    bpy = blender
    from kinemo_test_rig import make_arkit_mesh

    face = make_arkit_mesh(bpy, "Face")
    scene.kinemo.target = face
    scene.render.fps, scene.render.fps_base = 30, 1.0
    src = tmp_path / "llf.csv"
    values = _write_llf(src)
    assert LLF_HEADER.index("JawRight") < LLF_HEADER.index("JawLeft")
    assert bpy.ops.kinemo.import_take(filepath=str(src)) == {"FINISHED"}
    key = face.data.shape_keys
    jaw_left = _keys(_curve(key.animation_data.action, key, 'key_blocks["jawLeft"].value'))
    np.testing.assert_allclose(jaw_left[:, 1], values[:, protocol.ARKIT_INDEX["jawLeft"]], atol=1e-6)
    out = tmp_path / "out.csv"
    assert bpy.ops.kinemo.export_take(filepath=str(out)) == {"FINISHED"}
    back = read_take(str(out))
    assert back.fps == 30 and len(back.times) == 30
    np.testing.assert_allclose(back.blendshapes, values, atol=1e-6)
    np.testing.assert_allclose(back.times, np.arange(30) / 30, atol=1e-6)


def test_bake_keeps_existing_animation_unless_asked_and_reduces_keys_within_tolerance(blender, scene, tmp_path):
    bpy = blender
    face = shape_key_mesh(bpy, "Face", ("Basis", "jawOpen"))
    scene.kinemo.target = face
    scene.render.fps = 60
    t = np.arange(600) / 60
    jaw = 0.5 + 0.4 * np.sin(2 * np.pi * 0.5 * t)
    take = {"format": "kinemo-take", "fps": 60, "time": t.tolist(),
            "blendshapes": np.outer(jaw, np.eye(52)[17]).tolist()}
    path = tmp_path / "sine.json"
    path.write_text(json.dumps(take))
    key = face.data.shape_keys
    assert bpy.ops.kinemo.import_take(filepath=str(path)) == {"FINISHED"}
    first = key.animation_data.action
    full = _keys(_curve(first, key, 'key_blocks["jawOpen"].value'))
    assert len(full) == 600
    scene.kinemo.reduce_keys, scene.kinemo.reduce_tolerance = True, 0.002
    assert bpy.ops.kinemo.import_take(filepath=str(path)) == {"FINISHED"}
    second = key.animation_data.action
    assert second is not first and first.use_fake_user and first.name in bpy.data.actions
    fc = _curve(second, key, 'key_blocks["jawOpen"].value')
    reduced = _keys(fc)
    assert len(reduced) < 150
    err = max(abs(fc.evaluate(f) - v) for f, v in full)
    assert err <= 0.002 + 1e-6
    # Replace only when asked: the assigned action's curve is overwritten, no new action.
    n = len(bpy.data.actions)
    scene.kinemo.reduce_keys = False
    assert bpy.ops.kinemo.import_take(filepath=str(path), replace="REPLACE") == {"FINISHED"}
    assert key.animation_data.action is second and len(bpy.data.actions) == n
    assert len(_keys(_curve(second, key, 'key_blocks["jawOpen"].value'))) == 600


def test_presets_save_load_and_bundled_presets(blender, scene, tmp_path):
    bpy = blender
    s = scene.kinemo
    assert bpy.ops.kinemo.mapping_reset() == {"FINISHED"}
    s.channels["jawOpen"].gain, s.channels["jawOpen"].keys = 1.5, "Fcl_MTH_A, Jaw_Open"
    s.channels["eyeBlinkLeft"].mirror, s.smoothing = True, 0.05
    path = tmp_path / "mine.json"
    assert bpy.ops.kinemo.preset_save(filepath=str(path)) == {"FINISHED"}
    assert bpy.ops.kinemo.mapping_reset() == {"FINISHED"}
    assert s.channels["jawOpen"].gain == 1.0 and s.channels["jawOpen"].keys == ""
    assert bpy.ops.kinemo.preset_load(filepath=str(path)) == {"FINISHED"}
    assert s.channels["jawOpen"].gain == 1.5 and s.channels["jawOpen"].keys == "Fcl_MTH_A, Jaw_Open"
    assert s.channels["eyeBlinkLeft"].mirror and s.smoothing == pytest.approx(0.05)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "kinemo-mapping", "channels": {"jawOpen": {"gain": "__import__(\'os\')"}}}')
    with pytest.raises(RuntimeError, match="must be a number"):
        bpy.ops.kinemo.preset_load(filepath=str(bad))
    bundled = sorted((ROOT / "rigs" / "presets").glob("*.json"))
    assert len(bundled) >= 3
    for p in bundled:
        assert bpy.ops.kinemo.preset_load(filepath=str(p)) == {"FINISHED"}, p


def test_sender_lost_eases_to_neutral_then_new_sender_picks_up(blender, scene, live):
    bpy = blender
    face = shape_key_mesh(bpy, "Face", ("Basis", "jawOpen"))
    scene.kinemo.target, scene.kinemo.on_lost = face, "NEUTRAL"
    session, sender = _start(bpy, scene)
    kb = face.data.shape_keys.key_blocks["jawOpen"]
    for seq in range(500, 510):
        sender.send(frame_bundle(seq, blend={"jawOpen": 0.9}))
    tick_until(session, lambda smp: smp.seq == 509)
    assert kb.value == pytest.approx(0.9) and session.status()["state"] == "connected"
    sender.close()  # the sender dies
    t0 = time.monotonic()
    while session.status()["state"] != "lost":
        session.tick()
        time.sleep(0.01)
    assert time.monotonic() - t0 <= 1.0  # status shows lost within a second
    deadline = time.monotonic() + 2
    while kb.value > 0 and time.monotonic() < deadline:
        session.tick()
        time.sleep(0.01)
    assert kb.value == 0.0  # eased back to neutral
    # It comes back (new process: new socket, sequence from 0): picked up without user action.
    again = Sender(session.receiver.port)
    again.send(frame_bundle(0, blend={"jawOpen": 0.3}))
    tick_until(session, lambda smp: smp.seq == 0)
    assert kb.value == pytest.approx(0.3) and session.status()["state"] == "connected"
    assert session.receiver.stats.restarts == 1
    # Hold is the other choice: the last pose stays.
    scene.kinemo.on_lost = "HOLD"
    session.configure(addon_module("props").live_config(scene.kinemo))
    session.tick(now=time.monotonic() + 5)
    assert kb.value == pytest.approx(0.3)
    again.close()


def test_vmc_sender_drives_the_same_avatar(blender, scene, live):
    bpy = blender
    import shutil
    import subprocess

    face = shape_key_mesh(bpy, "Face", ("Basis", "Eye_Blink_L", "jawOpen", "mouthSmileLeft"))
    arm = head_rig(bpy)
    s = scene.kinemo
    s.target, s.armature, s.head_bone, s.source = face, arm, "head", "VMC"
    s.vmc_port = free_udp_port()
    session, sender = _start(bpy, scene)
    assert session.receiver.port == s.vmc_port and session.receiver.vmc
    q = protocol.unity_quaternion(25.0, 0.0, 0.0)
    sender.send(bundle([(protocol.VMC_BLEND_VAL, "sf", ("EyeBlinkLeft", 0.7)),  # perfect-sync PascalCase
                        (protocol.VMC_BLEND_VAL, "sf", ("A", 0.5)),  # VRM vowel preset
                        (protocol.VMC_BLEND_VAL, "sf", ("Joy", 1.0)),  # unknown here: ignored
                        (protocol.VMC_BONE_POS, "sfffffff", ("Head", 0.0, 0.0, 0.0, *q)),
                        (protocol.VMC_BLEND_APPLY, "", ())]))
    tick_until(session, lambda smp: smp.blendshape("eyeBlinkLeft") > 0)
    kb = face.data.shape_keys.key_blocks
    assert kb["Eye_Blink_L"].value == pytest.approx(0.7) and kb["jawOpen"].value == pytest.approx(0.5)
    bpy.context.view_layer.update()
    fwd = _forward(arm, "head")
    assert math.degrees(math.atan2(fwd.x, -fwd.y)) == pytest.approx(25.0, abs=0.01)
    # liblo's oscsend, one message at a time, as VMC tools also do.
    oscsend = shutil.which("oscsend")
    assert oscsend, "liblo-tools must be installed (scripts/setup_env.sh does it)"
    port = str(session.receiver.port)
    subprocess.run([oscsend, "127.0.0.1", port, protocol.VMC_BLEND_VAL, "sf", "mouthSmileLeft", "0.25"],
                   check=True, timeout=10)
    subprocess.run([oscsend, "127.0.0.1", port, protocol.VMC_BLEND_APPLY], check=True, timeout=10)
    tick_until(session, lambda smp: smp.blendshape("mouthSmileLeft") > 0)
    assert kb["mouthSmileLeft"].value == pytest.approx(0.25)
    sender.close()


def test_lan_listening_is_explicit_and_allow_list_rejects_others(blender, scene, live):
    bpy = blender
    face = shape_key_mesh(bpy, "Face", ("Basis", "jawOpen"))
    scene.kinemo.target = face
    assert scene.kinemo.host == "127.0.0.1"
    scene.kinemo.allow = "10.9.8.7"
    session, sender = _start(bpy, scene)
    sender.send(frame_bundle(1, blend={"jawOpen": 0.5}))
    deadline = time.time() + 5
    while session.receiver.stats.rejected == 0 and time.time() < deadline:
        time.sleep(0.01)
    assert session.receiver.stats.rejected == 1 and session.tick() is None
    assert face.data.shape_keys.key_blocks["jawOpen"].value == 0.0
    session.stop()
    scene.kinemo.allow = "127.0.0.1"
    session, sender2 = _start(bpy, scene)
    sender2.send(frame_bundle(1, blend={"jawOpen": 0.5}))
    tick_until(session, lambda smp: smp.seq == 1)
    assert face.data.shape_keys.key_blocks["jawOpen"].value == pytest.approx(0.5)
    sender.close()
    sender2.close()


def test_loading_a_file_while_receiving_and_port_in_use(blender, scene, live, tmp_path):
    bpy = blender
    face = shape_key_mesh(bpy, "Face", ("Basis", "jawOpen"))
    scene.kinemo.target = face
    session, sender = _start(bpy, scene)
    port = session.receiver.port
    stop = threading.Event()

    def stream():
        seq = 0
        while not stop.is_set():
            sender.send(frame_bundle(seq, blend={"jawOpen": 0.5}))
            seq += 1
            time.sleep(1 / 60)

    th = threading.Thread(target=stream)
    th.start()
    try:
        tick_until(session, lambda smp: True)
        blend = tmp_path / "other.blend"
        bpy.ops.wm.save_as_mainfile(filepath=str(blend))
        bpy.ops.wm.open_mainfile(filepath=str(blend))  # a new file while frames keep coming
        assert not session.running and session.tick() is None
        assert not [t for t in threading.enumerate() if t.name.startswith("kinemo-osc")]
        scene = bpy.context.scene
        assert bpy.ops.kinemo.live_start() == {"FINISHED"}  # and listening again just works
        tick_until(session, lambda smp: True)
        assert bpy.data.objects["Face"].data.shape_keys.key_blocks["jawOpen"].value == pytest.approx(0.5)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            scene.kinemo.port = s.getsockname()[1]
            with pytest.raises(RuntimeError, match="Cannot listen on .*pick another port"):
                bpy.ops.kinemo.live_start()
        assert not session.running
    finally:
        stop.set()
        th.join()
        sender.close()
    assert port


def test_fuzzed_packets_then_a_valid_frame_still_applies(blender, scene, live):
    bpy = blender
    face = shape_key_mesh(bpy, "Face", ("Basis", "jawOpen"))
    scene.kinemo.target = face
    session, sender = _start(bpy, scene)
    rx = session.receiver
    rng = random.Random(7)
    good = frame_bundle(5, blend={"jawOpen": 0.2})
    n = 3000
    for i in range(n):
        data = bytearray(good)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        rx.handle_datagram(bytes(data[: rng.randint(0, len(data))]) if i % 2 else bytes(data), ("127.0.0.1", 1))
        if i % 100 == 0:
            session.tick()
    st = rx.stats
    assert st.packets == n and session.errors == 0
    assert st.accepted + st.malformed + st.stale + st.duplicate + st.rejected + st.foreign == n
    sender.send(frame_bundle(10_000_000, blend={"jawOpen": 0.75}))
    tick_until(session, lambda smp: smp.seq == 10_000_000)
    assert face.data.shape_keys.key_blocks["jawOpen"].value == pytest.approx(0.75)
    sender.close()


def test_disable_enable_while_streaming_leaves_nothing_behind(blender, scene):
    bpy = blender
    face = shape_key_mesh(bpy, "Face", ("Basis", "jawOpen"))
    scene.kinemo.target = face
    scene.kinemo.port = free_udp_port()
    session, sender = _start(bpy, scene)
    port = session.receiver.port
    assert bpy.ops.kinemo.record_start() == {"FINISHED"}
    for seq in range(20):
        sender.send(frame_bundle(seq, blend={"jawOpen": 0.4}))
    bpy.ops.preferences.addon_disable(module=ADDON_MODULE)
    try:
        assert not [t for t in threading.enumerate() if t.name.startswith(("kinemo-osc", "kinemo-job"))]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", port))
        assert not hasattr(bpy.ops.kinemo, "record_start") or not hasattr(bpy.types.Scene, "kinemo")
    finally:
        bpy.ops.preferences.addon_enable(module=ADDON_MODULE)
        sender.close()
    assert hasattr(bpy.types.Scene, "kinemo")
