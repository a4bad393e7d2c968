"""Bad-input matrix: every careless or hostile argument to ``bake_audio.py`` and ``kinemo …``
fails before any work, in one line without a traceback, with a non-zero exit, and leaves every file
as it was: no existing file changed, no partial or temporary file left behind.

Each case runs the real program on tiny inputs (a 0.5 s WAV, a 6-frame video, a small ARKit
head), so the whole matrix takes seconds; a case that reached the bake or the tracker would
show up as a slow test and a changed workspace.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf
from conftest import BIN, ROOT, free_udp_port, save_arkit_avatar

sys.path.insert(0, str(ROOT))
from blender_addon.companion import job_command  # noqa: E402

BAKE = ROOT / "scripts" / "bake_audio.py"


def _write_wav(path: Path, seconds: float = 0.5, rate: int = 16000) -> None:
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32), rate)


def _write_silent_video(path: Path, frames: int = 6) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 40 + 10 * i, np.uint8))
    writer.release()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The workspace every case starts from (copied per case, so cases cannot affect each other)."""
    d = tmp_path_factory.mktemp("bad-inputs")
    save_arkit_avatar(d / "avatar.blend")
    blend = (d / "avatar.blend").read_bytes()
    (d / "avatar_baked.blend").write_bytes(blend)  # an earlier result the user wants to keep
    (d / "empty.blend").write_bytes(b"")
    (d / "text.blend").write_text("not a blend file\n")
    (d / "truncated.blend").write_bytes(blend[: len(blend) // 2])
    _write_wav(d / "line.wav")
    for sub in ("a", "b"):
        (d / sub).mkdir()
        _write_wav(d / sub / "line.wav")
    _write_silent_video(d / "silent.avi")
    (d / "notes.mp4").write_text("this is not a video\n")
    (d / "take.json").write_text('{"an": "earlier take"}\n')
    return d


@pytest.fixture
def ws(template, tmp_path) -> Path:
    d = tmp_path / "ws"
    shutil.copytree(template, d)
    return d


@pytest.fixture
def readonly(tmp_path) -> Path:
    """A folder no file can be created in; as root chmod does not stop writes, so /proc stands in."""
    d = tmp_path / "readonly"
    d.mkdir()
    d.chmod(0o555)
    try:
        (d / "probe").write_text("x")
    except OSError:
        yield d
    else:
        (d / "probe").unlink()
        yield Path("/proc")
    d.chmod(0o755)


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under root (hidden ones too: a left-over temporary file counts)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def one_clear_line(r: subprocess.CompletedProcess, prog: str) -> str:
    assert r.returncode != 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    return lines[0]


# case id → (argv with {ws}/{ro} placeholders, expected exit code, words the one line must contain, extra env)
BAKE_CASES = {
    "output is the input": ("--blend {ws}/avatar.blend {ws}/line.wav --output {ws}/avatar.blend", 2,
                            "is also an input", {}),
    "output is the input, --force": ("--blend {ws}/avatar.blend {ws}/line.wav --output {ws}/avatar.blend --force",
                                     2, "never overwritten", {}),
    "existing *_baked.blend": ("--blend {ws}/avatar.blend {ws}/line.wav", 2, "pass --force to replace it", {}),
    "existing --output": ("--blend {ws}/avatar.blend {ws}/line.wav --output {ws}/avatar_baked.blend", 2,
                          "output exists", {}),
    "output folder missing": ("--blend {ws}/avatar.blend {ws}/line.wav --output {ws}/no/out.blend", 2,
                              "output folder does not exist", {}),
    "output folder read-only": ("--blend {ws}/avatar.blend {ws}/line.wav --output {ro}/out.blend", 2,
                                "cannot write output", {}),
    "output not .blend": ("--blend {ws}/avatar.blend {ws}/line.wav --output {ws}/out.txt", 2,
                          "unsupported output type", {}),
    "same-named inputs": ("--blend {ws}/avatar.blend {ws}/a/line.wav {ws}/b/line.wav --output {ws}/out.blend", 2,
                          "both named 'line'", {}),
    "no audio at all": ("--blend {ws}/avatar.blend {ws}/missing.wav --output {ws}/out.blend", 2,
                        "nothing to bake", {}),
    "missing .blend": ("--blend {ws}/missing.blend {ws}/line.wav", 2, "no such .blend", {}),
    "empty .blend": ("--blend {ws}/empty.blend {ws}/line.wav", 2, "is empty", {}),
    "text .blend": ("--blend {ws}/text.blend {ws}/line.wav", 2, "not a readable .blend", {}),
    "truncated .blend": ("--blend {ws}/truncated.blend {ws}/line.wav", 2, "not a readable .blend", {}),
    "--kinemo missing": ("--blend {ws}/avatar.blend {ws}/line.wav --output {ws}/out.blend --kinemo /nonexistent", 2,
                         "--kinemo /nonexistent: no such command", {}),
    "KINEMO_COMMAND missing": ("--blend {ws}/avatar.blend {ws}/line.wav --output {ws}/out.blend", 2,
                               "KINEMO_COMMAND /nonexistent: no such command", {"KINEMO_COMMAND": "/nonexistent"}),
    "--fps 0": ("--blend {ws}/avatar.blend {ws}/line.wav --output {ws}/out.blend --fps 0", 2, "--fps must be", {}),
    "unknown --target": ("--blend {ws}/avatar.blend {ws}/line.wav --output {ws}/out.blend --target Nope", 2,
                         "no mesh with shape keys named 'Nope'", {}),
    # The bpy module has no open file (only `blender -b avatar.blend -P` has): say so, not "no mesh … in this file".
    "no --blend (bpy module)": ("{ws}/line.wav --output {ws}/out.blend", 2, "no --blend given", {}),
}

KINEMO_CASES = {
    "video --control-port 99999": ("video {ws}/silent.avi --control-port 99999", 2, "--control-port must be 0-65535"),
    "video --max-frames -1": ("video {ws}/silent.avi --max-frames -1", 2, "--max-frames must be 1 or more"),
    "video --workers 0": ("video {ws}/silent.avi --workers 0", 2, "--workers must be 1-8"),
    "video --min-cutoff nan": ("video {ws}/silent.avi --min-cutoff nan", 2, "--min-cutoff must be more than 0"),
    "video --ease -1": ("video {ws}/silent.avi --ease -1", 2, "--ease must be 0 or more"),
    "video --osc port 70000": ("video {ws}/silent.avi --osc 127.0.0.1:70000", 2, "bad OSC port 70000"),
    "video -o read-only folder": ("video {ws}/silent.avi -o {ro}/take.json --no-osc", 2, "cannot write output"),
    "video -o missing folder": ("video {ws}/silent.avi -o {ws}/no/take.json --no-osc", 2,
                                "output folder does not exist"),
    "video -o is --profile": ("video {ws}/silent.avi --profile {ws}/take.json -o {ws}/take.json --no-osc", 2,
                              "is also an input"),
    "video not a video, -o existing": ("video {ws}/notes.mp4 -o {ws}/take.json --no-osc", 2, "not a readable video"),
    "webcam --control-port 99999": ("webcam --control-port 99999", 2, "--control-port must be 0-65535"),
    "webcam --calibrate 0": ("webcam --calibrate 0 --profile {ws}/p.json", 2, "--calibrate must be more than 0"),
    "webcam --retry -1": ("webcam --retry -1", 2, "--retry must be 0 or more"),
    "mic --block 0": ("mic --block 0", 2, "--block must be 16-16000"),
    "audio --fps 23": ("audio {ws}/line.wav --fps 23", 2, "invalid choice: 23"),
    "audio --seed -1": ("audio {ws}/line.wav --seed -1 --blinks", 2, "--seed must be 0 or more"),
    "audio --osc port 0": ("audio {ws}/line.wav --osc 127.0.0.1:0", 2, "bad OSC port 0"),
    "audio -o read-only folder": ("audio {ws}/line.wav -o {ro}/line.csv", 2, "cannot write output"),
    "audio same-named inputs": ("audio {ws}/a/line.wav {ws}/b/line.wav -o {ws}", 2, "same name"),
    "audio several, -o not a folder": ("audio {ws}/a/line.wav {ws}/line.wav -o {ws}/no", 2, "existing folder"),
    "audio not audio, -o existing": ("audio {ws}/notes.mp4 -o {ws}/take.json", 2, "cannot read"),
    "audio video without sound": ("audio {ws}/silent.avi -o {ws}/out.json", 2, "has no audio track"),
    "actions -o read-only folder": ("actions --video {ws}/silent.avi -o {ro}/events.json --no-osc", 2,
                                    "cannot write events output"),
    "actions -o missing folder": ("actions --video {ws}/silent.avi -o {ws}/no/events.json --no-osc", 2,
                                  "events output folder does not exist"),
    "actions -o not .json": ("actions --video {ws}/silent.avi -o {ws}/events.csv --no-osc", 2, "use .json"),
    "actions --record-pose read-only": ("actions --video {ws}/silent.avi --record-pose {ro}/p.npz --no-osc", 2,
                                        "cannot write pose file"),
    "actions --max-frames -1": ("actions --video {ws}/silent.avi --max-frames -1", 2,
                                "--max-frames must be 1 or more"),
    "actions --people 0": ("actions --video {ws}/silent.avi --people 0", 2, "--people must be 1 or more"),
    "actions --camera -1": ("actions --camera -1", 2, "--camera must be 0 or more"),
    "actions train, read-only --actions-dir": ("actions train punch --examples {ws}/silent.avi {ws}/silent.avi "
                                               "--actions-dir {ro}/acts", 2, "cannot write actions folder"),
    "actions --osc port 99999": ("actions --video {ws}/silent.avi --osc 127.0.0.1:99999", 2, "bad OSC port 99999"),
}

# Fixed in kinemo/voice/audio_io.py (ffmpeg 5+ ends its message with a hint line, so the
# "matches no streams" test must look at all of stderr); owned by the voice work.
_XFAIL: dict[str, str] = {}  # cases known to fail, with the reason (none at present)


def _argv(template: str, ws: Path, ro: Path) -> list[str]:
    return [a.format(ws=ws, ro=ro) for a in template.split()]


def _params(cases: dict) -> list:
    return [pytest.param(name, *case, id=name,
                         marks=[pytest.mark.xfail(reason=_XFAIL[name], strict=False)] if name in _XFAIL else [])
            for name, case in cases.items()]


@pytest.mark.parametrize("name, args, code, words, env", _params(BAKE_CASES))
def test_bake_audio_bad_input(ws, readonly, name, args, code, words, env):
    before = snapshot(ws)
    r = subprocess.run([sys.executable, str(BAKE), *_argv(args, ws, readonly)], capture_output=True, text=True,
                       timeout=120, env={**os.environ, **env})
    line = one_clear_line(r, "bake_audio")
    assert r.returncode == code and words in line, line
    assert r.stdout.strip() == "", f"only our one line, not Blender's own report beside it: {r.stdout}"
    assert snapshot(ws) == before, "an existing file changed or a new one appeared"


@pytest.mark.parametrize("name, args, code, words", _params(KINEMO_CASES))
def test_kinemo_bad_input(ws, readonly, name, args, code, words):
    before = snapshot(ws)
    r = subprocess.run([str(BIN / "kinemo"), *_argv(args, ws, readonly)], capture_output=True, text=True,
                       timeout=120)
    line = one_clear_line(r, "kinemo")
    assert r.returncode == code and words in line, line
    assert snapshot(ws) == before, "an existing file changed or a new one appeared"


def test_bake_audio_force_replaces_an_existing_output_completely(ws):
    """The asked-for overwrite works, through a temporary file: the old result is replaced, nothing else is left.

    The audio is ``./-x.wav``: pathlib drops the ``./``, so it reaches ``kinemo audio`` as ``-x.wav``.
    """
    old = (ws / "avatar_baked.blend").read_bytes()
    shutil.copy(ws / "line.wav", ws / "-x.wav")
    r = subprocess.run([sys.executable, str(BAKE), "--blend", "avatar.blend", "./-x.wav", "--force"],
                       capture_output=True, text=True, timeout=300, cwd=ws)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "action '-x'" in r.stdout
    new = (ws / "avatar_baked.blend").read_bytes()
    assert new != old and new[:4] in (b"BLEN", b"(\xb5/\xfd")  # a whole .blend (plain or zstd)
    assert sorted(p.name for p in ws.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("kind, make", [("AUDIO", _write_wav), ("VIDEO", _write_silent_video)])
def test_companion_job_takes_a_file_named_like_an_option(tmp_path, kind, make):
    """Defect 5: the add-on's job line must pass ``-x.wav`` as a file, not as an option of kinemo."""
    name = "-x.wav" if kind == "AUDIO" else "-x.avi"
    make(tmp_path / name)
    argv = job_command(kind, [str(BIN / "kinemo")], host="127.0.0.1", port=free_udp_port(), path=name,
                       realtime=False)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (name if kind == "AUDIO" else "frames") in r.stderr


def test_bake_audio_with_nothing_baked_writes_nothing(ws):
    """Every file fails in the companion (not audio): each is reported, its reason once; no output .blend appears."""
    (ws / "broken.wav").write_text("not audio at all")
    before = snapshot(ws)
    r = subprocess.run([sys.executable, str(BAKE), "--blend", str(ws / "avatar.blend"), str(ws / "broken.wav"),
                        "--output", str(ws / "out.blend")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "failed: " in r.stderr and "out.blend not written" in r.stderr.strip().splitlines()[-1]
    assert snapshot(ws) == before
    assert r.stdout.strip().splitlines() == ["[1/1] broken.wav: FAILED"], r.stdout
    failed = [ln for ln in r.stderr.splitlines() if "failed: " in ln]
    assert len(failed) == 1 and failed[0].count("broken.wav") == 1, r.stderr  # named once, not three times
    reason = failed[0].split("broken.wav", 1)[1].strip(" :()")
    assert reason and (r.stdout + r.stderr).count(reason) == 1, r.stdout + r.stderr
