"""Expression label (``/kinemo/face/expression``) → avatar reactions: Actions or shape-key presets. No ``bpy``.

Which label: a performer whose profile holds taught expressions gets labels of their own
("smirk", "tongue_out") besides the built-in :data:`~protocol.EMOTIONS`. Those travel in
``/kinemo/face/expression/labels`` beside the unchanged v1 message, which keeps the built-in
view; :func:`streamed_label` takes the labels message when a frame has one, else the v1
message, so a reaction may be mapped to any name and an old sender still drives the
built-in ones.

The label drives reactions through the body actions' own machinery: :class:`ReactionGate`
turns the per-frame label and its score into start/end events, which then fade Actions in
and out live (:class:`drive.ActionWriter`, via :class:`actions.ActionBlender`) and become
NLA strips when a take is baked (:func:`actions.plan_strips`). A label mapped to shape keys
(e.g. a VRM avatar's ``Joy`` preset) gets the same fade as a weight on those keys, live and
as baked keyframes (:func:`reaction_curves`).

Gate: a reaction starts when its label is the streamed label with a score of at least the
threshold; it ends once the label has not qualified for the hold time (so a brief dip does
not cut it), or at once when another mapped label qualifies (the two cross-fade). One
reaction at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from .protocol import EMOTIONS, EVENT_END, EVENT_START

#: A label a user may give a taught expression, as the service checks it (``kinemo.face.personal``):
#: letters, digits, ``_`` and ``-``, up to 32 characters, starting with a letter. Names are case-sensitive.
LABEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")

#: Default reaction per label, tried in order against the avatar: a user's ``react_<label>``
#: Action first, then these shape keys (VRM 0.x presets Joy/Angry/Sorrow/Fun/Surprised as
#: VRoid names them, ``Fcl_ALL_*``, and VRM 1.0's lower-case presets). VRM has no fear or
#: disgust preset: fear falls back to Surprised, disgust to Angry.
DEFAULT_SHAPE_KEYS: dict[str, tuple[str, ...]] = {
    "neutral": ("Neutral", "Fcl_ALL_Neutral", "neutral"),
    "happy": ("Joy", "Fcl_ALL_Joy", "happy", "Fun", "Fcl_ALL_Fun", "relaxed"),
    "sad": ("Sorrow", "Fcl_ALL_Sorrow", "sad"),
    "surprise": ("Surprised", "Fcl_ALL_Surprised", "surprised"),
    "anger": ("Angry", "Fcl_ALL_Angry", "angry"),
    "fear": ("Fear", "Surprised", "Fcl_ALL_Surprised", "surprised"),
    "disgust": ("Disgust", "Angry", "Fcl_ALL_Angry", "angry"),
}
ACTION_PREFIX = "react_"


def default_reaction(label: str, actions: list[str], shape_keys: list[str]) -> tuple[str, str]:
    """(Action name, shape key name) the avatar offers for ``label``; one of them empty, or both."""
    action = ACTION_PREFIX + label
    if action in actions:
        return action, ""
    lower = {k.casefold(): k for k in shape_keys}
    for name in DEFAULT_SHAPE_KEYS.get(label, ()):
        if name in shape_keys:
            return "", name
        if name.casefold() in lower:
            return "", lower[name.casefold()]
    return "", ""


def action_labels(actions: Iterable[str]) -> list[str]:
    """Labels the user made ``react_<label>`` Actions for (``react_smirk`` → "smirk"), in the given order:
    *Find Reactions* maps the performer's own names too, not only the built-in ones it knows."""
    out = []
    for name in actions:
        if name.startswith(ACTION_PREFIX) and is_label(name[len(ACTION_PREFIX):]):
            out.append(name[len(ACTION_PREFIX):])
    return out


def is_label(name: str) -> bool:
    """Could ``name`` be a streamed label (built-in or taught)? Rows named otherwise drive nothing."""
    return isinstance(name, str) and bool(LABEL_RE.match(name))


def parse_labels(text: str) -> list[str]:
    """``"happy, smirk,,tongue_out"`` → ["happy", "smirk", "tongue_out"] (order kept, repeats dropped).
    Raises ValueError naming the first name the service would refuse, so the panel says so at once
    instead of the teach job failing after it started."""
    out: list[str] = []
    for part in text.split(","):
        name = part.strip()
        if not name:
            continue
        if not is_label(name):
            raise ValueError(f"expression name '{name}': use letters, digits, '_' or '-' (up to 32, starting "
                             "with a letter)")
        if name not in out:
            out.append(name)
    return out


def label_scores(labels: Sequence | None) -> dict[str, float]:
    """The (name, score) pairs of an ``/kinemo/face/expression/labels`` payload (label first) as a dict."""
    if not labels:
        return {}
    return {str(labels[k]): float(labels[k + 1]) for k in range(1, len(labels) - 1, 2)}


def streamed_label(expression: Sequence | None, labels: Sequence | None) -> tuple[str | None, float]:
    """(label, its score) of one frame: from the labels message (any name, custom ones included) when the
    frame has one whose label is among its pairs, else from the v1 message (a built-in emotion), else
    (None, 0). Why both: v1 always carries the built-in view, so a sender without taught expressions (or
    an older one) sends only that, and a reaction mapped to a built-in name must still fire."""
    if labels:
        label = str(labels[0])
        scores = label_scores(labels)
        if label in scores:
            return label, scores[label]
    if expression is not None and len(expression) == 1 + len(EMOTIONS) and str(expression[0]) in EMOTIONS:
        label = str(expression[0])
        return label, float(expression[1 + EMOTIONS.index(label)])
    return None, 0.0


def parse_keys(text: str, weight: float = 1.0) -> list[tuple[str, float]]:
    """``"Joy, Fcl_MTH_Fun=0.5"`` → [("Joy", weight), ("Fcl_MTH_Fun", 0.5 × weight)]."""
    out = []
    for part in text.split(","):
        name, _, w = part.partition("=")
        name = name.strip()
        if not name:
            continue
        try:
            v = float(w) if w.strip() else 1.0
        except ValueError:
            v = 1.0
        out.append((name, v * weight))
    return out


class ReactionGate:
    """Per-frame (label, score) → reaction events [(label, phase)] for the ``labels`` that have a reaction."""

    def __init__(self, labels: Iterable[str], threshold: float = 0.5, hold: float = 0.5) -> None:
        self.labels = set(labels)
        self.threshold = threshold
        self.hold = hold
        self.active: str | None = None
        self.started = 0.0
        self.score = 0.0
        self._last_ok = 0.0

    def update(self, label: str | None, score: float, now: float) -> list[tuple[str, str]]:
        """One frame: ``label`` is the streamed label (None: no face or no label), ``score`` its score."""
        out: list[tuple[str, str]] = []
        ok = label in self.labels and score >= self.threshold
        if ok and label == self.active:
            self._last_ok = now
            self.score = max(self.score, score)
            return out
        if self.active is not None and (ok or now - self._last_ok >= self.hold):
            out.append((self.active, EVENT_END))
            self.active = None
        if ok:
            self.active, self.started, self._last_ok, self.score = label, now, now, score
            out.append((label, EVENT_START))
        return out

    def close(self) -> list[tuple[str, str]]:
        out = [(self.active, EVENT_END)] if self.active is not None else []
        self.active = None
        return out


def take_events(times: np.ndarray, emotion: np.ndarray, scores: np.ndarray, labels: Iterable[str], *,
                threshold: float, hold: float,
                names: Sequence[str] = EMOTIONS) -> list[tuple[str, float, float, float]]:
    """A take's per-frame labels (indices into ``names``, −1 none) and scores (T, len(names)) → (label,
    start s, end s, confidence) events for the reaction ``labels``, through the same gate as live. An end
    lands where live would send it. ``names``: the take's label set (built-ins first, then the performer's
    own), so a custom label's reaction is baked as it played live."""
    gate = ReactionGate(labels, threshold, hold)
    out: list[list] = []
    t = 0.0
    for t, i, s in zip(np.asarray(times, float), np.asarray(emotion, int), np.asarray(scores, float), strict=True):
        label = names[i] if 0 <= i < len(names) and i < len(s) else None
        score = float(s[i]) if label else 0.0
        for lb, phase in gate.update(label, score, float(t)):
            if phase == EVENT_START:
                out.append([lb, float(t), float(t), score])
            else:
                out[-1][2] = float(t)
        if gate.active is not None and label == gate.active:
            out[-1][2], out[-1][3] = float(t), max(out[-1][3], score)
    if gate.active is not None:
        out[-1][2] = float(t)
    return [tuple(e) for e in out]


def envelope(events, frames: np.ndarray, *, fps: float, frame_start: float, blend_time: float) -> np.ndarray:
    """Weight 0–1 at ``frames`` of the reactions in ``events`` (label, start s, end s, conf): a linear fade in
    over the blend time from the start and out from the end, as live; overlaps take the maximum."""
    out = np.zeros(len(frames))
    b = max(blend_time * fps, 1e-6)
    for _label, start, end, _conf in events:
        f0, f1 = frame_start + start * fps, frame_start + end * fps
        up = np.clip((frames - f0) / b, 0.0, 1.0)
        down = np.clip(1.0 - (frames - f1) / b, 0.0, 1.0)
        out = np.maximum(out, np.minimum(up, down))
    return out


def reaction_curves(events, keys: dict[str, list[tuple[str, float]]], *, fps: float, frame_start: float,
                    last_frame: float, blend_time: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Shape-key curves for baked reactions: {key: (frames, values)} for labels mapped to ``keys``
    (label → [(shape key, weight)]). Keys only where the value bends (the curve is piecewise linear)."""
    by_key: dict[str, list[tuple[float, list]]] = {}
    for label, targets in keys.items():
        evs = [e for e in events if e[0] == label]
        if evs:
            for key, w in targets:
                by_key.setdefault(key, []).append((w, evs))
    out = {}
    for key, parts in by_key.items():
        marks = {frame_start, last_frame}
        for _w, evs in parts:
            for _lb, s, e, _c in evs:
                for f in (s * fps, s * fps + blend_time * fps, e * fps, e * fps + blend_time * fps):
                    marks.add(frame_start + f)
        frames = np.array(sorted(m for m in marks if frame_start <= m <= max(last_frame, frame_start)))
        values = np.zeros(len(frames))
        for w, evs in parts:
            values = np.maximum(values, w * envelope(evs, frames, fps=fps, frame_start=frame_start,
                                                     blend_time=blend_time))
        out[key] = (frames, values)
    return out
