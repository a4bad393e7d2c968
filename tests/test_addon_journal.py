"""Nothing lost: a take being recorded is journaled to disk and recovered after a crash.

Plain Python: the journal format (torn tails, corruption, rewritten rows, events) and
the writer thread. Real Blender in this process (5.0; 4.2 through
tests/test_addon_bpy42.py): recovery bakes exactly what Stop and Bake bakes, a file load
keeps the journal, stops that discard delete it, the panel offers it. Real Blender in
two processes (5.0 and 4.2): one records frames sent over real UDP and is SIGKILLed, the
next opens the same .blend and recovers the take.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import struct
import subprocess
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from addon_rigs import Sender, bundle, frame_bundle, head_rig, shape_key_mesh
from conftest import ADDON_MODULE, ROOT, addon_module, free_udp_port

from blender_addon import protocol
from blender_addon.recorder import Recorder
from blender_addon.take_journal import (
    MAGIC,
    SUFFIX,
    JournalError,
    JournalWriter,
    find,
    is_live,
    journal_name,
    read_header,
    read_journal,
)

PY50 = ROOT / ".venv" / "bin" / "python"
PY42 = ROOT / ".venv-bpy42" / "bin" / "python"


def _sample(seq: int, t: float, jaw: float = 0.0, present: bool = True) -> protocol.FaceSample:
    bs = [0.0] * protocol.NUM_BLENDSHAPES
    bs[protocol.ARKIT_INDEX["jawOpen"]] = jaw
    expression = ("happy", *[0.1 * (i + 1) for i in range(len(protocol.EMOTIONS))]) if seq % 3 == 0 else None
    return protocol.FaceSample(seq=seq, stamp=0.0, time=t, present=present, blendshapes=tuple(bs),
                               head=(seq, -seq, 0.5, 1, 2, 3, 0, 0, 0, 1), eyes=(1, 2, 3, 4), expression=expression)


def _rows(rec: Recorder) -> np.ndarray:
    return rec._slice(0, len(rec))


def _equal_takes(a, b) -> None:
    for name in ("times", "blendshapes", "present", "head", "eyes", "emotion", "emotion_scores"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.events == b.events and a.name == b.name


# -- plain Python ------------------------------------------------------------------
def test_journal_round_trip_rewritten_rows_events_and_torn_tail(tmp_path):
    rec = Recorder("shot")
    path = tmp_path / journal_name("shot.blend")
    writer = JournalWriter(rec, str(path), {"take": "shot", "blend": "/x/shot.blend"})
    writer.open()
    assert is_live(str(path))  # the writer holds it: never offered while recording
    for seq in range(10):
        rec.put(_sample(seq, 5 + seq / 30, seq / 10))
        if seq % 4 == 3:
            writer.flush()
    rec.put(_sample(9, 5 + 9 / 30, 0.95))  # the same frame completed after it was journaled
    rec.add_event("wave", 5.1, 5.1, 0.8)
    writer.flush()
    rec.add_event("wave", 5.1, 5.2, 0.9)  # the same event ends: a later record replaces it
    rec.add_event("nod", 5.2, 5.25, 0.7)
    for seq in range(3):  # the sender restarts (media time from 0): the take continues
        rec.put(_sample(seq, seq / 30, 0.5))
    writer.close()
    assert not is_live(str(path)) and writer.rows_written == 13
    back = read_journal(str(path))
    assert not back.torn and back.name == "shot" and back.header["blend"] == "/x/shot.blend"
    np.testing.assert_array_equal(back.rows, _rows(rec))
    assert back.rows[9, 2 + protocol.ARKIT_INDEX["jawOpen"]] == 0.95
    assert back.events == rec.events == [("wave", 5.1, 5.2, 0.9), ("nod", 5.2, 5.25, 0.7)]
    _equal_takes(back.recorder().take(), rec.take())
    # Killed mid-write: every cut inside the last record drops that record only.
    data = path.read_bytes()
    full = len(data)
    last = _last_record_start(data)
    for cut in range(last + 1, full):
        path.write_bytes(data[:cut])
        torn = read_journal(str(path))
        assert torn.torn and len(torn.rows) == 13  # the last record was the events one
        assert torn.events == [("wave", 5.1, 5.1, 0.8)]
    path.write_bytes(data[:last])  # cut exactly between records: nothing torn
    assert not read_journal(str(path)).torn
    # A flipped byte (bad sector, bug): the record fails its CRC, nothing after it is trusted.
    bad = bytearray(data)
    bad[last + 12] ^= 0xFF
    path.write_bytes(bytes(bad))
    assert read_journal(str(path)).torn
    path.write_bytes(data + struct.pack("<BII", 1, 0xFFFFFFF0, 0))  # a huge length at the end: torn, no huge read
    assert read_journal(str(path)).torn and len(read_journal(str(path)).rows) == 13


def _last_record_start(data: bytes) -> int:
    pos, last = len(MAGIC), len(MAGIC)
    while pos < len(data):
        last = pos
        pos += 9 + struct.unpack_from("<BII", data, pos)[1]
    return last


def test_journal_refuses_what_it_did_not_write_and_never_evaluates(tmp_path):
    junk = tmp_path / f"x{SUFFIX}"
    junk.write_bytes(b"\x80\x04K\x01.")  # a pickle: not even looked at
    with pytest.raises(JournalError, match="not a Kinemo journal"):
        read_journal(str(junk))
    rec = Recorder("t")
    path = tmp_path / journal_name("")
    w = JournalWriter(rec, str(path), {"take": "t"})
    w.open()
    w.close()
    data = path.read_bytes()
    other = data.replace(b'"width": ', b'"width": 1')  # another frame layout
    body = other[len(MAGIC) + 9:]
    path.write_bytes(MAGIC + struct.pack("<BII", 0, len(body), zlib.crc32(body)) + body)
    with pytest.raises(JournalError, match="another frame layout"):
        read_header(str(path))
    path.write_bytes(MAGIC + b"\x00\x03")  # header torn: unusable
    with pytest.raises(JournalError, match="no readable header"):
        read_journal(str(path))


def test_writer_thread_flushes_within_a_second_and_closes_itself_when_the_take_is_dropped(tmp_path):
    rec = Recorder("t")
    attached = [True]
    path = tmp_path / journal_name("")
    writer = JournalWriter(rec, str(path), {"take": "t"}, lambda: attached[0])
    writer.open()
    t0 = time.monotonic()
    for seq in range(20):
        rec.put(_sample(seq, seq / 60))
    while writer.rows_written < 20 and time.monotonic() - t0 < 2:
        time.sleep(0.01)
    assert writer.rows_written == 20 and time.monotonic() - t0 <= 1.0
    assert len(read_journal(str(path)).rows) == 20  # readable while it is written
    for seq in range(20, 25):
        rec.put(_sample(seq, seq / 60))
    attached[0] = False  # e.g. a file load stopped the session: the writer finishes by itself
    deadline = time.monotonic() + 2
    while is_live(str(path)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not is_live(str(path)) and len(read_journal(str(path)).rows) == 25
    writer.close()  # idempotent
    writer.discard()
    assert not path.exists()


def test_writer_never_raises_when_the_disk_fails(tmp_path):
    rec = Recorder("t")
    writer = JournalWriter(rec, str(tmp_path / journal_name("")), {"take": "t"})
    writer.open()
    rec.put(_sample(0, 0.0))
    writer.flush()
    with writer._io:  # the disk fills up under the writer
        real, writer._fd = writer._fd, os.open("/dev/full", os.O_WRONLY)
    os.close(real)
    rec.put(_sample(1, 0.1))
    writer.flush()
    assert writer.error.startswith("Crash journal stopped")
    writer.close()
    assert len(rec) == 2  # the recording itself goes on in memory


def test_find_lists_this_files_journals_newest_first_and_skips_live_and_foreign_ones(tmp_path):
    project, user = tmp_path / "project", tmp_path / "user"
    project.mkdir()
    user.mkdir()
    blend = project / "shot [v2].blend"  # glob characters in the name are literal

    def journal(folder: Path, blend_name: str, blend_path: str, take: str) -> JournalWriter:
        rec = Recorder(take)
        rec.put(_sample(0, 0.0))
        w = JournalWriter(rec, str(folder / journal_name(blend_name)), {"take": take, "blend": blend_path})
        w.open()
        return w

    old = journal(project, blend.name, str(blend), "old")
    old.close()
    time.sleep(0.02)
    fallback = journal(user, blend.name, str(blend), "fallback")  # the project folder was read-only
    fallback.close()
    live = journal(project, blend.name, str(blend), "live")  # still recording (this process)
    other = journal(project, "other.blend", str(project / "other.blend"), "other")
    other.close()
    unsaved = journal(user, "", "", "unsaved")
    unsaved.close()
    (project / f"{blend.name}.junk{SUFFIX}").write_bytes(b"garbage")
    found = find(str(blend), str(user))
    assert [f.take for f in found] == ["fallback", "old"]
    assert found[0].frames >= 0 and found[0].size == os.path.getsize(found[0].path)
    assert [f.take for f in find("", str(user))] == ["unsaved"]
    live.close()
    assert {f.take for f in find(str(blend), str(user))} == {"fallback", "old", "live"}


# -- real Blender, this process ----------------------------------------------------------
@pytest.fixture
def scene(blender):
    bpy = blender
    bpy.ops.wm.read_homefile(use_empty=True)
    user = addon_module("recovery").user_dir()
    assert user.startswith(os.environ["BLENDER_USER_RESOURCES"])  # a test folder: safe to empty
    for leftover in Path(user).glob(f"*{SUFFIX}"):  # other tests' recordings, stopped by file loads
        leftover.unlink()
    yield bpy.context.scene
    addon_module("live").SESSION.stop()


def _rig_scene(bpy, scene, blend: Path | None):
    face = shape_key_mesh(bpy, "Face", ("Basis", "jawOpen", "eyeBlinkLeft"))
    arm = head_rig(bpy)
    s = scene.kinemo
    s.target, s.armature, s.head_bone, s.take_name, s.port = face, arm, "head", "shot1", free_udp_port()
    assert bpy.ops.kinemo.action_map_add(label="wave", action="wave") == {"FINISHED"}
    scene.render.fps, scene.render.fps_base, scene.frame_start = 60, 1.0, 1
    if blend is not None:
        assert bpy.ops.wm.save_as_mainfile(filepath=str(blend)) == {"FINISHED"}
    return face, arm


def _record(bpy, n: int) -> object:
    """Start live + recording, send ``n`` frames and an action event over UDP; wait until journaled."""
    assert bpy.ops.kinemo.live_start() == {"FINISHED"}
    session = addon_module("live").SESSION
    sender = Sender(session.receiver.port)
    assert bpy.ops.kinemo.record_start() == {"FINISHED"}
    rec = session.receiver.recorder
    assert rec.journal is not None and rec.journal.error == ""
    for i in range(n):
        sender.send(frame_bundle(100 + i, time_s=5.0 + i / 30, blend={"jawOpen": i / n}, head=(i, 0, 0, 0, 0, 0)))
        if i in (5, 20):
            sender.send(bundle([protocol.encode_event(200 + i, time.time(), 5.0 + i / 30, label="wave",
                                                      phase=protocol.EVENT_START if i == 5 else protocol.EVENT_END,
                                                      confidence=0.8, start=5.2, end=5.0 + i / 30)]))
        time.sleep(0.003)
    sender.close()
    deadline = time.time() + 5
    while (len(rec) < n or rec.journal.rows_written < n or (n > 5 and not rec.events)) and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.6)  # one more flush: the event too
    assert len(rec) == n and rec.journal.rows_written == n
    return rec


def _baked(face, arm) -> dict:
    from test_addon_bpy import _fcurves, _keys

    key = face.data.shape_keys
    out = {}
    for owner, action in ((key, key.animation_data.action), (arm, arm.animation_data.action)):
        for fc in _fcurves(action, owner):
            out[(fc.data_path, fc.array_index)] = _keys(fc)
    strips = [(t.name, st.frame_start, st.frame_end) for t in arm.animation_data.nla_tracks
              if t.name.startswith("Kinemo: ") for st in t.strips]
    return {"curves": out, "strips": strips}


def test_recovered_take_bakes_exactly_what_stop_and_bake_bakes(blender, scene, tmp_path):
    bpy = blender
    blend = tmp_path / "shot.blend"
    face, arm = _rig_scene(bpy, scene, blend)
    rec = _record(bpy, 40)
    path = Path(rec.journal.path)
    assert path.parent == tmp_path and path.name.startswith("shot.blend.")  # beside the .blend
    crashed = tmp_path / "crashed.copy"
    shutil.copyfile(path, crashed)  # the journal as a crash at this moment would leave it
    assert bpy.ops.kinemo.record_stop("EXEC_DEFAULT", True) == {"FINISHED"}
    assert not path.exists()  # a normal stop leaves nothing behind
    stopped = _baked(face, arm)
    assert stopped["strips"] and len(stopped["curves"][('key_blocks["jawOpen"].value', 0)]) > 70
    for owner in (face.data.shape_keys, arm):
        owner.animation_data.action = None
    for track in list(arm.animation_data.nla_tracks):
        arm.animation_data.nla_tracks.remove(track)
    shutil.copyfile(crashed, path)
    assert [f.path for f in addon_module("recovery").refresh()] == [str(path)]
    bpy.ops.ed.undo_push(message="before recovery")
    assert bpy.ops.kinemo.recover_take("EXEC_DEFAULT", True) == {"FINISHED"}
    assert not path.exists() and addon_module("recovery").FOUND == []
    recovered = _baked(face, arm)
    assert face.data.shape_keys.animation_data.action.name.startswith("shot1")
    assert recovered["strips"] == stopped["strips"]
    assert recovered["curves"].keys() == stopped["curves"].keys()
    for k, keys in stopped["curves"].items():
        np.testing.assert_array_equal(recovered["curves"][k], keys, err_msg=str(k))
    assert bpy.ops.ed.undo() == {"FINISHED"}  # one undo step takes the recovered bake back
    assert bpy.data.objects["Face"].data.shape_keys.animation_data.action is None


def test_file_load_keeps_the_journal_the_panel_offers_it_and_discarding_stops_delete_it(blender, scene):
    bpy = blender
    from test_addon_bpy_hostile import _draw_all

    recovery = addon_module("recovery")
    _rig_scene(bpy, scene, None)  # unsaved: the journal goes to the add-on's user folder
    rec = _record(bpy, 12)
    path = Path(rec.journal.path)
    assert path.parent == Path(recovery.user_dir()) and path.name.startswith("unsaved.")
    problems: list[str] = []
    _draw_all(bpy, "recording", problems)
    bpy.ops.wm.read_homefile(use_empty=True)  # loading a file stops live; the take's journal stays
    assert path.exists() and not is_live(str(path))
    assert [f.path for f in recovery.FOUND] == [str(path)]
    assert recovery.FOUND[0].take == "shot1"
    seen = _draw_all(bpy, "a take to recover", problems)
    assert not problems, "\n".join(problems)
    assert "kinemo.recover_take" in seen and "kinemo.discard_journal" in seen
    with pytest.raises(RuntimeError, match="Choose a target"):  # none in this file: the take is kept, not lost
        bpy.ops.kinemo.recover_take()
    assert path.exists()
    face = shape_key_mesh(bpy, "Face", ("Basis", "jawOpen"))
    bpy.context.scene.kinemo.target = face
    assert bpy.ops.kinemo.recover_take(filepath=str(path)) == {"FINISHED"}
    key = face.data.shape_keys
    assert key.animation_data.action.name == "shot1" and not path.exists()
    # Discard from the panel (a script here), Stop Live and Stop without baking: nothing left behind.
    for how in ("discard", "live_stop", "record_stop"):
        s = bpy.context.scene.kinemo
        s.port = free_udp_port()
        rec = _record(bpy, 3)
        path = Path(rec.journal.path)
        if how == "discard":
            bpy.ops.wm.read_homefile(use_empty=True)
            assert bpy.ops.kinemo.discard_journal() == {"FINISHED"}
            bpy.context.scene.kinemo.target = shape_key_mesh(bpy, "Face", ("Basis", "jawOpen"))
        elif how == "live_stop":
            assert bpy.ops.kinemo.live_stop() == {"FINISHED"}
        else:
            assert bpy.ops.kinemo.record_stop(bake=False) == {"FINISHED"}
            addon_module("live").SESSION.stop()
        assert not path.exists(), how
    assert list(Path(recovery.user_dir()).glob(f"*{SUFFIX}")) == []


def test_disabling_the_addon_while_recording_keeps_the_take_and_leaves_nothing_running(blender, scene):
    bpy = blender
    import threading as th

    _rig_scene(bpy, scene, None)
    path = Path(_record(bpy, 6).journal.path)
    handlers = bpy.app.handlers

    def ours() -> list:
        return [f for hs in (handlers.load_pre, handlers.load_post, handlers.save_post) for f in hs
                if getattr(f, "__module__", "").startswith(ADDON_MODULE)]

    assert len(ours()) == 3 and hasattr(bpy.types, "KINEMO_OT_recover_take")
    assert bpy.ops.preferences.addon_disable(module=ADDON_MODULE) == {"FINISHED"}
    try:
        assert path.exists() and not is_live(str(path))
        assert not [t for t in th.enumerate() if t.name.startswith(("kinemo-journal", "kinemo-osc"))]
        assert not ours() and not hasattr(bpy.types, "KINEMO_OT_recover_take")
    finally:
        assert bpy.ops.preferences.addon_enable(module=ADDON_MODULE) == {"FINISHED"}
    assert len(ours()) == 3
    assert [f.path for f in addon_module("recovery").FOUND] == [str(path)]  # offered again once enabled
    assert bpy.ops.kinemo.discard_journal() == {"FINISHED"} and not path.exists()


# -- real Blender, two processes, killed -----------------------------------------------
_CHILD = r"""
import json, os, sys, time
import bpy

mode, zip_path, blend, port = sys.argv[1:5]
assert bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                                enable_on_install=True) == {"FINISHED"}
kinemo = "bl_ext.user_default.kinemo"
if mode == "record":
    bpy.ops.wm.read_homefile(use_empty=True)
    mesh = bpy.data.meshes.new("Face")
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    face = bpy.data.objects.new("Face", mesh)
    bpy.context.scene.collection.objects.link(face)
    for k in ("Basis", "jawOpen", "eyeBlinkLeft"):
        face.shape_key_add(name=k, from_mix=False).value = 0.0
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base, scene.frame_start = 30, 1.0, 1
    s = scene.kinemo
    s.target, s.port, s.take_name = face, int(port), "crashed"
    assert bpy.ops.wm.save_as_mainfile(filepath=blend) == {"FINISHED"}
    assert bpy.ops.kinemo.live_start() == {"FINISHED"}
    assert bpy.ops.kinemo.record_start() == {"FINISHED"}
    print("RECORDING", bpy.app.version_string, flush=True)
    while True:
        time.sleep(1)
else:
    assert bpy.ops.wm.open_mainfile(filepath=blend) == {"FINISHED"}
    found = [f.path for f in sys.modules[kinemo + ".recovery"].FOUND]
    result = bpy.ops.kinemo.recover_take()
    key = bpy.data.objects["Face"].data.shape_keys
    action = key.animation_data.action
    fcurves = sys.modules[kinemo + ".fcurves"].action_fcurves(action, key)
    jaw = next(fc for fc in fcurves if fc.data_path == 'key_blocks["jawOpen"].value')
    print("RESULT " + json.dumps({"found": found, "result": sorted(result), "action": action.name,
                                  "version": bpy.app.version_string,
                                  "jaw": [list(k.co) for k in jaw.keyframe_points]}), flush=True)
"""


def _python(version: str) -> Path:
    if version == "4.2" and not PY42.exists():  # set it up the way make test does, rather than skipping
        subprocess.run(["bash", str(ROOT / "scripts" / "setup_env.d" / "bpy42.sh")], check=True, timeout=1800)
    return {"5.0": PY50, "4.2": PY42}[version]


def _wait_line(proc: subprocess.Popen, prefix: str, timeout: float, log: Path) -> str:
    """The first stdout line starting with ``prefix`` (read on a thread: a silent Blender cannot hang us)."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in iter(proc.stdout.readline, "")] + [lines.put("")],
                     daemon=True).start()
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if not line:
            break
        seen.append(line)
        if line.startswith(prefix):
            return line
    proc.kill()
    proc.wait(timeout=30)
    raise AssertionError(f"no {prefix!r} from Blender:\n{''.join(seen)[-3000:]}\n{log.read_text()[-3000:]}")


@pytest.mark.parametrize("version", ["5.0", "4.2"])
def test_blender_killed_while_recording_leaves_a_take_the_next_blender_recovers(addon_zip, tmp_path, version):
    python = _python(version)
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    blend = tmp_path / "project" / "shot.blend"
    blend.parent.mkdir()
    port = free_udp_port()

    def blender(mode: str, user: str) -> subprocess.Popen:
        env = {**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path / user), "PYTHONDONTWRITEBYTECODE": "1"}
        with open(tmp_path / f"{mode}.log", "w") as log:
            return subprocess.Popen([str(python), str(script), mode, str(addon_zip), str(blend), str(port)],
                                    stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=tmp_path)

    first = blender("record", "user1")
    assert _wait_line(first, "RECORDING", 120, tmp_path / "record.log").split()[1].startswith(version)
    try:
        sender = Sender(port)
        sent: list[float] = []
        n, t0 = 120, time.monotonic()
        journals: list[Path] = []
        for i in range(n):  # 30 frames/s for 4 s, the jaw a ramp so any frame's value is known
            while time.monotonic() < t0 + i / 30:
                time.sleep(0.001)
            sender.send(frame_bundle(i, time_s=i / 30, blend={"jawOpen": i / n}))
            sent.append(time.monotonic())
            if i and i % 15 == 0 and i >= 45:  # on disk while it records: all but (at most) the last second
                journals = journals or list(blend.parent.glob(f"shot.blend.*{SUFFIX}"))
                assert len(journals) == 1, journals  # beside the .blend
                on_disk = len(read_journal(str(journals[0])).rows)
                assert on_disk >= sum(t < time.monotonic() - 1.0 for t in sent), (i, on_disk)
        first.send_signal(signal.SIGKILL)  # no handler, no atexit, no flush: a crash
        killed = time.monotonic()
        first.wait(timeout=30)
        sender.close()
    finally:
        if first.poll() is None:  # an assertion above failed: no Blender is left recording forever
            first.kill()
            first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL

    second = blender("recover", "user2")
    result = json.loads(_wait_line(second, "RESULT ", 120, tmp_path / "recover.log")[len("RESULT "):])
    second.wait(timeout=60)
    assert result["version"].startswith(version)
    assert result["found"] == [str(journals[0])]  # offered on load
    assert result["result"] == ["FINISHED"] and result["action"] == "crashed"
    jaw = np.array(result["jaw"])
    before_last_second = sum(t < killed - 1.0 for t in sent)
    assert before_last_second >= 80
    assert before_last_second <= len(jaw) <= n, (len(jaw), before_last_second)
    np.testing.assert_allclose(jaw[:, 0], 1 + np.arange(len(jaw)))  # scene frame 1 on, one key a frame
    np.testing.assert_allclose(jaw[:, 1], np.arange(len(jaw)) / n, atol=1e-6)  # the values that were sent
    assert not journals[0].exists()  # recovered: gone
