"""Companion processes from the panel's operators: the real ``kinemo`` command streaming into Blender."""

from __future__ import annotations

import time

import pytest
from addon_rigs import shape_key_mesh
from conftest import ADDON_MODULE, BIN, addon_module, free_udp_port


@pytest.fixture
def prefs(blender):
    p = blender.context.preferences.addons[ADDON_MODULE].preferences
    old = p.kinemo_command
    p.kinemo_command = str(BIN / "kinemo")
    yield p
    # Re-fetch: a test may disable and re-enable the add-on, which frees the old struct.
    addon = blender.context.preferences.addons.get(ADDON_MODULE)
    if addon is not None:
        addon.preferences.kinemo_command = old


def test_video_job_streams_into_live_then_stops(blender, prefs, grid_clips):
    bpy = blender
    bpy.ops.wm.read_homefile(use_empty=True)
    face = shape_key_mesh(bpy, "Face", ("Basis", "jawOpen"))
    s = bpy.context.scene.kinemo
    s.target, s.port, s.video_path, s.realtime = face, free_udp_port(), str(grid_clips[0]), True
    session = addon_module("live").SESSION
    jobs = addon_module("companion").JOBS
    assert bpy.ops.kinemo.live_start() == {"FINISHED"}
    try:
        assert bpy.ops.kinemo.job_start(kind="VIDEO") == {"FINISHED"}
        job = jobs.jobs["VIDEO"]
        assert job.argv[1:] == ["video", "--realtime", "--osc", f"127.0.0.1:{s.port}", "--", str(grid_clips[0])]
        deadline = time.time() + 90
        while session.receiver.stats.frames < 10 and time.time() < deadline:
            session.tick()
            time.sleep(0.01)
        assert session.receiver.stats.frames >= 10, job.status()
        assert face.data.shape_keys.key_blocks["jawOpen"].value > 0
        assert bpy.ops.kinemo.job_stop(kind="VIDEO") == {"FINISHED"}
        assert job.proc.poll() is not None and "VIDEO" not in jobs.jobs
    finally:
        jobs.stop_all()
        session.stop()


def test_failing_job_shows_its_error_and_disable_stops_jobs(blender, prefs, tmp_path):
    bpy = blender
    bpy.ops.wm.read_homefile(use_empty=True)
    s = bpy.context.scene.kinemo
    jobs = addon_module("companion").JOBS
    s.video_path = str(tmp_path / "missing.mp4")
    assert bpy.ops.kinemo.job_start(kind="VIDEO") == {"FINISHED"}
    job = jobs.jobs["VIDEO"]
    deadline = time.time() + 60
    while job.status().running and time.time() < deadline:
        time.sleep(0.05)
    st = job.status()
    assert st.returncode not in (None, 0) and "missing.mp4" in st.error, st
    with pytest.raises(RuntimeError, match="Choose the audio file"):
        bpy.ops.kinemo.job_start(kind="AUDIO")
    # A webcam job that never gets a camera keeps retrying; disabling the add-on must stop it.
    s.camera = 97
    assert bpy.ops.kinemo.job_start(kind="WEBCAM") == {"FINISHED"}
    proc = jobs.jobs["WEBCAM"].proc
    bpy.ops.preferences.addon_disable(module=ADDON_MODULE)
    try:
        assert proc.poll() is not None and not jobs.jobs
    finally:
        bpy.ops.preferences.addon_enable(module=ADDON_MODULE)


def test_calibrate_button_reaches_the_services_control_port(blender):
    from kinemo.control import ControlListener

    got = []
    listener = ControlListener(got.append, port=0)
    try:
        assert blender.ops.kinemo.calibrate(seconds=2.5, port=listener.port) == {"FINISHED"}
        deadline = time.time() + 5
        while not got and time.time() < deadline:
            time.sleep(0.02)
    finally:
        listener.close()
    assert got == [2.5] and listener.malformed == 0
