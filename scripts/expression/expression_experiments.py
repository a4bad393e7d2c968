"""Expression classifier experiments: which features / model / class balance / per-class bias win
in cross-validation grouped by person on the ``use = train`` rows (the only rows any choice is made on).

  python scripts/expression/expression_experiments.py [--only NAME ...] [--source]

Every variant is scored by 5-fold person-grouped CV (the folds of scripts/expression/expression_train.py);
per-class logit offsets ("bias") are tuned *inside* each outer fold, on an inner person-grouped CV
of that fold's training rows, so the person-CV numbers never see the rows they are scored on.
``--source`` also prints, for information only, the source hold-out (Yale + stock) of a model
refit on all training rows: it is never used to choose anything.

``--speech K [--speech-from s1,grid_bbab8n]``: every training photo also K times with a random talking
face's motion added (that speaker's frame minus their mean frame, in the blendshapes and the aligned
mesh), from our tracker on the talking clips we may train on (``extract_talking``): does a classifier
that has seen speech move the mouth confuse talking with emotion less (MEAD)? Tried, not kept
(docs/expression-model.md). ``--source`` also scores the MEAD frames (evaluation only, never chosen on).

Every line also prints the macro-F1 with each row weighted by 1 / its class's count ("balanced-prior":
what the same per-class confusions would score on a set with as many faces of each class, such as a
posed set), the macro-F1 of the muxspace rows alone, and the accuracy on the London Set rows (neutral and
smiling studio photos). ``*_nolondon`` variants train without the London Set and are scored on the same
rows and folds; ``*_synthN`` variants add synthetic fear / disgust rows (``synth_transfer``) made from
each fold's training rows only. ``--seeds N`` prints every fold draw's macro-F1, so variants run with
the same N can be compared draw by draw.

``--only prior --source``: the decision prior for macro-F1 (docs/expression-model.md). The shipped
model (regression + network) with per-class log-offsets b (p'_c ∝ exp(b_c)·p_c, renormalised) found by
coordinate search on the inner folds' out-of-fold probabilities to maximise macro-F1, then scored on
the outer fold; printed in the same run with the offsets shrunk by ``shrink`` (0 = the shipped model,
0.5 = halfway to 0, 1 = fully tuned) — the fits are shared, only the decision differs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1] / "voice")]
import expression_data as data  # noqa: E402
import expression_train as train  # noqa: E402

from kinemo.face import expression_model as em  # noqa: E402
from kinemo.protocol import ARKIT_INDEX, ARKIT_NAMES  # noqa: E402

K = len(data.CLASSES)


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def recalls(y, p):
    return np.array([np.mean(p[y == c] == c) if np.any(y == c) else np.nan for c in range(K)])


def class_weights(y, power):
    n = np.bincount(y, minlength=K).astype(float)
    w = (n.sum() / (K * np.maximum(n, 1))) ** power
    return w[y]


# ------------------------------------------------------------------ models


def fit_lr(x, y, sw, c):
    """expression_train's regression with these row weights, as a function → log-probabilities."""
    mean, scale, coef, icpt = train.fit(x, y, c, sw)
    return lambda q: log_softmax(((q - mean) / scale) @ coef.T + icpt)


def fit_mlp(x, y, sw, hidden, alpha, seed=0):
    """expression_train's network with these row weights, as a function → log-probabilities."""
    mean, scale = x.mean(0), x.std(0) + 1e-6
    w1, b1, w2, b2 = train.fit_mlp(x, y, mean, scale, hidden, alpha, seed, sw)
    return lambda q: log_softmax(np.maximum(((q - mean) / scale) @ w1.T + b1, 0) @ w2.T + b2)


def make_fitter(spec):
    if spec.get("balance"):  # the fitted probabilities divided by the training class shares (a balanced decision)
        inner = make_fitter({k: v for k, v in spec.items() if k != "balance"})

        def balanced(x, y, sw):
            f = inner(x, y, sw)
            prior = np.log(np.bincount(y, minlength=K) / len(y) + 1e-9)
            return lambda q: log_softmax(f(q) - spec["balance"] * prior)
        return balanced
    kind = spec["model"]
    if kind == "lr":
        return lambda x, y, sw: fit_lr(x, y, sw, spec["C"])
    if kind == "mlp":
        return lambda x, y, sw: fit_mlp(x, y, sw, spec["hidden"], spec["alpha"])
    if kind == "ens":
        def f(x, y, sw):
            a = fit_lr(x, y, sw, spec["C"])
            bs = [fit_mlp(x, y, sw, spec["hidden"], spec["alpha"], seed=s) for s in range(spec.get("seeds", 1))]
            return lambda q: log_softmax(np.log(
                (np.exp(a(q)) * spec.get("w_lr", 0.5)
                 + sum(np.exp(b(q)) for b in bs) / len(bs) * (1 - spec.get("w_lr", 0.5))) + 1e-12))
        return f
    if kind == "avg":  # several models' probabilities averaged
        def f(x, y, sw):
            fs = [make_fitter(m)(x, y, sw) for m in spec["members"]]
            return lambda q: np.log(sum(np.exp(g(q)) for g in fs) / len(fs) + 1e-12)
        return f
    if kind == "hgb":  # gradient-boosted trees: a different inductive bias from the shipped smooth models
        def f(x, y, sw):
            from sklearn.ensemble import HistGradientBoostingClassifier
            m = HistGradientBoostingClassifier(learning_rate=spec["lr"], max_iter=spec["iters"], max_leaf_nodes=15,
                                               l2_regularization=1.0, random_state=0).fit(x, y, sample_weight=sw)
            return lambda q: np.log(m.predict_proba(q) + 1e-12)
        return f
    if kind == "svc":  # an RBF support-vector machine with Platt-scaled probabilities
        def f(x, y, sw):
            from sklearn.svm import SVC
            mean, scale = x.mean(0), x.std(0) + 1e-6
            m = SVC(C=spec["C"], gamma="scale", probability=True, random_state=0).fit((x - mean) / scale, y,
                                                                                      sample_weight=sw)
            return lambda q: np.log(m.predict_proba((q - mean) / scale) + 1e-12)
        return f
    raise ValueError(kind)


# ------------------------------------------------------------------ bias


BAR = np.array([0.35, 0.35, 0.35, 0.35, 0.35, 0.15, 0.35])


BIAS_GRID = np.arange(-2.0, 2.01, 0.1)


def tune_bias(z, y, objective="f1", sweeps=3, grid=BIAS_GRID):
    """Per-class logit offsets (neutral fixed at 0) by coordinate ascent on macro-F1 (or mean recall)."""
    b = np.zeros(K)

    def score(bb):
        p = (z + bb).argmax(1)
        if objective == "f1":
            return train.macro_f1(y, p)
        if objective == "f1bar":  # macro-F1, minus each class's shortfall from the recall bar
            r = recalls(y, p)
            return train.macro_f1(y, p) - float(np.sum(np.maximum(0.0, BAR - r)))
        return float(np.nanmean(recalls(y, p)))
    best = score(b)
    for _ in range(sweeps):
        for c in range(1, K):
            for v in grid:
                bb = b.copy()
                bb[c] = v
                s = score(bb)
                if s > best + 1e-9:
                    best, b = s, bb
    return b


# ------------------------------------------------------------------ CV


TALK_CLIPS = 30  # GRID s1 sentences sampled (seed 0); every other trainable talking clip is taken whole


def extract_talking(force: bool = False) -> Path:
    """Our FaceTracker (VIDEO mode, every 2nd frame) on the talking clips we may train on
    (``manifest.csv`` use = train: GRID s1, VoxCeleb2, one other GRID speaker) → ``talk.npz``."""
    import random

    from voice_talking import trainable_clips

    out = data.CACHE / "talk.npz"
    if out.exists() and not force:
        return out
    clips = [(video, video.parent.name == "grid_s1") for video, _, _ in trainable_clips()]
    grid = [c for c in clips if c[1] and c[0].stem != "bbaf2n"]  # bbaf2n: dev
    random.seed(0)
    pick = random.sample(grid, TALK_CLIPS) + [c for c in clips if not c[1]]
    spk, bs, lm, size = [], [], [], []
    for path, is_s1 in pick:
        for k, _, _, f in data.tracked_frames(path):
            if k % 2 == 0 and f.present:
                spk.append("s1" if is_s1 else path.stem)
                bs.append(f.blendshapes)
                lm.append(f.landmarks)
                size.append(f.image_size)
    np.savez_compressed(out, speaker=np.array(spk), blendshapes=np.array(bs, np.float32),
                        landmarks=np.array(lm, np.float32), size=np.array(size, np.int32))
    return out


def speech_deltas(path, speakers=None):
    """Per speaker: talking frames minus that speaker's mean frame (blendshapes, aligned mesh)."""
    with np.load(path) as z:
        spk, bs, lm, size = z["speaker"], z["blendshapes"].astype(np.float64), z["landmarks"], z["size"]
    if speakers:
        keep = np.isin(spk, speakers)
        spk, bs, lm, size = spk[keep], bs[keep], lm[keep], size[keep]
    shapes = np.stack([em.aligned_shape(lm[i], tuple(size[i])) for i in range(len(spk))])
    out = []
    for s in sorted(set(spk.tolist())):
        m = spk == s
        out.append((bs[m] - bs[m].mean(0), shapes[m] - shapes[m].mean(0)))
    return out


def speech_rows(d, rows, deltas, copies, featfn, seed=0):
    """``copies`` features per photo row with a random speaker's talking motion added (speaker first,
    then frame, so GRID s1's many frames do not dominate)."""
    rng = np.random.default_rng(seed)
    x, pos = [], []
    for k, i in enumerate(rows):
        base_bs = d["blendshapes"][i].astype(np.float64)
        base_shape = em.aligned_shape(d["landmarks"][i], tuple(d["size"][i]))
        for _ in range(copies):
            dbs, dsh = deltas[rng.integers(len(deltas))]
            j = rng.integers(len(dbs))
            x.append(featfn(np.clip(base_bs + dbs[j], 0, 1), base_shape + dsh[j], (1, 1)))
            pos.append(k)
    return np.array(x), np.array(pos, int)


class Data:
    def __init__(self, featfn, aug_kinds=(), speech=0, talk=None, speakers=None, mead=False):
        d = data.load_photos()
        self.d = d
        self.train = np.flatnonzero((d["use"] == "train") & d["present"])
        self.y = np.array([data.CLASSES.index(s) for s in d["label"][self.train]])
        self.folds = data.grouped_folds(d["person"][self.train], d["label"][self.train])
        self.featfn = featfn
        self.person = d["person"][self.train]
        self.london = d["set"][self.train] == "london"
        self.x = np.stack([featfn(d["blendshapes"][i], d["landmarks"][i], tuple(d["size"][i])) for i in self.train])
        self._shapes = None
        ev = np.flatnonzero(d["use"] == "eval")
        self.ev_present = d["present"][ev]
        self.ev_y = np.array([data.CLASSES.index(s) for s in d["label"][ev]])
        self.ev_x = np.stack([featfn(d["blendshapes"][i], d["landmarks"][i], tuple(d["size"][i]))
                              if d["present"][i] else np.zeros(self.x.shape[1]) for i in ev])
        self.ax = np.zeros((0, self.x.shape[1]))
        self.apos = np.zeros(0, int)
        if aug_kinds:
            a = load_augmented()
            pos = {r: k for k, r in enumerate(self.train)}
            keep = [j for j in range(len(a["row"])) if a["present"][j] and a["aug"][j] in aug_kinds
                    and int(a["row"][j]) in pos]
            self.ax = np.stack([featfn(a["blendshapes"][j], a["landmarks"][j], tuple(a["size"][j])) for j in keep])
            self.apos = np.array([pos[int(a["row"][j])] for j in keep])
        if speech:
            sx, spos = speech_rows(d, self.train, speech_deltas(talk or extract_talking(), speakers), speech, featfn)
            self.ax = np.concatenate([self.ax, sx])
            self.apos = np.concatenate([self.apos, spos])
        if mead:  # the MEAD frames, scored beside the source hold-out (--source)
            self._load_mead(featfn)

    def _load_mead(self, featfn):
        m = data.load_mead()
        keep = np.flatnonzero(m["present"])
        self.mead_clip = m["clip"][keep]
        self.mead_y = np.array([data.CLASSES.index(s) for s in m["label"][keep]])
        self.mead_x = np.stack([featfn(m["blendshapes"][i], m["landmarks"][i], tuple(m["size"][i])) for i in keep])

    def subset(self, mask):
        """Training matrices for the rows in mask (positions into self.train) plus their augmentations."""
        am = mask[self.apos] if len(self.apos) else np.zeros(0, bool)
        x = np.concatenate([self.x[mask], self.ax[am]])
        y = np.concatenate([self.y[mask], self.y[self.apos[am]]])
        return x, y

    def raw(self):
        """Per training row: blendshapes (float64) and the aligned mesh (the transfer's raw spaces)."""
        if self._shapes is None:
            d = self.d
            self._shapes = (d["blendshapes"][self.train].astype(np.float64),
                            np.stack([em.aligned_shape(d["landmarks"][i], tuple(d["size"][i])) for i in self.train]))
        return self._shapes

    def train_xy(self, mask, spec, seed=0):
        """``subset`` plus, with ``spec["synth"]``, synthetic rare-class rows made from the rows in mask only."""
        x, y = self.subset(mask)
        if spec.get("synth"):
            bs, shapes = self.raw()
            sx, sy = synth_transfer(bs, shapes, self.y, self.person, mask, self.featfn, spec["synth"],
                                    spec.get("synth_classes", RARE), seed, spec.get("synth_mode", "logit"))
            x, y = np.concatenate([x, sx]), np.concatenate([y, sy])
        return x, y


#: The rare classes (fear, disgust) synthetic rows are made for.
RARE = (5, 6)


def synth_transfer(bs, shapes, y, person, mask, featfn, target, classes=RARE, seed=0, mode="logit"):
    """Synthetic rows by expression transfer (tried, not kept): a rare-class photo's expression, measured as
    its deviation from the mean neutral face of the rows in ``mask``, put on a neutral face of another
    person from ``mask``, until each class in ``classes`` has ``target`` rows (every real photo once, then
    drawn at random). The deviation is taken on the aligned meshes ``shapes`` and, for the blendshapes
    ``bs``, on their logits (``mode="logit"``: MediaPipe's blendshapes are sigmoid outputs, so there the
    offsets add and a value never leaves (0, 1); channels exactly 0 in the photo, e.g. tongueOut, stay 0)
    or on the raw values clipped to [0, 1] (``mode="clip"``: 43 % of the synthetic values become exactly
    0, against 2 % of the real ones, and the classifier learns that artefact). Only rows in ``mask`` are
    read, so a fold's synthetic rows never carry its held-out people. ``featfn(blendshapes, aligned mesh,
    (1, 1))`` makes the features. Returns (features, labels)."""
    rng = np.random.default_rng(seed)
    neu = np.flatnonzero(mask & (y == 0))
    lb = np.clip(bs, 1e-8, 1 - 1e-8)
    lb = np.log(lb) - np.log1p(-lb)
    mu_l, mu_b, mu_s = lb[neu].mean(0), bs[neu].mean(0), shapes[neu].mean(0)
    xs, ys = [], []
    for c in classes:
        src = np.flatnonzero(mask & (y == c))
        for k in range(max(0, target - len(src))):
            i = src[k] if k < len(src) else src[rng.integers(len(src))]
            j = neu[rng.integers(len(neu))]
            while person[j] == person[i]:
                j = neu[rng.integers(len(neu))]
            if mode == "clip":
                b = np.clip(bs[j] + bs[i] - mu_b, 0, 1)
            else:
                b = np.where(bs[i] == 0, 0.0, 1.0 / (1.0 + np.exp(mu_l - lb[i] - lb[j])))
            xs.append(featfn(b, shapes[j] + shapes[i] - mu_s, (1, 1)))
            ys.append(c)
    if not xs:
        return np.zeros((0, len(featfn(bs[0], shapes[0], (1, 1))))), np.zeros(0, int)
    return np.array(xs), np.array(ys, int)


def oof(D, fitter, mask, folds, wpow, drop=None):
    """Out-of-fold log-probabilities over the rows in mask, folds given per row."""
    z = np.zeros((len(D.y), K))
    for f in np.unique(folds[mask]):
        tr = mask & (folds != f)
        if drop is not None:
            tr = tr & ~drop
        te = mask & (folds == f)
        x, y = D.subset(tr)
        z[te] = fitter(x, y, class_weights(y, wpow))(D.x[te])
    return z


def fewer_persons(D, fraction: float, seed: int) -> np.ndarray:
    """Rows of a seeded share of the training persons (all rows when fraction is 1): a learning
    curve in people, which says whether more labelled faces would move the numbers."""
    person = D.d["person"][D.train]
    if fraction >= 1.0:
        return np.ones(len(person), bool)
    names = np.unique(person)
    keep = np.random.default_rng(seed).choice(names, size=max(1, round(fraction * len(names))), replace=False)
    return np.isin(person, keep)


def evaluate(D, spec, source=False):
    fitter = make_fitter(spec)
    wpow = spec.get("wpow", 1.0)
    allm = np.ones(len(D.y), bool)
    drop = None

    def noisy(mask):
        # label noise: rows (within mask) whose out-of-fold probability of their own label is below
        # `clean`, from a person-grouped CV over mask only; the 18 fear rows are never dropped
        z0 = oof(D, fitter, mask, D.folds, wpow)
        pown = np.exp(z0[np.arange(len(D.y)), D.y])
        return mask & (pown < spec["clean"]) & (D.y != 5)
    z = np.zeros((len(D.y), K))
    bz = np.zeros((len(D.y), K))  # each row's outer fold's offsets
    biases, gains = [], []
    ndrop = []
    usable = ~D.london if spec.get("no_london") else allm  # no_london: trained without, scored on the same rows
    for f in range(5):
        tr = (D.folds != f) & fewer_persons(D, spec.get("persons", 1.0), f) & usable
        te = D.folds == f
        drop = noisy(tr) if spec.get("clean") else None
        ndrop.append(0 if drop is None else int(drop.sum()))
        dtr = tr if drop is None else tr & ~drop
        x, y = D.train_xy(dtr, spec, f)
        zt = fitter(x, y, class_weights(y, wpow))(D.x[te])
        b = np.zeros(K)
        if spec.get("bias"):
            inner = oof(D, fitter, tr, D.folds, wpow, drop)  # 4-fold inner CV, persons kept apart
            b = tune_bias(inner[tr], D.y[tr], spec["bias"])
            gains.append(train.macro_f1(D.y[tr], (inner[tr] + b).argmax(1))
                         - train.macro_f1(D.y[tr], inner[tr].argmax(1)))  # on the rows it was tuned on
        biases.append(b)
        z[te] = zt
        bz[te] = b
    if source:
        drop = noisy(usable) if spec.get("clean") else None
        x, y = D.train_xy(usable if drop is None else usable & ~drop, spec)
        fitted = fitter(x, y, class_weights(y, wpow))
        ze = fitted(D.ev_x)
        pm = fitted(D.mead_x).argmax(1)
        clips = sorted(set(D.mead_clip.tolist()))
        right = sum(data.majority(pm[D.mead_clip == c]) == D.mead_y[D.mead_clip == c][0] for c in clips)
        mead = {"acc": float(np.mean(pm == D.mead_y)), "f1": train.macro_f1(D.mead_y, pm), "clips": int(right),
                "n": len(clips)}
        be = np.zeros(K)
        if spec.get("bias"):
            be = tune_bias(oof(D, fitter, allm, D.folds, wpow, drop), D.y, spec["bias"])
    out = []
    for s in spec.get("shrink", (1.0,)):  # the offsets times s: one decision per shrink, same fits
        p = (z + s * bz).argmax(1)
        res = {"acc": float(np.mean(p == D.y)), "f1": train.macro_f1(D.y, p), "rec": recalls(D.y, p),
               "f1_bal": macro_f1_balanced(D.y, p), "f1_mux": train.macro_f1(D.y[~D.london], p[~D.london]),
               "acc_london": float(np.mean(p[D.london] == D.y[D.london])) if D.london.any() else float("nan"),
               "f1c": " ".join(f"{train.macro_f1(D.y, p, [c]):.2f}" for c in range(K)),
               "bias": s * np.mean(biases, 0), "dropped": int(np.mean(ndrop))}
        if "shrink" in spec:
            res.update(shrink=s, bias_sd=s * np.std(biases, 0), inner_gain=float(np.mean(gains)) if gains else 0.0)
        if source:
            pe = np.where(D.ev_present, (ze + s * be).argmax(1), -1)
            present = sorted(set(D.ev_y.tolist()))
            res["src"] = {"acc": float(np.mean(pe == D.ev_y)), "f1": train.macro_f1(D.ev_y, pe, present),
                          "rec": recalls(D.ev_y, pe), "bias": s * be}
            res["mead"] = mead
        out.append(res)
    return out if "shrink" in spec else out[0]


def macro_f1_balanced(y, p):
    """Macro-F1 with every row weighted by 1 / its class's count: the expected macro-F1 on a test set
    with as many faces of each class (a posed set) and these per-class confusion rates."""
    w = 1.0 / np.bincount(y, minlength=K)[y]
    f1 = []
    for c in np.unique(y):
        tp = np.sum(w[(p == c) & (y == c)])
        prec, rec = tp / max(np.sum(w[p == c]), 1e-12), tp / np.sum(w[y == c])
        f1.append(0.0 if tp == 0 else 2 * prec * rec / (prec + rec))
    return float(np.mean(f1))


def fmt(name, r):
    rec = " ".join(f"{v:.2f}" for v in r["rec"])
    s = (f"{name:34s} person acc {r['acc']:.3f} F1 {r['f1']:.3f} (balanced-prior {r['f1_bal']:.3f}; muxspace rows "
         f"{r['f1_mux']:.3f}; London acc {r['acc_london']:.3f}) rec [{rec}] f1c [{r['f1c']}]")
    if r.get("dropped"):
        s += f" dropped {r['dropped']}"
    if "shrink" in r:  # mean offsets over the outer folds (± their spread), inner-CV F1 gain of the full offsets
        s += (" offsets [" + " ".join(f"{v:+.2f}±{e:.2f}" for v, e in zip(r["bias"], r["bias_sd"], strict=True))
              + f"] inner F1 gain {r['inner_gain']:+.3f}")
    if "src" in r:
        s += (f" | source acc {r['src']['acc']:.3f} F1 {r['src']['f1']:.3f} rec ["
              + " ".join("  - " if np.isnan(v) else f"{v:.2f}" for v in r["src"]["rec"]) + "]")
        if "shrink" in r:
            s += " offsets [" + " ".join(f"{v:+.2f}" for v in r["src"]["bias"]) + "]"
    if "mead" in r:
        m = r["mead"]
        s += f" | MEAD frames acc {m['acc']:.3f} F1 {m['f1']:.3f}, clips {m['clips']}/{m['n']}"
    return s


def base_features(bs, lm, size):
    return em.features(bs, lm, size)


VARIANTS = {
    "lr": {"model": "lr", "C": 0.01},
    "lr_c003": {"model": "lr", "C": 0.003},
    "lr_c001": {"model": "lr", "C": 0.001},
    "lr_w05": {"model": "lr", "C": 0.01, "wpow": 0.5},
    "lr_w075": {"model": "lr", "C": 0.01, "wpow": 0.75},
    "lr_bias": {"model": "lr", "C": 0.01, "bias": "f1"},
    "lr_bias_rec": {"model": "lr", "C": 0.01, "bias": "recall"},
    "lr_w05_bias": {"model": "lr", "C": 0.01, "wpow": 0.5, "bias": "f1"},
    "lr_clean": {"model": "lr", "C": 0.01, "clean": 0.05},
    "mlp32": {"model": "mlp", "hidden": 32, "alpha": 1.0},
    "mlp64": {"model": "mlp", "hidden": 64, "alpha": 3.0},
    "ens": {"model": "ens", "C": 0.01, "hidden": 32, "alpha": 1.0},
    "ens_bias": {"model": "ens", "C": 0.01, "hidden": 32, "alpha": 1.0, "bias": "f1"},
    "lr_bar": {"model": "lr", "C": 0.01, "bias": "f1bar"},
    "ens_bar": {"model": "ens", "C": 0.01, "hidden": 32, "alpha": 1.0, "bias": "f1bar"},
    "ens3": {"model": "ens", "C": 0.01, "hidden": 32, "alpha": 1.0, "seeds": 3},
    "ens3_64": {"model": "ens", "C": 0.01, "hidden": 64, "alpha": 3.0, "seeds": 3},
    "ens3_bar": {"model": "ens", "C": 0.01, "hidden": 32, "alpha": 1.0, "seeds": 3, "bias": "f1bar"},
    "ens_w075": {"model": "ens", "C": 0.01, "hidden": 32, "alpha": 1.0, "wpow": 0.75},
    "ens_w125": {"model": "ens", "C": 0.01, "hidden": 32, "alpha": 1.0, "wpow": 1.25},
    "lr_w125": {"model": "lr", "C": 0.01, "wpow": 1.25},
    "ens_clean": {"model": "ens", "C": 0.01, "hidden": 32, "alpha": 1.0, "clean": 0.05},
    "ens_lr07": {"model": "ens", "C": 0.01, "hidden": 32, "alpha": 1.0, "w_lr": 0.7},
    "hgb": {"model": "hgb", "lr": 0.05, "iters": 200},
    "hgb_slow": {"model": "hgb", "lr": 0.02, "iters": 300},
    "svc1": {"model": "svc", "C": 1.0},
    "svc3": {"model": "svc", "C": 3.0},
    "svc1_bal": {"model": "svc", "C": 1.0, "balance": 1.0},
    "svc1_bal05": {"model": "svc", "C": 1.0, "balance": 0.5},
    "svc3_bal": {"model": "svc", "C": 3.0, "balance": 1.0},
}
VARIANTS["ens_svc"] = {"model": "avg", "members": [VARIANTS["ens"], VARIANTS["svc1_bal"]]}
VARIANTS["ens_svc05"] = {"model": "avg", "members": [VARIANTS["ens"], VARIANTS["svc1_bal05"]]}

for _h in (16, 32, 64):
    for _a in (0.3, 1.0, 3.0):
        VARIANTS[f"ens_h{_h}_a{_a}"] = {"model": "ens", "C": 0.01, "hidden": _h, "alpha": _a}
for _m in (0.3, 0.7):
    VARIANTS[f"ens_mix{_m}"] = {"model": "ens", "C": 0.01, "hidden": 32, "alpha": 1.0, "w_lr": _m}
for _t in (0.03, 0.05, 0.1):
    VARIANTS[f"ens_clean{_t}"] = {"model": "ens", "C": 0.01, "hidden": 32, "alpha": 1.0, "clean": _t}
    VARIANTS[f"lr_clean{_t}"] = {"model": "lr", "C": 0.01, "clean": _t}
VARIANTS["ens_c003"] = {"model": "ens", "C": 0.03, "hidden": 32, "alpha": 1.0}
VARIANTS["ens_c0003"] = {"model": "ens", "C": 0.003, "hidden": 32, "alpha": 1.0}
#: the London Set (neutral + smiling studio photos, use = train): the v2.1 recipe trained without it, scored on the
#: same rows and folds
VARIANTS["ens_nolondon"] = {**VARIANTS["ens"], "no_london": True}
VARIANTS["lr_nolondon"] = {**VARIANTS["lr"], "no_london": True}
VARIANTS["ens_w15"] = {**VARIANTS["ens"], "wpow": 1.5}
#: balanced decision: trained unweighted (or half-weighted), the scores divided by the training class shares
VARIANTS["ens_w0_bal"] = {**VARIANTS["ens"], "wpow": 0.0, "balance": 1.0}
VARIANTS["ens_w05_bal05"] = {**VARIANTS["ens"], "wpow": 0.5, "balance": 0.5}
#: synthetic rare-class rows by expression transfer (synth_transfer, logit blendshapes) up to N rows per class;
#: *_clip: the raw blendshapes clipped at 0 instead (the artefact that first looked like a gain)
for _n in (150, 300, 600):
    VARIANTS[f"ens_synth{_n}"] = {**VARIANTS["ens"], "synth": _n}
VARIANTS["lr_synth300"] = {**VARIANTS["lr"], "synth": 300}
VARIANTS["ens_synth1000"] = {**VARIANTS["ens"], "synth": 1000}
VARIANTS["ens_synth600_all"] = {**VARIANTS["ens"], "synth": 600, "synth_classes": (2, 3, 4, 5, 6)}
VARIANTS["ens_synth600_nolondon"] = {**VARIANTS["ens_synth600"], "no_london": True}
VARIANTS["ens_synth600_mix0.7"] = {**VARIANTS["ens_synth600"], "w_lr": 0.7}
VARIANTS["ens_synth600_h64_a3"] = {**VARIANTS["ens_synth600"], "hidden": 64, "alpha": 3.0}
VARIANTS["ens_synth600_w05_bal05"] = {**VARIANTS["ens_synth600"], "wpow": 0.5, "balance": 0.5}
VARIANTS["ens3_synth600"] = {**VARIANTS["ens_synth600"], "seeds": 3}
for _n in (600, 1000):
    VARIANTS[f"ens_synth{_n}_clip"] = {**VARIANTS[f"ens_synth{_n}"], "synth_mode": "clip"}
for _n in (300, 1000):
    VARIANTS[f"ens_synth{_n}_all"] = {**VARIANTS["ens"], "synth": _n, "synth_classes": (2, 3, 4, 5, 6)}
#: decision prior for macro-F1: the shipped model, its log-offsets by inner person-CV macro-F1, full and halved
VARIANTS["prior"] = {"model": "ens", "C": 0.01, "hidden": 32, "alpha": 1.0, "bias": "f1", "shrink": (0.0, 0.5, 1.0)}


# ------------------------------------------------------------------ feature variants

_PAIRS = [(ARKIT_INDEX[n], ARKIT_INDEX[n.replace("Left", "Right")]) for n in ARKIT_NAMES
          if "Left" in n and "eyeLook" not in n]


def _m(s, *names):
    out = []
    for n in names:
        if n in ARKIT_INDEX:
            out.append(s[ARKIT_INDEX[n]])
        else:
            out.append(0.5 * (s[ARKIT_INDEX[n + "Left"]] + s[ARKIT_INDEX[n + "Right"]]))
    return out


INTERACTIONS = (("mouthSmile", "cheekSquint"), ("mouthSmile", "eyeSquint"), ("browDown", "noseSneer"),
                ("browDown", "eyeSquint"), ("noseSneer", "mouthUpperUp"), ("browInnerUp", "mouthFrown"),
                ("browInnerUp", "browDown"), ("jawOpen", "eyeWide"), ("jawOpen", "browInnerUp"),
                ("browOuterUp", "eyeWide"), ("mouthPress", "browDown"), ("mouthStretch", "eyeWide"),
                ("mouthStretch", "browInnerUp"), ("mouthFrown", "mouthShrugLower"), ("noseSneer", "mouthFrown"),
                ("mouthUpperUp", "mouthLowerDown"), ("mouthRollLower", "browDown"), ("mouthSmile", "jawOpen"))


def asym(bs):
    s = np.sqrt(np.clip(np.asarray(bs, np.float64), 0, 1))
    return np.array([abs(s[a] - s[b]) for a, b in _PAIRS])


def inter(bs):
    s = np.sqrt(np.clip(np.asarray(bs, np.float64), 0, 1))
    return np.array([np.prod(_m(s, a, b)) for a, b in INTERACTIONS])


#: The features speech does not move: blendshapes of the brows, eyes, cheek squints and nose, and the
#: mesh measures of brows and eyes (no mouth, jaw or whole-face PCA).
UPPER_GEOMETRY = ("eye_open", "inner_brow_to_eye", "mid_brow_to_lid", "outer_brow_to_eye", "brow_gap",
                  "brow_to_nasion", "nose_width")
UPPER = np.array([i for i, n in enumerate(ARKIT_NAMES) if n.startswith(("brow", "eye", "cheekSquint", "noseSneer"))]
                 + [len(ARKIT_NAMES) + em.GEOMETRY_NAMES.index(g) for g in UPPER_GEOMETRY])


FEATURES: dict = {
    "asym": lambda bs, lm, sz: np.concatenate([em.features(bs, lm, sz), asym(bs)]),
    "inter": lambda bs, lm, sz: np.concatenate([em.features(bs, lm, sz), inter(bs)]),
    "extra": lambda bs, lm, sz: np.concatenate([em.features(bs, lm, sz), asym(bs), inter(bs)]),
    "nopca": lambda bs, lm, sz: em.features(bs, lm, sz)[:68],
    "upper": lambda bs, lm, sz: em.features(bs, lm, sz)[UPPER],
    "blendshapes": lambda bs, lm, sz: em.features(bs),  # the second head's input (frames without landmarks)
}


# ------------------------------------------------------------------ augmentation (tried, not kept)

#: Training-time augmentations: each transform of a ``use = train`` photo goes through the same
#: FaceTracker (IMAGE mode), so the features are what our tracker really outputs on such a face.
AUGMENTS = ("flip", "rot+8", "rot-8")


def augment(rgb: np.ndarray, kind: str) -> np.ndarray:
    import cv2

    if kind == "flip":
        return rgb[:, ::-1].copy()
    angle = float(kind[3:])
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def extract_augmented(force: bool = False) -> Path:
    """``photos_aug.npz``: the ``use = train`` rows under AUGMENTS (``row`` = index into photos.npz,
    ``aug`` = the transform). Eval rows are never augmented or read."""
    out = data.CACHE / "photos_aug.npz"
    if out.exists() and not force:
        return out
    from kinemo.face import FaceTracker, FaceTrackerOptions

    rows = data.read_labels()
    idx = [i for i, r in enumerate(rows) if r["use"] == "train"]
    src, aug, bs, lm, size, present = [], [], [], [], [], []
    with FaceTracker.create_from_options(FaceTrackerOptions(video=False)) as tracker:
        for k, i in enumerate(idx):
            rgb = data.load_rgb(data.EXPR / rows[i]["file"])
            if rgb is None:
                continue
            for a in AUGMENTS:
                f = tracker.process_image(augment(rgb, a))
                src.append(i)
                aug.append(a)
                size.append(f.image_size)
                present.append(f.present)
                bs.append(f.blendshapes if f.present else np.zeros(52, np.float32))
                lm.append(f.landmarks if f.present else np.zeros((478, 3), np.float32))
            if k % 200 == 0:
                print(f"augmented {k}/{len(idx)}", flush=True)
    data.CACHE.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, row=np.array(src), aug=np.array(aug), blendshapes=np.array(bs, np.float32),
                        landmarks=np.array(lm, np.float32), size=np.array(size, np.int32), present=np.array(present))
    print(f"augmented: {int(np.sum(present))}/{len(present)} with a face → {out}")
    return out


def load_augmented() -> dict[str, np.ndarray]:
    with np.load(extract_augmented(), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--features", default="base", help="base | extra (see expression_model.features)")
    ap.add_argument("--aug", default="", help="comma-separated AUGMENTS used in training (flip,rot+8,rot-8)")
    ap.add_argument("--source", action="store_true")
    ap.add_argument("--speech", type=int, default=0, help="speech-augmented copies of every training photo")
    ap.add_argument("--talk", default=None,
                    help="talking frames .npz (default: build/expression/talk.npz, made on first use)")
    ap.add_argument("--speech-from", default="", help="only these talking speakers, comma list (e.g. s1,grid_bbab8n)")
    ap.add_argument("--seeds", type=int, default=1, help="repeat the person CV over this many fold draws, mean")
    ap.add_argument("--persons", type=float, default=1.0, metavar="F",
                    help="train each outer fold on only this share of its persons (a learning curve; scored on "
                         "the same held-out folds)")
    args = ap.parse_args()
    if not 0.0 < args.persons <= 1.0:
        ap.error("--persons: a share in (0, 1]")
    featfn = base_features if args.features == "base" else FEATURES[args.features]
    aug = tuple(a for a in args.aug.split(",") if a)
    D = Data(featfn, aug, args.speech, args.talk, [x for x in args.speech_from.split(",") if x], args.source)
    print(f"features {args.features} ({D.x.shape[1]}), aug {aug or 'none'}, speech {args.speech} (+{len(D.ax)} rows)",
          flush=True)
    for name, spec in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        t = time.time()
        runs = []
        for seed in range(args.seeds):
            D.folds = data.grouped_folds(D.d["person"][D.train], D.d["label"][D.train], seed=seed)
            res = evaluate(D, {**spec, "persons": args.persons}, args.source and seed == 0)
            runs.append(res if isinstance(res, list) else [res])
        for k in range(len(runs[0])):
            rs = [run[k] for run in runs]
            r = rs[0]
            if args.seeds > 1:
                r = dict(r, **{k: float(np.mean([q[k] for q in rs])) for k in ("acc", "f1", "f1_bal", "f1_mux",
                                                                                 "acc_london")},
                         rec=np.mean([q["rec"] for q in rs], 0),
                         f1c=f"sd F1 {np.std([q['f1'] for q in rs]):.3f}; per draw "
                         + " ".join(f"{q['f1']:.3f}" for q in rs),
                         bias=np.mean([q["bias"] for q in rs], 0),
                         bias_sd=np.mean([q.get("bias_sd", 0.0) for q in rs], 0),
                         inner_gain=float(np.mean([q.get("inner_gain", 0.0) for q in rs])))
            label = name if "shrink" not in spec else f"{name} shrink {spec['shrink'][k]}"
            print(fmt(f"{label}[{args.features},{'+'.join(aug) or '-'}]", r) + f"  ({time.time() - t:.0f}s)",
                  flush=True)


if __name__ == "__main__":
    main()
