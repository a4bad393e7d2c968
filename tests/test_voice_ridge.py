"""The linear file head's closed-form fit (scripts/voice_ridge.py): numpy only, no torch."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from voice_ridge import RIDGE_TAPS, context, fit_ridge  # noqa: E402


def _data(seed: int = 0, dim: int = 6, outs: int = 3):
    rng = np.random.default_rng(seed)
    lengths = np.array([120, 300, 45, 200])
    feats = (rng.normal(size=(lengths.sum(), dim)) * rng.uniform(0.5, 3, dim) + rng.normal(size=dim)).astype(np.float16)
    truth = rng.normal(size=(len(RIDGE_TAPS) * dim, outs)) * 0.05
    return feats, lengths, truth


def test_context_stays_inside_each_recording():
    feats, lengths, _ = _data()
    start = int(lengths[0])  # first frame of the second recording
    x = context(feats, np.array([start, start + lengths[1] - 1]), lengths)
    dim = feats.shape[1]
    first, last = x[0].reshape(len(RIDGE_TAPS), dim), x[1].reshape(len(RIDGE_TAPS), dim)
    for k, t in enumerate(RIDGE_TAPS):
        # taps before the start repeat its first frame, never the previous recording's last
        assert np.array_equal(first[k], feats[start + max(t, 0)].astype(np.float32))
        assert np.array_equal(last[k], feats[start + lengths[1] - 1 + min(t, 0)].astype(np.float32))


def test_fit_recovers_a_tapped_linear_map():
    feats, lengths, truth = _data()
    rows = np.arange(lengths.sum())
    labels = (context(feats, rows, lengths) @ truth + 0.3).astype(np.float32)
    mask = np.ones(len(rows), bool)
    mask[::7] = False  # frames without a face label: not fitted, still context for their neighbours
    mean, std, w, bias = fit_ridge(feats, labels, mask, lengths, lam=1e-8, chunk=97)
    pred = context(feats, rows, lengths, RIDGE_TAPS, mean, std) @ w + bias
    assert np.abs(pred - labels).max() < 1e-3
    assert np.allclose(w * std[np.tile(np.arange(feats.shape[1]), len(RIDGE_TAPS))][:, None] ** -1, truth, atol=1e-3)


def test_penalty_shrinks_towards_the_mean_curve():
    feats, lengths, truth = _data(1)
    rows = np.arange(lengths.sum())
    rng = np.random.default_rng(2)
    labels = (context(feats, rows, lengths) @ truth + rng.normal(size=(len(rows), truth.shape[1])) * 0.05
              ).astype(np.float32)
    mask = np.ones(len(rows), bool)
    norms = [np.linalg.norm(fit_ridge(feats, labels, mask, lengths, lam)[2]) for lam in (1e-4, 0.1, 10.0, 1e4)]
    assert all(a > b for a, b in zip(norms[:-1], norms[1:], strict=True))
    _, _, w, bias = fit_ridge(feats, labels, mask, lengths, 1e6)
    assert np.linalg.norm(w) < 1e-3 and np.allclose(bias, labels.mean(0), atol=1e-4)
