"""``kinemo audio ... --plot OUT.png``: the predicted curves drawn over the waveform.

One PNG per input file: the sound as a grey min/max envelope (its own scale), and on the
same time axis the 0-1 curves of jawOpen plus the most active other channels (by spread),
with a legend and second ticks. Drawn with OpenCV, so no plotting library is needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kinemo import protocol
from kinemo.errors import KinemoError

SIZE = (1400, 520)  # width, height of the PNG
CURVES = 6
COLOURS = ((40, 110, 230), (225, 80, 40), (40, 170, 80), (170, 60, 190), (230, 160, 20), (30, 170, 190),
           (120, 120, 120), (200, 40, 120))  # RGB


def pick_channels(blendshapes: np.ndarray, k: int = CURVES) -> list[int]:
    """jawOpen first, then the k-1 channels that move most (standard deviation)."""
    bs = np.asarray(blendshapes, float).reshape(-1, protocol.NUM_BLENDSHAPES)
    jaw = protocol.ARKIT_INDEX["jawOpen"]
    spread = bs.std(axis=0) if len(bs) else np.zeros(protocol.NUM_BLENDSHAPES)
    spread[jaw] = -1
    rest = [int(i) for i in np.argsort(-spread) if spread[i] > 1e-4][: k - 1]
    return [jaw, *rest]


def envelope(samples: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel-column (min, max) of a mono signal."""
    x = np.asarray(samples, np.float32).ravel()
    if len(x) == 0:
        return np.zeros(columns), np.zeros(columns)
    edges = np.linspace(0, len(x), columns + 1).astype(int)
    lo = np.array([x[a:max(b, a + 1)].min() for a, b in zip(edges[:-1], edges[1:], strict=True)])
    hi = np.array([x[a:max(b, a + 1)].max() for a, b in zip(edges[:-1], edges[1:], strict=True)])
    return lo, hi


def draw(times: np.ndarray, blendshapes: np.ndarray, samples: np.ndarray, rate: int, *, title: str = "",
         size: tuple[int, int] = SIZE, channels: list[int] | None = None) -> np.ndarray:
    """The plot as an RGB uint8 image of ``size``."""
    import cv2

    w, h = size
    img = np.full((h, w, 3), 255, np.uint8)
    left, right, top, bottom = 60, 20, 40, 40
    pw, ph = w - left - right, h - top - bottom
    times = np.asarray(times, float)
    duration = max(len(samples) / rate if rate else 0.0, float(times[-1]) if len(times) else 0.0, 1e-3)

    def xpix(t):
        return left + np.asarray(t, float) / duration * pw

    def ypix(v):
        return top + (1.0 - np.asarray(v, float)) * ph

    # waveform, scaled to its own peak, centred on the 0.5 line
    lo, hi = envelope(samples, int(pw * min(1.0, (len(samples) / rate) / duration if rate else 0)) or 1)
    peak = max(float(np.abs(np.concatenate([lo, hi])).max()), 1e-6)
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        x = left + i
        cv2.line(img, (x, int(ypix(0.5 + 0.45 * b / peak))), (x, int(ypix(0.5 + 0.45 * a / peak))),
                 (205, 205, 205), 1)
    # grid and axes
    for v in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = int(ypix(v))
        cv2.line(img, (left, y), (left + pw, y), (232, 232, 232) if 0 < v < 1 else (120, 120, 120), 1)
        cv2.putText(img, f"{v:.2f}", (8, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (90, 90, 90), 1, cv2.LINE_AA)
    step = next(s for s in (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1e9) if duration / s <= 14)
    for t in np.arange(0.0, duration + 1e-9, step):
        x = int(xpix(t))
        cv2.line(img, (x, top + ph), (x, top + ph + 5), (90, 90, 90), 1)
        cv2.putText(img, f"{t:g} s", (x - 12, top + ph + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (90, 90, 90), 1,
                    cv2.LINE_AA)
    # curves
    bs = np.asarray(blendshapes, float).reshape(-1, protocol.NUM_BLENDSHAPES)
    channels = pick_channels(bs) if channels is None else channels
    lx = left + 8
    for k, c in enumerate(channels):
        colour = COLOURS[k % len(COLOURS)]
        if len(times) > 1:
            pts = np.stack([xpix(times), ypix(np.clip(bs[:, c], 0, 1))], axis=1)
            cv2.polylines(img, [np.round(pts * 4).astype(np.int32)], False, colour, 2 if k == 0 else 1,
                          cv2.LINE_AA, shift=2)
        name = protocol.ARKIT_NAMES[c]
        cv2.line(img, (lx, 22), (lx + 18, 22), colour, 2)
        cv2.putText(img, name, (lx + 22, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (40, 40, 40), 1, cv2.LINE_AA)
        lx += 34 + int(cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, 0.42, 1)[0][0])
    if title:
        tw = cv2.getTextSize(title, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)[0][0]
        cv2.putText(img, title, (w - right - tw, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (90, 90, 90), 1, cv2.LINE_AA)
    return img


def write_png(path: str | Path, image: np.ndarray) -> Path:
    import cv2

    path = Path(path)
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise KinemoError(f"cannot write plot {path}")
    return path


def plot_file(path: str | Path, audio: str | Path, times: np.ndarray, blendshapes: np.ndarray,
              size: tuple[int, int] = SIZE) -> Path:
    """Read ``audio`` again (16 kHz mono, the engine's view) and write the plot to ``path``."""
    from kinemo.voice.audio_io import AudioFileSource
    from kinemo.voice.features import SAMPLE_RATE

    src = AudioFileSource(audio)
    try:
        samples = np.concatenate([np.asarray(b, np.float32).ravel() for b in src.blocks()] or [np.zeros(0)])
    finally:
        src.close()
    return write_png(path, draw(times, blendshapes, samples, SAMPLE_RATE, title=Path(audio).name, size=size))
