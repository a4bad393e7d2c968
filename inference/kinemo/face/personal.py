"""Personal expressions: the user's own faces, taught in seconds, label every frame after.

A generic classifier has to guess how *this* face smiles; a few seconds of the user making
each expression tell it. Each taught expression keeps its examples (the features of a held
pose: √ blendshapes, and the mesh geometry when landmarks were seen; see
:func:`kinemo.face.expression_model.features`). A frame's score for a label is

    − d² / scale  +  prior × log p_generic(label)

where ``d²`` is the frame's distance to the label's centroid with every feature in units of
its spread across many people, ``scale`` is the typical distance between this user's own
expressions (so the two terms weigh the same for every face), and the generic model's
opinion is the prior. For a name of the user's own, the prior is the generic model's
opinion of the examples taught for it (a "smirk" looks partly happy, partly neutral to it).
A built-in emotion the user did not teach sits at the population's centroid for it, moved by
how the user's own neutral face differs from the population's, and pays ``generic_cost``.
Scores are a softmax, so they sum to 1 and the stream's hysteresis applies unchanged.

The weights, the population centroids and ``prior`` come from
``scripts/expression/personal_fit.py`` (``assets/personal.npz``), chosen on people held out
of fitting. Fitting a user's classifier averages a few vectors; labelling a frame is a few
small matrix products (``scripts/bench/bench_expression.py`` measures it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from kinemo.errors import KinemoError
from kinemo.face.expression import Expression, action_units
from kinemo.protocol import EMOTIONS, NUM_BLENDSHAPES

ASSET = Path(__file__).resolve().parent.parent / "assets" / "personal.npz"
#: Bumped when what an example stores changes; examples of another version must be taught again.
EXAMPLE_VERSION = 1
#: A label the user may choose: letters, digits, ``_`` and ``-``, up to 32 characters.
LABEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")


def check_label(label: str) -> str:
    if not LABEL_RE.match(label or ""):
        raise KinemoError(f"expression name {label!r}: use letters, digits, '_' or '-' (up to 32, starting "
                          "with a letter)")
    return label


@dataclass
class Example:
    """One taught pose: raw blendshapes (before any calibration) and, when seen, the mesh geometry."""

    blendshapes: np.ndarray  # (52,)
    geometry: np.ndarray | None = None  # (len(GEOMETRY) + PCA coefficients,)

    def features(self, with_geometry: bool) -> np.ndarray:
        from kinemo.face.expression_model import features

        bs = features(self.blendshapes)
        if not with_geometry:
            return bs
        if self.geometry is None:
            raise ValueError("example has no geometry")
        return np.concatenate([bs, self.geometry])


def example_from_frame(blendshapes: np.ndarray, landmarks: np.ndarray | None,
                       image_size: tuple[int, int] | None) -> Example:
    from kinemo.face.expression_model import geometry

    geo = geometry(np.asarray(landmarks), image_size) if landmarks is not None else None
    return Example(np.asarray(blendshapes, np.float64).reshape(NUM_BLENDSHAPES), geo)


def mean_example(examples: list[Example]) -> Example:
    """One example from the frames of a held pose: their median, robust to a blink or a twitch."""
    if not examples:
        raise KinemoError("no face was seen while the expression was held")
    bs = np.median(np.stack([e.blendshapes for e in examples]), axis=0)
    geos = [e.geometry for e in examples if e.geometry is not None]
    geo = np.median(np.stack(geos), axis=0) if len(geos) == len(examples) else None
    return Example(bs, geo)


#: What falling back to the population's centroid of an untaught built-in costs, in units of the
#: user's own distances between expressions: it wins only when clearly nearer than anything taught.
GENERIC_COST = 1.0
LOG_FLOOR = np.log(1e-3)


@dataclass
class Metric:
    """What ``scripts/expression/personal_fit.py`` learned across people."""

    weights: dict[str, np.ndarray]  # per feature, "full" (blendshapes + geometry) and "blendshapes"
    population: dict[str, np.ndarray]  # (len(EMOTIONS), D) per head
    prior: float = 0.25
    generic_cost: float = GENERIC_COST
    sharpness: float = 1.0  # on the scores before the softmax: fitted so that they are honest probabilities

    @classmethod
    def load(cls, path: str | Path = ASSET) -> Metric:
        with np.load(path, allow_pickle=False) as z:
            if tuple(str(c) for c in z["classes"]) != EMOTIONS:
                raise ValueError("personal metric classes differ from the built-in emotions")
            return cls({h: z[f"{h}_weights"].astype(np.float64) for h in ("full", "blendshapes")},
                       {h: z[f"{h}_population"].astype(np.float64) for h in ("full", "blendshapes")},
                       float(z["prior"]), float(z["generic_cost"]),
                       float(z["sharpness"]) if "sharpness" in z.files else 1.0)


@lru_cache(maxsize=1)
def default_metric() -> Metric:
    return Metric.load()


@dataclass
class PersonalExpressions:
    """The user's taught expressions: label → examples. Built-in and custom names alike."""

    examples: dict[str, list[Example]] = field(default_factory=dict)
    _fitted: PersonalClassifier | None = field(default=None, repr=False, compare=False)  # until examples change

    @property
    def labels(self) -> tuple[str, ...]:
        """Every label a frame can get: the built-in emotions first, then the user's own."""
        return EMOTIONS + tuple(sorted(lb for lb in self.examples if lb not in EMOTIONS))

    def add(self, label: str, examples: list[Example], *, replace: bool = False) -> None:
        """Teach ``label`` these examples, beside those taught before (or instead of them, with ``replace``)."""
        label = check_label(label)
        if replace:
            self.examples.pop(label, None)
        self.examples.setdefault(label, []).extend(examples)
        self._fitted = None

    def remove(self, label: str) -> None:
        if label not in self.examples:
            raise KinemoError(f"no taught expression named {label!r} (taught: {', '.join(self.examples) or 'none'})")
        del self.examples[label]
        self._fitted = None

    def fit(self, metric: Metric | None = None) -> PersonalClassifier:
        return PersonalClassifier(self, metric or default_metric())

    def classifier(self) -> PersonalClassifier | None:
        """The shipped metric's classifier, fitted once until the examples change; None when nothing is taught."""
        if not self.examples:
            return None
        if self._fitted is None:
            self._fitted = self.fit()
        return self._fitted


def generic_log_probs(x: np.ndarray) -> np.ndarray:
    """The generic model's log-probabilities over EMOTIONS for features ``x``, floored (one confident
    mistake must not veto a label)."""
    from kinemo.face.expression_model import default_model

    p = default_model().scores(x)
    return np.maximum(np.log(np.maximum(p, 1e-12)), LOG_FLOOR)


@dataclass
class _Head:
    centroids: np.ndarray  # (L, D)
    root_w: np.ndarray  # (D,)
    signatures: np.ndarray  # (L, 7): which generic emotions each label's prior reads
    cost: np.ndarray  # (L,)
    scale: float


class PersonalClassifier:
    """The score above over :attr:`labels`, softmaxed: scores that sum to 1."""

    def __init__(self, personal: PersonalExpressions, metric: Metric) -> None:
        if not personal.examples:
            raise KinemoError("the profile has no taught expressions: run 'kinemo expressions teach' first")
        self.labels = personal.labels
        self.metric = metric
        self._heads: dict[bool, _Head] = {}
        has_geometry = all(e.geometry is not None for ex in personal.examples.values() for e in ex)
        for with_geometry in ((True, False) if has_geometry else (False,)):
            self._heads[with_geometry] = self._head(personal, with_geometry)

    def _head(self, personal: PersonalExpressions, with_geometry: bool) -> _Head:
        head = "full" if with_geometry else "blendshapes"
        population, w = self.metric.population[head], self.metric.weights[head]
        taught = {lb: np.mean([e.features(with_geometry) for e in ex], axis=0)
                  for lb, ex in personal.examples.items()}
        shift = (taught["neutral"] - population[0]) if "neutral" in taught else 0.0
        centroids, signatures, cost = [], [], []
        for i, label in enumerate(self.labels):
            if label in taught:
                centroids.append(taught[label])
                cost.append(0.0)
            else:  # a built-in the user did not teach: the population's, seen from this face's neutral
                centroids.append(population[i] + shift)
                cost.append(self.metric.generic_cost)
            if label in EMOTIONS:
                signatures.append(np.eye(len(EMOTIONS))[EMOTIONS.index(label)])
            else:  # the user's own name: what the generic model made of its examples
                p = np.mean([np.exp(generic_log_probs(e.features(with_geometry)))
                             for e in personal.examples[label]], axis=0)
                signatures.append(p / p.sum())
        c = np.stack(centroids)
        own = [c[i] for i, lb in enumerate(self.labels) if lb in taught]
        ref = own if len(own) >= 2 else list(population)
        pair = [float((((a - b) ** 2) * w).sum()) for i, a in enumerate(ref) for b in ref[:i]]
        return _Head(c, np.sqrt(w), np.stack(signatures), np.array(cost), float(np.median(pair)) or 1.0)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Features (52, or 52 + geometry when every example had it) → scores over :attr:`labels`."""
        h = self._heads[len(x) > 52]
        diff = (h.centroids - x) * h.root_w
        z = -(np.einsum("ij,ij->i", diff, diff) / h.scale + h.cost)
        if self.metric.prior:
            z = z + self.metric.prior * (h.signatures @ generic_log_probs(x))
        z = self.metric.sharpness * z
        p = np.exp(z - z.max())
        return (p / p.sum()).astype(np.float32)

    def classify(self, blendshapes: np.ndarray, landmarks: np.ndarray | None = None,
                 image_size: tuple[int, int] | None = None) -> Expression:
        from kinemo.face.expression_model import features

        with_geometry = landmarks is not None and True in self._heads
        x = features(blendshapes, landmarks if with_geometry else None, image_size)
        scores = self.scores(x)
        return Expression(self.labels[int(np.argmax(scores))], scores,
                          action_units(blendshapes).astype(np.float32), labels=self.labels)
