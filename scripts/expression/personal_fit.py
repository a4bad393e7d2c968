"""Fit the personal-expression metric (``inference/kinemo/assets/personal.npz``), chosen on people it never saw.

  python scripts/expression/expression_data.py     # the tracker's outputs for the photos, cached once
  python scripts/expression/personal_fit.py        # the selection table, then the shipped metric

The personal classifier (:mod:`kinemo.face.personal`) scores each label by the frame's distance
to the label's taught centroid (features weighted by their spread across the training photos,
in units of the user's own distances between expressions) plus ``prior`` × the generic model's
log-probability of the label. What this script learns from data we may train on: the feature
weights, the population's centroid of each built-in emotion (for names the user did not teach)
and ``prior``.

``prior`` is chosen by the mean macro-F1 over two sources simulated as users live them, one
taught example per expression, every other frame or photo labelled:

- muxspace people (in-the-wild photos; use ``train``) with two or more emotions, in five
  person-grouped folds: weights, population and the stand-in generic model are fitted on four,
  the fifth is labelled;
- CREMA-D actor 1001 (six acted emotions on video; use ``train``): the first second of each
  clip teaches, the frames from 1.5 s on are labelled (weights fitted on all the photos).

Two sources that disagree (the generic model is strong on web photos and useless on a talking
actor) keep the choice honest. MEAD (eval only) is reported, never chosen on. The naive
baseline, nearest centroid of the raw 52 blendshapes, is printed beside every row.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import expression_data as data  # noqa: E402

from kinemo.face.expression_model import features  # noqa: E402
from kinemo.face.personal import ASSET, GENERIC_COST  # noqa: E402
from kinemo.protocol import EMOTIONS  # noqa: E402

PRIORS = (0.0, 0.125, 0.25, 0.5, 1.0, 2.0)
C_GENERIC = 0.1  # regularisation of the folds' stand-in for the generic model
TEACH_S, TEST_FROM_S = 1.0, 1.5  # video: the first second teaches; frames from 1.5 s on are labelled
CREMAD = (("ANG", "anger"), ("DIS", "disgust"), ("FEA", "fear"), ("HAP", "happy"), ("NEU", "neutral"),
          ("SAD", "sad"))


def frame_features(blendshapes, landmarks, sizes) -> np.ndarray:
    return np.stack([features(b, lm, tuple(s)) for b, lm, s in zip(blendshapes, landmarks, sizes, strict=True)])


WEIGHTINGS = ("std", "sqrt-std", "uniform")
WEIGHTING = ["std"]  # the one the simulations use now; main() tries each


def std_weights(x: np.ndarray, kind: str | None = None) -> np.ndarray:
    """Per-feature weights from the training photos' spread. ``std``: every feature in units of its
    spread, shrunk towards the typical spread (a channel the tracker hardly ever moves, tongueOut,
    must not make any twitch of it decisive); ``sqrt-std``: half-way; ``uniform``: all alike."""
    kind = kind or WEIGHTING[0]
    var = x.var(axis=0)
    w = 1.0 / (var + 0.1 * np.median(var))
    if kind == "sqrt-std":
        return np.sqrt(w) * np.sqrt(np.median(w))
    if kind == "uniform":
        return np.full_like(w, np.median(w))
    return w


def population(x: np.ndarray, labels: np.ndarray, persons: np.ndarray) -> np.ndarray:
    """Each built-in emotion's centroid, every person weighing the same."""
    out = []
    for e in EMOTIONS:
        m = labels == e
        out.append(np.mean([x[m & (persons == p)].mean(0) for p in np.unique(persons[m])], axis=0))
    return np.stack(out)


def generic_log_probs(x_train: np.ndarray, y_train: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A generic classifier fitted on training people only, so its outputs on held-out ones are honest."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x_train.mean(0), x_train.std(0) + 1e-9
    m = LogisticRegression(C=C_GENERIC, class_weight="balanced", max_iter=3000)
    m.fit((x_train - mean) / scale, y_train)
    p = np.full((len(x), len(EMOTIONS)), 1e-3)
    p[:, [EMOTIONS.index(c) for c in m.classes_]] = np.maximum(m.predict_proba((x - mean) / scale), 1e-3)
    return np.log(p)


#: Every score matrix the simulations made, with the true label's column: what ``sharpness`` is fitted on.
SCORES: list[tuple[np.ndarray, np.ndarray]] = []
SHARPNESS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)


def label_person(taught: dict[str, np.ndarray], x: np.ndarray, log_p: np.ndarray, w: np.ndarray,
                 prior: float, true: np.ndarray | None = None) -> list[str]:
    """The runtime's rule (kinemo.face.personal) over the taught labels: −d²/scale + prior·log p."""
    names = [e for e in EMOTIONS if e in taught]
    c = np.stack([taught[e] for e in names])
    pair = [float((((c[i] - c[j]) ** 2) * w).sum()) for i in range(len(c)) for j in range(i)]
    d = (((x[:, None, :] - c[None]) ** 2) * w).sum(-1) / (np.median(pair) if pair else 1.0)
    s = -d + prior * log_p[:, [EMOTIONS.index(e) for e in names]]
    if true is not None:
        SCORES.append((s, np.array([names.index(t) for t in true])))
    return [names[j] for j in s.argmax(1)]


def fit_sharpness() -> float:
    """The factor on the scores before the softmax that makes them honest probabilities (the least
    log-loss of the true label over the simulations); the label itself does not depend on it."""
    def loss(k: float) -> float:
        total, n = 0.0, 0
        for s, t in SCORES:
            z = k * s - (k * s).max(1, keepdims=True)
            total -= float((z[np.arange(len(t)), t] - np.log(np.exp(z).sum(1))).sum())
            n += len(t)
        return total / max(n, 1)
    return min(SHARPNESS, key=loss)


def macro_f1(true: np.ndarray, pred: np.ndarray) -> float:
    f1 = []
    for e in np.unique(true):
        tp = np.sum((true == e) & (pred == e))
        prec, rec = tp / max(np.sum(pred == e), 1), tp / max(np.sum(true == e), 1)
        f1.append(0.0 if tp == 0 else 2 * prec * rec / (prec + rec))
    return float(np.mean(f1))


def score(true: list, pred: list) -> tuple[float, float, int]:
    t, p = np.array(true), np.array(pred)
    return float(np.mean(t == p)), macro_f1(t, p), len(t)


class Photos:
    """The training photos' people with two or more emotions, in person-grouped folds."""

    def __init__(self) -> None:
        rows = data.load_photos()
        keep = rows["present"] & (rows["use"] == "train")
        rows = {k: v[keep] for k, v in rows.items()}
        self.labels = rows["label"]
        self.persons = np.array([data.person_of(str(p).split("/")[-1]) for p in rows["path"]])
        self.x = frame_features(rows["blendshapes"], rows["landmarks"], rows["size"])
        self.raw = rows["blendshapes"].astype(np.float64)
        self.folds = data.grouped_folds(self.persons, self.labels, k=5, seed=0)
        self.log_p = np.zeros((len(self.x), len(EMOTIONS)))
        self.w = {}
        for f in range(5):
            tr, te = self.folds != f, self.folds == f
            self.log_p[te] = generic_log_probs(self.x[tr], self.labels[tr], self.x[te])
            self.w[f] = std_weights(self.x[tr])

    def simulate(self, prior: float | None, seed: int = 0) -> tuple[float, float, int]:
        """``prior`` None: the naive baseline (raw blendshapes, unweighted, no generic model)."""
        rng = np.random.default_rng(seed)
        true, pred = [], []
        for f in range(5):
            te = np.flatnonzero(self.folds == f)
            for person in np.unique(self.persons[te]):
                mine = te[self.persons[te] == person]
                emotions = sorted(set(self.labels[mine]))
                if len(emotions) < 2:
                    continue
                order = {e: rng.permutation(mine[self.labels[mine] == e]) for e in emotions}
                test = np.array([i for e in emotions for i in order[e][1:]], int)
                if not len(test):
                    continue
                x, w = (self.raw, np.ones(52)) if prior is None else (self.x, self.w[f])
                taught = {e: x[order[e][0]] for e in emotions}
                true += self.labels[test].tolist()
                pred += label_person(taught, x[test], self.log_p[test], w, prior or 0.0, self.labels[test])
        return score(true, pred)


class Clips:
    """Acted video clips of known people: the first second teaches, the rest is labelled."""

    def __init__(self, clips: np.ndarray, persons: np.ndarray, labels: np.ndarray, times: np.ndarray,
                 x: np.ndarray, raw: np.ndarray, log_p: np.ndarray, w: np.ndarray) -> None:
        self.clips, self.persons, self.labels, self.times = clips, persons, labels, times
        self.x, self.raw, self.log_p, self.w = x, raw, log_p, w

    def simulate(self, prior: float | None) -> tuple[float, float, int]:
        true, pred = [], []
        for person in np.unique(self.persons):
            mine = self.persons == person
            taught, test = {}, []
            x, w = (self.raw, np.ones(52)) if prior is None else (self.x, self.w)
            for clip in np.unique(self.clips[mine]):
                m = np.flatnonzero(mine & (self.clips == clip))
                taught[self.labels[m[0]]] = np.median(x[m[self.times[m] < TEACH_S]], axis=0)
                test += m[self.times[m] >= TEST_FROM_S].tolist()
            if len(taught) < 2:
                continue
            true += self.labels[test].tolist()
            pred += label_person(taught, x[test], self.log_p[test], w, prior or 0.0, self.labels[test])
        return score(true, pred)


def cremad_clips(photos: Photos) -> Clips:
    cache = data.CACHE / "cremad.npz"
    if not cache.exists():
        clip, lab, t, bs, lm, size = [], [], [], [], [], []
        for code, label in CREMAD:
            for k, fps, _bgr, f in data.tracked_frames(data.WILD / f"cremad_1001_{code}.mp4"):
                if f.present:
                    clip.append(code), lab.append(label), t.append(k / fps), bs.append(f.blendshapes)
                    lm.append(f.landmarks), size.append(f.image_size)
        np.savez_compressed(cache, clip=np.array(clip), label=np.array(lab), time=np.array(t),
                            blendshapes=np.array(bs, np.float32), landmarks=np.array(lm, np.float32),
                            size=np.array(size, np.int32))
    with np.load(cache) as z:
        z = {k: z[k] for k in z.files}
    return _clips(z, np.array(["1001"] * len(z["clip"])), photos)


def mead_clips(photos: Photos) -> Clips:
    z = data.load_mead()
    z = {k: v[z["present"]] for k, v in z.items()}
    return _clips(z, np.array([c.split("_")[1] for c in z["clip"]]), photos)


def _clips(z: dict, persons: np.ndarray, photos: Photos) -> Clips:
    x = frame_features(z["blendshapes"], z["landmarks"], z["size"])
    log_p = generic_log_probs(photos.x, photos.labels, x)
    return Clips(z["clip"], persons, z["label"], z["time"], x, z["blendshapes"].astype(np.float64), log_p,
                 std_weights(photos.x))


def _reweigh(kind: str, photos: Photos, sets: list) -> None:
    """Use weighting ``kind`` in every simulation (fold weights from each fold's training people)."""
    WEIGHTING[0] = kind
    for f in range(5):
        photos.w[f] = std_weights(photos.x[photos.folds != f])
    for s in sets:
        if isinstance(s, Clips):
            s.w = std_weights(photos.x)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ASSET)
    ap.add_argument("--no-write", action="store_true", help="print the selection table only")
    args = ap.parse_args(argv)

    photos = Photos()
    sources = {"muxspace folds": photos, "CREMA-D 1001": cremad_clips(photos)}
    report = {"MEAD (eval)": mead_clips(photos)}
    print("personal protocol, one taught example per expression; accuracy / macro-F1 (items)")
    print("  " + " | ".join(f"{n:>24s}" for n in (*sources, *report)))
    naive = [s.simulate(None) for s in (*sources.values(), *report.values())]
    print("  naive:                  " + " | ".join(f"{a:.3f} / {f:.3f} ({n:4d})" for a, f, n in naive))
    rows = []
    for kind in WEIGHTINGS:
        _reweigh(kind, photos, [*sources.values(), *report.values()])
        for prior in PRIORS:
            res = [s.simulate(prior) for s in (*sources.values(), *report.values())]
            chosen_on = float(np.mean([f for _, f, _ in res[:len(sources)]]))
            rows.append((chosen_on, prior, kind))
            print(f"  {kind:8s} prior {prior:<5g} " + " | ".join(f"{a:.3f} / {f:.3f} ({n:4d})" for a, f, n in res)
                  + f"   mean over the chosen-on sources {chosen_on:.3f}", flush=True)
    _, best, kind = max(rows)
    _reweigh(kind, photos, [*sources.values(), *report.values()])
    SCORES.clear()
    for s in sources.values():
        s.simulate(best)
    sharpness = fit_sharpness()
    print(f"chosen: {kind} weights, prior {best:g} (best mean macro-F1 over {', '.join(sources)}); "
          f"sharpness {sharpness:g}")
    if args.no_write:
        return 0
    arrays = {"classes": np.array(EMOTIONS), "prior": np.float32(best), "generic_cost": np.float32(GENERIC_COST),
              "sharpness": np.float32(sharpness)}
    keep = np.ones(len(photos.x), bool)
    for head, cols in (("full", slice(None)), ("blendshapes", slice(0, 52))):
        x = photos.x[keep][:, cols]
        arrays[f"{head}_weights"] = std_weights(x, kind).astype(np.float32)
        arrays[f"{head}_population"] = population(x, photos.labels, photos.persons).astype(np.float32)
    np.savez(args.out, **arrays)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
