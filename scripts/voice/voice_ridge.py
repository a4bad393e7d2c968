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


def parse_lags(text: str) -> dict[str, float]:
    """``clip:ms,clip:ms`` → {clip: ms}; raises ValueError with the reason."""
    out = {}
    for item in filter(None, (x.strip() for x in text.split(","))):
        name, _, ms = item.partition(":")
        try:
            out[name] = float(ms)
        except ValueError:
            raise ValueError(f"cannot read {item!r}: give CLIP:MS, e.g. vox2_00473:120") from None
        if not name:
            raise ValueError(f"cannot read {item!r}: no clip name")
    return out


def align_labels(labels: np.ndarray, mask: np.ndarray, lengths: np.ndarray, sources: np.ndarray,
                 lags_ms: dict[str, float], rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Labels moved in time so each named recording's face is in step with its sound.

    A recording whose face matches its sound ``lag`` ms later (``voice_metrics.best_lag``'s sign:
    the label at t goes with the prediction at t + lag) is a recording whose sound came late;
    training on it as it is teaches a blurred, late mapping. Each of its frames takes the label
    from ``lag`` earlier; frames left without one are masked. Recordings not named keep theirs.
    """
    labels, mask = labels.copy(), mask.copy()
    ends = np.cumsum(lengths)
    for rec, name in enumerate(np.asarray(sources).astype(str)):
        k = int(round(lags_ms.get(name, 0.0) / 1000.0 * rate))
        if k == 0:
            continue
        lo, hi = int(ends[rec] - lengths[rec]), int(ends[rec])
        y, m = labels[lo:hi].copy(), mask[lo:hi].copy()
        shifted_y, shifted_m = np.zeros_like(y), np.zeros_like(m)
        if k > 0:
            shifted_y[k:], shifted_m[k:] = y[:-k], m[:-k]
        else:
            shifted_y[:k], shifted_m[:k] = y[-k:], m[-k:]
        labels[lo:hi], mask[lo:hi] = shifted_y, shifted_m
    return labels, mask


def aligned(labels: np.ndarray, mask: np.ndarray, lengths: np.ndarray, sources: np.ndarray, text: str,
            rate: float) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """The training scripts' ``--align CLIP:MS,...``: (labels, mask, lags) with the named recordings
    moved into step; ValueError with the reason for a bad option or a clip the data lacks."""
    lags = parse_lags(text)
    if missing := sorted(set(lags) - {str(x) for x in sources}):
        raise ValueError(f"no recording named {', '.join(missing)} in the training data")
    return (*align_labels(labels, mask, lengths, sources, lags, rate), lags)


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


def other_share_weight(n_main: float, n_other: float, share: float) -> float:
    """The weight of each frame of the other speakers under which they carry ``share`` of the
    fit against ``n_main`` frames of weight 1 (1.0 when ``share`` is 0 or a side is empty)."""
    if share <= 0 or not n_other or not n_main:
        return 1.0
    return share / (1 - share) * n_main / n_other


def match_spread(labels: np.ndarray, mask: np.ndarray, lengths: np.ndarray, is_ref: np.ndarray,
                 limit: float = 3.0, keep_rest: bool = True) -> np.ndarray:
    """Labels with each recording's motion scaled to the reference speaker's typical spread.

    Faces differ in how far they move: VoxCeleb2's small, compressed interview faces show a
    third of GRID s1's jaw motion. Unscaled, a fit that gives those speakers weight learns
    to move less. Each recording keeps its own mean (its resting pose); its deviations
    from it are multiplied, per channel, by the median spread of the reference recordings
    (``is_ref``, one flag per recording) over its own, within [1/limit, limit].
    ``keep_rest=False`` also removes each recording's mean (``limit=1``: centring alone).
    """
    out = labels.astype(np.float32).copy()
    starts = np.cumsum(lengths) - lengths
    spread = np.full((len(lengths), labels.shape[1]), np.nan)
    for k, (a, n) in enumerate(zip(starts, lengths, strict=True)):
        m = mask[a:a + n]
        if m.sum() > 10:
            spread[k] = out[a:a + n][m].std(0)
    ref = np.nanmedian(spread[is_ref], 0)
    for k, (a, n) in enumerate(zip(starts, lengths, strict=True)):
        m = mask[a:a + n]
        if m.any():
            gain = np.clip(ref / np.maximum(np.nan_to_num(spread[k], nan=1.0), 1e-6), 1 / limit, limit)
            mu = out[a:a + n][m].mean(0)
            out[a:a + n] = (out[a:a + n] - mu) * gain + (mu if keep_rest else 0.0)
    return out


def full_motion(feats: np.ndarray, labels: np.ndarray, rows: np.ndarray, lengths: np.ndarray, mean: np.ndarray,
                std: np.ndarray, w: np.ndarray, bias: np.ndarray, taps: tuple[int, ...] = RIDGE_TAPS,
                sample: int = 50000) -> tuple[np.ndarray, np.ndarray]:
    """The fit rescaled so its curves move as far as the labels of ``rows`` do (per channel).

    Regression shrinks towards the mean by the fit's correlation: the least-squares jaw
    moves about 0.85 as far as a real face. Animators want the whole motion, so the
    weights are scaled about the prediction's mean on those frames (the main speaker's
    training frames) until its spread equals the labels'. Returns (weights, bias).
    """
    r = rows[:: max(1, len(rows) // sample)]
    pred = context(feats, r, lengths, taps, mean, std) @ w + bias
    mu = pred.mean(0)
    gain = labels[r].astype(np.float64).std(0) / np.maximum(pred.std(0), 1e-9)
    return w * gain, bias * gain + (1 - gain) * mu


def standardiser(feats: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread of the features over (a sample of) the labelled frames."""
    rows = np.flatnonzero(mask)
    sample = feats[rows[:: max(1, len(rows) // 200000)]].astype(np.float32)
    return sample.mean(0), sample.std(0) + 1e-3


def normal_sums(feats: np.ndarray, targets: list[np.ndarray], rows: np.ndarray, lengths: np.ndarray,
                taps: tuple[int, ...], mean: np.ndarray, std: np.ndarray, weights: np.ndarray | None = None,
                chunk: int = 8192, progress: bool = True) -> tuple[np.ndarray, list[np.ndarray]]:
    """XᵀWX and XᵀWY for each of ``targets`` over ``rows`` (X: standardised features at ``taps``
    plus a constant column). Sums add up, so fits over unions of speakers reuse them."""
    wt = np.ones(len(feats), np.float32) if weights is None else np.asarray(weights, np.float32)
    size = len(taps) * feats.shape[1] + 1  # the last column is the constant: an unpenalised bias
    gram = np.zeros((size, size))
    xtys = [np.zeros((size, y.shape[1])) for y in targets]
    bar_every = max(1, len(rows) // chunk // 20)
    for k, a in enumerate(range(0, len(rows), chunk)):
        r = rows[a:a + chunk]
        x = np.concatenate([context(feats, r, lengths, taps, mean, std), np.ones((len(r), 1), np.float32)], axis=1)
        xw = x * wt[r, None]
        gram += xw.T @ x
        for xty, y in zip(xtys, targets, strict=True):
            xty += xw.T @ y[r].astype(np.float32)
        if progress and k % bar_every == 0:
            print(f"  ridge: {min(a + chunk, len(rows))}/{len(rows)} frames", flush=True)
    return gram, xtys


def solve_ridge(gram: np.ndarray, xty: np.ndarray, lam: float, total_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """(weights, bias) from the normal sums with penalty ``lam`` × the total frame weight."""
    penalty = np.full(gram.shape[0], lam * total_weight)
    penalty[-1] = 0.0
    w = np.linalg.solve(gram + np.diag(penalty), xty)
    return w[:-1], w[-1]


def fit_ridge(feats: np.ndarray, labels: np.ndarray, mask: np.ndarray, lengths: np.ndarray, lam: float,
              taps: tuple[int, ...] = RIDGE_TAPS, chunk: int = 8192, weights: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ridge regression from the standardised features at ``taps`` (within each recording) to the labels.

    ``lam`` is per frame (the penalty is ``lam`` × the summed frame weight, i.e. the number
    of labelled frames when unweighted), so it means the same whatever the amount of data.
    ``weights`` (one per frame, optional) lets a few speakers count as much as one that
    fills most of the data. Returns (mean, std, weights, bias).
    """
    rows = np.flatnonzero(mask)
    mean, std = standardiser(feats, mask)
    gram, (xty,) = normal_sums(feats, [labels], rows, lengths, taps, mean, std, weights, chunk)
    total = len(rows) if weights is None else float(np.asarray(weights, np.float64)[rows].sum())
    w, bias = solve_ridge(gram, xty, lam, total)
    return mean, std, w, bias


OTHER_PREFIXES = ("vox", "grid_", "cremad_")  # the wild trainable clips: vox2_*, vox_lia_*, grid_*, cremad_*


def other_speakers(sources: np.ndarray) -> np.ndarray:
    """Per recording: is it one of the few speakers besides GRID s1 (``vox2_*``, ``vox_*``, ``grid_*``,
    ``cremad_*``; s1's recordings are named by their sentence, e.g. ``bbaf2n``)? Numpy only, so the
    folds and the tests use it without torch."""
    return np.array([str(x).startswith(OTHER_PREFIXES) for x in sources], bool)
