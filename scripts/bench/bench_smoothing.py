"""Smoothing on real faces: jitter removed vs lag added, for the live and the file filter.

  python scripts/bench/bench_smoothing.py [--min-cutoff HZ] [--beta B]

For each GRID clip (../shared/data/grid), the raw MediaPipe blendshapes are
smoothed with the One-Euro filter (live) and zero-phase Savitzky-Golay (files).
Jitter = mean absolute frame-to-frame change on the clip's near-static channels
(standard deviation < 0.02); lag = the shift (ms) at which the smoothed jawOpen
best correlates with the raw one (positive = smoothed trails raw).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "inference"))
os.environ.setdefault("KINEMO_MODEL_DIR", str(ROOT.parent / "shared" / "models"))

from kinemo.face.smoothing import (  # noqa: E402
    DEFAULT_BETA,
    DEFAULT_MIN_CUTOFF,
    DEFAULT_WINDOW_S,
    OneEuroFilter,
    OneEuroOptions,
    zero_phase,
)
from kinemo.face.tracker import FaceTracker, FaceTrackerOptions  # noqa: E402
from kinemo.protocol import ARKIT_INDEX  # noqa: E402
from kinemo.sources import VideoSource  # noqa: E402


def raw_curves(clip: Path) -> tuple[np.ndarray, np.ndarray, float]:
    src = VideoSource(clip)
    with FaceTracker.create_from_options(FaceTrackerOptions()) as tracker:
        rows, times = [], []
        for i, t, rgb in src:
            rows.append(tracker.process_video_frame(rgb, int(t * 1000), seq=i).blendshapes)
            times.append(t)
    src.close()
    return np.array(times), np.array(rows, np.float64), src.fps


def jitter(values: np.ndarray, static: np.ndarray) -> float:
    return float(np.abs(np.diff(values[:, static], axis=0)).mean())


def lag_ms(raw: np.ndarray, smooth: np.ndarray, fps: float, max_shift: int = 8) -> float:
    raw = raw - raw.mean()
    smooth = smooth - smooth.mean()
    shifts = np.arange(-max_shift, max_shift + 1)
    n = len(raw)
    corr = [np.dot(raw[max(0, -k):n - max(0, k)], smooth[max(0, k):n - max(0, -k)]) for k in shifts]
    return float(shifts[int(np.argmax(corr))] / fps * 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--min-cutoff", type=float, default=DEFAULT_MIN_CUTOFF)
    parser.add_argument("--beta", type=float, default=DEFAULT_BETA)
    parser.add_argument("--grid", type=Path, default=ROOT.parent / "shared" / "data" / "grid")
    args = parser.parse_args(argv)
    jaw = ARKIT_INDEX["jawOpen"]
    print(f"One-Euro min_cutoff={args.min_cutoff} Hz beta={args.beta}; zero-phase window {DEFAULT_WINDOW_S} s")
    print(f"{'clip':<12}{'static ch':>10}{'jitter raw':>12}{'one-euro':>10}{'zero-phase':>12}"
          f"{'lag 1€ ms':>11}{'lag 0φ ms':>11}{'jaw r 1€':>10}")
    totals = []
    for clip in sorted(args.grid.glob("*.mpg")):
        times, raw, fps = raw_curves(clip)
        static = raw.std(axis=0) < 0.02
        f = OneEuroFilter(OneEuroOptions(args.min_cutoff, args.beta))
        live = np.array([f.filter(row, t) for row, t in zip(raw, times, strict=True)])
        offline = zero_phase(raw, fps)
        row = (static.sum(), jitter(raw, static), jitter(live, static), jitter(offline, static),
               lag_ms(raw[:, jaw], live[:, jaw], fps), lag_ms(raw[:, jaw], offline[:, jaw], fps),
               float(np.corrcoef(raw[:, jaw], live[:, jaw])[0, 1]))
        totals.append(row)
        print(f"{clip.stem:<12}{row[0]:>10d}{row[1]:>12.5f}{row[2]:>10.5f}{row[3]:>12.5f}"
              f"{row[4]:>11.0f}{row[5]:>11.0f}{row[6]:>10.3f}")
    m = np.mean(np.array(totals, float), axis=0)
    print(f"{'mean':<12}{m[0]:>10.1f}{m[1]:>12.5f}{m[2]:>10.5f}{m[3]:>12.5f}{m[4]:>11.0f}{m[5]:>11.0f}{m[6]:>10.3f}")
    print(f"jitter reduction: one-euro {100 * (1 - m[2] / m[1]):.0f}%, zero-phase {100 * (1 - m[3] / m[1]):.0f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
