"""out/demo.mp4 for scripts/demo.py: the input beside the avatar, the curves with a time axis, and sound.

Layout (1280 × 720, 25 fps, every frame of the demo timeline; nothing is scaled up):
  left 360 × 480:   the source face clip at its own resolution while the face take plays (scaled down
                    only if wider than 360 px); the spoken line's waveform with a moving cursor while
                    the line plays;
  middle 480 × 480: a close-up of the avatar's face, rendered at that size (Workbench);
  right 440 × 480:  the avatar's whole body (Workbench), where the body actions show;
  bottom 1280 × 240: the curves that drive the face as the avatar's shape keys have them (after the
                    mapping preset), over the whole timeline: a y-range that fits them, a time axis in
                    seconds, the two takes labelled, and a moving playhead.
Sound: the face clip's own track from frame 1, the spoken line from its first frame.
Rendering prints one progress line (on a terminal), not Blender's per-frame messages.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "inference"))

W, H, TOP, CURVE_H = 1280, 720, 480, 240
INPUT_W, FACE, BODY_W = 360, 480, 440  # panel widths; the face close-up is square
FPS = 25
CURVES = ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthSmileLeft", "eyeBlinkLeft")
COLOURS = ((40, 110, 230), (225, 80, 40), (40, 170, 80), (170, 60, 190), (230, 160, 20), (90, 90, 90))
BG = 24


def label(img, text, at=(10, 24), scale=0.6, colour=(235, 235, 235)):
    import cv2

    cv2.putText(img, text, at, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, at, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, 1, cv2.LINE_AA)


@contextlib.contextmanager
def quiet(log: Path):
    """Blender's own output (per-frame "Saved:" lines, GPU context messages) goes to ``log`` instead of the
    terminal; yields a function that writes to the real standard output. On an error the log's end is shown."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    with open(log, "wb") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
    ok = False
    try:
        yield lambda text: os.write(saved_out, text.encode())
        ok = True
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)
        if not ok and log.exists():
            sys.stderr.write(log.read_text(errors="replace")[-4000:])


def _fcurves(action) -> dict[str, object]:
    """data path → F-curve of an Action (layered in Blender 4.4+, legacy before)."""
    out = {}
    if hasattr(action, "layers"):
        for layer in action.layers:
            for strip in layer.strips:
                for bag in strip.channelbags:
                    out.update({fc.data_path: fc for fc in bag.fcurves})
    if hasattr(action, "fcurves"):
        out.update({fc.data_path: fc for fc in action.fcurves})
    return out


def shape_key_values(key, names, first: int, last: int) -> np.ndarray:
    """(frames, len(names)) values of shape keys from their NLA strips, frame by frame from ``first`` to ``last``
    (between strips a strip holds its last value, as the NLA does), without evaluating the scene."""
    strips = sorted((s for t in key.animation_data.nla_tracks for s in t.strips if s.action is not None),
                    key=lambda s: s.frame_start)
    out = np.zeros((last - first + 1, len(names)))
    if not strips:
        return out
    curves = [_fcurves(s.action) for s in strips]
    for i, f in enumerate(range(first, last + 1)):
        k = max((j for j, s in enumerate(strips) if s.frame_start <= f), default=-1)
        s = strips[max(k, 0)]
        if (k < 0 and s.extrapolation != "HOLD") or (f > s.frame_end and s.extrapolation == "NOTHING"):
            continue  # no strip acts here: the keys rest at 0
        local = s.action_frame_start + (min(max(f, s.frame_start), s.frame_end) - s.frame_start) / max(s.scale, 1e-6)
        for c, name in enumerate(names):
            fc = curves[max(k, 0)].get(f'key_blocks["{name}"].value')
            out[i, c] = fc.evaluate(local) if fc is not None else 0.0
    return out


def _fit(img: np.ndarray, w: int, h: int, top: int = 0) -> np.ndarray:
    """``img`` at its own size (scaled down only if it does not fit) centred in a w × h panel below ``top``."""
    import cv2

    s = min(1.0, w / img.shape[1], (h - top) / img.shape[0])
    if s < 1.0:
        img = cv2.resize(img, (int(img.shape[1] * s), int(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
    out = np.full((h, w, 3), BG, np.uint8)
    y, x = top + (h - top - img.shape[0]) // 2, (w - img.shape[1]) // 2
    out[y:y + img.shape[0], x:x + img.shape[1]] = img[..., :3]
    return out


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


def y_range(values: np.ndarray) -> float:
    """The top of the curves' y-axis: the data's maximum rounded up to a tenth (at least 0.2)."""
    return max(0.2, math.ceil(float(np.max(values, initial=0.0)) * 10 - 1e-6) / 10)


def curve_panel(values: np.ndarray, first: int, spans) -> tuple[np.ndarray, np.ndarray]:
    """The static part of the curve strip: (frames, len(CURVES)) values → RGB image, and each frame's x."""
    import cv2

    img = np.full((CURVE_H, W, 3), 250, np.uint8)
    left, right, top, bottom = 52, 16, 30, 34
    n = len(values)
    xs = left + np.arange(n) / max(n - 1, 1) * (W - left - right)
    ymax = y_range(values)
    font = cv2.FONT_HERSHEY_SIMPLEX

    def y_of(v):
        return top + (1 - np.clip(v, 0, ymax) / ymax) * (CURVE_H - top - bottom)

    for (a, b), name in spans:
        xa, xb = int(xs[a - first]), int(xs[min(b, first + n - 1) - first])
        cv2.rectangle(img, (xa, top), (xb, CURVE_H - bottom), (234, 239, 246), -1)
        cv2.putText(img, name, (xa + 4, top + 14), font, 0.4, (90, 90, 90), 1, cv2.LINE_AA)
    for v in (0.0, ymax / 2, ymax):
        y = int(y_of(v))
        cv2.line(img, (left, y), (W - right, y), (215, 215, 215), 1)
        cv2.putText(img, f"{v:.2f}", (6, y + 4), font, 0.38, (100, 100, 100), 1, cv2.LINE_AA)
    seconds = (n - 1) / FPS
    step = 1 if seconds <= 16 else 2 if seconds <= 32 else 5
    base = CURVE_H - bottom
    cv2.line(img, (left, base), (W - right, base), (120, 120, 120), 1)
    for t in range(0, int(seconds) + 1, step):
        x = int(xs[min(n - 1, round(t * FPS))])
        cv2.line(img, (x, base), (x, base + 5), (120, 120, 120), 1)
        text = f"{t} s" if t == 0 else f"{t}"
        cv2.putText(img, text, (x - 4, base + 18), font, 0.38, (90, 90, 90), 1, cv2.LINE_AA)
    cv2.putText(img, "time (s)", (W - right - 60, CURVE_H - 4), font, 0.36, (110, 110, 110), 1, cv2.LINE_AA)
    lx = left
    for k, name in enumerate(CURVES):
        pts = np.round(np.stack([xs, y_of(values[:, k])], axis=1) * 4).astype(np.int32)
        cv2.polylines(img, [pts], False, COLOURS[k], 2 if k == 0 else 1, cv2.LINE_AA, shift=2)
        cv2.line(img, (lx, 14), (lx + 16, 14), COLOURS[k], 2)
        cv2.putText(img, name, (lx + 20, 18), font, 0.4, (40, 40, 40), 1, cv2.LINE_AA)
        lx += 40 + int(cv2.getTextSize(name, font, 0.4, 1)[0][0])
    cv2.putText(img, "shape-key value", (lx + 10, 18), font, 0.36, (110, 110, 110), 1, cv2.LINE_AA)
    return img, xs


def render_frames(bpy, passes: list[tuple[object, int, int, Path]], log=print) -> None:
    """Render the scene's timeline once per (camera, width, height, path prefix) with Workbench, showing one
    progress line (on a terminal) instead of Blender's messages."""
    scene = bpy.context.scene
    total = (scene.frame_end - scene.frame_start + 1) * len(passes)
    done = [0]
    tty = sys.stdout.isatty()
    with tempfile.TemporaryDirectory() as tmp, quiet(Path(tmp) / "render.log") as say:
        def progress(*_):
            done[0] += 1
            if tty:
                say(f"\rdemo: rendering {done[0]}/{total} frames")

        bpy.app.handlers.render_post.append(progress)
        try:
            for cam, w, h, prefix in passes:
                scene.camera = cam
                scene.render.resolution_x, scene.render.resolution_y = w, h
                scene.render.filepath = str(prefix)
                scene.render.use_file_extension = True
                bpy.ops.render.render(animation=True)
        finally:
            bpy.app.handlers.render_post.remove(progress)
            if tty:
                say("\r\033[K")


def make_video(bpy, face_cam, body_cam, clip: Path, speech: Path, spans, out: Path, log=print) -> Path:
    """Render the scene's whole timeline and write ``out`` (mp4, H.264 + AAC). ``spans``: the face take's and the
    spoken line's (first, last) frames."""
    import cv2

    from kinemo.preview import VideoWriter

    scene = bpy.context.scene
    first, last = scene.frame_start, scene.frame_end
    head = next(o for o in scene.objects if o.type == "MESH" and o.data.shape_keys is not None
                and "jawOpen" in o.data.shape_keys.key_blocks)
    values = shape_key_values(head.data.shape_keys, CURVES, first, last)
    (_, face_end), (speech_start, speech_end) = spans
    strip, xs = curve_panel(values, first, [(spans[0], f"face take: {clip.name}"),
                                            (spans[1], f"spoken line: {speech.name}")])
    clip_frames, clip_fps = _clip_frames(clip)
    wave = _samples(speech)
    rate = 16000
    n = last - first + 1
    log(f"rendering {n} frames twice: the face close-up ({FACE}×{FACE}) and the body ({BODY_W}×{TOP}), Workbench")
    tmp = Path(tempfile.mkdtemp(prefix="kinemo-demo-"))
    try:
        render_frames(bpy, [(face_cam, FACE, FACE, tmp / "face"), (body_cam, BODY_W, TOP, tmp / "body")], log)
        log("composing the video")
        silent = tmp / "video.mp4"
        writer = VideoWriter(silent, FPS, crf=23)
        wave_panel = _wave_panel(wave, rate)
        h0, w0 = clip_frames[0].shape[:2] if clip_frames else (0, 0)
        for f in range(first, last + 1):
            frame = np.full((H, W, 3), BG, np.uint8)
            k = int(round((f - first) / FPS * clip_fps))
            if f <= face_end and k < len(clip_frames):
                left = _fit(clip_frames[k], INPUT_W, TOP, top=36)
                label(left, f"input: {clip.name}")
                label(left, f"{w0}x{h0}, as recorded", (10, TOP - 14), 0.45, (190, 190, 190))
            else:
                left = wave_panel.copy()
                ts = (f - speech_start) / FPS
                if 0 <= ts <= len(wave) / rate:
                    x = int(ts * rate / len(wave) * (INPUT_W - 20)) + 10
                    cv2.line(left, (x, 90), (x, TOP - 90), (230, 80, 60), 2)
                label(left, f"input: {speech.name}")
            frame[:TOP, :INPUT_W] = left
            face = cv2.cvtColor(cv2.imread(str(tmp / f"face{f:04d}.png")), cv2.COLOR_BGR2RGB)
            label(face, "Kinemo avatar: face")
            frame[:TOP, INPUT_W:INPUT_W + FACE] = face
            body = cv2.cvtColor(cv2.imread(str(tmp / f"body{f:04d}.png")), cv2.COLOR_BGR2RGB)
            label(body, "body")
            frame[:TOP, INPUT_W + FACE:] = body
            bottom = strip.copy()
            x = int(xs[f - first])
            cv2.line(bottom, (x, 26), (x, CURVE_H - 30), (220, 40, 40), 2)
            label(bottom, f"{(f - first) / FPS:5.2f} s", (min(x + 6, W - 70), CURVE_H - 40), 0.4)
            frame[TOP:] = bottom
            writer.add(frame)
        writer.close()
        log("muxing the sound")
        _mux(silent, clip, speech, (speech_start - first) / FPS, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _wave_panel(wave: np.ndarray, rate: int) -> np.ndarray:
    import cv2

    img = np.full((TOP, INPUT_W, 3), 30, np.uint8)
    w = INPUT_W - 20
    edges = np.linspace(0, len(wave), w + 1).astype(int)
    peak = max(float(np.abs(wave).max()), 1e-6)
    mid = TOP // 2
    for i in range(w):
        seg = wave[edges[i]:max(edges[i + 1], edges[i] + 1)]
        a, b = float(seg.min()) / peak, float(seg.max()) / peak
        cv2.line(img, (10 + i, int(mid - b * 140)), (10 + i, int(mid - a * 140)), (150, 170, 200), 1)
    cv2.putText(img, f"{len(wave) / rate:.1f} s of speech -> kinemo audio", (10, TOP - 14),
                cv2.FONT_HERSHEY_SIMPLEX, 0.45, (200, 200, 200), 1, cv2.LINE_AA)
    return img


def has_audio(path: Path) -> bool:
    """Whether ``path`` has a sound track (ffprobe)."""
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries", "stream=index", "-of",
                        "csv=p=0", str(path)], capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.strip() != ""


def _mux(video: Path, clip: Path, speech: Path, speech_at: float, out: Path) -> None:
    """The clip's sound from 0 s and the spoken line from ``speech_at`` s, mixed under the video (AAC)."""
    delay = int(round(speech_at * 1000))
    tmp = out.with_name(f".{out.stem}.part.mp4")
    has_clip_audio = has_audio(clip)
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
