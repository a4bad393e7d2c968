"""Pictures on request: `kinemo video --preview OUT.mp4` and `kinemo audio --plot OUT.png`, on short real inputs."""

import json
import subprocess

import cv2
import numpy as np
from conftest import ROOT, run_kinemo

from kinemo.frame import Frame
from kinemo.preview import PANEL_WIDTH, draw_overlay, head_axes_2d


def probe_video(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                        "stream=nb_read_frames,width,height,codec_name", "-of", "json", str(path)],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["streams"][0]


def test_video_preview_has_one_frame_per_processed_frame(tmp_path, grid_clips):
    clip = grid_clips[0]
    out, take = tmp_path / "check.mp4", tmp_path / "take.json"
    r = run_kinemo("video", str(clip), "--no-osc", "--max-frames", "15", "-o", str(take), "--preview", str(out))
    assert r.returncode == 0, r.stderr
    assert "preview" in r.stderr and "(15 frames)" in r.stderr
    s = probe_video(out)
    cap = cv2.VideoCapture(str(clip))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    cap.release()
    assert int(s["nb_read_frames"]) == len(json.loads(take.read_text())["blendshapes"]) == 15
    assert (s["width"], s["height"]) == (w + PANEL_WIDTH + (w + PANEL_WIDTH) % 2, h + h % 2)
    assert s["codec_name"] == "h264"


def test_preview_rejects_a_wrong_type_before_work(tmp_path, grid_clips):
    r = run_kinemo("video", str(grid_clips[0]), "--no-osc", "--preview", str(tmp_path / "x.gif"))
    assert r.returncode != 0 and "preview" in r.stderr and ".mp4" in r.stderr
    assert not (tmp_path / "x.gif").exists()


def test_overlay_draws_the_mesh_where_the_face_is():
    rgb = np.zeros((200, 300, 3), np.uint8)
    lm = np.zeros((478, 3), np.float32)
    rng = np.random.default_rng(0)
    lm[:, :2] = rng.uniform(0.3, 0.5, (478, 2))  # a face in the left-centre of the picture
    lm[33, :2], lm[263, :2] = (0.35, 0.4), (0.45, 0.4)
    f = Frame(seq=0, time=0.0, stamp=0.0, present=True, landmarks=lm)
    f.blendshapes[25] = 0.8
    img = draw_overlay(rgb, f)
    assert img.shape == (200, 300 + PANEL_WIDTH, 3)
    face = img[60:100, 90:150].astype(int).sum()
    corner = img[170:200, 250:300].astype(int).sum()
    assert face > 0 and corner == 0
    # a head facing the camera: x to image-right, y up the image, z out of it (no image extent)
    np.testing.assert_allclose(head_axes_2d(f.head), [[1, 0], [0, -1], [0, 0]], atol=1e-6)


def test_audio_plot_is_a_png_of_the_documented_size(tmp_path):
    out = tmp_path / "line.png"
    r = run_kinemo("audio", str(ROOT / "rigs" / "media" / "hello.flac"), "--no-osc", "--plot", str(out))
    assert r.returncode == 0, r.stderr
    img = cv2.imread(str(out))
    assert img is not None and img.shape == (520, 1400, 3)
    assert img.std() > 10  # curves and waveform, not a blank canvas
    r = run_kinemo("audio", str(ROOT / "rigs" / "media" / "hello.flac"), "--no-osc", "--plot", str(tmp_path / "a.jpg"))
    assert r.returncode != 0 and ".png" in r.stderr
