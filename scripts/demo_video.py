"""out/demo.mp4 for scripts/demo.py: input beside output, curves with a playhead, and sound.

Layout (960 × 600, 25 fps, every frame of the demo timeline):
  left 480 × 400: the source face clip while the face take plays; the spoken line's waveform
                  with a moving cursor while the line plays;
  right 480 × 400: the avatar, rendered with Workbench from the face camera, frame by frame;
  bottom 960 × 200: jawOpen and four mouth curves as the avatar's shape keys have them, over the
                  whole timeline, with the two takes labelled and a moving playhead.
Sound: the face clip's own track from frame 1, the spoken line from its first frame.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "inference"))

W, H, PANEL_H, CURVE_H = 960, 600, 400, 200
RENDER = 320  # avatar render size (square), letterboxed into its 480 × 400 panel
FPS = 25
CURVES = ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmileLeft")
COLOURS = ((40, 110, 230), (225, 80, 40), (40, 170, 80), (170, 60, 190), (230, 160, 20))


def _fit(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """Letterbox an RGB image into w × h."""
    import cv2

    s = min(w / img.shape[1], h / img.shape[0])
    small = cv2.resize(img, (max(1, int(img.shape[1] * s)), max(1, int(img.shape[0] * s))),
                       interpolation=cv2.INTER_AREA)
    out = np.full((h, w, 3), 18, np.uint8)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    out[y:y + small.shape[0], x:x + small.shape[1]] = small[..., :3]
    return out


def _label(img, text, at=(10, 24), scale=0.6, colour=(235, 235, 235)):
    import cv2

    cv2.putText(img, text, at, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, at, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


def _clip_frames(clip: Path) -> tuple[list[np.ndarray], float]:
    import cv2

    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or FPS
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return frames, fps


def _samples(path: Path) -> np.ndarray:
    from kinemo.voice.audio_io import AudioFileSource

    src = AudioFileSource(path)
    try:
        return np.concatenate([np.asarray(b, np.float32).ravel() for b in src.blocks()] or [np.zeros(1)])
    finally:
        src.close()


def _curve_panel(values: np.ndarray, first: int, spans) -> np.ndarray:
    """The static part of the curve strip: (frames, len(CURVES)) values → RGB image."""
    import cv2

    img = np.full((CURVE_H, W, 3), 250, np.uint8)
    left, right, top, bottom = 40, 12, 26, 20
    n = len(values)
    xs = left + np.arange(n) / max(n - 1, 1) * (W - left - right)
    for v in (0.0, 0.5, 1.0):
        y = int(top + (1 - v) * (CURVE_H - top - bottom))
        cv2.line(img, (left, y), (W - right, y), (225, 225, 225), 1)
        cv2.putText(img, f"{v:.1f}", (6, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (110, 110, 110), 1, cv2.LINE_AA)
    for (a, b), name in spans:
        xa, xb = int(xs[a - first]), int(xs[min(b, first + n - 1) - first])
        cv2.rectangle(img, (xa, top - 2), (xb, CURVE_H - bottom), (236, 240, 246), -1)
        cv2.putText(img, name, (xa + 4, CURVE_H - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (80, 80, 80), 1, cv2.LINE_AA)
    lx = left
    for k, name in enumerate(CURVES):
        ys = top + (1 - np.clip(values[:, k], 0, 1)) * (CURVE_H - top - bottom)
        pts = np.round(np.stack([xs, ys], axis=1) * 4).astype(np.int32)
        cv2.polylines(img, [pts], False, COLOURS[k], 2 if k == 0 else 1, cv2.LINE_AA, shift=2)
        cv2.line(img, (lx, 12), (lx + 16, 12), COLOURS[k], 2)
        cv2.putText(img, name, (lx + 20, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (40, 40, 40), 1, cv2.LINE_AA)
        lx += 40 + int(cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)[0][0])
    return img, xs


def make_video(bpy, camera, clip: Path, speech: Path, speech_start: int, speech_end: int, out: Path,
               log=print) -> Path:
    """Render the scene's whole timeline and write ``out`` (mp4, H.264 + AAC)."""
    import cv2

    from kinemo.preview import VideoWriter

    scene = bpy.context.scene
    first, last = scene.frame_start, scene.frame_end
    head = next(o for o in scene.objects if o.type == "MESH" and o.data.shape_keys is not None
                and "jawOpen" in o.data.shape_keys.key_blocks)
    kb = head.data.shape_keys.key_blocks
    values = []
    for f in range(first, last + 1):
        scene.frame_set(f)
        values.append([kb[c].value if c in kb else 0.0 for c in CURVES])
    values = np.array(values)
    face_end = speech_start - 12
    strip, xs = _curve_panel(values, first, [((first, face_end), f"face take: {clip.name}"),
                                             ((speech_start, speech_end), f"spoken line: {speech.name}")])
    clip_frames, clip_fps = _clip_frames(clip)
    wave = _samples(speech)
    rate = 16000
    log(f"rendering {last - first + 1} frames of the avatar ({RENDER}×{RENDER}, Workbench)")
    scene.camera = camera
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.resolution_x = scene.render.resolution_y = RENDER
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    tmp = Path(tempfile.mkdtemp(prefix="kinemo-demo-"))
    try:
        scene.render.filepath = str(tmp / "f")
        scene.render.use_file_extension = True
        bpy.ops.render.render(animation=True)
        log("composing the video")
        silent = tmp / "video.mp4"
        writer = VideoWriter(silent, FPS, crf=26)
        wave_panel = _wave_panel(wave, rate)
        for f in range(first, last + 1):
            frame = np.full((H, W, 3), 18, np.uint8)
            t = (f - first) / FPS
            k = int(round(t * clip_fps))
            if f <= face_end and k < len(clip_frames):
                left = _fit(clip_frames[k], W // 2, PANEL_H)
                _label(left, f"input: {clip.name}")
            else:
                left = wave_panel.copy()
                ts = (f - speech_start) / FPS
                if 0 <= ts <= len(wave) / rate:
                    x = int(ts * rate / len(wave) * (W // 2 - 20)) + 10
                    cv2.line(left, (x, 60), (x, PANEL_H - 40), (230, 80, 60), 2)
                _label(left, f"input: {speech.name} (audio)")
            frame[:PANEL_H, : W // 2] = left
            avatar = cv2.cvtColor(cv2.imread(str(tmp / f"f{f:04d}.png")), cv2.COLOR_BGR2RGB)
            right = _fit(avatar, W // 2, PANEL_H)
            _label(right, "output: Kinemo avatar")
            frame[:PANEL_H, W // 2:] = right
            bottom = strip.copy()
            x = int(xs[f - first])
            cv2.line(bottom, (x, 20), (x, CURVE_H - 18), (220, 40, 40), 2)
            frame[PANEL_H:] = bottom
            writer.add(frame)
        writer.close()
        log("muxing the sound")
        _mux(silent, clip, speech, (speech_start - first) / FPS, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _wave_panel(wave: np.ndarray, rate: int) -> np.ndarray:
    import cv2

    img = np.full((PANEL_H, W // 2, 3), 30, np.uint8)
    w = W // 2 - 20
    edges = np.linspace(0, len(wave), w + 1).astype(int)
    peak = max(float(np.abs(wave).max()), 1e-6)
    mid = PANEL_H // 2
    for i in range(w):
        seg = wave[edges[i]:max(edges[i + 1], edges[i] + 1)]
        a, b = float(seg.min()) / peak, float(seg.max()) / peak
        cv2.line(img, (10 + i, int(mid - b * 120)), (10 + i, int(mid - a * 120)), (150, 170, 200), 1)
    cv2.putText(img, f"{len(wave) / rate:.1f} s of speech -> kinemo audio", (10, PANEL_H - 14),
                cv2.FONT_HERSHEY_SIMPLEX, 0.45, (200, 200, 200), 1, cv2.LINE_AA)
    return img


def _mux(video: Path, clip: Path, speech: Path, speech_at: float, out: Path) -> None:
    """The clip's sound from 0 s and the spoken line from ``speech_at`` s, mixed under the video (AAC)."""
    delay = int(round(speech_at * 1000))
    tmp = out.with_name(f".{out.stem}.part.mp4")
    has_clip_audio = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",
                                     "stream=index", "-of", "csv=p=0", str(clip)],
                                    capture_output=True, text=True).stdout.strip() != ""
    inputs = ["-i", str(video)] + (["-i", str(clip)] if has_clip_audio else []) + ["-i", str(speech)]
    s = 2 if has_clip_audio else 1
    graph = f"[{s}:a]aresample=44100,aformat=channel_layouts=mono,adelay={delay}[b]"
    if has_clip_audio:
        graph += (";[1:a]aresample=44100,aformat=channel_layouts=mono[a];"
                  "[a][b]amix=inputs=2:duration=longest:normalize=0,apad[m]")
    else:
        graph += ";[b]apad[m]"  # padded with silence to the video's end; -shortest stops there
    cmd = ["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "0:v", "-map", "[m]",
           "-c:v", "copy", "-c:a", "aac", "-b:a", "96k", "-shortest", "-movflags", "+faststart", str(tmp)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"demo: error: ffmpeg could not add the sound: {r.stderr.strip()}")
    os.replace(tmp, out)
