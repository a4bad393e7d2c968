"""Every command behaves the same way: shared option names, several inputs, cheap checks, one overwrite rule."""

from __future__ import annotations

import json

from conftest import ROOT, SHARED, require, run_kinemo

from kinemo.takes import read_take

CLIP = ROOT / "rigs" / "media" / "astronaut.mp4"
SPEECH = ROOT / "rigs" / "media" / "hello.flac"


def test_a_missing_input_is_reported_before_any_model_loads(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    for cmd in (["audio", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "a.csv"), "--model", str(broken)],
                ["video", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "v.csv"), "--model", str(broken)]):
        r = run_kinemo(*cmd)
        # The input's problem, not the model's: the model was never opened.
        assert r.returncode == 2 and r.stderr.strip().count("\n") == 0, r.stderr
        assert "missing" in r.stderr and "no such file" in r.stderr and "model" not in r.stderr
        assert not list(tmp_path.glob("[av].csv*"))


def test_kinemo_video_takes_several_files_like_audio(tmp_path):
    grid = require(SHARED / "data" / "grid" / "bbaf2n.mpg")
    out = tmp_path / "takes"
    out.mkdir()
    r = run_kinemo("video", str(CLIP), str(tmp_path / "gone.mp4"), str(grid), "-o", str(out), "--format", "json",
                   "--no-osc", "-q")
    assert r.returncode == 1 and "gone.mp4: no such file; skipped" in r.stderr, r.stderr  # the batch went on
    assert sorted(p.name for p in out.iterdir()) == ["astronaut.json", "bbaf2n.json"]
    assert len(read_take(out / "astronaut.json")["seq"]) == 50 and len(read_take(out / "bbaf2n.json")["seq"]) == 75
    r = run_kinemo("video", str(CLIP), str(grid), "-o", str(tmp_path / "one.csv"), "--no-osc")
    assert r.returncode == 2 and "--output must be an existing folder" in r.stderr


def test_smoothing_has_one_name_across_commands(tmp_path):
    for cmd in ("video", "webcam", "audio"):
        assert "--smooth {" in run_kinemo(cmd, "--help").stdout
    r = run_kinemo("audio", str(SPEECH), "-o", str(tmp_path / "a.csv"), "--smooth", "offline", "-q")
    assert r.returncode == 0, r.stderr
    # The old spelling still works for scripts written against it, and gives the same curves.
    r = run_kinemo("audio", str(SPEECH), "-o", str(tmp_path / "b.csv"), "--smoothing", "savgol", "-q")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_image_with_no_success_leaves_an_existing_output_untouched(tmp_path):
    out = tmp_path / "faces.json"
    out.write_text(json.dumps({"mine": True}))
    bad = tmp_path / "bad.png"
    bad.write_text("not a picture")
    r = run_kinemo("image", str(bad), "--output", str(out))
    assert r.returncode == 1 and "nothing written" in r.stderr
    assert json.loads(out.read_text()) == {"mine": True}
    r = run_kinemo("image", str(bad), str(require(SHARED / "data" / "faces" / "sergey.png")), "--output", str(out),
                   "-q")
    assert r.returncode == 1 and json.loads(out.read_text())["format"] == "kinemo-images"


def test_the_overwrite_rule_is_in_the_help():
    rule = "An output you name is replaced, only by a complete new file"
    assert rule in " ".join(run_kinemo("--help").stdout.split())
    assert rule in " ".join(run_kinemo("audio", "--help").stdout.split())
