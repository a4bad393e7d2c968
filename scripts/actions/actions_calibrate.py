"""Body proportions: real MediaPipe output vs Kinect skeletons before and after conversion.

    python scripts/actions/actions_calibrate.py

Measures, on upright frames, where the hips, knees and nose sit between the shoulders and
the ankles, and the shoulder and hip widths, all ÷ shoulder-centre → ankle-centre height:
  * real MediaPipe: the ML Kit BlazePose samples (``squats_up``, frontal) and ``dance.mp4``
    tracked by our pose pipeline (cached in ``build/actions/real/dance_pose.npz``);
  * UTKinect's raw Kinect joints and the same after ``kinect.kinect_to_mediapipe`` (scripts/actions/kinect.py).
The converter's constants (HIP_DROP, HIP_SPREAD, NOSE_HEIGHT) are chosen so the converted
column matches the MediaPipe columns.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import kinect
import numpy as np

from kinemo.body.posefile import read_pose_file

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
KEYS = ("hips", "knees", "nose", "shoulder_w", "hip_w")


def proportions(p: np.ndarray) -> dict[str, float]:
    """(n, 33, 2) image points (y down) → median proportions over upright frames."""
    sh, hp = (p[:, 11] + p[:, 12]) / 2, (p[:, 23] + p[:, 24]) / 2
    kn, an = (p[:, 25] + p[:, 26]) / 2, (p[:, 27] + p[:, 28]) / 2
    h = an[:, 1] - sh[:, 1]
    ok = (h > 0) & (np.abs(p[:, 11, 0] - p[:, 12, 0]) > 0.15 * h)  # upright, roughly frontal
    ok &= (kn[:, 1] - sh[:, 1]) > 0.62 * h  # legs straight-ish (not squatting or sitting)
    vals = {"hips": (hp[:, 1] - sh[:, 1]) / h, "knees": (kn[:, 1] - sh[:, 1]) / h, "nose": (sh[:, 1] - p[:, 0, 1]) / h,
            "shoulder_w": np.abs(p[:, 11, 0] - p[:, 12, 0]) / h, "hip_w": np.abs(p[:, 23, 0] - p[:, 24, 0]) / h}
    out = {k: float(np.median(v[ok])) for k, v in vals.items()}
    out["frames"] = int(ok.sum())
    return out


def mlkit(path: Path) -> np.ndarray:
    rows = [line.strip().split(",") for line in path.read_text().splitlines() if line.strip()]
    pts = np.array([[float(v) for v in r[2:]] for r in rows if r[1] == "squats_up"]).reshape(-1, 33, 3)
    return pts[..., :2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--utkinect", type=Path, default=SHARED / "actions" / "utkinect")
    ap.add_argument("--mlkit", type=Path,
                    default=SHARED / "actions" / "mlkit_fitness_pose" / "fitness_pose_samples.csv")
    ap.add_argument("--dance", type=Path, default=ROOT / "build" / "actions" / "real" / "dance_pose.npz",
                    help="dance.mp4 tracked by our pipeline (kinemo actions --video … --record-pose …)")
    args = ap.parse_args(argv)
    cols: dict[str, dict[str, float]] = {"mediapipe mlkit": proportions(mlkit(args.mlkit))}
    if args.dance.is_file():
        tr = read_pose_file(args.dance)
        cols["mediapipe dance"] = proportions(tr.landmarks[tr.present, :, :2] * np.array([tr.aspect, 1.0]))
    recs = kinect.read_utkinect(args.utkinect)
    joints = np.concatenate([r.joints for r in recs])
    raw = np.zeros((len(joints), 33, 2))
    for mp, k in ((0, 3), (11, 4), (12, 8), (23, 12), (24, 16), (25, 13), (26, 17), (27, 14), (28, 18)):
        raw[:, mp] = np.stack([-joints[:, k, 0], -joints[:, k, 1]], -1)
    cols["kinect raw"] = proportions(raw)
    conv = kinect.kinect_to_mediapipe(joints, orthographic=True)
    cols["kinect converted"] = proportions(conv[..., :2] * np.array([4 / 3, 1.0]))
    print(f"{'÷ shoulder→ankle height':<24}" + "".join(f"{c:>18}" for c in cols))
    for k in (*KEYS, "frames"):
        print(f"{k:<24}" + "".join(f"{v[k]:>18.3f}" if k != "frames" else f"{v[k]:>18d}" for v in cols.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
