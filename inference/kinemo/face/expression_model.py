"""The learned expression label: our own per-frame outputs → calibrated scores over seven emotions.

Features (no pixels, so it stays sender-side and costs microseconds; docs/expression-model.md):

- the 52 ARKit blendshapes (square roots);
- face geometry from the 478-point mesh: the mesh is put in isotropic units
  (:func:`kinemo.face.landmarks.to_metric`), aligned onto the canonical mean shape (Kabsch
  rotation + scale, which removes head pose and face size), then measured — mouth width and
  opening, lip-corner height, brow-to-eye distances, brow gap, eye opening, nose width, jaw drop
  — in units of the inter-ocular distance, plus the 20 landmark-PCA coefficients in standard
  deviations.

The classifier is a multinomial logistic regression (standardised inputs, class-weighted),
optionally averaged with a small ReLU network's probabilities, then temperature-scaled on
held-out predictions; stored as numpy arrays in
``assets/expression.npz`` by ``scripts/expression/expression_train.py``. It has two heads: ``full``
(blendshapes + geometry) and ``blendshapes`` (for frames that carry no landmarks, e.g. a take
re-read from its blendshape columns).

With a calibration profile, a performer's resting face is the prior: each blendshape is
measured from the performer's own resting value and re-centred on the training set's mean
neutral face (``neutral_blendshapes``) before classifying.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from kinemo.protocol import EMOTIONS

ASSET = Path(__file__).resolve().parent.parent / "assets" / "expression.npz"
FEATURE_VERSION = 1

#: (name, kind, landmark indices): kind "dist" = distance between the two points' midpoints
#: (pairs averaged over the face's two sides), "dy" = vertical offset b - a (image y grows down).
GEOMETRY: tuple[tuple[str, str, tuple], ...] = (
    ("mouth_width", "dist", ((61, 291),)),
    ("mouth_open", "dist", ((13, 14),)),
    ("lip_height", "dist", ((0, 17),)),
    ("lip_corner_drop", "dy", (((13, 14), (61, 291)),)),
    ("nose_to_upper_lip", "dist", ((2, 0),)),
    ("jaw_drop", "dist", ((1, 152),)),
    ("lower_lip_to_chin", "dist", ((17, 152),)),
    ("eye_open", "dist", ((159, 145), (386, 374))),
    ("inner_brow_to_eye", "dist", ((107, 133), (336, 362))),
    ("mid_brow_to_lid", "dist", ((105, 159), (334, 386))),
    ("outer_brow_to_eye", "dist", ((70, 33), (300, 263))),
    ("brow_gap", "dist", ((107, 336),)),
    ("corner_to_eye", "dist", ((61, 33), (291, 263))),
    ("nose_width", "dist", ((98, 327),)),
    ("brow_to_nasion", "dy", (((107, 336), (168,)),)),
    ("cheek_to_eye", "dist", ((205, 145), (425, 374))),
)
GEOMETRY_NAMES = tuple(g[0] for g in GEOMETRY)
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263


@lru_cache(maxsize=1)
def _pca():
    from kinemo.face.landmarks import LandmarkPCA

    return LandmarkPCA.load()


def _tables():
    """GEOMETRY as arrays: a (P, 478) averaging matrix for every point used, and per measure the
    (a, b) point rows of each of its pairs, so one product and a few vector ops measure a face."""
    groups: list[tuple[int, ...]] = []

    def row(idx) -> int:
        idx = idx if isinstance(idx, tuple) else (idx,)
        if idx not in groups:
            groups.append(idx)
        return groups.index(idx)

    pairs, owner, dy = [], [], []
    for k, (_, kind, parts) in enumerate(GEOMETRY):
        for a, b in parts:
            pairs.append((row(a), row(b)))
            owner.append(k)
            dy.append(kind == "dy")
    avg = np.zeros((len(groups), 478))
    for r, idx in enumerate(groups):
        avg[r, list(idx)] = 1.0 / len(idx)
    owner_m = np.zeros((len(GEOMETRY), len(pairs)))
    for j, k in enumerate(owner):
        owner_m[k, j] = 1.0
    owner_m /= owner_m.sum(axis=1, keepdims=True)
    return avg, np.array(pairs), np.array(dy), owner_m


_AVG, _PAIRS, _DY, _OWNER = _tables()


_ONES = np.full(478, 1.0 / 478)


def _align(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """:func:`kinemo.face.landmarks.align`'s shape (Kabsch + scale onto the centred, unit-RMS
    ``reference``) with less per-call overhead: means as products, the 3×3 determinant by hand."""
    q = points - _ONES @ points
    qf = q.ravel()
    scale = float(np.sqrt(qf @ qf / 478)) or 1.0
    u, _, vt = np.linalg.svd(q.T @ reference)
    (a, b, c), (d, e, f), (g, h, i) = (u @ vt).tolist()
    if a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g) < 0:
        u = u * np.array([1.0, 1.0, -1.0])
    return q @ ((u @ vt) / scale)


def aligned_shape(landmarks: np.ndarray, image_size: tuple[int, int] | None) -> np.ndarray:
    """(478, 3) MediaPipe-normalised landmarks → the mesh in isotropic units, aligned onto the PCA mean shape."""
    w, h = image_size or (1, 1)
    pts = np.array(landmarks, dtype=np.float64)  # to_metric: isotropic units of image height
    pts[:, 0] *= w / h
    pts[:, 2] *= w / h
    return _align(pts, _pca().mean)


def geometry(landmarks: np.ndarray, image_size: tuple[int, int] | None) -> np.ndarray:
    """(478, 3) MediaPipe-normalised landmarks → len(GEOMETRY) measures + 20 PCA coefficients (σ units)."""
    pca = _pca()
    shape = aligned_shape(landmarks, image_size)
    iod = float(np.linalg.norm(shape[RIGHT_EYE_OUTER] - shape[LEFT_EYE_OUTER])) or 1.0
    pts = _AVG @ shape
    diff = pts[_PAIRS[:, 1]] - pts[_PAIRS[:, 0]]
    vals = np.where(_DY, diff[:, 1], np.sqrt((diff ** 2).sum(axis=1)))
    coeffs = (pca.components @ (shape - pca.mean).ravel()) / np.maximum(pca.stddev, 1e-9)
    return np.concatenate([_OWNER @ vals / iod, coeffs])


def features(blendshapes: np.ndarray, landmarks: np.ndarray | None = None,
             image_size: tuple[int, int] | None = None) -> np.ndarray:
    """The classifier's input: √ of the 52 blendshapes (spreads the small weights most expressions
    live in; +1.3 points macro-F1 in person-CV), then geometry when landmarks are given."""
    bs = np.sqrt(np.clip(np.asarray(blendshapes, np.float64).reshape(-1), 0.0, 1.0))
    if landmarks is None:
        return bs
    return np.concatenate([bs, geometry(np.asarray(landmarks), image_size)])


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class ExpressionModel:
    """Classifier heads read from a numpy weight file: a multinomial logistic regression, and
    optionally a one-hidden-layer ReLU network (one or more seeds) whose probabilities are averaged
    with the regression's (weight ``{head}_mix`` on the regression), then temperature-scaled."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        classes = tuple(str(c) for c in arrays["classes"])
        if classes != EMOTIONS:
            raise ValueError(f"expression model classes {classes} are not {EMOTIONS}")
        if int(arrays["feature_version"]) != FEATURE_VERSION:
            raise ValueError("expression model was trained on another feature version")
        self.heads = {}
        for head in ("full", "blendshapes"):
            mean, scale = arrays[f"{head}_mean"].astype(np.float64), arrays[f"{head}_scale"].astype(np.float64)
            t = float(arrays[f"{head}_temperature"])
            coef, icpt = arrays[f"{head}_coef"].astype(np.float64), arrays[f"{head}_intercept"].astype(np.float64)
            w = coef / scale[None, :]
            b = icpt - coef @ (mean / scale)
            if f"{head}_mlp_w1" not in arrays:  # the regression alone: temperature folded into it
                self.heads[head] = (w / t, b / t, None)
                continue
            w1 = arrays[f"{head}_mlp_w1"].astype(np.float64)  # (S, H, D) on standardised inputs
            b1 = arrays[f"{head}_mlp_b1"].astype(np.float64) - w1 @ (mean / scale)
            w1 = w1 / scale
            w2, b2 = arrays[f"{head}_mlp_w2"].astype(np.float64), arrays[f"{head}_mlp_b2"].astype(np.float64)
            n_seeds, k, h = w2.shape
            mix = float(arrays[f"{head}_mix"])
            # One product gives the regression's logits and every network's hidden layer; a floor of
            # -inf (regression) or 0 (ReLU) per column; a second product passes the regression's
            # logits through and applies every network's output layer. One softmax over the (S + 1)
            # rows of 7, then the mix weights and the temperature.
            w_in = np.concatenate([w, w1.reshape(-1, w1.shape[-1])])
            b_in = np.concatenate([b, b1.reshape(-1)])
            floor = np.concatenate([np.full(k, -np.inf), np.zeros(n_seeds * h)])
            w_out = np.zeros(((n_seeds + 1) * k, k + n_seeds * h))
            w_out[:k, :k] = np.eye(k)
            for i in range(n_seeds):
                w_out[(i + 1) * k:(i + 2) * k, k + i * h:k + (i + 1) * h] = w2[i]
            b_out = np.concatenate([np.zeros(k), b2.reshape(-1)])
            weights = np.array([mix] + [(1.0 - mix) / n_seeds] * n_seeds)
            self.heads[head] = (w_in, b_in, (floor, w_out, b_out, n_seeds + 1, weights, 1.0 / t))
        self.neutral_blendshapes = arrays["neutral_blendshapes"].astype(np.float64)

    @classmethod
    def load(cls, path: str | Path = ASSET) -> ExpressionModel:
        with np.load(path, allow_pickle=False) as z:
            return cls({k: z[k] for k in z.files})

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Features (…, D) → probabilities (…, 7) in EMOTIONS order; the head follows D."""
        x = np.asarray(x, np.float64)
        w, b, mlp = self.heads["full" if x.shape[-1] > 52 else "blendshapes"]
        z = x @ w.T + b
        if mlp is None:
            return _softmax(z)
        floor, w_out, b_out, rows, weights, inv_t = mlp
        e = _softmax((np.maximum(z, floor) @ w_out.T + b_out).reshape(*z.shape[:-1], rows, -1))
        p = (weights @ e + 1e-12) ** inv_t  # = softmax(log(mixed probabilities) / temperature)
        return p / p.sum(axis=-1, keepdims=True)


@lru_cache(maxsize=1)
def default_model() -> ExpressionModel:
    return ExpressionModel.load()
