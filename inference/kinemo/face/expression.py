"""Expression: FACS action units (by rule) and an emotion label (learned; the old rules kept).

The label and its scores come from :mod:`kinemo.face.expression_model` (a classifier on the
blendshapes and the pose-normalised mesh geometry, docs/expression-model.md); ``classify``
returns it. :class:`ExpressionSmoother` adds hysteresis for streams. The rule-based label
(``classify_rules``) stays as the documented baseline. The rules, in two steps (docs/face.md):

1. Action units. Each AU intensity (0-1) is the blendshape(s) that animate the same
   muscle movement in ARKit's own definitions (e.g. AU12 lip-corner puller =
   mouthSmile, AU6 cheek raiser = cheekSquint), averaging left and right.
2. Emotions. EMFACS prototypes (Friesen & Ekman) list the AUs of each basic emotion:
   happy 6+12, sad 1+4+15, surprise 1+2+5+26, anger 4+5+7+23, fear 1+2+4+5+20+26,
   disgust 9+15+16. An emotion's evidence is the weighted mean of its AUs (the
   defining AUs weigh 1, supporting ones 0.5), reduced by AUs that contradict it
   (a smile contradicts sadness). Neutral's evidence is what the strongest emotion
   leaves unexplained; scores are the evidences normalised to sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinemo.protocol import ACTION_UNITS, ARKIT_INDEX, EMOTIONS

#: AU → the ARKit blendshapes whose mean gives its intensity.
AU_BLENDSHAPES: dict[int, tuple[str, ...]] = {
    1: ("browInnerUp",),
    2: ("browOuterUpLeft", "browOuterUpRight"),
    4: ("browDownLeft", "browDownRight"),
    5: ("eyeWideLeft", "eyeWideRight"),
    6: ("cheekSquintLeft", "cheekSquintRight"),
    7: ("eyeSquintLeft", "eyeSquintRight"),
    9: ("noseSneerLeft", "noseSneerRight"),
    10: ("mouthUpperUpLeft", "mouthUpperUpRight"),
    12: ("mouthSmileLeft", "mouthSmileRight"),
    14: ("mouthDimpleLeft", "mouthDimpleRight"),
    15: ("mouthFrownLeft", "mouthFrownRight"),
    16: ("mouthLowerDownLeft", "mouthLowerDownRight"),
    17: ("mouthShrugLower",),
    18: ("mouthPucker",),
    20: ("mouthStretchLeft", "mouthStretchRight"),
    22: ("mouthFunnel",),
    23: ("mouthRollLower", "mouthRollUpper"),
    24: ("mouthPressLeft", "mouthPressRight"),
    26: ("jawOpen",),
    45: ("eyeBlinkLeft", "eyeBlinkRight"),
}

#: Emotion → ({AU: weight} evidence, {AU: weight} contradiction).
PROTOTYPES: dict[str, tuple[dict[int, float], dict[int, float]]] = {
    "happy": ({12: 1.0, 6: 0.5}, {15: 1.0, 4: 0.5}),
    "sad": ({1: 1.0, 4: 1.0, 15: 1.0, 17: 0.5}, {12: 1.0}),
    "surprise": ({1: 1.0, 2: 1.0, 5: 1.0, 26: 1.0}, {4: 1.0}),
    "anger": ({4: 1.0, 5: 0.5, 7: 1.0, 23: 1.0, 24: 0.5}, {12: 1.0, 1: 0.5}),
    "fear": ({1: 1.0, 2: 1.0, 4: 1.0, 5: 1.0, 20: 1.0, 26: 0.5}, {12: 1.0}),
    "disgust": ({9: 1.0, 10: 1.0, 15: 0.5, 16: 0.5}, {12: 0.5}),
}
_AU_POS = {au: i for i, au in enumerate(ACTION_UNITS)}
_EMOTIONS = tuple(PROTOTYPES)


def _matrices() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rules as matrices: blendshapes → AUs, AUs → support, AUs → contradiction."""
    au = np.zeros((len(ACTION_UNITS), 52), np.float32)
    for i, a in enumerate(ACTION_UNITS):
        names = AU_BLENDSHAPES[a]
        for n in names:
            au[i, ARKIT_INDEX[n]] = 1.0 / len(names)
    sup = np.zeros((len(_EMOTIONS), len(ACTION_UNITS)), np.float32)
    con = np.zeros_like(sup)
    for e, (support, contra) in enumerate(PROTOTYPES.values()):
        for a, w in support.items():
            sup[e, _AU_POS[a]] = w / sum(support.values())
        for a, w in contra.items():
            con[e, _AU_POS[a]] = w / sum(contra.values())
    return au, sup, con


_AU_MATRIX, _SUPPORT, _CONTRA = _matrices()


@dataclass
class Expression:
    label: str
    scores: np.ndarray  # (len(labels),), sums to 1
    action_units: np.ndarray  # (len(ACTION_UNITS),) intensities 0-1
    #: What the scores are of: the built-in emotions, or (with taught expressions) those and the user's own.
    labels: tuple[str, ...] = EMOTIONS

    def score(self, emotion: str) -> float:
        return float(self.scores[self.labels.index(emotion)]) if emotion in self.labels else 0.0

    @property
    def custom(self) -> bool:
        """Whether the label set is not just the built-in emotions (custom names travel in a second message)."""
        return self.labels != EMOTIONS

    def builtin(self) -> tuple[str, np.ndarray]:
        """The label and scores over the built-in emotions only: what receivers of the v1 message understand."""
        if not self.custom:
            return self.label, self.scores
        s = np.array([self.score(e) for e in EMOTIONS], np.float64)
        s = s / s.sum() if s.sum() > 0 else np.eye(len(EMOTIONS))[0]
        return EMOTIONS[int(np.argmax(s))], s.astype(np.float32)

    def as_message(self) -> tuple:
        label, scores = self.builtin()
        return (label, *(float(s) for s in scores))

    def as_labels_message(self) -> tuple:
        """(label, name, score, name, score, …) over every label, custom ones included."""
        return (self.label, *(x for name, s in zip(self.labels, self.scores.tolist(), strict=True)
                              for x in (name, float(s))))


def action_units(blendshapes: np.ndarray) -> np.ndarray:
    return _AU_MATRIX @ np.asarray(blendshapes, np.float32)


def classify_rules(blendshapes: np.ndarray) -> Expression:
    """The v1 label: EMFACS prototypes over the action units.

    The baseline that scripts/expression/expression_eval.py reports.
    """
    aus = action_units(blendshapes)
    evidence = np.maximum(0.0, _SUPPORT @ aus - 0.5 * (_CONTRA @ aus))
    scores = dict(zip(_EMOTIONS, evidence.tolist(), strict=True))
    scores["neutral"] = max(0.0, 1.0 - 2.0 * float(evidence.max()))
    raw = np.array([scores[e] for e in EMOTIONS], np.float32)
    total = raw.sum()
    scores_out = raw / total if total > 0 else np.eye(len(EMOTIONS), dtype=np.float32)[0]
    return Expression(EMOTIONS[int(np.argmax(scores_out))], scores_out, aus.astype(np.float32))


def classify(blendshapes: np.ndarray, landmarks: np.ndarray | None = None,
             image_size: tuple[int, int] | None = None, *, profile=None) -> Expression:
    """The learned label. ``landmarks`` (478×3, MediaPipe-normalised) and ``image_size`` add the
    geometry features; ``profile`` (a calibration Profile already applied to ``blendshapes``)
    re-centres the performer's resting face on the training set's neutral face, and when it
    holds taught expressions, the performer's own model labels the frame instead."""
    from kinemo.face.expression_model import default_model, features

    personal = profile.classifier() if profile is not None else None
    if personal is not None:
        return personal.classify(profile.raw_blendshapes(blendshapes), landmarks, image_size)
    model = default_model()
    bs = np.asarray(blendshapes, np.float64)
    aus = action_units(blendshapes).astype(np.float32)
    if profile is not None:
        span = np.maximum(1.0 - profile.offsets, 1e-3)
        bs = np.clip(bs * span / np.maximum(profile.gains, 1e-6) + model.neutral_blendshapes, 0.0, 1.0)
    scores = model.scores(features(bs, landmarks, image_size)).astype(np.float32)
    return Expression(EMOTIONS[int(np.argmax(scores))], scores, aus)


class ExpressionSmoother:
    """Hysteresis for a stream: scores are averaged over ``time_constant`` seconds (exponential),
    and the label changes only when another emotion has led the current one by ``margin`` for
    ``hold`` seconds. One frame of a wrong label never reaches the avatar; a held expression
    arrives after about ``hold`` + ``time_constant``. ``reset()`` when the face is lost."""

    def __init__(self, time_constant: float = 0.15, margin: float = 0.1, hold: float = 0.2) -> None:
        self.time_constant, self.margin, self.hold = time_constant, margin, hold
        self.reset()

    def reset(self) -> None:
        self._scores: np.ndarray | None = None
        self._label: int | None = None
        self._t = 0.0
        self._lead_since: float | None = None

    def update(self, expr: Expression, t: float) -> Expression:
        s = np.asarray(expr.scores, np.float64)
        if self._scores is not None and len(self._scores) != len(s):  # another label set: start again
            self._scores = None
        if self._scores is None or t <= self._t:
            self._scores, self._label, self._t, self._lead_since = s.copy(), int(np.argmax(s)), t, None
        else:
            a = 1.0 - np.exp(-(t - self._t) / max(self.time_constant, 1e-6))
            self._scores = self._scores + a * (s - self._scores)
            self._t = t
            top = int(np.argmax(self._scores))
            if top != self._label and self._scores[top] - self._scores[self._label] >= self.margin:
                if self._lead_since is None:
                    self._lead_since = t
                if t - self._lead_since >= self.hold:
                    self._label, self._lead_since = top, None
            else:
                self._lead_since = None
        scores = (self._scores / self._scores.sum()).astype(np.float32)
        return Expression(expr.labels[self._label], scores, expr.action_units, labels=expr.labels)
