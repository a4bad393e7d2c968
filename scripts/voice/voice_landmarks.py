"""Fit the voice model's landmark decoder: speech blendshape channels → landmark PCA coefficients.

  python scripts/voice/voice_landmarks.py [--out inference/kinemo/assets/voice_landmarks.npz]

The voice network predicts blendshapes; landmarks follow from them through a linear
map (21 channels → the 20 coefficients of ``kinemo.face.landmarks.LandmarkPCA``), fitted by
ridge regression on MediaPipe's own output for talking-face video: every frame's
blendshapes paired with its pose-normalised mesh. This is geometry of MediaPipe's face
model, not speech: no audio is involved. Data: the GRID clips and the bundled
astronaut clip (the only talking-face video here). Reported leave-one-clip-out as
NME (% of inter-ocular distance) over the 478 points, against the mean shape.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "inference"))

from kinemo.face import FaceTracker, FaceTrackerOptions  # noqa: E402
from kinemo.face.landmarks import LandmarkPCA, nme, to_metric  # noqa: E402
from kinemo.sources import VideoSource  # noqa: E402
from kinemo.voice.visemes import SPEECH_INDEX  # noqa: E402

OUT = ROOT / "inference/kinemo/assets/voice_landmarks.npz"


def clip_pairs(path: Path, pca: LandmarkPCA) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    source = VideoSource(path)
    tracker = FaceTracker.create_from_options(FaceTrackerOptions())
    xs, ys, shapes = [], [], []
    try:
        for i, t, rgb in source:
            frame = tracker.process_video_frame(rgb, int(t * 1000), seq=i, time_s=t)
            if frame.landmarks is None:
                continue
            h, w = rgb.shape[:2]
            coeffs, _ = pca.encode(to_metric(frame.landmarks, w, h))
            xs.append(frame.blendshapes[SPEECH_INDEX])
            ys.append(coeffs)
            shapes.append(pca.decode(coeffs))
    finally:
        tracker.close()
        source.close()
    return np.array(xs), np.array(ys), np.array(shapes)


def fit(x: np.ndarray, y: np.ndarray, ridge: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    mx, my = x.mean(0), y.mean(0)
    xc = x - mx
    w = np.linalg.solve(xc.T @ xc + ridge * len(x) * np.eye(x.shape[1]), xc.T @ (y - my))
    return w, my - mx @ w


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    pca = LandmarkPCA.load()
    clips = sorted((ROOT.parent / "shared/data/grid").glob("*.mpg")) + [ROOT / "rigs/media/astronaut.mp4"]
    data = {c.stem: clip_pairs(c, pca) for c in clips}
    print(f"{'clip':12s} {'NME decoder':>14s} {'NME mean shape':>17s}")
    for c in clips:
        x = np.concatenate([data[o.stem][0] for o in clips if o != c])
        y = np.concatenate([data[o.stem][1] for o in clips if o != c])
        w, b = fit(x, y)
        xt, _, truth = data[c.stem]
        pred = np.stack([pca.decode(k) for k in xt @ w + b])
        mean = np.repeat(pca.mean[None], len(truth), axis=0)
        print(f"{c.stem:12s} {nme(pred, truth):14.2f} {nme(mean, truth):17.2f}")
    x = np.concatenate([d[0] for d in data.values()])
    y = np.concatenate([d[1] for d in data.values()])
    w, b = fit(x, y)
    np.savez_compressed(args.out, weights=w.astype(np.float32), bias=b.astype(np.float32))
    print(f"wrote {args.out} ({len(x)} frames)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
