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
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--output", str(out)],
                       capture_output=True, text=True, timeout=900,
                       env={**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path / "bu")})
    assert r.returncode == 0, r.stdout + r.stderr
    check = (
        "import bpy, json\n"
        f"bpy.ops.wm.open_mainfile(filepath={str(out)!r})\n"
        "key = bpy.data.objects['KinemoHead'].data.shape_keys\n"
        "strips = sorted(key.animation_data.nla_tracks['Kinemo takes'].strips, key=lambda s: s.frame_start)\n"
        "rig = bpy.data.objects['KinemoRig']\n"
        "body = [s.action.name for s in rig.animation_data.nla_tracks['Kinemo body'].strips]\n"
        "se = bpy.context.scene.sequence_editor\n"
        "sounds = [s.name for s in (se.strips if hasattr(se, 'strips') else se.sequences)]\n"
        "print(json.dumps([[s.action.name for s in strips], [int(s.frame_start) for s in strips], body, sounds,"
        " bpy.context.scene.frame_end]))\n"
    )
    r = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    names, starts, body, sounds, end = json.loads(r.stdout.strip().splitlines()[-1])
    assert names == ["bbaf2n", "hello"] and starts[0] == 1 and starts[1] > 75
    assert body == ["wave"] and sounds == ["hello"] and end > starts[1] + 100  # the line is ~7 s
    sheet = tmp_path / "demo_contact.png"
    assert sheet.is_file()
    import bpy  # the sheet is a real image of the expected size: 4 × 2 tiles of 320 × 320

    img = bpy.data.images.load(str(sheet))
    assert tuple(img.size) == (1280, 640)
    px = np.array(img.pixels[:]).reshape(640, 1280, 4)
    assert px[..., :3].std() > 0.05, "not a blank render"
    bpy.data.images.remove(img)
    video = tmp_path / "demo.mp4"  # input beside output, curves with a playhead, and sound, for both takes
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,duration,width,height",
                        "-of", "json", str(video)], capture_output=True, text=True, check=True)
    streams = {s["codec_type"]: s for s in json.loads(r.stdout)["streams"]}
    assert set(streams) == {"video", "audio"}
    assert (streams["video"]["width"], streams["video"]["height"]) == (960, 600)
    assert float(streams["video"]["duration"]) >= (end - 1) / 25 - 0.1  # the whole timeline: both takes
    assert float(streams["audio"]["duration"]) >= (end - 1) / 25 - 0.2


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
