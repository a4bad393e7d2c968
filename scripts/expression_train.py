"""Train the expression classifier (inference/kinemo/assets/expression.npz) from our own face outputs.

  python scripts/expression_train.py [--out inference/kinemo/assets/expression.npz]

Data: only the rows of ../shared/data/expressions/labels.csv whose ``use`` column is ``train``
(the muxspace photos, Apache-2.0); the ``eval`` rows (Yale, stock photos) are never read here.
Features come from ``scripts/expression_data.py``'s cache of our FaceTracker's IMAGE-mode outputs.

Method: multinomial logistic regression on standardised features, classes weighted by inverse
frequency; the L2 strength is chosen by 5-fold cross-validation grouped by person (nobody in both
the fitting and the scoring folds), by macro-F1; a softmax temperature is fitted on the out-of-fold
scores (negative log-likelihood). The final weights refit on every training row. Out-of-fold scores
are kept in build/expression/oof.npz for scripts/expression_eval.py's person hold-out. CPU, seconds,
deterministic.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import expression_data as data  # noqa: E402

from kinemo.face.expression_model import ASSET, FEATURE_VERSION, GEOMETRY_NAMES, features  # noqa: E402

C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)


def feature_matrix(d: dict[str, np.ndarray], rows: np.ndarray, blendshapes_only: bool = False) -> np.ndarray:
    if blendshapes_only:
        return np.stack([features(d["blendshapes"][i]) for i in rows])
    return np.stack([features(d["blendshapes"][i], d["landmarks"][i], tuple(d["size"][i])) for i in rows])


def fit(x: np.ndarray, y: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
        m.fit((x - mean) / scale, y)
    coef = np.zeros((len(data.CLASSES), x.shape[1]))
    icpt = np.full(len(data.CLASSES), -30.0)
    coef[m.classes_], icpt[m.classes_] = m.coef_, m.intercept_
    return mean, scale, coef, icpt


def logits(params, x: np.ndarray) -> np.ndarray:
    mean, scale, coef, icpt = params
    return ((x - mean) / scale) @ coef.T + icpt


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def macro_f1(y: np.ndarray, p: np.ndarray, k: int = 7) -> float:
    f1 = []
    for c in range(k):
        tp = np.sum((p == c) & (y == c))
        prec = tp / max(np.sum(p == c), 1)
        rec = tp / max(np.sum(y == c), 1)
        f1.append(0.0 if tp == 0 else 2 * prec * rec / (prec + rec))
    return float(np.mean(f1))


def cross_validate(x: np.ndarray, y: np.ndarray, folds: np.ndarray, c: float) -> np.ndarray:
    oof = np.zeros((len(y), len(data.CLASSES)))
    for f in np.unique(folds):
        tr, te = folds != f, folds == f
        oof[te] = logits(fit(x[tr], y[tr], c), x[te])
    return oof


def temperature(z: np.ndarray, y: np.ndarray) -> float:
    grid = np.exp(np.linspace(np.log(0.2), np.log(5.0), 200))
    nll = [-np.mean(np.log(softmax(z / t)[np.arange(len(y)), y] + 1e-12)) for t in grid]
    return float(grid[int(np.argmin(nll))])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ASSET))
    args = ap.parse_args()

    d = data.load_photos()
    train = np.flatnonzero((d["use"] == "train") & d["present"])
    assert not np.any(d["use"][train] != "train")
    y = np.array([data.CLASSES.index(s) for s in d["label"][train]])
    persons = d["person"][train]
    folds = data.grouped_folds(persons, d["label"][train])
    print(f"training rows: {len(train)} (use=train, face found) of {int((d['use'] == 'train').sum())}; "
          f"{len(np.unique(persons))} people in 5 person-grouped folds")
    print("class counts:", dict(zip(data.CLASSES, np.bincount(y, minlength=7).tolist(), strict=True)))

    out: dict[str, np.ndarray] = {"classes": np.array(data.CLASSES), "feature_version": np.array(FEATURE_VERSION),
                                  "geometry_names": np.array(GEOMETRY_NAMES)}
    oof_keep = {}
    for head, bs_only in (("full", False), ("blendshapes", True)):
        x = feature_matrix(d, train, bs_only)
        best = None
        for c in C_GRID:
            z = cross_validate(x, y, folds, c)
            pred = z.argmax(1)
            acc, f1 = float(np.mean(pred == y)), macro_f1(y, pred)
            print(f"  {head:11s} C={c:<5} person-CV accuracy {acc:.3f} macro-F1 {f1:.3f}")
            if best is None or f1 > best[1]:
                best = (c, f1, z)
        c, f1, z = best
        t = temperature(z, y)
        mean, scale, coef, icpt = fit(x, y, c)
        out.update({f"{head}_mean": mean, f"{head}_scale": scale, f"{head}_coef": coef, f"{head}_intercept": icpt,
                    f"{head}_temperature": np.array(t), f"{head}_C": np.array(c)})
        oof_keep[head] = softmax(z / t)
        print(f"{head}: C={c} temperature {t:.2f} (person-CV macro-F1 {f1:.3f})")
    out["neutral_blendshapes"] = d["blendshapes"][train][y == 0].mean(axis=0)
    out = {k: (v.astype(np.float32) if v.dtype.kind == "f" else v) for k, v in out.items()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **out)
    np.savez_compressed(data.CACHE / "oof.npz", rows=train, folds=folds, full=oof_keep["full"],
                        blendshapes=oof_keep["blendshapes"])
    print(f"wrote {args.out} ({Path(args.out).stat().st_size} bytes) and {data.CACHE / 'oof.npz'}")


if __name__ == "__main__":
    main()
