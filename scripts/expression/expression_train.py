"""Train the expression classifier (inference/kinemo/assets/expression.npz) from our own face outputs.

  python scripts/expression/expression_train.py [--out inference/kinemo/assets/expression.npz]

Data: only the rows of ../shared/data/expressions/labels.csv whose ``use`` column is ``train``
(the muxspace photos, Apache-2.0, and the London Set, CC BY 4.0); the ``eval`` rows (Yale, stock
photos) are never read here. Features come from ``scripts/expression/expression_data.py``'s cache of our
FaceTracker's IMAGE-mode outputs; ``expression_data.person_of`` names each photo's person (a London
person's neutral and smiling photo are one person), and the folds keep a person's photos together.

Method (v2.2 = v2.1's recipe on the training rows above, ``--model ens``): a multinomial logistic
regression on standardised features, classes weighted by inverse frequency, whose probabilities are
averaged half and half (``--mix 0.5``) with a one-hidden-layer ReLU network's (sklearn MLPClassifier:
32 units, L2 alpha 1.0, one seed, same class weights); the regression's L2 strength is chosen by 5-fold
cross-validation grouped by person (nobody in both the fitting and the scoring folds), by macro-F1; a
softmax temperature is fitted on the out-of-fold log-probabilities (negative log-likelihood). The
network's width, L2, mix and seed count, the class weighting and the training data (with or without the
London Set, with or without synthetic rows) were chosen by the same person-grouped CV
(``scripts/expression/expression_experiments.py``), never on held-out rows. ``--model lr`` trains v2.0's
form, the regression alone. The final weights refit on every training row. Out-of-fold scores are kept in
build/expression/oof.npz for scripts/expression/expression_eval.py's person hold-out.
CPU, under a minute, deterministic (fixed seeds).
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


def fit(x: np.ndarray, y: np.ndarray, c: float, sw: np.ndarray | None = None):
    """Regression on standardised ``x``: classes weighted by inverse frequency, or rows by ``sw``."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = LogisticRegression(C=c, class_weight=None if sw is not None else "balanced", max_iter=3000)
        m.fit((x - mean) / scale, y, sample_weight=sw)
    coef = np.zeros((len(data.CLASSES), x.shape[1]))
    icpt = np.full(len(data.CLASSES), -30.0)
    coef[m.classes_], icpt[m.classes_] = m.coef_, m.intercept_
    return mean, scale, coef, icpt


def fit_mlp(x: np.ndarray, y: np.ndarray, mean: np.ndarray, scale: np.ndarray, hidden: int, alpha: float,
            seed: int, sw: np.ndarray | None = None):
    """One-hidden-layer ReLU network (sklearn MLPClassifier, Adam, L2 ``alpha``) on the same standardised
    inputs, classes weighted by inverse frequency like the regression (or rows by ``sw``).
    Returns (w1, b1, w2, b2)."""
    from sklearn.neural_network import MLPClassifier

    if sw is None:
        n = np.bincount(y, minlength=len(data.CLASSES)).astype(float)
        sw = (n.sum() / (len(data.CLASSES) * np.maximum(n, 1)))[y]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=alpha, max_iter=300, random_state=seed,
                          learning_rate_init=1e-3, batch_size=128)
        m.fit((x - mean) / scale, y, sample_weight=sw)
    w2 = np.zeros((len(data.CLASSES), hidden))
    b2 = np.full(len(data.CLASSES), -30.0)
    w2[m.classes_], b2[m.classes_] = m.coefs_[1].T, m.intercepts_[1]
    return m.coefs_[0].T, m.intercepts_[0], w2, b2


def fit_ens(x: np.ndarray, y: np.ndarray, c: float, args) -> dict:
    mean, scale, coef, icpt = fit(x, y, c)
    out = {"lr": (mean, scale, coef, icpt), "mlp": []}
    if args.model == "ens":
        out["mlp"] = [fit_mlp(x, y, mean, scale, args.hidden, args.alpha, s) for s in range(args.mlp_seeds)]
    out["mix"] = args.mix
    return out


def logits(params: dict, x: np.ndarray) -> np.ndarray:
    """Log-probabilities before temperature (``fit_ens``'s params): the regression, or its mix with the networks."""
    mean, scale, coef, icpt = params["lr"]
    xs = (x - mean) / scale
    p = softmax(xs @ coef.T + icpt)
    if not params["mlp"]:
        return np.log(p + 1e-12)
    q = np.mean([softmax(np.maximum(xs @ w1.T + b1, 0) @ w2.T + b2) for w1, b1, w2, b2 in params["mlp"]], 0)
    return np.log(params["mix"] * p + (1 - params["mix"]) * q + 1e-12)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def macro_f1(y: np.ndarray, p: np.ndarray, classes=None) -> float:
    """Mean F1 over ``classes`` (default: all seven)."""
    f1 = []
    for c in range(len(data.CLASSES)) if classes is None else classes:
        tp = np.sum((p == c) & (y == c))
        prec = tp / max(np.sum(p == c), 1)
        rec = tp / max(np.sum(y == c), 1)
        f1.append(0.0 if tp == 0 else 2 * prec * rec / (prec + rec))
    return float(np.mean(f1))


def cross_validate(x: np.ndarray, y: np.ndarray, folds: np.ndarray, c: float, args) -> np.ndarray:
    oof = np.zeros((len(y), len(data.CLASSES)))
    for f in np.unique(folds):
        tr, te = folds != f, folds == f
        oof[te] = logits(fit_ens(x[tr], y[tr], c, args), x[te])
    return oof


def temperature(z: np.ndarray, y: np.ndarray) -> float:
    grid = np.exp(np.linspace(np.log(0.2), np.log(5.0), 200))
    nll = [-np.mean(np.log(softmax(z / t)[np.arange(len(y)), y] + 1e-12)) for t in grid]
    return float(grid[int(np.argmin(nll))])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ASSET))
    ap.add_argument("--model", choices=("lr", "ens"), default="ens",
                    help="lr: the regression alone (v2.0); ens: regression + ReLU network, probabilities mixed")
    ap.add_argument("--hidden", type=int, default=32, help="network width")
    ap.add_argument("--alpha", type=float, default=1.0, help="network L2")
    ap.add_argument("--mix", type=float, default=0.5, help="weight of the regression in the mix")
    ap.add_argument("--mlp-seeds", type=int, default=1, help="networks averaged")
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
            z = cross_validate(x, y, folds, c, args)
            pred = z.argmax(1)
            acc, f1 = float(np.mean(pred == y)), macro_f1(y, pred)
            print(f"  {head:11s} C={c:<5} person-CV accuracy {acc:.3f} macro-F1 {f1:.3f}")
            if best is None or f1 > best[1]:
                best = (c, f1, z)
        c, f1, z = best
        t = temperature(z, y)
        params = fit_ens(x, y, c, args)
        mean, scale, coef, icpt = params["lr"]
        out.update({f"{head}_mean": mean, f"{head}_scale": scale, f"{head}_coef": coef, f"{head}_intercept": icpt,
                    f"{head}_temperature": np.array(t), f"{head}_C": np.array(c)})
        if params["mlp"]:
            for k, name in enumerate(("w1", "b1", "w2", "b2")):
                out[f"{head}_mlp_{name}"] = np.stack([m[k] for m in params["mlp"]])
            out[f"{head}_mix"] = np.array(args.mix)
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
