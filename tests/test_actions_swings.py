"""The wave gate: a hand that swings to and fro may wave, one that reaches out and back may not."""

from __future__ import annotations

import numpy as np
import pytest

from kinemo.body import swings
from kinemo.body.classifier import ActionClassifier, ActionClassifierOptions
from kinemo.body.features import FEATURES, STEPS, window_at
from kinemo.body.skeleton import CHANNELS, L_HIP, L_SHOULDER, NUM_LANDMARKS, R_HIP, R_SHOULDER

LABELS = ("idle", "wave", "clap", "other")


def test_reversals_count_turns_bigger_than_the_dead_band():
    t = np.linspace(0, 1.55, STEPS)
    waving = 0.5 * np.sin(2 * np.pi * 2.0 * t)  # 2 Hz: three full turns and more in 1.6 s
    reach = 0.6 * np.sin(np.pi * t / 1.55)  # out and back once
    jitter = 0.05 * np.sin(2 * np.pi * 6.0 * t)  # small, fast: never a swing
    got = swings.reversals(np.stack([waving, reach, jitter, np.zeros(STEPS)]), 0.3)
    assert got[0] >= 5
    assert got[1] == 1
    assert got[2] == 0 and got[3] == 0
    assert swings.reversals(reach[None] * -1, 0.3)[0] == 1  # first leg downwards counts the same


def _windows(wrist_x: np.ndarray) -> np.ndarray:
    """Classifier windows whose right wrist follows ``wrist_x`` (body sizes) beside still shoulders."""
    w = np.zeros((len(wrist_x), STEPS, NUM_LANDMARKS, CHANNELS), np.float32)
    w[:, :, L_SHOULDER, 0], w[:, :, R_SHOULDER, 0] = 0.2, -0.2
    w[:, :, swings.R_WRIST, 0] = wrist_x
    return w.reshape(len(wrist_x), STEPS, FEATURES)


def test_gate_moves_wave_to_other_only_without_swings():
    t = np.linspace(0, 1.55, STEPS)
    x = _windows(np.stack([-0.3 + 0.5 * np.sin(2 * np.pi * 1.5 * t), -0.3 + 0.6 * np.sin(np.pi * t / 1.55)]))
    probs = np.array([[0.05, 0.8, 0.05, 0.1], [0.05, 0.8, 0.05, 0.1]])
    out = swings.gate_wave(probs, x, LABELS)
    np.testing.assert_allclose(out[0], probs[0])  # a swinging hand keeps its wave
    np.testing.assert_allclose(out[1], [0.05, 0.0, 0.05, 0.9])  # a reach: wave → other, still sums to 1
    np.testing.assert_allclose(swings.gate_wave(probs, x, LABELS, min_swings=0), probs)  # off
    np.testing.assert_allclose(swings.gate_wave(probs, x, ("idle", "wave", "clap", "bow")), probs)  # no `other`


@pytest.fixture(scope="module")
def classifiers():
    # the gate belongs to v2.2's scoring (the network); v3's detectors ask for swings themselves
    return (ActionClassifier.create_from_options(ActionClassifierOptions(builtin="network")),
            ActionClassifier.create_from_options(ActionClassifierOptions(builtin="network", wave_swings=0)))


def test_shipped_classifier_gates_a_single_reach(classifiers):
    gated, plain = classifiers
    assert gated.options.wave_swings == swings.MIN_SWINGS >= 2
    # a raised right hand that moves out once and back: whatever the network says, no wave survives
    times = np.arange(0, 1.6, 1 / 30)
    lm = np.zeros((len(times), NUM_LANDMARKS, CHANNELS), np.float32)
    lm[..., 3] = 1.0
    lm[:, :, 0], lm[:, :, 1] = 0.5, 0.5
    lm[:, L_SHOULDER, :2], lm[:, R_SHOULDER, :2] = (0.55, 0.4), (0.45, 0.4)
    lm[:, L_HIP, :2], lm[:, R_HIP, :2] = (0.54, 0.65), (0.46, 0.65)
    lm[:, swings.R_WRIST, 0] = 0.38 + 0.12 * np.sin(np.pi * times / 1.6)
    lm[:, swings.R_WRIST, 1] = 0.25
    x = window_at(times, lm, float(times[-1]))[None]
    wave = gated.labels.index("wave")
    p_gated, p_plain = gated.probabilities(x)[0], plain.probabilities(x)[0]
    assert p_gated[wave] == 0.0
    assert p_gated.sum() == pytest.approx(1.0, abs=1e-5)
    other = gated.labels.index("other")
    assert p_gated[other] == pytest.approx(p_plain[other] + p_plain[wave], abs=1e-5)
