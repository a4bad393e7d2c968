"""The README's main job, and the add-on's Blender-independent take reading and bake planning."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

from blender_addon.bake_plan import plan_shape_keys, resample
from blender_addon.mapping import match_channels
from blender_addon.takes_io import TakeError, read_take
from kinemo import protocol
from kinemo.takes import LLF_HEADER


def test_demo_writes_a_blend_with_both_takes_a_contact_sheet_and_a_video(tmp_path, grid_clips):
    out = tmp_path / "demo.blend"
    users = tmp_path / "bu"
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--output", str(out)],
                       capture_output=True, text=True, timeout=900,
                       env={**os.environ, "BLENDER_USER_RESOURCES": str(users)})
    assert r.returncode == 0, r.stdout + r.stderr
    log = r.stdout + r.stderr
    assert "Saved:" not in log and "EGL" not in log, "Blender's per-frame messages reach the terminal"
    # The .blend opens ready, in Blender with the add-on (as a user has it): target and armature set, both takes'
    # actions on the NLA, each sound once, the body action moving the arm.
    check = (
        "import bpy, json\n"
        "bpy.ops.preferences.addon_enable(module='bl_ext.user_default.kinemo')\n"
        f"bpy.ops.wm.open_mainfile(filepath={str(out)!r})\n"
        "scene = bpy.context.scene\n"
        "head = bpy.data.objects['KinemoHead']\n"
        "key = head.data.shape_keys\n"
        "strips = sorted(key.animation_data.nla_tracks['Kinemo takes'].strips, key=lambda s: s.frame_start)\n"
        "rig = bpy.data.objects['KinemoRig']\n"
        "body = [s for s in rig.animation_data.nla_tracks['Kinemo body'].strips]\n"
        "se = scene.sequence_editor\n"
        "sounds = [s.name for s in (se.strips if hasattr(se, 'strips') else se.sequences)]\n"
        "k = scene.kinemo\n"
        "def hand(f):\n"
        "    scene.frame_set(f)\n"
        "    return list(rig.matrix_world @ rig.pose.bones['hand_r'].head)\n"
        "wave = body[0]\n"
        "print(json.dumps(dict(names=[s.action.name for s in strips], starts=[int(s.frame_start) for s in strips],\n"
        "    body=[s.action.name for s in body], sounds=sounds, end=scene.frame_end,\n"
        "    target=k.target.name if k.target else None, armature=k.armature.name if k.armature else None,\n"
        "    head_bone=k.head_bone, gain=k.channels['jawOpen'].gain, keys=[b.name for b in key.key_blocks][1:],\n"
        "    verts=len(head.data.vertices), bones=len(rig.data.bones),\n"
        "    rest=hand(int(wave.frame_start) - 8), up=hand(int(wave.frame_start) + 30),\n"
        "    head_z=(rig.matrix_world @ rig.data.bones['head'].head_local).z)))\n"
    )
    r = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "BLENDER_USER_RESOURCES": str(users)})
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["names"] == ["bbaf2n", "hello"] and got["starts"][0] == 1 and got["starts"][1] > 75
    assert got["body"] == ["wave"] and got["end"] > got["starts"][1] + 100  # the line is ~7 s
    assert sorted(got["sounds"]) == ["bbaf2n", "hello"]  # each take's sound, once
    assert got["target"] == "KinemoHead" and got["armature"] == "KinemoRig" and got["head_bone"] == "head"
    assert got["gain"] > 1.5  # the human's mapping preset is loaded
    assert got["keys"] == list(protocol.ARKIT_NAMES) and got["verts"] >= 8000 and got["bones"] >= 30
    assert got["up"][2] > got["head_z"] > got["rest"][2] + 0.5  # the wave raises the right hand above the head
    sheet = tmp_path / "demo_contact.png"
    import cv2  # the sheet: 4 × 2 opaque tiles of 320 × 320, in frame order with their times

    img = cv2.imread(str(sheet), cv2.IMREAD_UNCHANGED)
    assert img.shape == (640, 1280, 3), img.shape
    assert img.std() > 12, "not a blank render"
    assert "rendered" in log and "frames " in log
    frames = [int(f) for f in log.split("rendered", 1)[1].split("(frames ", 1)[1].split(")", 1)[0].split(", ")]
    assert frames == sorted(frames) and len(frames) == 8
    video = tmp_path / "demo.mp4"  # input beside output, curves with a playhead, and sound, for both takes
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,duration,width,height",
                        "-of", "json", str(video)], capture_output=True, text=True, check=True)
    streams = {s["codec_type"]: s for s in json.loads(r.stdout)["streams"]}
    assert set(streams) == {"video", "audio"}
    assert (streams["video"]["width"], streams["video"]["height"]) == (1280, 720)
    assert float(streams["video"]["duration"]) >= (got["end"] - 1) / 25 - 0.1  # the whole timeline: both takes
    assert float(streams["audio"]["duration"]) >= (got["end"] - 1) / 25 - 0.2


def test_demo_video_curves_fit_their_data():
    sys.path.insert(0, str(ROOT / "scripts"))
    from demo_video import CURVE_H, W, curve_panel, y_range

    assert y_range(np.array([[0.1, 0.36]])) == pytest.approx(0.4)
    assert y_range(np.array([[0.02]])) == pytest.approx(0.2) and y_range(np.array([[0.95]])) == pytest.approx(1.0)
    values = np.zeros((100, 6))
    values[:, 0] = np.linspace(0, 0.3, 100)
    img, xs = curve_panel(values, 1, [((1, 50), "a"), ((60, 100), "b")])
    assert img.shape == (CURVE_H, W, 3) and len(xs) == 100 and xs[0] < xs[-1]


def test_llf_csv_columns_are_read_by_name(tmp_path):
    # Real Live Link Face files put JawRight before JawLeft; shuffle further to prove we go by name.
    names = list(LLF_HEADER[2:])
    rng = np.random.default_rng(0)
    order = rng.permutation(len(names))
    header = ["Timecode", "BlendshapeCount", *(names[i] for i in order)]
    rows = []
    for f in range(30):
        values = {n: 0.0 for n in names}
        values["JawOpen"] = f / 30
        values["JawLeft"] = 0.9
        tc = f"10:00:{f // 25:02d}:{f % 25:02d}.000"
        rows.append([tc, "61", *(f"{values[names[i]]}" for i in order)])
    path = tmp_path / "llf.csv"
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    take = read_take(str(path))
    assert take.fps == 25 and take.times[0] == 0 and take.times[-1] == pytest.approx(29 / 25)
    np.testing.assert_allclose(take.blendshapes[:, protocol.ARKIT_INDEX["jawOpen"]], np.arange(30) / 30)
    assert np.all(take.blendshapes[:, protocol.ARKIT_INDEX["jawLeft"]] == 0.9)
    assert np.all(take.blendshapes[:, protocol.ARKIT_INDEX["jawRight"]] == 0.0)


@pytest.mark.parametrize("content, words", [
    ("", "empty"), ("a,b\n1,2\n", "no Timecode"), ('{"format": "other"}', "not a Kinemo take"),
])
def test_bad_take_files(tmp_path, content, words):
    suffix = ".json" if content.startswith("{") else ".csv"
    path = tmp_path / f"bad{suffix}"
    path.write_text(content)
    with pytest.raises(TakeError, match=words):
        read_take(str(path))
    with pytest.raises(TakeError, match="no such file"):
        read_take(str(tmp_path / "missing.json"))


def test_resample_hits_samples_and_interpolates_between():
    times = np.array([0.0, 0.04, 0.08])
    values = np.array([[0.0], [1.0], [0.5]])
    frames, out = resample(times, values, 50)
    assert frames.tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(out[:, 0], [0.0, 0.5, 1.0, 0.75, 0.5])


def test_plan_places_curves_from_the_start_frame():
    mapping = match_channels(["Basis", "JAWOPEN", "eyeBlinkLeft", "unrelated"])
    assert mapping == {protocol.ARKIT_INDEX["jawOpen"]: "JAWOPEN", protocol.ARKIT_INDEX["eyeBlinkLeft"]: "eyeBlinkLeft"}
    bs = np.zeros((3, 52))
    plans = plan_shape_keys(np.array([0, 1 / 24, 2 / 24]), bs, mapping, fps=24, frame_start=101)
    assert [p.data_path for p in plans] == ['key_blocks["eyeBlinkLeft"].value', 'key_blocks["JAWOPEN"].value']
    assert plans[0].frames.tolist() == [101, 102, 103]
    assert plans[0].interleaved().tolist() == [101, 0, 102, 0, 103, 0]
