"""Fit the compact landmark basis (PCA over pose-normalised 478-point meshes) and report its error.

  python scripts/face/fit_landmark_pca.py [--components 20] [--out inference/kinemo/assets/landmark_pca.npz]

Data: every frame of the GRID clips in ../shared/data/grid plus the bundled
rigs/media/astronaut.mp4, tracked with our FaceTracker. The error is reported
leave-one-clip-out (fit without a clip, measure on it) as NME in % of the
inter-ocular distance, for all 478 points and for the 68 iBUG points; the
shipped basis is then fitted on everything.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "inference"))

from kinemo.face.landmarks import PCA_ASSET, LandmarkPCA, ibug68, nme, to_metric  # noqa: E402
from kinemo.face.tracker import FaceTracker, FaceTrackerOptions  # noqa: E402
from kinemo.sources import VideoSource  # noqa: E402


def clip_meshes(path: Path) -> np.ndarray:
    source = VideoSource(path)
    tracker = FaceTracker.create_from_options(FaceTrackerOptions())
    out = []
    with tracker:
        for i, t, rgb in source:
            frame = tracker.process_video_frame(rgb, int(t * 1000), seq=i, time_s=t)
            if frame.landmarks is not None:
                h, w = rgb.shape[:2]
                out.append(to_metric(frame.landmarks, w, h))
    source.close()
    return np.stack(out)


def reconstruction_error(pca: LandmarkPCA, meshes: np.ndarray) -> tuple[float, float]:
    recon = []
    for m in meshes:
        coeffs, pose = pca.encode(m)
        recon.append(pca.decode(coeffs, pose))
    recon = np.stack(recon)
    return nme(recon, meshes), _nme68(recon, meshes)


def _nme68(recon: np.ndarray, meshes: np.ndarray) -> float:
    # Inter-ocular distance from the mesh's outer eye corners (iBUG 36 and 45).
    truth68, pred68 = ibug68(meshes), ibug68(recon)
    iod = np.linalg.norm(truth68[:, 36, :2] - truth68[:, 45, :2], axis=-1)
    err = np.linalg.norm(pred68[..., :2] - truth68[..., :2], axis=-1).mean(axis=-1)
    return float(np.mean(err / iod) * 100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--components", type=int, default=20)
    parser.add_argument("--grid", type=Path, default=ROOT.parent / "shared" / "data" / "grid")
    parser.add_argument("--out", type=Path, default=PCA_ASSET)
    args = parser.parse_args(argv)
    clips = sorted(args.grid.glob("*.mpg"))
    extra = [ROOT / "rigs" / "media" / "astronaut.mp4"]
    data = {p.name: clip_meshes(p) for p in clips + extra}
    print(f"{'held-out clip':<16}{'frames':>7}{'NME478 %':>10}{'NME68 %':>9}")
    rows = []
    for held in [p.name for p in clips]:
        train = np.concatenate([m for name, m in data.items() if name != held])
        pca = LandmarkPCA.fit(train, args.components)
        e478, e68 = reconstruction_error(pca, data[held])
        rows.append((e478, e68))
        print(f"{held:<16}{len(data[held]):>7}{e478:>10.2f}{e68:>9.2f}")
    mean = np.mean(rows, axis=0)
    print(f"{'mean':<16}{'':>7}{mean[0]:>10.2f}{mean[1]:>9.2f}")
    pca = LandmarkPCA.fit(np.concatenate(list(data.values())), args.components)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pca.save(args.out)
    print(f"wrote {args.out} ({args.components} components, {args.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
