"""Per-frame cost of the expression label (features from the mesh + classifier), on real faces.

  python scripts/bench/bench_expression.py [--frames 2000]

Uses the cached MediaPipe outputs of scripts/expression/expression_data.py (MEAD frames) and prints the
median and p95 per-frame time of: the geometry features, the classifier (scores), the whole
``classify`` call (features + scores + action units), and the stream's hysteresis; then the same
with a personal profile (each clip's first frame taught under its label, one custom name more):
the personal classifier alone (target ≤ 0.1 ms) beside the generic one, and ``classify`` with it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "expression"))
import expression_data as data  # noqa: E402

from kinemo.face.calibration import Profile  # noqa: E402
from kinemo.face.expression import ExpressionSmoother, classify  # noqa: E402
from kinemo.face.expression_model import default_model, features  # noqa: E402
from kinemo.face.personal import PersonalExpressions, example_from_frame  # noqa: E402


def timed(fn, items) -> np.ndarray:
    out = []
    for it in items:
        t = time.perf_counter()
        fn(it)
        out.append(time.perf_counter() - t)
    return np.array(out) * 1000.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=2000)
    args = ap.parse_args()
    m = data.load_mead()
    idx = np.flatnonzero(m["present"])
    idx = np.resize(idx, args.frames)
    frames = [(m["blendshapes"][i], m["landmarks"][i], tuple(m["size"][i])) for i in idx]
    model = default_model()
    feats = [features(*f) for f in frames]
    smoother = ExpressionSmoother()
    exprs = [classify(*f) for f in frames[:200]]
    personal = PersonalExpressions()
    for clip in np.unique(m["clip"][idx]):
        first = idx[m["clip"][idx] == clip][0]
        personal.add(str(m["label"][first]), [example_from_frame(m["blendshapes"][first], m["landmarks"][first],
                                                                 tuple(m["size"][first]))])
    last = idx[-1]
    personal.add("my_own", [example_from_frame(m["blendshapes"][last], m["landmarks"][last], tuple(m["size"][last]))])
    profile = Profile(personal=personal)
    mine = profile.classifier()
    for name, fn, items in (
            ("features (mesh geometry + √blendshapes)", lambda f: features(*f), frames),
            ("classifier (scores)", model.scores, feats),
            ("classify() total (+ action units)", lambda f: classify(*f), frames),
            ("hysteresis (ExpressionSmoother.update)",
             lambda e: smoother.update(e[1], e[0] / 25.0), list(enumerate(exprs * (args.frames // 200)))),
            (f"personal classifier ({len(mine.labels)} labels; scores)", mine.scores, feats),
            ("classify() total with a personal profile", lambda f: classify(*f, profile=profile), frames)):
        ms = timed(fn, items)
        print(f"{name:44s} median {np.median(ms) * 1000:7.1f} µs   p95 {np.percentile(ms, 95) * 1000:7.1f} µs")


if __name__ == "__main__":
    main()
