"""`kinemo video` end to end on real clips, against MediaPipe run directly by the test."""

import csv
import json

import cv2
import numpy as np
import pytest
from conftest import run_kinemo

from kinemo import protocol
from kinemo.takes import LLF_HEADER, timecode

EXPECTED_HEADER = (
    "Timecode,BlendshapeCount,EyeBlinkLeft,EyeLookDownLeft,EyeLookInLeft,EyeLookOutLeft,EyeLookUpLeft,"
    "EyeSquintLeft,EyeWideLeft,EyeBlinkRight,EyeLookDownRight,EyeLookInRight,EyeLookOutRight,EyeLookUpRight,"
    "EyeSquintRight,EyeWideRight,JawForward,JawRight,JawLeft,JawOpen,MouthClose,MouthFunnel,MouthPucker,"
    "MouthRight,MouthLeft,MouthSmileLeft,MouthSmileRight,MouthFrownLeft,MouthFrownRight,MouthDimpleLeft,"
    "MouthDimpleRight,MouthStretchLeft,MouthStretchRight,MouthRollLower,MouthRollUpper,MouthShrugLower,"
    "MouthShrugUpper,MouthPressLeft,MouthPressRight,MouthLowerDownLeft,MouthLowerDownRight,MouthUpperUpLeft,"
    "MouthUpperUpRight,BrowDownLeft,BrowDownRight,BrowInnerUp,BrowOuterUpLeft,BrowOuterUpRight,CheekPuff,"
    "CheekSquintLeft,CheekSquintRight,NoseSneerLeft,NoseSneerRight,TongueOut,HeadYaw,HeadPitch,HeadRoll,"
    "LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll"
)


def mediapipe_reference(path, model):
    """MediaPipe's own blendshapes for every frame, straight from the Tasks API."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    opts = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model)), running_mode=vision.RunningMode.VIDEO,
        output_face_blendshapes=True, output_facial_transformation_matrixes=True, num_faces=1)
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS)
    rows = []
    with vision.FaceLandmarker.create_from_options(opts) as lm:
        i = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            img = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            r = lm.detect_for_video(img, int(round(i * 1000 / fps)))
            rows.append({c.category_name: c.score for c in r.face_blendshapes[0]} if r.face_blendshapes else None)
            i += 1
    return rows


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def test_header_constant_is_exact():
    assert ",".join(LLF_HEADER) == EXPECTED_HEADER


def test_timecode_format():
    assert timecode(0.0, 25) == "00:00:00:00.000"
    assert timecode(1.04, 25) == "00:00:01:01.000"
    assert timecode(3661.5, 30) == "01:01:01:15.000"
    assert timecode(2.5 / 60, 60) == "00:00:00:02.500"


def test_csv_jawopen_equals_mediapipe_on_every_grid_clip(grid_clips, face_model, tmp_path):
    for clip in grid_clips:
        out = tmp_path / f"{clip.stem}.csv"
        r = run_kinemo("video", str(clip), "-o", str(out), "--no-osc", "-q", "--smooth", "none", "--workers", "1")
        assert r.returncode == 0, r.stderr
        header, rows = read_csv(out)
        assert ",".join(header) == EXPECTED_HEADER
        ref = mediapipe_reference(clip, face_model)
        assert len(rows) == len(ref) == 75
        col = header.index("JawOpen")
        ours = np.array([float(row[col]) for row in rows])
        theirs = np.array([r["jawOpen"] for r in ref])
        np.testing.assert_allclose(ours, theirs, atol=1e-6, err_msg=clip.name)
        assert theirs.max() > 0.05, "a talking face opens its jaw"
        # tongueOut is present (MediaPipe lacks it) and _neutral is dropped.
        assert all(row[header.index("TongueOut")] == "0" for row in rows)
        assert all(row[1] == "61" and len(row) == 63 for row in rows)
        assert rows[1][0] == "00:00:00:01.000" and rows[-1][0] == "00:00:02:24.000"


def test_json_and_npz_carry_timestamps_landmarks_and_the_same_values(grid_clips, tmp_path):
    clip = grid_clips[0]
    outs = {ext: tmp_path / f"take{ext}" for ext in (".json", ".npz", ".csv")}
    for out in outs.values():
        assert run_kinemo("video", str(clip), "-o", str(out), "--no-osc", "-q").returncode == 0
    doc = json.loads(outs[".json"].read_text())
    assert doc["format"] == "kinemo-take" and doc["channels"] == list(protocol.ARKIT_NAMES)
    assert doc["fps"] == 25.0 and len(doc["time"]) == 75 and doc["time"][1] == pytest.approx(0.04)
    assert len(doc["landmarks"][0]) == 478 and len(doc["landmarks"][0][0]) == 3
    assert all(doc["present"])
    npz = np.load(outs[".npz"], allow_pickle=False)
    assert npz["landmarks"].shape == (75, 478, 3) and npz["blendshapes"].shape == (75, 52)
    np.testing.assert_array_equal(np.asarray(doc["blendshapes"], np.float32), npz["blendshapes"])
    header, rows = read_csv(outs[".csv"])
    jaw = [float(r[header.index("JawOpen")]) for r in rows]
    np.testing.assert_allclose(jaw, npz["blendshapes"][:, protocol.ARKIT_INDEX["jawOpen"]], atol=1e-7)
    np.testing.assert_array_equal(npz["seq"], np.arange(75))


def one_line_error(r):
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("kinemo: error:") and "Traceback" not in r.stderr
    return lines[0]


def test_missing_file(tmp_path):
    assert "no such file" in one_line_error(run_kinemo("video", str(tmp_path / "nope.mp4")))


def test_not_a_video(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video\n")
    assert "not a readable video" in one_line_error(run_kinemo("video", str(bad)))


def test_unwritable_output(grid_clips, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    msg = one_line_error(run_kinemo("video", str(grid_clips[0]), "-o", str(blocker / "out.csv")))
    assert "does not exist" in msg
    # An existing folder takes STEM.FORMAT, as for kinemo audio (and for several videos).
    r = run_kinemo("video", str(grid_clips[0]), "-o", str(tmp_path), "--no-osc", "-q")
    assert r.returncode == 0 and (tmp_path / f"{grid_clips[0].stem}.csv").is_file(), r.stderr
    assert "unsupported output" in one_line_error(run_kinemo("video", str(grid_clips[0]), "-o", "x.txt"))
    assert "cannot write output" in one_line_error(run_kinemo("video", str(grid_clips[0]), "-o", "/proc/take.csv"))


def test_video_without_a_face_still_writes_frames(tmp_path):
    clip = tmp_path / "noface.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for i in range(12):
        frame = np.full((120, 160, 3), 40 + 10 * i, np.uint8)
        writer.write(frame)
    writer.release()
    out = tmp_path / "noface.json"
    csv_out = tmp_path / "noface.csv"
    r = run_kinemo("video", str(clip), "-o", str(out), "--no-osc")
    assert r.returncode == 0, r.stderr
    assert "12 frames (0 with a face)" in r.stderr
    doc = json.loads(out.read_text())
    assert doc["present"] == [False] * 12 and doc["landmarks"] == [None] * 12
    assert np.count_nonzero(doc["blendshapes"]) == 0
    assert run_kinemo("video", str(clip), "-o", str(csv_out), "--no-osc", "-q").returncode == 0
    assert len(read_csv(csv_out)[1]) == 12


def test_webcam_without_camera_is_a_clear_error():
    msg = one_line_error(run_kinemo("webcam", "--camera", "7"))
    assert "no camera at 7" in msg


def test_help_teaches():
    r = run_kinemo("video", "--help")
    assert r.returncode == 0 and "--realtime" in r.stdout and "--osc" in r.stdout
    r = run_kinemo("--help")
    assert "examples:" in r.stdout and "docs/protocol.md" in r.stdout
