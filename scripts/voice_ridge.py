"""The linear file head, fitted in closed form: ridge regression from Whisper features to curves.

Why a linear map: the real talking faces we may learn from are mostly one speaker (GRID
s1). A network head trained on them learns that speaker's habits; on the twelve other
trainable speakers, held out in turn (``voice_folds.py``), its jawOpen r is 0.24–0.29. The
same features through one strongly regularised linear map of a ±240 ms neighbourhood
reach 0.44 there, because a linear map can only repeat what the encoder already says
about the sound. Plain numpy (no torch), so the suite can test the fit; ``voice_train.py
--ridge`` turns the weights into the ``RidgeHead`` graph.
"""

from __future__ import annotations

import numpy as np

RIDGE_TAPS = (-12, -8, -5, -3, -1, 0, 1, 3, 5, 8, 12)  # frames of 20 ms: ±240 ms, denser near the centre


def context(feats: np.ndarray, rows: np.ndarray, lengths: np.ndarray, taps: tuple[int, ...] = RIDGE_TAPS,
            mean: np.ndarray | None = None, std: np.ndarray | None = None) -> np.ndarray:
    """The (standardised) features of ``rows`` at each tap, side by side; a tap past either
    end of its recording repeats the recording's first or last frame (never a neighbour's)."""
    ends = np.cumsum(lengths)
    rec = np.searchsorted(ends, rows, side="right")
    lo, hi = ends[rec] - lengths[rec], ends[rec] - 1
    parts = []
    for t in taps:
        x = feats[np.clip(rows + t, lo, hi)].astype(np.float32)
        if mean is not None:
            x = (x - mean) / std
        parts.append(x)
    return np.concatenate(parts, axis=1)


def fit_ridge(feats: np.ndarray, labels: np.ndarray, mask: np.ndarray, lengths: np.ndarray, lam: float,
              taps: tuple[int, ...] = RIDGE_TAPS, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                               np.ndarray]:
    """Ridge regression from the standardised features at ``taps`` (within each recording) to the labels.

    ``lam`` is per frame (the penalty is ``lam`` × the number of labelled frames), so it
    means the same whatever the amount of data. Returns (mean, std, weights, bias).
    """
    rows = np.flatnonzero(mask)
    sample = feats[rows[:: max(1, len(rows) // 200000)]].astype(np.float32)
    mean, std = sample.mean(0), sample.std(0) + 1e-3
    size = len(taps) * feats.shape[1] + 1  # the last column is the constant: an unpenalised bias
    gram = np.zeros((size, size))
    xty = np.zeros((size, labels.shape[1]))
    bar_every = max(1, len(rows) // chunk // 20)
    for k, a in enumerate(range(0, len(rows), chunk)):
        r = rows[a:a + chunk]
        x = np.concatenate([context(feats, r, lengths, taps, mean, std), np.ones((len(r), 1), np.float32)], axis=1)
        gram += x.T @ x
        xty += x.T @ labels[r].astype(np.float32)
        if k % bar_every == 0:
            print(f"  ridge: {min(a + chunk, len(rows))}/{len(rows)} frames", flush=True)
    penalty = np.full(size, lam * len(rows))
    penalty[-1] = 0.0
    gram[np.diag_indices_from(gram)] += penalty
    w = np.linalg.solve(gram, xty)
    return mean, std, w[:-1], w[-1]
