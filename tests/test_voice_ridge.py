"""The linear file head's closed-form fit (scripts/voice/voice_ridge.py): numpy only, no torch."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts" / "voice"))
from voice_ridge import (  # noqa: E402
    RIDGE_TAPS,
    align_labels,
    aligned,
    context,
    fit_ridge,
    full_motion,
    match_spread,
    parse_lags,
    standardiser,
)


def _data(seed: int = 0, dim: int = 6, outs: int = 3):
    rng = np.random.default_rng(seed)
    lengths = np.array([120, 300, 45, 200])
    feats = (rng.normal(size=(lengths.sum(), dim)) * rng.uniform(0.5, 3, dim) + rng.normal(size=dim)).astype(np.float16)
    truth = rng.normal(size=(len(RIDGE_TAPS) * dim, outs)) * 0.05
    return feats, lengths, truth


def _noisy(seed: int, noise: float):
    """A tapped linear map of random features plus label noise: (feats, lengths, rows, labels, mask)."""
    feats, lengths, truth = _data(seed)
    rows = np.arange(lengths.sum())
    clean = context(feats, rows, lengths) @ truth
    labels = (clean + np.random.default_rng(seed + 100).normal(size=clean.shape) * noise).astype(np.float32)
    return feats, lengths, rows, labels, np.ones(len(rows), bool)


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
    feats, lengths, rows, labels, mask = _noisy(1, 0.05)
    norms = [np.linalg.norm(fit_ridge(feats, labels, mask, lengths, lam)[2]) for lam in (1e-4, 0.1, 10.0, 1e4)]
    assert all(a > b for a, b in zip(norms[:-1], norms[1:], strict=True))
    _, _, w, bias = fit_ridge(feats, labels, mask, lengths, 1e6)
    assert np.linalg.norm(w) < 1e-3 and np.allclose(bias, labels.mean(0), atol=1e-4)


def test_frame_weights_count_like_repeated_recordings():
    """Weight 3 on a recording fits what three copies of it would (λ per unit of weight)."""
    feats, lengths, rows, labels, mask = _noisy(3, 0.2)
    weights = np.ones(len(rows), np.float32)
    second = slice(int(lengths[0]), int(lengths[:2].sum()))
    weights[second] = 3.0
    _, _, w, bias = fit_ridge(feats, labels, mask, lengths, 0.5, weights=weights)
    # the same data with the second recording three times over (standardisation from the original frames)
    order = [0, 1, 1, 1, 2, 3]
    starts = np.concatenate([[0], np.cumsum(lengths)])
    f3 = np.concatenate([feats[starts[k]:starts[k + 1]] for k in order])
    l3 = np.concatenate([labels[starts[k]:starts[k + 1]] for k in order])
    mean, std = standardiser(feats, mask)
    x3 = np.concatenate([context(f3, np.arange(len(f3)), lengths[order], RIDGE_TAPS, mean, std),
                         np.ones((len(f3), 1), np.float32)], axis=1).astype(np.float64)
    gram = x3.T @ x3
    gram[np.diag_indices_from(gram)] += np.r_[np.full(x3.shape[1] - 1, 0.5 * len(f3)), 0.0]
    ref = np.linalg.solve(gram, x3.T @ l3)
    assert np.allclose(w, ref[:-1], atol=1e-4) and np.allclose(bias, ref[-1], atol=1e-4)
    plain = fit_ridge(feats, labels, mask, lengths, 0.5)[2]
    assert not np.allclose(plain, w, atol=1e-3)  # the weights did change the fit


def test_match_spread_scales_motion_and_keeps_each_resting_pose():
    rng = np.random.default_rng(5)
    lengths = np.array([200, 200, 200, 150])
    wave = [np.sin(np.arange(n) / 7.0)[:, None] * [1.0, 0.5] for n in lengths]
    spreads, rests = [0.2, 0.2, 0.2, 0.08], [0.1, 0.12, 0.08, 0.3]  # the last: a small face, resting open
    labels = np.concatenate([w * s + r for w, s, r in zip(wave, spreads, rests, strict=True)]).astype(np.float32)
    labels += rng.normal(size=labels.shape).astype(np.float32) * 1e-4
    mask = np.ones(len(labels), bool)
    mask[lengths[:3].sum() + 10:lengths[:3].sum() + 20] = False
    out = match_spread(labels, mask, lengths, np.array([True, True, True, False]))
    small = slice(int(lengths[:3].sum()), None)
    assert np.allclose(out[small][mask[small]].std(0), labels[:200].std(0), rtol=0.02)  # moved like the others
    assert np.allclose(out[small][mask[small]].mean(0), labels[small][mask[small]].mean(0), atol=1e-4)  # rest kept
    assert np.allclose(out[:600], labels[:600], atol=1e-3)  # reference recordings barely change
    huge = match_spread(labels, mask, lengths, np.array([True, True, True, False]), limit=2.0)
    assert np.allclose(huge[small][mask[small]].std(0) / labels[small][mask[small]].std(0), 2.0, rtol=0.01)


def test_full_motion_undoes_the_shrinkage_and_keeps_the_mean():
    feats, lengths, truth = _data(6)
    rows = np.arange(lengths.sum())
    rng = np.random.default_rng(7)
    clean = context(feats, rows, lengths) @ truth
    labels = (clean + rng.normal(size=clean.shape) * clean.std(0) + 0.2).astype(np.float32)  # r ≈ 0.7
    mask = np.ones(len(rows), bool)
    mean, std, w, bias = fit_ridge(feats, labels, mask, lengths, 0.01)
    before = context(feats, rows, lengths, RIDGE_TAPS, mean, std) @ w + bias
    assert (before.std(0) < 0.85 * labels.std(0)).all()  # least squares moves less than the labels
    w2, b2 = full_motion(feats, labels, rows, lengths, mean, std, w, bias, sample=len(rows))
    after = context(feats, rows, lengths, RIDGE_TAPS, mean, std) @ w2 + b2
    assert np.allclose(after.std(0), labels.std(0), rtol=1e-3)
    assert np.allclose(after.mean(0), before.mean(0), atol=1e-4)
    assert np.allclose([np.corrcoef(a, b)[0, 1] for a, b in zip(after.T, before.T, strict=True)], 1.0)


def test_a_late_sound_track_is_moved_into_step_and_only_that_recording():
    lengths = np.array([50, 40, 30])
    sources = np.array(["s1a", "vox2_late", "vox2_early"])
    rng = np.random.default_rng(3)
    labels = rng.uniform(size=(lengths.sum(), 2)).astype(np.float32)
    mask = np.ones(lengths.sum(), bool)
    mask[60] = False  # a frame of the late recording with no face
    out, m = align_labels(labels, mask, lengths, sources, {"vox2_late": 100.0, "vox2_early": -40.0}, rate=50.0)
    assert np.array_equal(out[:50], labels[:50]) and m[:50].all()  # not named: untouched
    # 100 ms late at 50 Hz = 5 frames: each frame takes the label from 5 frames earlier
    assert np.array_equal(out[55:90], labels[50:85]) and not m[50:55].any()
    assert not m[65] and m[60]  # the faceless frame moved with its label
    # early by 40 ms = 2 frames the other way; the last two frames have no label left
    assert np.array_equal(out[90:118], labels[92:120]) and not m[118:120].any()
    assert labels is not out and mask.sum() == lengths.sum() - 1  # inputs left as they were


def test_lags_read_from_the_command_line():
    assert parse_lags("vox2_00473:130, grid_bbab8n:-60") == {"vox2_00473": 130.0, "grid_bbab8n": -60.0}
    assert parse_lags("") == {}
    for bad in ("vox2_00473", "x:fast", ":40"):
        try:
            parse_lags(bad)
        except ValueError as err:
            assert "cannot read" in str(err)
        else:
            raise AssertionError(bad)


def test_the_align_option_names_a_clip_the_data_lacks():
    lengths, sources = np.array([10, 10]), np.array(["s1a", "vox2_late"])
    labels, mask = np.arange(40, dtype=np.float32).reshape(20, 2), np.ones(20, bool)
    out, m, lags = aligned(labels, mask, lengths, sources, "vox2_late:40", rate=50.0)
    assert lags == {"vox2_late": 40.0} and np.array_equal(out[12:], labels[10:18]) and not m[10:12].any()
    try:
        aligned(labels, mask, lengths, sources, "vox2_gone:40", rate=50.0)
    except ValueError as err:
        assert "vox2_gone" in str(err)
    else:
        raise AssertionError("a missing clip must be reported")
