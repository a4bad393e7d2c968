"""The add-on inside real Blender (bpy 5.0.1), installed from its built zip."""

import json
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import ADDON_MODULE, ROOT, addon_module, free_udp_port, run_kinemo

from kinemo import protocol


def test_zip_has_manifest_wheel_and_the_services_protocol(addon_zip):
    with zipfile.ZipFile(addon_zip) as zf:
        names = set(zf.namelist())
        assert {"blender_manifest.toml", "__init__.py", "protocol.py"} <= names
        assert "wheels/python_osc-1.10.2-py3-none-any.whl" in names
        assert zf.read("protocol.py") == (ROOT / "inference" / "kinemo" / "protocol.py").read_bytes()
        assert not [n for n in names if "__pycache__" in n]
        assert zf.read("LICENSE") == (ROOT / "LICENSE").read_bytes() and zf.read("NOTICE").startswith(b"Kinemo")


def test_installed_extension_registers_operators_and_bundled_wheel(blender):
    bpy = blender
    for op in ("live_start", "live_stop", "import_take"):
        assert hasattr(bpy.ops.kinemo, op)
    assert hasattr(bpy.types.Scene, "kinemo")
    site = Path(bpy.utils.user_resource("EXTENSIONS")) / ".local" / "lib" / "python3.11" / "site-packages"
    assert (site / "pythonosc" / "osc_packet.py").is_file(), "python-osc wheel was not installed by Blender"


def _sample_jaw_while_streaming(bpy, obj, proc, session, timeout=60):
    """Drive the add-on's timer work by hand, recording (seq, jawOpen shape-key value) as applied."""
    applied = []
    deadline = time.time() + timeout
    kb = obj.data.shape_keys.key_blocks["jawOpen"]
    while time.time() < deadline:
        sample = session.tick()
        if sample is not None:
            applied.append((sample.seq, kb.value))
        elif proc.poll() is not None:
            # Sender finished: drain whatever is still in flight, then stop.
            time.sleep(0.2)
            sample = session.tick()
            if sample is not None:
                applied.append((sample.seq, kb.value))
            break
        else:
            time.sleep(0.001)
    return applied


def test_end_to_end_video_drives_shape_keys(blender, face_mesh, tmp_path, grid_clips):
    bpy = blender
    session = addon_module("live").SESSION
    port = free_udp_port()
    bpy.context.scene.kinemo.target = face_mesh
    bpy.context.scene.kinemo.port = port
    assert bpy.ops.kinemo.live_start() == {"FINISHED"}
    try:
        assert session.running and session.receiver.host == "127.0.0.1"
        take = tmp_path / "sent.json"
        clip = next(c for c in grid_clips if c.name == "bbaf2n.mpg")
        proc = subprocess.Popen([sys.executable, "-m", "kinemo", "video", str(clip), "--realtime",
                                 "--osc", f"127.0.0.1:{port}", "-o", str(take), "-q", "--smooth", "live"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        applied = _sample_jaw_while_streaming(bpy, face_mesh, proc, session)
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    finally:
        assert bpy.ops.kinemo.live_stop() == {"FINISHED"}
    sent = json.loads(take.read_text())
    sent_jaw = {seq: bs[protocol.ARKIT_INDEX["jawOpen"]] for seq, bs in zip(sent["seq"], sent["blendshapes"],
                                                                           strict=True)}
    assert len(applied) >= 30, f"only {len(applied)} of 75 frames applied"
    seqs = [s for s, _ in applied]
    assert seqs == sorted(seqs) and seqs[-1] == 74
    for seq, value in applied:
        assert abs(value - sent_jaw[seq]) <= 1e-6, (seq, value, sent_jaw[seq])
    assert max(v for _, v in applied) > 0.05
    assert session.receiver is None and not session.running


def test_oscsend_from_liblo_moves_shape_keys(blender, face_mesh):
    session = addon_module("live").SESSION
    port = free_udp_port()
    session.start([face_mesh.name], "127.0.0.1", port, use_timer=False)
    try:
        values = [0.0] * 52
        values[protocol.ARKIT_INDEX["jawOpen"]] = 0.625
        values[protocol.ARKIT_INDEX["eyeBlinkLeft"]] = 0.25
        args = ["42", "1700000000.5", "1.25", *(f"{v:g}" for v in values)]
        oscsend = shutil.which("oscsend")
        assert oscsend, "liblo-tools must be installed (scripts/setup_env.sh does it)"
        subprocess.run([oscsend, "127.0.0.1", str(port), protocol.ADDR_BLENDSHAPES, "idd" + "f" * 52, *args],
                       check=True, timeout=10)
        sample = None
        deadline = time.time() + 5
        while sample is None and time.time() < deadline:
            sample = session.tick()
            time.sleep(0.01)
        kb = face_mesh.data.shape_keys.key_blocks
        assert sample is not None and sample.seq == 42 and sample.time == 1.25
        assert kb["jawOpen"].value == pytest.approx(0.625) and kb["eyeBlinkLeft"].value == pytest.approx(0.25)
        assert kb["jawForward"].value == 0.0
        # A malformed message from the same tool is counted and changes nothing.
        subprocess.run([oscsend, "127.0.0.1", str(port), protocol.ADDR_BLENDSHAPES, "if", "43", "0.9"],
                       check=True, timeout=10)
        deadline = time.time() + 5
        while session.receiver.stats.malformed == 0 and time.time() < deadline:
            time.sleep(0.01)
        assert session.receiver.stats.malformed == 1
        assert session.tick() is None and kb["jawOpen"].value == pytest.approx(0.625)
    finally:
        session.stop()


def test_oscdump_decodes_the_service_stream(grid_clips, tmp_path):
    port = free_udp_port()
    oscdump = shutil.which("oscdump")
    assert oscdump, "liblo-tools must be installed (scripts/setup_env.sh does it)"
    dump = subprocess.Popen([oscdump, "-L", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        r = run_kinemo("video", str(grid_clips[0]), "--osc", f"127.0.0.1:{port}", "--max-frames", "10",
                       "--realtime", "-o", str(tmp_path / "t.json"), "-q", "--smooth", "live")
        assert r.returncode == 0, r.stderr
        time.sleep(0.5)
    finally:
        dump.terminate()
        out, _ = dump.communicate(timeout=10)
    lines = [ln for ln in out.splitlines() if protocol.ADDR_BLENDSHAPES in ln]
    assert len(lines) == 10, out[:2000]
    sent = json.loads((tmp_path / "t.json").read_text())
    for line, seq, bs in zip(lines, sent["seq"], sent["blendshapes"], strict=True):
        # oscdump prints: [timetag] address typetags arg arg ...
        parts = line.split()
        i = parts.index(protocol.ADDR_BLENDSHAPES)
        assert parts[i + 1] == "idd" + "f" * 52
        assert int(parts[i + 2]) == seq
        jaw = float(parts[i + 5 + protocol.ARKIT_INDEX["jawOpen"]])
        assert jaw == pytest.approx(bs[protocol.ARKIT_INDEX["jawOpen"]], abs=1e-6)
    assert any(protocol.ADDR_HEAD in ln for ln in out.splitlines())


def test_import_take_bakes_a_new_action_and_keeps_the_old(blender, face_mesh, grid_clips, tmp_path):
    bpy = blender
    take = tmp_path / "bbaf2n.json"
    assert run_kinemo("video", str(grid_clips[0]), "-o", str(take), "--no-osc", "-q").returncode == 0
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base, scene.frame_start = 50, 1.0, 1
    key = face_mesh.data.shape_keys
    old = bpy.data.actions.new("handmade")
    key.animation_data_create().action = old
    bpy.context.scene.kinemo.target = face_mesh
    assert bpy.ops.kinemo.import_take(filepath=str(take)) == {"FINISHED"}
    action = key.animation_data.action
    assert action.name == "bbaf2n" and action is not old
    assert "handmade" in bpy.data.actions and bpy.data.actions["handmade"].use_fake_user
    fcurves = _fcurves(action, key)
    assert len(fcurves) == 52
    jaw = next(fc for fc in fcurves if fc.data_path == 'key_blocks["jawOpen"].value')
    # 75 frames at 25 fps = 2.96 s → 149 keys at 50 fps, resampled linearly.
    assert len(jaw.keyframe_points) == 149
    sent = json.loads(take.read_text())
    jaw_sent = [bs[protocol.ARKIT_INDEX["jawOpen"]] for bs in sent["blendshapes"]]
    co = np.empty(2 * 149, np.float32)
    jaw.keyframe_points.foreach_get("co", co)
    assert co[0] == 1 and co[-2] == 149
    np.testing.assert_allclose(co[1::4], jaw_sent[: len(co[1::4])], atol=1e-6)  # every other key is a sample
    scene.frame_set(11)  # = sample 5
    assert key.key_blocks["jawOpen"].value == pytest.approx(jaw_sent[5], abs=1e-6)
    # A second import never overwrites: a new, uniquely named action.
    assert bpy.ops.kinemo.import_take(filepath=str(take)) == {"FINISHED"}
    assert key.animation_data.action.name == "bbaf2n.001" and "bbaf2n" in bpy.data.actions


def test_import_take_bad_file_reports_and_changes_nothing(blender, face_mesh, tmp_path):
    bpy = blender
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    bpy.context.scene.kinemo.target = face_mesh
    n = len(bpy.data.actions)
    with pytest.raises(RuntimeError, match="cannot read take"):
        bpy.ops.kinemo.import_take(filepath=str(bad))
    assert len(bpy.data.actions) == n


def _fcurves(action, key):
    if hasattr(action, "layers") and action.layers:
        slot = key.animation_data.action_slot
        return list(action.layers[0].strips[0].channelbag(slot).fcurves)
    return list(action.fcurves)


def test_timer_driven_session_and_clean_disable(blender, face_mesh):
    bpy = blender
    port = free_udp_port()
    bpy.context.scene.kinemo.target = face_mesh
    bpy.context.scene.kinemo.port = port
    assert bpy.ops.kinemo.live_start() == {"FINISHED"}
    live = addon_module("live")
    assert bpy.app.timers.is_registered(live._timer)
    assert any(t.name.startswith("kinemo-osc") for t in threading.enumerate())
    # Port already taken → the operator reports instead of raising into the UI.
    other = free_udp_port()
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", other))
        bpy.context.scene.kinemo.port = other
        with pytest.raises(RuntimeError, match="Cannot listen"):
            bpy.ops.kinemo.live_start()
    bpy.context.scene.kinemo.port = port
    assert bpy.ops.kinemo.live_start() == {"FINISHED"}
    # Disabling the add-on stops the thread, closes the socket and removes the timer.
    bpy.ops.preferences.addon_disable(module=ADDON_MODULE)
    try:
        assert not any(t.name.startswith("kinemo-osc") for t in threading.enumerate())
        assert not bpy.app.timers.is_registered(live._timer)
        assert not hasattr(bpy.types.Scene, "kinemo")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", port))
    finally:
        bpy.ops.preferences.addon_enable(module=ADDON_MODULE)
    assert hasattr(bpy.ops.kinemo, "live_start") and hasattr(bpy.types.Scene, "kinemo")
