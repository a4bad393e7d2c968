"""Lip-sync metrics of ``voice_eval.py``: pure functions of label and prediction curves.

Every function compares a *label* (MediaPipe blendshapes of a clip's video, at the video
frames where a face was found: times ``t``, shape (T, 52)) with a *prediction* (any
predictor's curves on its own time grid: times ``pt``, shape (N, 52)), in ARKit order
(``kinemo.protocol.ARKIT_NAMES``). Nothing here reads files or runs a model.

* jawOpen r — Pearson r of jawOpen at the label frames.
* mouth r — mean Pearson r over the mouth/jaw channels whose label moves (std > 0.02).
* centred skill — 1 − mean|Δlabel − Δpred| / mean|Δlabel| over all mouth+jaw channels,
  Δ = the curve minus its own mean over the clip (label and prediction separately). A
  perfect prediction scores 1, any constant 0 (a resting face, however well guessed, earns
  nothing), a prediction in anti-phase or too big can score below 0.
* amplitude ratio — std(pred jawOpen) / std(label jawOpen): 1 moves as much as the face.
* best lag — the shift of the prediction within ±``max_s`` that maximises jawOpen r.
  **Positive = the prediction is late** (it shows a mouth movement after the face does:
  ``pred(t + lag)`` matches ``label(t)``); negative = early.
* sync check — the same lag search widened (±500 ms) over several predictors at once, to
  find clips whose sound and picture are out of step, or whose label never moves
  (see :func:`sync_check`).
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "inference") not in sys.path:
    sys.path.insert(0, str(ROOT / "inference"))

from kinemo.protocol import ARKIT_NAMES  # noqa: E402

JAW_OPEN = ARKIT_NAMES.index("jawOpen")
MOUTH_JAW = [i for i, n in enumerate(ARKIT_NAMES) if n.startswith(("mouth", "jaw"))]
MOVING_STD = 0.02  # a mouth/jaw channel whose label std is below this does not count in mouth r


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r; 0 when either side is constant (a flat curve carries no timing)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 3 or a.std() < 1e-6 or b.std() < 1e-6:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def resample(pt: np.ndarray, py: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Curves ``py`` (N,) or (N, C) at times ``pt`` → at times ``t``, linear, ends held."""
    pt, py, t = np.asarray(pt, np.float64), np.asarray(py, np.float64), np.asarray(t, np.float64)
    if py.ndim == 1:
        return np.interp(t, pt, py)
    return np.stack([np.interp(t, pt, py[:, c]) for c in range(py.shape[1])], axis=1)


def mouth_r(pred: np.ndarray, label: np.ndarray, channels=MOUTH_JAW, min_std: float = MOVING_STD) -> tuple[float, int]:
    """(mean r over the channels whose label std > ``min_std``, how many such channels)."""
    moving = [i for i in channels if label[:, i].std() > min_std]
    if not moving:
        return 0.0, 0
    return float(np.mean([pearson(pred[:, i], label[:, i]) for i in moving])), len(moving)


def centred_skill(pred: np.ndarray, label: np.ndarray, channels=MOUTH_JAW) -> float:
    """1 − mean|Δlabel − Δpred| / mean|Δlabel| over ``channels`` (Δ: minus the clip's own mean)."""
    lab = np.asarray(label, np.float64)[:, channels]
    prd = np.asarray(pred, np.float64)[:, channels]
    dl = lab - lab.mean(axis=0)
    dp = prd - prd.mean(axis=0)
    scale = np.abs(dl).mean()
    if scale < 1e-9:
        return 0.0
    return float(1.0 - np.abs(dl - dp).mean() / scale)


def amplitude_ratio(pred: np.ndarray, label: np.ndarray) -> float:
    """std(pred) / std(label) of one channel (nan when the label does not move)."""
    s = float(np.std(label))
    return float(np.std(pred)) / s if s > 1e-6 else float("nan")


def lag_curve(t: np.ndarray, label: np.ndarray, pt: np.ndarray, py: np.ndarray,
              max_s: float = 0.2, step_s: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """(lags in s, r at each lag) of ``label(t)`` against ``pred(t + lag)`` for one channel.

    Only label frames whose shifted time falls inside the prediction's span count (no
    held ends); a lag that leaves fewer than half the frames gets r = nan.
    """
    t, label = np.asarray(t, np.float64), np.asarray(label, np.float64)
    pt, py = np.asarray(pt, np.float64), np.asarray(py, np.float64)
    lags = np.round(np.arange(-max_s, max_s + step_s / 2, step_s), 6)
    rs = np.full(len(lags), np.nan)
    for k, lag in enumerate(lags):
        ts = t + lag
        inside = (ts >= pt[0] - 1e-9) & (ts <= pt[-1] + 1e-9)
        if inside.sum() < max(3, len(t) // 2):
            continue
        rs[k] = pearson(label[inside], np.interp(ts[inside], pt, py))
    return lags, rs


def best_lag(t, label, pt, py, max_s: float = 0.2, step_s: float = 0.01) -> tuple[float, float]:
    """(lag in ms, r at that lag) maximising r within ±``max_s``; positive = prediction late."""
    lags, rs = lag_curve(t, label, pt, py, max_s, step_s)
    if np.all(np.isnan(rs)):
        return 0.0, 0.0
    k = int(np.nanargmax(rs))
    return float(lags[k] * 1000.0), float(rs[k])


def clip_metrics(t: np.ndarray, label: np.ndarray, pt: np.ndarray, py: np.ndarray,
                 max_lag_s: float = 0.2) -> dict:
    """All per-clip numbers of one predictor: label (T, 52) at ``t``, prediction (N, 52) at ``pt``."""
    pred = resample(pt, py, t)
    r_m, moving = mouth_r(pred, label)
    lag_ms, r_lag = best_lag(t, label[:, JAW_OPEN], pt, np.asarray(py)[:, JAW_OPEN], max_lag_s)
    return {
        "r_jaw": pearson(pred[:, JAW_OPEN], label[:, JAW_OPEN]),
        "r_mouth": r_m,
        "skill": centred_skill(pred, label) * 100.0,
        "amp": amplitude_ratio(pred[:, JAW_OPEN], label[:, JAW_OPEN]),
        "lag_ms": lag_ms,
        "r_at_lag": r_lag,
        "moving_channels": moving,
    }


@dataclass
class SyncVerdict:
    off: bool  # the clip is clearly broken (out of step, or a label that never moves): drop it
    lag_ms: float  # where the predictors agree best (positive: predictions late = picture early)
    r_peak: float  # mean r over predictors at that lag
    r_near: float  # best mean r inside the normal window (|lag| ≤ normal_s)
    per_predictor: dict  # name → (lag ms, r) of each predictor's own peak
    reason: str
    votes: int = 0  # predictors clearly better at the far lag than anywhere in the normal window


def sync_check(t: np.ndarray, label_jaw: np.ndarray, preds: dict[str, tuple[np.ndarray, np.ndarray]],
               max_s: float = 0.5, step_s: float = 0.02, normal_s: float = 0.15, min_r: float = 0.3,
               margin: float = 0.1, min_agree: float = 0.5, min_span_s: float = 2.0,
               flat_max: float = 0.05) -> SyncVerdict:
    """Is this clip fit to score jawOpen on: does its label move, and is its sound in step with its picture?

    ``preds``: name → (times, jawOpen curve) of distinct audio-driven predictors. Conservative:
    a clip is *off* only when one of these clearly holds.

    * Its label's jawOpen never opens (max < ``flat_max``): r and amplitude would measure
      MediaPipe's noise, not lip-sync.
    * Sound and picture out of step. For each lag in ±``max_s`` the r of label vs shifted
      prediction is averaged over the predictors; off when that average peaks outside
      ±``normal_s`` (normal predictor lags sit well inside it), not at the search's edge,
      with r ≥ ``min_r`` there, ≥ ``margin`` above the best average inside ±``normal_s``,
      and at least ``min_agree`` of the predictors each clearly prefer it (their own r within
      60 ms of that lag beats their best inside ±``normal_s`` by ``margin``). Clips shorter
      than ``min_span_s`` are not judged for sync (a shifted window leaves too few frames).
    """
    t, label_jaw = np.asarray(t, np.float64), np.asarray(label_jaw, np.float64)
    if len(label_jaw) and float(label_jaw.max()) < flat_max:
        return SyncVerdict(True, 0.0, 0.0, 0.0, {}, f"label jawOpen never opens (max {label_jaw.max():.3f} < "
                           f"{flat_max}): nothing to correlate with")
    curves, own = {}, {}
    lags = np.round(np.arange(-max_s, max_s + step_s / 2, step_s), 6)
    for name, (pt, py) in preds.items():
        lags, rs = lag_curve(t, label_jaw, pt, py, max_s, step_s)
        curves[name] = rs
        ok = ~np.isnan(rs)
        k = int(np.nanargmax(rs)) if ok.any() else len(rs) // 2
        own[name] = (float(lags[k] * 1000), float(rs[k]) if ok.any() else 0.0)
    if not curves:
        return SyncVerdict(False, 0.0, 0.0, 0.0, own, "no predictor to judge by: kept")
    stack = np.stack(list(curves.values()))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nan_to_num(np.nanmean(stack, axis=0), nan=-1.0)
    k = int(np.argmax(mean))
    lag, peak = float(lags[k]), float(mean[k])
    near_mask = np.abs(lags) <= normal_s + 1e-9
    near = float(mean[near_mask].max())
    span = float(t[-1] - t[0]) if len(t) else 0.0
    if abs(lag) <= normal_s + 1e-9:
        return SyncVerdict(False, lag * 1000, peak, near, own, "in sync")
    around = np.abs(lags - lag) <= 0.06 + 1e-9
    votes = 0
    for rs in curves.values():
        r = np.nan_to_num(rs, nan=-1.0)
        if r[around].max() >= r[near_mask].max() + margin:
            votes += 1
    verdict = SyncVerdict(False, lag * 1000, peak, near, own, "", votes)
    detail = f"mean r {peak:.2f} at {lag * 1000:+.0f} ms vs {near:.2f} within ±{normal_s * 1000:.0f} ms, " \
             f"{votes}/{len(curves)} predictors prefer it"
    if span < min_span_s:
        verdict.reason = f"too short to judge ({span:.1f} s < {min_span_s:g} s; {detail}): kept"
    elif abs(lag) >= max_s - step_s / 2:
        verdict.reason = f"peak at the search's edge ({detail}): kept"
    elif peak >= min_r and peak - near >= margin and votes >= max(1, min_agree * len(curves)):
        verdict.off = True
        verdict.reason = f"sound and picture out of step: {detail}"
    else:
        verdict.reason = f"not clear enough ({detail}): kept"
    return verdict


def pooled_lag(clips: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], max_s: float = 0.2,
               step_s: float = 0.01) -> tuple[float, float]:
    """(lag ms, mean r) maximising the *mean over clips* of jaw r: one lag for a whole set.

    ``clips``: (t, label jaw, pt, pred jaw) per clip. Steadier than the mean of per-clip best
    lags, which on short clips often sit at the window's edge. Positive = prediction late.
    """
    curves = [lag_curve(t, y, pt, py, max_s, step_s) for t, y, pt, py in clips]
    if not curves:
        return 0.0, 0.0
    lags = curves[0][0]
    stack = np.stack([rs for _, rs in curves])
    if np.all(np.isnan(stack)):
        return 0.0, 0.0
    mean = np.nanmean(stack, axis=0)
    k = int(np.nanargmax(mean))
    return float(lags[k] * 1000.0), float(mean[k])
