"""Labelled classifier windows cut from generated sequences (training, evaluation, tests).

A window is labelled with the action under its last frame once that action has run
for ``ONSET`` seconds, so the model learns to call an action early (event latency);
windows just after an action ended are left out (``-1``) because either answer is fair.
``steady`` marks windows well inside one segment: the ones accuracy is reported on.
In the runtime package because ``kinemo actions train`` (:mod:`kinemo.body.fewshot`) cuts its
negative windows with :func:`make_windows`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinemo.body.features import FEATURES, STEPS, WINDOW_SECONDS, window_at
from kinemo.body.generator import TRAIN, GeneratorConfig, PoseSequence, generate, random_script

ONSET = 0.1  # s of an action before windows are labelled with it
ONSET_SHARE = 0.3  # share of windows that end in the first 0.6 s of an action: teaches early calls
AFTER = 0.25  # s after an action ends before windows count as idle again
STEADY = 0.6  # s inside a segment for a window to count as steady


@dataclass
class Windows:
    x: np.ndarray  # (N, STEPS, FEATURES) float32
    y: np.ndarray  # (N,) class index, -1 = ambiguous
    steady: np.ndarray  # (N,) bool

    def __len__(self) -> int:
        return len(self.y)


def window_label(seq: PoseSequence, end: float, labels: tuple[str, ...]) -> tuple[int, bool]:
    """(class index or -1, steady) for the window of ``seq`` ending at ``end``."""
    i = next((k for k, (_, a, b) in enumerate(seq.segments) if a <= end < b), len(seq.segments) - 1)
    label, start, _ = seq.segments[i]
    since = end - start
    prev = seq.segments[i - 1] if i > 0 else None
    if label != "idle" and since < ONSET:
        label = prev[0] if prev else "idle"
        return (labels.index(label) if label in labels else -1), False
    if label == "idle" and prev and prev[0] != "idle" and since < AFTER:
        return -1, False
    steady = since >= STEADY or (i == 0 and since >= min(STEADY, end))
    return (labels.index(label) if label in labels else -1), bool(steady and end >= WINDOW_SECONDS * 0.5)


def cut_windows(seq: PoseSequence, ends: np.ndarray, labels: tuple[str, ...]) -> Windows:
    x = np.stack([window_at(seq.time, seq.landmarks, e, seq.aspect) for e in ends]) if len(ends) else \
        np.zeros((0, STEPS, FEATURES), np.float32)
    ys, st = zip(*(window_label(seq, e, labels) for e in ends), strict=True) if len(ends) else ((), ())
    return Windows(x, np.array(ys, np.int64), np.array(st, bool))


def make_windows(rng: np.random.Generator, labels: tuple[str, ...], seqs_per_class: int,
                 windows_per_seq: int = 10, cfg: GeneratorConfig = TRAIN, progress=None,
                 onset_share: float = ONSET_SHARE) -> Windows:
    """Generate ``seqs_per_class`` takes per label and cut random windows from each.

    ``onset_share`` of the windows end near an action's start (training); evaluation uses 0.
    """
    parts: list[Windows] = []
    for _ in range(seqs_per_class):
        for label in labels:
            seq = generate(rng, random_script(rng, label, labels), cfg)
            ends = rng.uniform(0.4, seq.time[-1], windows_per_seq)
            starts = [a for lab, a, _ in seq.segments if lab != "idle"]
            if starts:
                early = rng.random(windows_per_seq) < onset_share
                onset = np.asarray(starts)[rng.integers(len(starts), size=windows_per_seq)]
                ends = np.where(early, np.minimum(onset + rng.uniform(-0.2, 0.6, windows_per_seq),
                                                  seq.time[-1]), ends)
            parts.append(cut_windows(seq, ends, labels))
            if progress is not None:
                progress.update()
    return Windows(np.concatenate([p.x for p in parts]), np.concatenate([p.y for p in parts]),
                   np.concatenate([p.steady for p in parts]))
