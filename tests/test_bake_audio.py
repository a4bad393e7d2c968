"""Batch baking from audio files with scripts/bake_audio.py, run as a user runs it (the bpy module)."""

import json
import shutil
import subprocess
import sys

import soundfile as sf
from conftest import ROOT, SHARED, require

SCRIPT = ROOT / "scripts" / "bake_audio.py"


def run(*args, timeout=600):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def inspect(blend, code):
    prog = f"import bpy\nbpy.ops.wm.open_mainfile(filepath={str(blend)!r})\n" + code
    r = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


def test_batch_bakes_each_file_reports_bad_ones_and_never_overwrites(tmp_path, grid_clips):
    avatar = tmp_path / "avatar.blend"
    r = subprocess.run([sys.executable, str(ROOT / "rigs" / "build_avatar.py"), str(avatar)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    before = avatar.read_bytes()
    audio = tmp_path / "audio"
    audio.mkdir()
    speech, rate = sf.read(require(SHARED / "data" / "speech" / "jfk.flac"))
    sf.write(audio / "jfk_part.wav", speech[: int(4 * rate)], rate)  # 4 s, stereo 44.1 kHz
    shutil.copy(grid_clips[0], audio / "grid_line.mpg")  # the sound track of a video
    (audio / "broken.wav").write_text("not audio at all")
    out = tmp_path / "baked.blend"
    r = run("--blend", avatar, audio, "--output", out, "--nla", "--fps", "30")
    assert r.returncode == 1, r.stdout + r.stderr  # one file failed
    assert "[1/3] broken.wav: FAILED" in r.stdout
    assert "baked 2 of 3 files" in r.stdout and "broken.wav" in r.stderr
    assert "grid_line.mpg" in r.stdout and "jfk_part.wav" in r.stdout
    assert avatar.read_bytes() == before, "the input .blend is never modified"
    summary = inspect(out, (
        "key = bpy.data.objects['KinemoHead'].data.shape_keys\n"
        "track = key.animation_data.nla_tracks['Kinemo speech']\n"
        "strips = sorted(track.strips, key=lambda s: s.frame_start)\n"
        "se = bpy.context.scene.sequence_editor\n"
        "sounds = sorted(getattr(se, 'strips', None) or se.sequences, key=lambda s: s.frame_start)\n"
        "import json\n"
        "print(json.dumps([[s.action.name for s in strips], [int(s.frame_start) for s in strips],"
        " int(strips[0].frame_end), [s.name for s in sounds], [int(s.frame_start) for s in sounds],"
        " bpy.context.scene.render.fps, 'wave' in bpy.data.actions]))\n"))
    names, starts, first_end, sounds, sound_starts, fps, kept = json.loads(summary)
    assert names == ["grid_line", "jfk_part"] and sounds == ["grid_line", "jfk_part"]
    assert starts == sound_starts and starts[0] == 1 and starts[1] > first_end  # one after another, in sync
    assert fps == 30 and kept
    assert 85 <= first_end <= 95  # 3 s at 30 fps


def test_existing_actions_get_unique_names_unless_replace(tmp_path):
    speech, rate = sf.read(require(SHARED / "data" / "speech" / "jfk.flac"))
    wav = tmp_path / "line.wav"
    sf.write(wav, speech[: int(2 * rate)], rate)
    avatar = tmp_path / "avatar.blend"
    assert subprocess.run([sys.executable, str(ROOT / "rigs" / "build_avatar.py"), str(avatar)],
                          capture_output=True, timeout=300).returncode == 0
    once = tmp_path / "once.blend"
    assert run("--blend", avatar, wav, "--output", once).returncode == 0
    twice = tmp_path / "twice.blend"
    r = run("--blend", once, wav, "--output", twice)
    assert r.returncode == 0, r.stderr
    names = inspect(twice, "print(sorted(a.name for a in bpy.data.actions if a.name.startswith('line')))")
    assert names == "['line', 'line.001']"
    replaced = tmp_path / "replaced.blend"
    assert run("--blend", once, wav, "--output", replaced, "--replace").returncode == 0
    names = inspect(replaced, "print(sorted(a.name for a in bpy.data.actions if a.name.startswith('line')))")
    assert names == "['line']"


def test_bad_arguments_are_clear(tmp_path):
    r = run("--blend", tmp_path / "missing.blend", "x.wav")
    assert r.returncode == 2 and "no such .blend" in r.stderr and "Traceback" not in r.stderr
