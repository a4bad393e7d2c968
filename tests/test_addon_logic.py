"""The add-on's Blender-independent modules: mapping, shaping, presets, VMC, sequence policy,
recorder, bone math, key reduction, action planning, LLF export, companion command lines."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time

import numpy as np
import pytest
from addon_rigs import bundle, frame_bundle, message
from conftest import ROOT

from blender_addon import protocol, rig
from blender_addon.actions import ActionBlender, plan_strips
from blender_addon.bake_plan import BoneTargets, plan_bones, plan_shape_keys, quat_to_euler
from blender_addon.companion import JobManager, base_command, job_command
from blender_addon.keyreduce import max_error, reduce_keys
from blender_addon.mapping import auto_map, channel_for, report, resolve
from blender_addon.presets import PresetError, from_dict, load, to_dict
from blender_addon.receiver import Receiver
from blender_addon.recorder import Recorder
from blender_addon.retarget import ChannelShape, Retarget, Smoother, smooth_take
from blender_addon.seqgate import NEWER, RESTART, SAME, STALE, SeqGate
from blender_addon.takes_io import read_take, write_llf_csv

IX = protocol.ARKIT_INDEX


@pytest.mark.parametrize("names", [
    ["eyeBlinkLeft", "jawOpen", "mouthSmileRight"],  # ARKit / Ready Player Me
    ["EyeBlinkLeft", "JawOpen", "MouthSmileRight"],  # PascalCase (Live Link Face)
    ["eye_blink_left", "jaw_open", "mouth_smile_right"],  # snake_case
    ["EyeBlink_L", "JawOpen", "MouthSmile_R"],  # _L/_R
    ["eyeBlink.L", "jawOpen", "mouthSmile.R"],  # .L/.R (Blender)
    ["Eye_Blink_L", "Jaw_Open", "Mouth_Smile_R"],  # Character Creator
    ["CTRL_expressions_eyeBlinkL", "CTRL_expressions_jawOpen", "CTRL_expressions_mouthCornerPullR"],  # MetaHuman
    ["facs_bs_EyeBlinkLeft", "facs_bs_JawOpen", "facs_bs_MouthSmileRight"],  # Daz-style prefixes
    ["Fcl_EYE_Close_L", "Fcl_MTH_A", "Fcl_MTH_Joy_R"],  # VRoid
    ["blendShape1.eyeBlinkLeft", "blendShape1.jawOpen", "blendShape1.mouthSmileRight"],  # FBX namespaces
])
def test_auto_map_across_naming_conventions(names):
    got = auto_map(["Basis", *names, "Unrelated_Key"])
    assert got[IX["eyeBlinkLeft"]] == [names[0]]
    assert got[IX["jawOpen"]] == [names[1]]
    assert got[IX["mouthSmileRight"]] == [names[2]]
    assert IX["eyeBlinkRight"] not in got


def test_mapping_tiers_splits_eye_directions_report_and_overrides():
    # An exact ARKit name beats a convention match for the same channel.
    assert auto_map(["Jaw_Open", "jawOpen"])[IX["jawOpen"]] == ["jawOpen"]
    # A centred channel drives both halves of a split key; a sideless key drives both channels.
    assert auto_map(["Brow_Raise_Inner_L", "Brow_Raise_Inner_R"])[IX["browInnerUp"]] == \
        ["Brow_Raise_Inner_L", "Brow_Raise_Inner_R"]
    assert channel_for("Blink") == ["eyeBlinkLeft", "eyeBlinkRight"]
    # Eye look directions said per eye: towards the nose is "In".
    assert channel_for("Eye_L_Look_R") == ["eyeLookInLeft"]
    assert channel_for("Eye_R_Look_R") == ["eyeLookOutRight"]
    assert channel_for("CTRL_expressions_eyeLookLeftL") == ["eyeLookOutLeft"]
    assert channel_for("Eye_L_Look_Down") == ["eyeLookDownLeft"]
    assert channel_for("mouthLeft") == ["mouthLeft"] and channel_for("Jaw_R") == ["jawRight"]
    mapping, unmatched = report(["Basis", "jawOpen", "Wrinkle"])
    assert mapping == {IX["jawOpen"]: ["jawOpen"]} and unmatched == ["Wrinkle"]
    # Overrides: explicit keys where present, auto-map where this mesh lacks them; disabled channels dropped.
    keys = ["Basis", "jawOpen", "MouthA", "eyeBlinkLeft"]
    got = resolve(keys, {IX["jawOpen"]: ["MouthA"], IX["eyeBlinkLeft"]: ["NotHere"]}, disabled=[IX["eyeBlinkLeft"]])
    assert got == {IX["jawOpen"]: ["MouthA"]}
    assert resolve(["jawOpen"], {IX["jawOpen"]: ["Fcl_MTH_A"]}) == {IX["jawOpen"]: ["jawOpen"]}  # teeth mesh


def test_retarget_gain_offset_clamp_invert_mirror_and_smoothing():
    rt = Retarget({IX["jawOpen"]: ChannelShape(gain=2.0, offset=-0.1, min=0.0, max=0.9),
                   IX["eyeBlinkLeft"]: ChannelShape(invert=True),
                   IX["mouthSmileLeft"]: ChannelShape(mirror=True)})
    v = np.zeros(52)
    v[IX["jawOpen"]], v[IX["eyeBlinkLeft"]], v[IX["mouthSmileRight"]] = 0.3, 0.25, 0.7
    out = rt.apply(v)
    assert out[IX["jawOpen"]] == pytest.approx(0.5) and out[IX["eyeBlinkLeft"]] == pytest.approx(0.75)
    assert out[IX["mouthSmileLeft"]] == pytest.approx(0.7) and out[IX["mouthSmileRight"]] == pytest.approx(0.7)
    v[IX["jawOpen"]] = 1.0
    assert rt.apply(v)[IX["jawOpen"]] == pytest.approx(0.9)  # clamped
    assert rt.apply(np.stack([v, v])).shape == (2, 52)
    # Smoothing is frame-rate independent, and the take smoother equals the live one.
    sm = Smoother(0.1)
    sm(np.zeros(1), 0.0)
    assert sm(np.ones(1), 0.1)[0] == pytest.approx(1 - math.exp(-1))
    t = np.arange(50) / 30
    x = (np.arange(50) % 7 == 0).astype(float)[:, None]
    live = Smoother(0.05)
    np.testing.assert_allclose(smooth_take(t, x, 0.05), np.stack([live(row, ti) for row, ti in zip(x, t, strict=True)]))


def test_presets_round_trip_validate_and_bundled_ones_load(tmp_path):
    p = from_dict({"format": "kinemo-mapping", "name": "x", "smoothing": 0.1,
                   "channels": {"jawOpen": {"keys": ["A"], "gain": 2, "mirror": True}, "notAChannel": {}}})
    assert p.channels["jawOpen"].shape.gain == 2.0 and p.unknown == ["notAChannel"]
    assert from_dict(json.loads(json.dumps(to_dict(p)))).channels["jawOpen"].keys == ["A"]
    for bad, words in [({"format": "x"}, "not a Kinemo"), ({"format": "kinemo-mapping", "channels": []}, "object"),
                       ({"format": "kinemo-mapping", "channels": {"jawOpen": {"gain": "2"}}}, "number"),
                       ({"format": "kinemo-mapping", "channels": {"jawOpen": {"invert": 1}}}, "true or false"),
                       ({"format": "kinemo-mapping", "channels": {"jawOpen": {"keys": "A"}}}, "list")]:
        with pytest.raises(PresetError, match=words):
            from_dict(bad)
    files = sorted((ROOT / "rigs" / "presets").glob("*.json"))
    assert {f.stem for f in files} >= {"arkit", "vroid", "character_creator", "metahuman_style", "mirrored_webcam"}
    for f in files:
        assert load(str(f)).name
    vroid = load(str(ROOT / "rigs" / "presets" / "vroid.json"))
    keys = ["Basis", "Fcl_EYE_Close_L", "Fcl_EYE_Close_R", "Fcl_MTH_A", "Fcl_MTH_Joy"]
    over = {IX[n]: c.keys for n, c in vroid.channels.items()}
    got = resolve(keys, over)
    assert got[IX["jawOpen"]] == ["Fcl_MTH_A"] and got[IX["mouthSmileLeft"]] == ["Fcl_MTH_Joy"]


def test_sequence_gate_orders_frames_and_spots_restarts():
    g = SeqGate(window=10, restart_after=0.5)
    assert g.classify(5, 0.0) == NEWER
    g.accept(5, 0.0, "a")
    assert g.classify(5, 0.01, "a") == SAME and g.classify(3, 0.01, "a") == STALE
    assert g.classify(6, 0.01, "a") == NEWER
    assert g.classify(0, 0.01, "b") == RESTART  # a new sender address
    g.accept(1000, 0.02, "a")
    assert g.classify(0, 0.03, "a") == RESTART  # far behind: the sender restarted
    assert g.classify(995, 1.0, "a") == RESTART  # older, but after a silence
    g.accept(2 ** 31 - 1, 1.0, "a")
    assert g.classify(0, 1.01, "a") == NEWER  # wraps


def test_receiver_drops_stale_and_duplicates_counts_loss_and_merges_unbundled_messages():
    rx = Receiver()
    assert rx.handle_datagram(frame_bundle(10, blend={"jawOpen": 0.1}), ("127.0.0.1", 1), now=0.0)
    assert rx.handle_datagram(frame_bundle(13, blend={"jawOpen": 0.4}), ("127.0.0.1", 1), now=0.01)
    assert not rx.handle_datagram(frame_bundle(12, blend={"jawOpen": 0.3}), ("127.0.0.1", 1), now=0.02)
    assert not rx.handle_datagram(frame_bundle(13, blend={"jawOpen": 0.9}), ("127.0.0.1", 1), now=0.03)
    st = rx.stats
    assert (st.accepted, st.stale, st.duplicate, st.lost) == (2, 1, 1, 2)
    assert rx.take_latest().blendshape("jawOpen") == pytest.approx(0.4)
    # One message at a time (oscsend style): messages of one frame merge.
    bs = [0.0] * 52
    bs[IX["jawOpen"]] = 0.5
    rx.handle_datagram(message(protocol.ADDR_BLENDSHAPES, (14, "i"), (1.0, "d"), (0.5, "d"),
                               *((v, "f") for v in bs)), ("127.0.0.1", 1), now=0.04)
    rx.handle_datagram(message(protocol.ADDR_EYES, (14, "i"), (1.0, "d"), (0.5, "d"), *((3.0, "f"),) * 4),
                       ("127.0.0.1", 1), now=0.05)
    s = rx.take_latest()
    assert s.seq == 14 and s.blendshape("jawOpen") == 0.5 and s.eyes == (3.0,) * 4
    assert rx.stats.frames == 3
    assert st.packets == st.accepted + st.malformed + st.stale + st.duplicate + st.rejected + st.foreign


def test_vmc_blends_bones_and_validation():
    rx = Receiver(vmc=True)
    q = protocol.unity_quaternion(20.0, -10.0, 5.0)
    rx.handle_datagram(bundle([(protocol.VMC_BLEND_VAL, "sf", ("MouthSmile_L", 0.5)),
                               (protocol.VMC_BLEND_VAL, "sf", ("Blink", 0.8)),
                               (protocol.VMC_BONE_POS, "sfffffff", ("Head", 0, 0, 0, *q)),
                               (protocol.VMC_BLEND_APPLY, "", ())]), now=0.0)
    s = rx.take_latest()
    assert s.blendshape("mouthSmileLeft") == pytest.approx(0.5)
    assert s.blendshape("eyeBlinkLeft") == pytest.approx(0.8) == s.blendshape("eyeBlinkRight")
    assert s.head[:3] == pytest.approx((20.0, -10.0, 5.0), abs=1e-4)
    assert len(s.head) == len(protocol.HEAD_FIELDS)
    # A broken VMC message drops the whole datagram and changes nothing.
    before = rx.stats.malformed
    rx.handle_datagram(bundle([(protocol.VMC_BLEND_VAL, "sf", ("jawOpen", 0.9)),
                               (protocol.VMC_BLEND_VAL, "ss", ("jawOpen", "x")),
                               (protocol.VMC_BLEND_APPLY, "", ())]), now=0.1)
    assert rx.stats.malformed == before + 1 and rx.take_latest() is None
    # Without VMC mode, VMC messages are foreign.
    plain = Receiver()
    plain.handle_datagram(bundle([(protocol.VMC_BLEND_APPLY, "", ())]))
    assert plain.stats.foreign == 1 and plain.stats.ignored == 1


def test_recorder_keeps_every_frame_and_survives_sender_restart():
    rec = Recorder("t")
    for seq in range(5):
        rec.put(protocol.FaceSample(seq=seq, stamp=0, time=10 + seq / 30))
    rec.put(protocol.FaceSample(seq=4, stamp=0, time=10 + 4 / 30, blendshapes=(0.5,) * 52))  # same frame: update
    rec.add_event("wave", 10.1, 10.1, 0.9)
    rec.add_event("wave", 10.1, 10.3, 0.9)  # the end of the same event
    for seq in range(3):  # restart: media time from 0 again
        rec.put(protocol.FaceSample(seq=seq, stamp=0, time=seq / 30))
    cols = rec.columns()
    assert len(cols["time"]) == 8 and np.all(np.diff(cols["time"]) > 0)
    assert cols["blendshapes"][4, 0] == 0.5
    assert cols["events"] == [("wave", 10.1, 10.3, 0.9)]
    big = Recorder()
    for seq in range(10_000):
        big.put(protocol.FaceSample(seq=seq, stamp=0, time=seq / 60))
    assert len(big) == 10_000 and big.columns()["time"][-1] == pytest.approx(9999 / 60)


def test_bone_rotations_match_the_protocol_convention():
    # Our head rotation R = Ry(yaw)·Rx(−pitch)·Rz(−roll) in camera space; in a bone pointing up in a
    # character facing −Y, camera +Y is bone +Y, camera +X (image right) is bone −X, camera +Z is bone −Z…
    q = rig.rotation(np.array(30.0), np.array(0.0), np.array(0.0), rig.DEFAULT_AXES)
    assert q == pytest.approx([math.cos(math.radians(15)), 0, math.sin(math.radians(15)), 0])
    head, neck = rig.head_neck(np.array([[40.0, 10.0, -5.0, 0, 0, 0]]), neck_share=0.25)
    total = rig.qmul(neck, head)[0]
    np.testing.assert_allclose(total, rig.rotation(40.0, 10.0, -5.0, rig.DEFAULT_AXES), atol=0.02)
    one = rig.rotation_one(12.0, -7.0, 3.0, rig.AxisMap("Z", "X", "-Y"))
    np.testing.assert_allclose(one, rig.rotation(12.0, -7.0, 3.0, rig.AxisMap("Z", "X", "-Y")), atol=1e-12)
    # Euler conversion agrees with composing the axis rotations (XYZ: X applied first).
    for order in ("XYZ", "ZXY", "YXZ", "ZYX"):
        e = np.radians([10.0, -20.0, 30.0])
        qs = {a: rig.axis_quat(a, np.degrees(e["XYZ".index(a)])) for a in "XYZ"}
        qq = rig.qmul(rig.qmul(qs[order[2]], qs[order[1]]), qs[order[0]])
        np.testing.assert_allclose(quat_to_euler(qq, order), e, atol=1e-9)
    with pytest.raises(ValueError):
        rig.axis_quat("W", np.array(1.0))


def test_bake_plans_shape_keys_bones_and_root():
    t = np.arange(31) / 30
    bs = np.zeros((31, 52))
    bs[:, IX["jawOpen"]] = t
    bs[:, IX["mouthSmileLeft"]] = 1 - t
    plans = plan_shape_keys(t, bs, {IX["jawOpen"]: ["A", "Shared"], IX["mouthSmileLeft"]: ["Shared"]}, fps=60)
    paths = {p.data_path: p for p in plans}
    assert set(paths) == {'key_blocks["A"].value', 'key_blocks["Shared"].value'}
    np.testing.assert_allclose(paths['key_blocks["Shared"].value'].values, np.maximum(np.arange(61) / 60,
                                                                                       1 - np.arange(61) / 60))
    head = np.zeros((31, 10))
    head[:, 0] = 30 * t
    head[:, 3] = 10 * t  # 10 cm to the performer's left
    plans = plan_bones(t, head, np.zeros((31, 4)), BoneTargets(head="H", root="R", modes=(("H", "XYZ"),)), fps=30)
    assert {(p.data_path, p.index) for p in plans} == {('pose.bones["H"].rotation_euler', i) for i in range(3)} | \
        {('pose.bones["R"].location', i) for i in range(3)}
    loc_x = next(p for p in plans if p.data_path.endswith("location") and p.index == 0)
    assert loc_x.values[-1] == pytest.approx(0.1)


def test_key_reduction_error_bound_holds():
    rng = np.random.default_rng(5)
    x = np.arange(2000, dtype=float)
    y = np.cumsum(rng.normal(0, 0.01, (2000, 4)), axis=0)
    for tol in (0.001, 0.01, 0.05):
        keep = reduce_keys(x, y, tol)
        assert keep[0].all() and keep[-1].all()
        assert max_error(x, y, keep) <= tol + 1e-12
        assert keep.mean() < 1.0
    line = np.linspace(0, 1, 100)[:, None]
    assert reduce_keys(np.arange(100.0), line, 1e-6).sum() == 2  # a straight line needs its two ends


def test_action_blending_and_strip_planning():
    ab = ActionBlender(0.2)
    ab.event("wave", protocol.EVENT_START, 10.0)
    assert ab.step(10.0)["wave"][0] == 0.0
    assert ab.step(10.1)["wave"] == pytest.approx((0.5, 0.1))
    assert ab.step(10.4)["wave"][0] == 1.0
    ab.event("wave", protocol.EVENT_END, 10.4)
    assert ab.step(10.5)["wave"][0] == pytest.approx(0.5)
    assert ab.step(10.8)["wave"][0] == 0.0 and "wave" not in ab.actions
    strips = plan_strips([("wave", 1.0, 2.0, 0.9), ("wave", 1.5, 3.0, 0.8), ("nod", 0.0, 0.0, 0.7),
                          ("unmapped", 0, 1, 1)], fps=30, frame_start=1, lengths={"wave": 10, "nod": 12})
    assert [(s.label, s.track, s.frame_start, s.frame_end) for s in strips] == [
        ("nod", 0, 1.0, 13.0), ("wave", 0, 31.0, 61.0), ("wave", 1, 46.0, 91.0)]


def test_llf_csv_export_reads_back(tmp_path):
    t = np.arange(100) / 60
    bs = np.random.default_rng(1).uniform(0, 1, (100, 52))
    head = np.zeros((100, 10))
    head[:, 0] = 12.5
    path = tmp_path / "x.csv"
    write_llf_csv(str(path), t, bs, 60, head=head)
    header = path.read_text().splitlines()[0].split(",")
    assert header[:4] == ["Timecode", "BlendshapeCount", "EyeBlinkLeft", "EyeLookDownLeft"]
    assert header.index("JawRight") < header.index("JawLeft")
    back = read_take(str(path))
    assert back.fps == 60
    np.testing.assert_allclose(back.blendshapes, bs, atol=1e-8)
    np.testing.assert_allclose(back.times, t, atol=1e-6)
    np.testing.assert_allclose(back.head[:, 0], 12.5, atol=1e-6)


def test_companion_command_lines_and_a_real_process_error(tmp_path):
    assert base_command("kinemo") == ["kinemo"]
    assert base_command("/usr/bin/python3.11") == ["/usr/bin/python3.11", "-m", "kinemo"]
    assert job_command("VIDEO", ["kinemo"], host="127.0.0.1", port=39570, path="a b.mp4") == \
        ["kinemo", "video", "--realtime", "--osc", "127.0.0.1:39570", "--", "a b.mp4"]
    assert job_command("WEBCAM", ["kinemo"], host="127.0.0.1", port=39539, camera=2, vmc=True) == \
        ["kinemo", "webcam", "--camera", "2", "--vmc", "127.0.0.1:39539"]
    assert job_command("MIC", ["k"], host="h", port=1) == ["k", "mic", "--osc", "h:1"]
    jobs = JobManager()
    script = "import sys, time; print('kinemo: error: no such clip', file=sys.stderr); sys.exit(2)"
    job = jobs.start("VIDEO", [sys.executable, "-c", script])
    deadline = time.time() + 10
    while job.status().running and time.time() < deadline:
        time.sleep(0.05)
    st = job.status()
    assert st.returncode == 2 and st.error == "kinemo: error: no such clip"
    missing = jobs.start("MIC", [str(tmp_path / "nope")])
    assert "cannot run" in missing.status().error
    # A long-running job stops on request (Ctrl-C first), leaving no process behind.
    sleeper = jobs.start("WEBCAM", [sys.executable, "-c", "import time; time.sleep(60)"])
    pid = sleeper.proc.pid
    t0 = time.time()
    jobs.stop_all()
    assert time.time() - t0 < 5 and sleeper.proc.poll() is not None and not jobs.jobs
    assert subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0


def test_fuzzing_and_a_short_soak_inside_the_suite():
    # In-process: the bundle walk is ours and cannot loop or grow (a subprocess with a memory
    # cap would hide a walk that does). Fixed seeds, so a failure reproduces; seed 29 holds
    # bundles with negative element sizes, and the fuzzer adds such framing on purpose anyway.
    sys.path.insert(0, str(ROOT / "scripts" / "bench"))
    import fuzz_receiver
    import soak_receiver

    for seed in (17, 29):
        r = fuzz_receiver.run(20_000, seed=seed)
        assert sum(r["outcomes"].values()) == 20_001 and float(r["worst_ms"]) < fuzz_receiver.SLOW_MS
        assert r["categories"]["framing"] > 500 and r["categories"]["nested"] > 200
    s = soak_receiver.run(minutes=2.0, seed=3)
    assert s["stale_applied"] == 0 and float(s["growth_mb"]) < 2.0
    assert s["stats"]["stale"] > 0 and s["stats"]["lost"] > 0  # the impairments really happened
