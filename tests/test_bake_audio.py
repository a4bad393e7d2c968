"""Batch baking from audio files with scripts/bake_audio.py, run as a user runs it (the bpy module)."""

import json
import os
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


def test_no_sound_bakes_the_same_actions_without_sound_strips(tmp_path):
    """--no-sound: every line's action, laid out as with sound, and not one sound strip."""
    speech, rate = sf.read(require(SHARED / "data" / "speech" / "jfk.flac"))
    audio = tmp_path / "audio"
    audio.mkdir()
    sf.write(audio / "first.wav", speech[: int(2 * rate)], rate)
    sf.write(audio / "second.wav", speech[int(2 * rate): int(5 * rate)], rate)
    avatar = tmp_path / "avatar.blend"
    assert subprocess.run([sys.executable, str(ROOT / "rigs" / "build_avatar.py"), str(avatar)],
                          capture_output=True, timeout=300).returncode == 0
    out = tmp_path / "quiet.blend"
    r = run("--blend", avatar, audio, "--output", out, "--nla", "--no-sound")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "baked 2 of 2 files" in r.stdout
    summary = json.loads(inspect(out, (
        "import json\n"
        "key = bpy.data.objects['KinemoHead'].data.shape_keys\n"
        "track = key.animation_data.nla_tracks['Kinemo speech']\n"
        "se = bpy.context.scene.sequence_editor\n"
        "sounds = [s for s in (se.strips_all if hasattr(se, 'strips_all') else se.sequences_all)] if se else []\n"
        "print(json.dumps([sorted(s.action.name for s in track.strips), len(sounds)]))\n")))
    assert summary == [["first", "second"], 0], summary


def test_bad_arguments_are_clear(tmp_path):
    r = run("--blend", tmp_path / "missing.blend", "x.wav")
    assert r.returncode == 2 and "no such .blend" in r.stderr and "Traceback" not in r.stderr


def test_rebake_reuses_the_lines_sound_strip_and_prints_only_our_lines(tmp_path):
    """Baking a line the file already has a sound strip of (as out/demo.blend has) must not make it play twice;
    and a bake's output is our lines only: not Blender's "Read blend" nor its "Saved copy as" of a temporary name."""
    speech, rate = sf.read(require(SHARED / "data" / "speech" / "jfk.flac"))
    wav = tmp_path / "line.wav"
    sf.write(wav, speech[: int(2 * rate)], rate)
    avatar = tmp_path / "avatar.blend"
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'tests')!r})\n"
            "import bpy\nfrom kinemo_test_rig import make_arkit_mesh\n"
            "bpy.ops.wm.read_homefile(use_empty=True)\nmake_arkit_mesh(bpy, 'Face')\n"
            "se = bpy.context.scene.sequence_editor_create()\n"
            "strips = se.strips if hasattr(se, 'strips') else se.sequences\n"  # 5.0, 4.2
            f"s = strips.new_sound('spoken', {str(wav)!r}, 1, 40)\n"
            "s.volume = 0.5\n"  # a setting of the user's, kept by the reuse
            f"bpy.ops.wm.save_as_mainfile(filepath={str(avatar)!r})\n")  # the path is saved relative ('//')
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out.blend"
    blender_tmp = tmp_path.parent / f"{tmp_path.name}-tmp"  # where Blender makes its session folder
    blender_tmp.mkdir()
    r = subprocess.run([sys.executable, str(SCRIPT), "--blend", "avatar.blend", "./line.wav", "--output", "out.blend"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path,  # the line spelled another way
                       env={**os.environ, "TMPDIR": str(blender_tmp)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert not list(blender_tmp.glob("blender_*")), "the quick exit removes Blender's session folder as Blender would"
    lines = r.stdout.strip().splitlines()
    assert r.stderr.strip() == "" and len(lines) == 2, r.stdout + r.stderr
    assert lines[0].startswith("[1/1] line.wav: ") and lines[1].endswith(f"wrote {out}"), lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["avatar.blend", "line.wav", "out.blend"]
    sounds = json.loads(inspect(out, (
        "se = bpy.context.scene.sequence_editor\n"
        "import json\n"
        "print(json.dumps([[s.name, bpy.path.abspath(s.sound.filepath), int(s.frame_start), s.mute, s.volume]"
        " for s in (se.strips_all if hasattr(se, 'strips_all') else se.sequences_all) if s.type == 'SOUND']))\n")))
    assert len(sounds) == 1, sounds  # not a second strip of the same line beside the first
    name, path, start, mute, volume = sounds[0]
    assert name == "spoken" and path == str(wav) and start == 1 and not mute and volume == 0.5, sounds


def test_held_back_output_is_each_blocks_own(capfd):
    """held_back reuses its file from block to block (the bake holds back around each file's sound strip): a block
    gets what was printed inside it, C-level buffered output included, nothing of an earlier or inner block's."""
    import ctypes
    import importlib.util

    spec = importlib.util.spec_from_file_location("bake_audio_under_test", SCRIPT)
    bake_audio = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bake_audio)
    printf = ctypes.CDLL(None).printf
    with bake_audio.held_back() as first:
        os.write(1, b"first line\nsecond line\n")
        printf(b"from C, still in its buffer\n")  # stdout is not a terminal: buffered until flushed
    with bake_audio.held_back() as second:
        os.write(2, b"only\n")
    with bake_audio.held_back() as third:
        with bake_audio.held_back() as inner:
            os.write(1, b"inner\n")
        os.write(1, b"outer\n")
    os.write(1, b"after\n")
    assert first == ["first line", "second line", "from C, still in its buffer"]
    assert second == ["only"] and inner == ["inner"] and third == ["outer"]
    assert capfd.readouterr().out == "after\n"


def test_make_demo_sets_up_without_the_blender_42_environment(tmp_path):
    """`make demo` sets up .venv and the demo's extras (ffmpeg) but not the 1.6 GB Blender 4.2 environment, which
    only `make test` needs. Run for real on stand-ins: a fake Python 3.11 that records its calls, fake system tools."""
    assert shutil.which("make"), "make is required"
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    refuse = '#!/bin/sh\necho "$0 $*" >> "$CALLS"\nexit 1\n'  # nothing is installed for real
    fakes = {
        "python3.11": '#!/usr/bin/env bash\necho "$*" >> "$CALLS"\nif [ "${1:-}" = -m ] && [ "${2:-}" = venv ]; '
                      'then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi\n',
        "oscsend": "#!/bin/sh\n", "oscdump": "#!/bin/sh\n",
        "dpkg-query": "#!/bin/sh\nprintf 'install ok installed'\n",  # every system package is there
        "apt-get": refuse, "sudo": refuse,
    }
    for name, text in fakes.items():
        (bin_ / name).write_text(text)
        (bin_ / name).chmod(0o755)
    calls, venv42 = tmp_path / "calls", tmp_path / "venv-bpy42"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "KINEMO_SETUP_EXTRAS")}
    env.update(PATH=f"{bin_}{os.pathsep}{env['PATH']}", PYTHON=str(bin_ / "python3.11"), VENV42=str(venv42),
               CALLS=str(calls))

    def make(target):
        calls.write_text("")
        r = subprocess.run(["make", "-s", "--no-print-directory", target, f"VENV={tmp_path / 'venv'}"], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        return calls.read_text().splitlines()

    ran = make("demo")
    assert ran[-1] == "scripts/demo.py", ran  # the demo itself ran (on the fake Python), after its setup
    assert not venv42.exists() and not any("bpy==4.2" in c or str(venv42) in c for c in ran), ran
    ran = make("test")  # the test suite still gets it
    assert f"-m venv {venv42}" in ran and any("bpy==4.2.0" in c for c in ran), ran
    assert ran[-1] == "-m pytest -q", ran


def test_batch_emotions_from_a_csv(tmp_path):
    avatar = tmp_path / "avatar.blend"
    assert subprocess.run([sys.executable, str(ROOT / "rigs" / "build_avatar.py"), str(avatar)],
                          capture_output=True, timeout=300).returncode == 0
    for name in ("calm", "angry"):
        shutil.copy(ROOT / "rigs" / "media" / "hello.flac", tmp_path / f"{name}.flac")
    (tmp_path / "lines.csv").write_text("file,emotion,intensity\nangry.flac,anger,1\n")
    bad = run("--blend", avatar, tmp_path / "calm.flac", "--emotion", "furious", "--output", tmp_path / "x.blend")
    assert bad.returncode == 2 and "unknown emotion" in bad.stderr and not (tmp_path / "x.blend").exists()
    out = tmp_path / "baked.blend"
    r = run("--blend", avatar, tmp_path / "calm.flac", tmp_path / "angry.flac", "--emotions", tmp_path / "lines.csv",
            "--output", out)
    assert r.returncode == 0, r.stdout + r.stderr
    brows = json.loads(inspect(out, (
        "import json\n"
        "def brow(name):\n"
        "    fcs = bpy.data.actions[name].layers[0].strips[0].channelbags[0].fcurves if bpy.app.version >= (4, 4) "
        "else bpy.data.actions[name].fcurves\n"
        "    fc = next(f for f in fcs if 'browDownLeft' in f.data_path)\n"
        "    return sum(k.co[1] for k in fc.keyframe_points) / len(fc.keyframe_points)\n"
        "print(json.dumps([brow('calm'), brow('angry')]))\n")))
    assert brows[1] > brows[0] + 0.15  # the angry line's brows are down; the other line has no emotion
