"""Expression v3 in the add-on: the performer's own labels ("smirk", "tongue_out") drive reactions.

Plain Python: which label a frame has (the labels message, else v1), the receiver dropping labels a
sender no longer sends, the recorder's label set and its crash journal (old journals still read),
service takes with custom labels, the teach prompts. Real Blender (5.0) with the service's own
sender (``kinemo.osc_out``) over real UDP: a custom label fires its ``react_<label>`` Action live, a
v1-only sender still drives the built-in reactions, a recording (stopped, recovered, or the
service's take file) bakes the custom reaction, and the teach operator runs a stand-in ``kinemo``
as a job whose prompts the panel follows.
"""

from __future__ import annotations

import json
import shutil
import struct
import sys
import time
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from addon_rigs import reaction_avatar
from conftest import ADDON_MODULE, addon_module, free_udp_port

from blender_addon import protocol
from blender_addon.companion import teach_command, teach_outcome, teach_progress
from blender_addon.expressions import action_labels, parse_labels, streamed_label, take_events
from blender_addon.receiver import Receiver
from blender_addon.recorder import LEGACY_LAYOUT, MAX_LABELS, Recorder
from blender_addon.take_journal import FORMAT, HEADER, MAGIC, ROWS, JournalWriter, encode, journal_name, read_journal
from blender_addon.takes_io import read_take

EMOTIONS = protocol.EMOTIONS
OWN = EMOTIONS + ("smirk", "tongue_out")  # a profile that taught two faces of the performer's own
VROID_KEYS = ("Basis", "jawOpen", "Fcl_ALL_Joy", "Fcl_ALL_Sorrow", "Fcl_ALL_Surprised")
SENDER = ("127.0.0.1", 50000)


def _labels_payload(label: str, p: float, labels=OWN) -> tuple:
    rest = (1.0 - p) / (len(labels) - 1)
    return (label, *(x for name in labels for x in (name, p if name == label else rest)))


def _v1(label: str, p: float) -> tuple:
    rest = (1.0 - p) / 6
    return (label, *(p if e == label else rest for e in EMOTIONS))


def _datagram(seq: int, *, v1: tuple | None = None, own: tuple | None = None) -> bytes:
    from addon_rigs import bundle

    sample = protocol.FaceSample(seq=seq, stamp=time.time(), time=seq / 30, expression=v1, expression_labels=own)
    return bundle(protocol.encode_sample(sample))


# -- plain Python ------------------------------------------------------------------------
def test_a_frame_takes_the_performers_own_label_else_the_v1_one():
    # v1 carries the built-in view (here neutral: smirk is no built-in emotion); the labels message wins.
    assert streamed_label(_v1("neutral", 0.3), _labels_payload("smirk", 0.8)) == ("smirk", pytest.approx(0.8))
    assert streamed_label(_v1("happy", 0.7), None) == ("happy", pytest.approx(0.7))  # an old sender
    assert streamed_label(None, _labels_payload("tongue_out", 0.6)) == ("tongue_out", pytest.approx(0.6))
    assert streamed_label(_v1("sad", 0.9), ("smirk", "happy", 1.0)) == ("sad", pytest.approx(0.9))  # no own score
    assert streamed_label(("bogus", *_v1("sad", 0.9)[1:]), None) == (None, 0.0)
    assert streamed_label(None, None) == (None, 0.0)
    assert parse_labels(" happy, smirk,,tongue_out,smirk") == ["happy", "smirk", "tongue_out"]
    with pytest.raises(ValueError, match="'big grin'"):
        parse_labels("happy,big grin")
    assert action_labels(["react_smirk", "react_", "wave", "react_bad name", "react_tongue_out"]) == \
        ["smirk", "tongue_out"]


def test_receiver_drops_labels_a_sender_no_longer_sends():
    rx = Receiver(port=0)
    assert rx.handle_datagram(_datagram(1, v1=_v1("neutral", 0.3), own=_labels_payload("smirk", 0.9)), SENDER)
    assert rx.take_latest().expression_labels[0] == "smirk"
    assert rx.handle_datagram(_datagram(2, v1=_v1("happy", 0.9)), SENDER)  # the profile is gone: v1 only
    assert rx.handle_datagram(_datagram(3, v1=_v1("happy", 0.9)), SENDER)
    sample = rx.take_latest()
    assert sample.expression_labels is None and streamed_label(sample.expression, None)[0] == "happy"
    # A frame sent as separate messages keeps its labels whatever their order; a new sender starts clean.
    for address, types, args in protocol.encode_sample(protocol.FaceSample(
            seq=4, stamp=time.time(), time=0.2, expression=_v1("neutral", 0.3),
            expression_labels=_labels_payload("tongue_out", 0.7)))[::-1]:
        from addon_rigs import bundle

        rx.handle_datagram(bundle([(address, types, args)]), SENDER)
    assert rx.take_latest().expression_labels[0] == "tongue_out"
    assert rx.handle_datagram(_datagram(0, v1=_v1("sad", 0.8)), ("127.0.0.1", 50001))
    assert rx.take_latest().expression_labels is None
    assert rx.stats.malformed == 0


def test_recorder_keeps_its_label_set_through_the_journal_and_reads_old_journals(tmp_path):
    rec = Recorder("shot")
    path = tmp_path / journal_name("shot.blend")
    writer = JournalWriter(rec, str(path), {"take": "shot"})
    writer.open()
    frames = [(_v1("happy", 0.8), None), (_v1("neutral", 0.3), _labels_payload("smirk", 0.9)),
              (_v1("neutral", 0.3), _labels_payload("tongue_out", 0.7)), (_v1("sad", 0.6), None)]
    for seq, (v1, own) in enumerate(frames):
        rec.put(protocol.FaceSample(seq=seq, stamp=0.0, time=seq / 30, expression=v1, expression_labels=own))
        writer.flush()
    writer.close()
    assert rec.labels == list(OWN)
    take = rec.take()
    assert take.labels == OWN and [OWN[i] for i in take.emotion] == ["happy", "smirk", "tongue_out", "sad"]
    assert take.emotion_scores.shape == (4, len(OWN)) and take.emotion_scores[1, OWN.index("smirk")] == \
        pytest.approx(0.9)
    events = take_events(take.times, take.emotion, take.emotion_scores, {"smirk"}, names=take.labels,
                         threshold=0.5, hold=0.0)
    assert [e[0] for e in events] == ["smirk"]
    back = read_journal(str(path))
    assert back.labels == list(OWN)
    again = back.recorder().take()
    np.testing.assert_array_equal(again.emotion, take.emotion)
    np.testing.assert_array_equal(again.emotion_scores, take.emotion_scores)
    assert again.labels == OWN
    # Names beyond the recorder's columns are not recorded: such a frame has no label.
    many = Recorder("many")
    names = tuple(f"face{i}" for i in range(MAX_LABELS))
    many.put(protocol.FaceSample(seq=0, stamp=0, time=0, expression_labels=_labels_payload("face20", 0.9,
                                                                                         EMOTIONS + names)))
    assert len(many.labels) == MAX_LABELS and many.columns()["emotion"][0] == -1
    # A journal written before custom labels (7 score columns, no labels record) is still recovered.
    old = tmp_path / journal_name("old.blend")
    row = np.zeros(LEGACY_LAYOUT["width"])
    row[0], row[1], row[-8] = 0.5, 1.0, EMOTIONS.index("surprise")
    row[-7:] = _v1("surprise", 0.9)[1:]
    head = {"format": FORMAT, "version": 1, "layout": LEGACY_LAYOUT, "take": "old", "started": 0.0}
    old.write_bytes(MAGIC + encode(HEADER, json.dumps(head).encode())
                    + encode(ROWS, struct.pack("<II", 0, 1) + row.astype("<f8").tobytes()))
    take = read_journal(str(old)).recorder().take()
    assert take.labels == EMOTIONS and list(take.emotion) == [EMOTIONS.index("surprise")]
    assert take.emotion_scores[0] == pytest.approx(_v1("surprise", 0.9)[1:])
    # Anything else is still refused, with the reason.
    bad = dict(head, layout={**LEGACY_LAYOUT, "width": 3})
    body = json.dumps(bad).encode()
    old.write_bytes(MAGIC + struct.pack("<BII", HEADER, len(body), zlib.crc32(body)) + body)
    with pytest.raises(ValueError, match="another frame layout"):
        read_journal(str(old))


def _expression(label: str, p: float, labels=OWN):
    """The service's own Expression: scores over the profile's labels (built-ins, then the user's)."""
    from kinemo.face.expression import Expression

    rest = (1.0 - p) / (len(labels) - 1)
    scores = np.array([p if name == label else rest for name in labels], np.float32)
    return Expression(label, scores, np.zeros(len(protocol.ACTION_UNITS), np.float32), labels=labels)


def _frame(seq: int, t: float, label: str, p: float, labels=OWN):
    from kinemo.frame import Frame

    return Frame(seq=seq, time=t, stamp=time.time(), present=True, expression=_expression(label, p, labels))


LABELS_OF_TAKE = ["neutral"] * 15 + ["smirk"] * 30 + ["happy"] * 15 + ["tongue_out"] * 15


def _service_take(path: Path) -> Path:
    """The take ``kinemo webcam --profile me.json -o PATH`` writes for a performance (the real writer)."""
    from kinemo.takes import TakeWriter

    writer = TakeWriter(path, fps=30.0, source="test")
    for i, label in enumerate(LABELS_OF_TAKE):
        writer.add(_frame(i, i / 30, label, 0.9))
    return writer.close()


def test_service_takes_with_custom_labels_read_back(tmp_path):
    for suffix in (".json", ".npz"):
        path = _service_take(tmp_path / f"shot{suffix}")
        take = read_take(str(path))
        assert take.labels == OWN, suffix
        assert [take.labels[i] for i in take.emotion] == LABELS_OF_TAKE
        assert take.emotion_scores.shape == (len(LABELS_OF_TAKE), len(OWN))
        events = take_events(take.times, take.emotion, take.emotion_scores, {"smirk", "tongue_out"},
                             names=take.labels, threshold=0.5, hold=0.3)
        assert [(e[0], round(e[1], 3)) for e in events] == [("smirk", 0.5), ("tongue_out", 2.0)]
    # A take whose label set does not fit its scores keeps its motion and drops the labels, as before.
    doc = json.loads((tmp_path / "shot.json").read_text())
    doc["emotion_scores"] = [s[:7] for s in doc["emotion_scores"]][:-1]
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    assert read_take(str(tmp_path / "bad.json")).emotion is None


def test_teach_prompts_become_progress():
    lines = ["I0000 gl_context.cc:369] GL version: 3.2", "[1/4] make your HAPPY face … "]
    p = teach_progress(lines)
    assert (p.step, p.total, p.phase, p.fraction, p.text) == (1, 4, "ready", 0.0, "1/4: make your HAPPY face")
    p = teach_progress([*lines, "      hold …"])
    assert p.phase == "hold" and p.fraction == 0.125 and p.text == "1/4: hold your HAPPY face…"
    lines += ["      hold …", "      got happy (58 frames)", "[2/4] make your TONGUE_OUT face … ", "      hold …",
              "      got tongue_out (60 frames)"]
    p = teach_progress(lines)
    assert (p.step, p.label, p.frames, p.fraction) == (2, "tongue_out", 60, 0.5)
    done = teach_progress([*lines, "taught happy (2), tongue_out (2); fitted in 4 ms; /p/me.json now labels: neutral, "
                                   "happy, tongue_out"])
    assert done.fraction == 1.0 and done.text == "Saved /p/me.json: labels neutral, happy, tongue_out"
    ok = SimpleNamespace(returncode=0, error="")
    assert teach_outcome(ok, done, "/p/me.json") == (True, done.text)
    failed = SimpleNamespace(returncode=1, error="kinemo: error: no face seen while happy was held")
    assert teach_outcome(failed, p, "/p/me.json") == \
        (False, "Teaching stopped, /p/me.json unchanged: kinemo: error: no face seen while happy was held")
    assert teach_command(["kinemo"], profile="/p/me.json", camera=1, labels=["smirk"], seconds=1.5, ready=0,
                         repeats=3) == ["kinemo", "expressions", "teach", "--profile", "/p/me.json", "--camera", "1",
                                        "--labels", "smirk", "--seconds", "1.5", "--ready", "0", "--repeats", "3"]


# -- real Blender ------------------------------------------------------------------------
@pytest.fixture
def scene(blender):
    bpy = blender
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.context.scene.kinemo.port = free_udp_port()
    yield bpy.context.scene
    addon_module("live").SESSION.stop()


def _avatar(bpy, scene):
    """A VRoid-style face and a rig whose hand Action is the user's react_smirk."""
    return reaction_avatar(bpy, scene, VROID_KEYS, "smirk")


def _influence(arm, label) -> float:
    track = arm.animation_data.nla_tracks.get(addon_module("drive").EXPRESSION_TRACK_PREFIX + label)
    return track.strips[0].fcurves.find("influence").keyframe_points[0].co[1] if track is not None else 0.0


class TextLayout:
    """Stands in for ``UILayout`` to read what a panel says: label texts and operators with their properties."""

    def __init__(self, texts: list[str], ops: list) -> None:
        self.texts, self.ops = texts, ops

    def __getattr__(self, name):
        def call(*args, **kw):
            if "text" in kw:
                self.texts.append(kw["text"])
            if name == "operator":
                op = SimpleNamespace(idname=args[0])
                self.ops.append(op)
                return op
            if name in ("row", "column", "box", "split"):
                return self
            return None
        return call


def _panel(bpy, name: str = "KINEMO_PT_teach") -> tuple[list[str], list]:
    texts: list[str] = []
    ops: list = []
    getattr(addon_module("ui"), name).draw(SimpleNamespace(layout=TextLayout(texts, ops)), bpy.context)
    return texts, ops


def test_custom_label_drives_its_action_live_and_a_v1_sender_still_drives_built_ins(blender, scene):
    from kinemo.osc_out import OscSender

    bpy = blender
    face, arm = _avatar(bpy, scene)
    s = scene.kinemo
    s.expression_threshold, s.expression_hold, s.expression_blend = 0.6, 0.3, 0.2
    assert bpy.ops.kinemo.expression_map_defaults() == {"FINISHED"}  # react_smirk → the label "smirk"
    rows = {m.name: (m.action.name if m.action else "", m.shape_keys) for m in s.expressions}
    assert rows["smirk"] == ("react_smirk", "") and rows["happy"] == ("", "Fcl_ALL_Joy")
    assert bpy.ops.kinemo.live_start() == {"FINISHED"}
    session = addon_module("live").SESSION
    t0 = time.monotonic()
    sent = [0]

    def push(sender, dt: float, label: str, p: float, labels=OWN) -> None:
        sent[0] += 1
        sender.send(_frame(sent[0], sent[0] / 30, label, p, labels))
        deadline = time.time() + 5
        while session.receiver.stats.frames < sent[0]:
            assert time.time() < deadline, "the frame never arrived"
            time.sleep(0.002)
        assert session.tick(now=t0 + dt) is not None

    performer = OscSender("127.0.0.1", session.receiver.port, landmarks="none")  # kinemo webcam --profile me.json
    joy = face.data.shape_keys.key_blocks["Fcl_ALL_Joy"]
    push(performer, 0.0, "smirk", 0.5)  # below the threshold
    assert session.streamed == ("smirk", pytest.approx(0.5)) and not session._gate.active
    push(performer, 0.05, "smirk", 0.9)
    assert session.last_applied.expression[0] == "neutral"  # v1 alone would never have said smirk
    assert session._gate.active == "smirk" and 0.0 < _influence(arm, "smirk") < 1.0
    push(performer, 0.3, "smirk", 0.9)
    assert _influence(arm, "smirk") == pytest.approx(1.0) and joy.value == 0.0
    bpy.context.view_layer.update()
    z = arm.evaluated_get(bpy.context.evaluated_depsgraph_get()).pose.bones["hand"].location.z
    assert 0.0 < z <= 1.0  # react_smirk plays
    push(performer, 0.45, "tongue_out", 0.9)  # not mapped: smirk holds for 0.3 s, then fades
    assert _influence(arm, "smirk") == pytest.approx(1.0)
    push(performer, 0.65, "tongue_out", 0.9)
    assert session._gate.active is None
    push(performer, 0.9, "tongue_out", 0.9)
    assert _influence(arm, "smirk") == 0.0
    # The panel offers the labels seen on the stream that have no reaction yet, and suggests them when typing.
    assert session.seen_labels == ["smirk", "tongue_out"]
    texts, ops = _panel(bpy, "KINEMO_PT_expressions")
    offer = [op for op in ops if op.idname == "kinemo.expression_map_set" and hasattr(op, "label")]
    assert [op.label for op in offer] == ["tongue_out"] and "Streamed: tongue_out 0.90" in texts
    suggestions = addon_module("ops_mapping")._label_search(None, bpy.context, "OUT")
    assert ("tongue_out", "seen on the stream") in suggestions
    with pytest.raises(RuntimeError, match="cannot be an expression label"):
        bpy.ops.kinemo.expression_map_set(label="tongue out")
    # A sender without taught expressions (or from before them) sends v1 only: built-in reactions still fire,
    # from its very first frame (nothing of the last sender's labels is left).
    old_style = OscSender("127.0.0.1", session.receiver.port, landmarks="none")
    push(old_style, 1.2, "happy", 0.9, EMOTIONS)
    assert session.last_applied.expression_labels is None
    assert session._gate.active == "happy" and joy.value > 0.0
    push(old_style, 1.5, "happy", 0.9, EMOTIONS)
    assert joy.value == pytest.approx(1.0) and _influence(arm, "smirk") == 0.0
    performer.close()
    old_style.close()
    assert session.receiver.stats.malformed == 0


def _strips(owner, label: str) -> list[tuple]:
    prefix = addon_module("bake_write").EXPRESSION_TRACK_PREFIX + label
    return [(st.frame_start, st.frame_end, st.action.name) for t in owner.animation_data.nla_tracks
            if t.name.startswith(prefix) for st in t.strips]


def _joy(face) -> np.ndarray:
    key = face.data.shape_keys
    fc = next(fc for fc in addon_module("fcurves").action_fcurves(key.animation_data.action, key)
              if fc.data_path == 'key_blocks["Fcl_ALL_Joy"].value')
    co = np.empty(2 * len(fc.keyframe_points), np.float32)
    fc.keyframe_points.foreach_get("co", co)
    return co.reshape(-1, 2)


def _clear(face, arm) -> None:
    face.data.shape_keys.animation_data.action = None
    for track in list(arm.animation_data.nla_tracks):
        arm.animation_data.nla_tracks.remove(track)


def test_custom_reactions_bake_from_a_recording_its_journal_and_the_services_take(blender, scene, tmp_path):
    from kinemo.osc_out import OscSender

    bpy = blender
    face, arm = _avatar(bpy, scene)
    s = scene.kinemo
    s.expression_threshold, s.expression_hold, s.expression_blend = 0.6, 0.3, 0.2
    assert bpy.ops.kinemo.expression_map_set(label="smirk", action="react_smirk") == {"FINISHED"}
    assert bpy.ops.kinemo.expression_map_set(label="happy", shape_keys="Fcl_ALL_Joy=0.8") == {"FINISHED"}
    scene.render.fps, scene.render.fps_base, scene.frame_start = 30, 1.0, 1
    assert bpy.ops.kinemo.live_start() == {"FINISHED"}
    session = addon_module("live").SESSION
    sender = OscSender("127.0.0.1", session.receiver.port, landmarks="none")
    assert bpy.ops.kinemo.record_start() == {"FINISHED"}
    rec = session.receiver.recorder
    for i, label in enumerate(LABELS_OF_TAKE):
        sender.send(_frame(100 + i, 7.0 + i / 30, label, 0.9))
        time.sleep(0.003)
    sender.close()
    deadline = time.time() + 5
    while (len(rec) < len(LABELS_OF_TAKE) or rec.journal.rows_written < len(LABELS_OF_TAKE)) and \
            time.time() < deadline:
        time.sleep(0.01)
    assert len(rec) == len(LABELS_OF_TAKE) and rec.labels == list(OWN)
    crashed = tmp_path / "crashed.copy"
    shutil.copyfile(rec.journal.path, crashed)  # the journal as a crash at this moment would leave it
    journal = rec.journal.path
    session.tick()
    assert bpy.ops.kinemo.record_stop("EXEC_DEFAULT", True) == {"FINISHED"}
    smirk = _strips(arm, "smirk")
    # smirk from 0.5 s (frame 16) until happy qualifies at 1.5 s; happy's shape key fades in from frame 46.
    assert len(smirk) == 1 and smirk[0][0] == pytest.approx(16) and smirk[0][2] == "react_smirk"
    joy = _joy(face)
    np.testing.assert_allclose(joy[:3], [[1, 0], [46, 0], [52, 0.8]], atol=1e-5)
    # Recovered from the crash journal: the same reactions.
    _clear(face, arm)
    shutil.copyfile(crashed, journal)
    assert bpy.ops.kinemo.recover_take(filepath=journal) == {"FINISHED"}
    assert _strips(arm, "smirk") == smirk
    np.testing.assert_allclose(_joy(face), joy, atol=1e-5)
    # The service's own take of the same performance (its "emotions" meta names smirk): the same again.
    for suffix in (".json", ".npz"):
        _clear(face, arm)
        path = _service_take(tmp_path / f"shot{suffix}")
        assert bpy.ops.kinemo.import_take(filepath=str(path)) == {"FINISHED"}
        assert _strips(arm, "smirk") == smirk, suffix
        np.testing.assert_allclose(_joy(face), joy, atol=1e-5)


FAKE_KINEMO = '''#!{python}
"""Stands in for `kinemo expressions teach`: its prompts on stderr, paced by the test, then a profile."""
import json, sys, time

args = sys.argv[1:]
if args[:2] != ["expressions", "teach"]:
    print(f"kinemo: error: this stand-in only teaches, not {{args}}", file=sys.stderr)
    sys.exit(2)
opts = dict(zip(args[2::2], args[3::2]))
profile, labels = opts["--profile"], opts["--labels"].split(",")
steps = [lb for _ in range(int(opts["--repeats"])) for lb in labels]
said = 0


def say(line):
    global said
    print(line, file=sys.stderr, flush=True)
    said += 1
    deadline = time.time() + 60
    while time.time() < deadline:  # the next line only once the test has seen this one
        try:
            with open(profile + ".pace") as f:
                if int(f.read() or 0) >= said:
                    return
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    sys.exit(3)


print("I0000 00:00:00.000000 4242 gl_context.cc:369] GL version: 3.2 (native log noise)", file=sys.stderr)
for n, label in enumerate(steps, 1):
    say(f"[{{n}}/{{len(steps)}}] make your {{label.upper()}} face … ")
    if label == "noface":
        print(f"kinemo: error: no face seen while {{label}} was held; nothing was saved: face the camera and try "
              "again", file=sys.stderr)
        sys.exit(1)
    say("      hold …")
    say(f"      got {{label}} (48 frames)")
with open(profile, "w") as f:
    json.dump({{"stand_in": True, "taught": labels}}, f)
known = ["neutral", "happy", "sad", "surprise", "anger", "fear", "disgust"]
print(f"taught {{', '.join(f'{{lb}} (2)' for lb in labels)}}; fitted in 3 ms; {{profile}} now labels: "
      + ", ".join(known + [lb for lb in labels if lb not in known]), file=sys.stderr)
'''


@pytest.fixture
def fake_kinemo(blender, tmp_path):
    exe = tmp_path / "bin" / "kinemo"
    exe.parent.mkdir()
    exe.write_text(FAKE_KINEMO.format(python=sys.executable))
    exe.chmod(0o755)
    prefs = blender.context.preferences.addons[ADDON_MODULE].preferences
    old = prefs.kinemo_command
    prefs.kinemo_command = str(exe)
    yield exe
    addon_module("companion").JOBS.stop_all()
    if blender.app.timers.is_registered(addon_module("ops_jobs").watch_teach):
        blender.app.timers.unregister(addon_module("ops_jobs").watch_teach)
    addon = blender.context.preferences.addons.get(ADDON_MODULE)
    if addon is not None:
        addon.preferences.kinemo_command = old


def _wait(pred, timeout: float = 15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_teach_operator_runs_kinemo_as_a_job_and_the_panel_follows_its_prompts(blender, scene, fake_kinemo,
                                                                                tmp_path, capsys):
    from test_addon_bpy_hostile import _draw_all

    from kinemo.cli import build_parser

    bpy = blender
    jobs, ops_jobs = addon_module("companion").JOBS, addon_module("ops_jobs")
    with pytest.raises(RuntimeError, match="save the .blend first"):  # //me.json means nothing yet
        bpy.ops.kinemo.teach_expressions(labels="happy,smirk", profile="//me.json")
    with pytest.raises(RuntimeError, match="'big grin'"):
        bpy.ops.kinemo.teach_expressions(labels="happy,big grin", profile=str(tmp_path / "me.json"))
    assert bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "shot.blend")) == {"FINISHED"}
    profile = tmp_path / "me.json"
    pace = tmp_path / "me.json.pace"
    _, ops = _panel(bpy)
    assert "kinemo.teach_expressions" in [op.idname for op in ops]
    started = time.monotonic()
    assert bpy.ops.kinemo.teach_expressions(labels="happy,smirk", profile="//me.json", seconds=1.5,
                                            repeats=2) == {"FINISHED"}
    assert time.monotonic() - started < 1.0  # started, not waited for
    job = jobs.jobs["TEACH"]
    assert job.argv == [str(fake_kinemo), "expressions", "teach", "--profile", str(profile), "--camera", "0",
                        "--labels", "happy,smirk", "--seconds", "1.5", "--ready", "2", "--repeats", "2"]
    args = build_parser().parse_args(job.argv[1:])  # the real command takes exactly this command line
    assert (args.func.__name__, args.profile, args.labels, args.seconds, args.repeats, args.camera) == \
        ("teach", str(profile), "happy,smirk", 1.5, 2, "0")
    s = scene.kinemo
    assert (s.profile_path, s.teach_labels, s.teach_seconds, s.teach_repeats) == ("//me.json", "happy,smirk", 1.5, 2)
    # Each prompt shows in the panel as it comes, with the progress so far.
    _wait(lambda: any("make your" in line for line in job.lines))
    texts, ops = _panel(bpy)
    assert "1/4: make your HAPPY face" in texts and "0 % done" in texts
    assert [op.kind for op in ops if op.idname == "kinemo.job_stop"] == ["TEACH"]
    assert "kinemo.teach_expressions" not in [op.idname for op in ops]  # one teach at a time
    problems: list[str] = []
    _draw_all(bpy, "teaching", problems)
    pace.write_text("1")
    _wait(lambda: "hold" in job.lines[-1])
    texts, _ = _panel(bpy)
    assert "1/4: hold your HAPPY face…" in texts and "12 % done" in texts
    pace.write_text("4")  # lines 2-4 may follow: got happy, the SMIRK prompt, hold
    _wait(lambda: "hold" in job.lines[-1] and "SMIRK" in job.lines[-2])
    texts, _ = _panel(bpy)
    assert "2/4: hold your SMIRK face…" in texts and "38 % done" in texts
    assert ops_jobs.teach_finished() is None  # still running: nothing to report
    # A webcam job cannot take the camera meanwhile.
    with pytest.raises(RuntimeError, match="Camera 0 is teaching"):
        bpy.ops.kinemo.job_start(kind="WEBCAM")
    pace.write_text("99")
    _wait(lambda: not job.status().running)
    assert job.status().returncode == 0 and json.loads(profile.read_text())["taught"] == ["happy", "smirk"]
    saved = f"Saved {profile}: labels neutral, happy, sad, surprise, anger, fear, disgust, smirk"
    texts, ops = _panel(bpy)
    assert saved in texts and "kinemo.teach_expressions" in [op.idname for op in ops]
    assert ops_jobs.teach_finished() == (True, saved)
    assert ops_jobs.teach_finished() is None  # reported once
    _draw_all(bpy, "taught", problems)
    # Webcam jobs now stream with the profile, so the taught labels reach the panel.
    jobs.stop_all()
    assert bpy.ops.kinemo.job_start(kind="WEBCAM") == {"FINISHED"}
    assert jobs.jobs["WEBCAM"].argv[1:6] == ["webcam", "--camera", "0", "--profile", str(profile)]
    jobs.stop_all()
    jobs.start("WEBCAM", [sys.executable, "-c", "import time; time.sleep(30)"]).camera = 0  # streaming camera 0
    with pytest.raises(RuntimeError, match="Webcam job is using camera 0"):
        bpy.ops.kinemo.teach_expressions()
    jobs.stop_all()
    # A teach that fails says why, and that the profile was left as it was; the timer reports it once.
    pace.unlink()
    before = profile.read_text()
    assert bpy.ops.kinemo.teach_expressions(labels="noface", repeats=1) == {"FINISHED"}
    job = jobs.jobs["TEACH"]
    assert job.argv[job.argv.index("--profile") + 1] == str(profile)  # the scene's profile, as set above
    pace.write_text("99")
    _wait(lambda: not job.status().running)
    capsys.readouterr()
    assert ops_jobs.watch_teach() is None and job.reported
    failed = (f"Teaching stopped, {profile} unchanged: kinemo: error: no face seen while noface was held; nothing "
              "was saved: face the camera and try again")
    assert f"Kinemo: {failed}" in capsys.readouterr().out
    assert failed in _panel(bpy)[0] and profile.read_text() == before
    # Stopping a teach midway (the panel's Stop Teaching) ends the process; nothing is saved.
    pace.unlink()
    assert bpy.ops.kinemo.teach_expressions(labels="sad", repeats=1) == {"FINISHED"}
    proc = jobs.jobs["TEACH"].proc
    _wait(lambda: any("SAD" in line for line in jobs.jobs["TEACH"].lines))
    assert bpy.ops.kinemo.job_stop(kind="TEACH") == {"FINISHED"}
    assert proc.poll() is not None and "TEACH" not in jobs.jobs and profile.read_text() == before
    _draw_all(bpy, "teach stopped", problems)
    assert not problems, "\n".join(problems)
