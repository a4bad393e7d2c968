"""The lip-sync metrics of scripts/voice/voice_eval.py on synthetic curves (fast, no ../shared)."""

import sys

import numpy as np
import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts" / "voice"))
import voice_metrics as vm  # noqa: E402

FPS = 25.0


def speech_like(seconds: float = 6.0, rate: float = 100.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A smooth random 0..1 curve with syllable-rate bumps (times, values)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, seconds, 1 / rate)
    y = np.zeros_like(t)
    for c in rng.uniform(0.3, seconds - 0.3, int(seconds * 4)):
        y += rng.uniform(0.2, 0.6) * np.exp(-0.5 * ((t - c) / 0.06) ** 2)
    return t, np.clip(y, 0, 1)


def face(t: np.ndarray, jaw: np.ndarray) -> np.ndarray:
    """(T, 52) pose: a resting face with jawOpen, mouthClose and mouthFunnel following ``jaw``."""
    out = np.full((len(t), len(vm.ARKIT_NAMES)), 0.05)
    out[:, vm.JAW_OPEN] = jaw
    out[:, vm.ARKIT_NAMES.index("mouthFunnel")] = 0.1 + 0.3 * jaw
    out[:, vm.ARKIT_NAMES.index("mouthClose")] = 0.2 - 0.1 * jaw
    return out


@pytest.fixture
def clip():
    pt, jaw = speech_like()
    t = np.arange(0, 6.0, 1 / FPS)
    return t, face(t, np.interp(t, pt, jaw)), pt, face(pt, jaw)


def test_perfect_prediction_scores_one(clip):
    t, label, pt, pred = clip
    m = vm.clip_metrics(t, label, pt, pred)
    assert m["r_jaw"] == pytest.approx(1.0, abs=1e-6)
    assert m["r_mouth"] == pytest.approx(1.0, abs=1e-6)
    assert m["moving_channels"] == 3  # jawOpen, mouthFunnel, mouthClose move; the rest rest
    assert m["skill"] == pytest.approx(100.0, abs=1e-6)
    assert m["amp"] == pytest.approx(1.0, abs=1e-6)
    assert m["lag_ms"] == 0.0


def test_constant_prediction_scores_zero_skill_whatever_its_level(clip):
    t, label, _, _ = clip
    for level in (label.mean(axis=0), np.zeros(52), np.full(52, 0.7)):
        pred = np.repeat(level[None], len(t), axis=0)
        assert vm.centred_skill(pred, label) == pytest.approx(0.0, abs=1e-12)
        m = vm.clip_metrics(t, label, t, pred)
        assert m["r_jaw"] == 0.0 and m["r_mouth"] == 0.0 and m["amp"] == pytest.approx(0.0, abs=1e-9)


def test_skill_ignores_offsets_but_not_scale(clip):
    t, label, _, _ = clip
    assert vm.centred_skill(label + 0.3, label) == pytest.approx(1.0)  # a different resting face is free
    assert vm.centred_skill(label.mean(axis=0) + 0.5 * (label - label.mean(axis=0)), label) == pytest.approx(0.5)
    assert vm.centred_skill(label.mean(axis=0) - (label - label.mean(axis=0)), label) == pytest.approx(-1.0)


def test_amplitude_ratio(clip):
    t, label, _, _ = clip
    jaw = label[:, vm.JAW_OPEN]
    assert vm.amplitude_ratio(0.5 * jaw + 0.2, jaw) == pytest.approx(0.5)
    assert vm.amplitude_ratio(2 * jaw, jaw) == pytest.approx(2.0)
    assert np.isnan(vm.amplitude_ratio(jaw, np.full_like(jaw, 0.1)))


@pytest.mark.parametrize("shift_ms", [-120, -40, 0, 60, 150])
def test_lag_detection_finds_a_known_shift(shift_ms):
    pt, jaw = speech_like(seed=3)
    t = np.arange(0.5, 5.5, 1 / FPS)
    label = np.interp(t, pt, jaw)
    late = np.interp(pt - shift_ms / 1000, pt, jaw)  # the prediction shows each movement shift_ms late
    lag, r = vm.best_lag(t, label, pt, late)
    assert lag == pytest.approx(shift_ms, abs=10)  # positive: prediction late
    assert r > 0.95


def test_lag_detection_is_limited_to_its_window():
    pt, jaw = speech_like(seed=4)
    t = np.arange(0.5, 5.5, 1 / FPS)
    lags, rs = vm.lag_curve(t, np.interp(t, pt, jaw), pt, jaw, max_s=0.2)
    assert lags[0] == pytest.approx(-0.2) and lags[-1] == pytest.approx(0.2)
    assert np.nanargmax(rs) == len(lags) // 2


def test_labels_with_missing_frames_compare_at_their_own_times(clip):
    t, label, pt, pred = clip
    keep = np.ones(len(t), bool)
    keep[40:70] = False  # no face found for a while: those frames are absent from the label
    m = vm.clip_metrics(t[keep], label[keep], pt, pred)
    assert m["r_jaw"] == pytest.approx(1.0, abs=1e-6) and m["skill"] == pytest.approx(100.0, abs=1e-6)


def test_sync_check_flags_a_shifted_clip_and_keeps_good_and_hopeless_ones():
    rng = np.random.default_rng(7)
    pt, jaw = speech_like(seconds=8, seed=5)
    t = np.arange(0, 8, 1 / FPS)
    label = np.interp(t, pt, jaw)

    def predictors(shift_s: float) -> dict:
        out = {}
        for k, own_lag in enumerate((0.0, 0.04, -0.03)):  # each predictor a little early or late
            y = np.interp(pt - shift_s - own_lag, pt, jaw) + rng.normal(0, 0.08, len(pt))
            out[f"p{k}"] = (pt, y)
        return out

    good = vm.sync_check(t, label, predictors(0.0))
    assert not good.off and abs(good.lag_ms) <= 60, good
    # the sound track runs 320 ms behind the picture: every prediction comes late by that much
    shifted = vm.sync_check(t, label, predictors(0.32))
    assert shifted.off, shifted
    assert shifted.lag_ms == pytest.approx(320, abs=40)
    assert "out of step" in shifted.reason and shifted.votes == 3
    early = vm.sync_check(t, label, predictors(-0.4))
    assert early.off and early.lag_ms == pytest.approx(-400, abs=40)
    # predictors that follow nothing: no clear peak anywhere, so the clip is kept (conservative)
    noise = {f"n{k}": (pt, rng.normal(0, 1, len(pt))) for k in range(3)}
    hopeless = vm.sync_check(t, label, noise)
    assert not hopeless.off, hopeless


def test_sync_check_leaves_short_clips_alone_and_drops_labels_that_never_move():
    pt, jaw = speech_like(seconds=1.2, seed=6)
    t = np.arange(0, 1.2, 1 / FPS)
    label = np.interp(t, pt, jaw)
    short = vm.sync_check(t, label, {"p": (pt, np.interp(pt - 0.3, pt, jaw))})
    assert not short.off and "too short" in short.reason
    pt, jaw = speech_like(seconds=6, seed=8)
    t = np.arange(0, 6, 1 / FPS)
    flat = vm.sync_check(t, 0.003 + 0.001 * np.interp(t, pt, jaw), {"p": (pt, jaw)})
    assert flat.off and "never opens" in flat.reason


def test_pooled_lag_is_the_shift_that_suits_the_whole_set():
    clips = []
    for seed in range(4):
        pt, jaw = speech_like(seconds=3, seed=10 + seed)
        t = np.arange(0.2, 2.8, 1 / FPS)
        clips.append((t, np.interp(t, pt, jaw), pt, np.interp(pt - 0.08, pt, jaw)))  # every prediction 80 ms late
    lag, r = vm.pooled_lag(clips)
    assert lag == pytest.approx(80, abs=10) and r > 0.9


def fixed_prediction(t: np.ndarray, label: np.ndarray, pred: np.ndarray) -> tuple[list, object]:
    """One labelled clip and a predictor that always returns ``pred``: what clip_errors reads."""

    class Fixed:
        def predict(self, clip):
            return t, pred

    class Clip:
        pass

    clip = Clip()
    clip.t, clip.label, clip.audio = t, label, np.zeros(1)
    return [clip], Fixed()


def test_channel_gains_keep_what_is_predicted_and_silence_noise():
    """scripts/voice/voice_channel_gain.py: a channel predicted right keeps gain 1, one predicted as
    noise is held still (gain 0), jawOpen is never scaled, and the chosen gains raise the skill."""
    import voice_channel_gain as vcg

    t, jaw = speech_like(seed=3)
    label = face(t, jaw)
    pred = label.copy()
    rng = np.random.default_rng(0)
    noisy = vm.ARKIT_NAMES.index("mouthPressLeft")
    label[:, noisy] = 0.2 + 0.1 * speech_like(seed=4)[1]
    pred[:, noisy] = 0.2 + 0.1 * rng.random(len(t))  # unrelated to the label
    pred[:, vm.JAW_OPEN] = 0.5 * jaw + 0.3 * rng.random(len(t))  # poor, but jaw is kept anyway

    err, base = vcg.clip_errors(*fixed_prediction(t, label, pred))
    gains = vcg.choose(err, base)
    k = {c: i for i, c in enumerate(vm.MOUTH_JAW)}
    assert gains[k[noisy]] == 0.0
    assert gains[k[vm.ARKIT_NAMES.index("mouthFunnel")]] == 1.0
    assert gains[k[vm.JAW_OPEN]] == 1.0
    before, after = vcg.skill(err, base, np.ones(len(gains)))[0], vcg.skill(err, base, gains)[0]
    assert after > before
    direct = vm.centred_skill(vm.resample(t, pred, t), label) * 100
    assert before == pytest.approx(direct, abs=1e-6)


def test_channel_gains_can_enlarge_a_timid_channel_and_agree_keeps_one_direction():
    """--max-gain above 1: a channel with the right timing but a quarter of the motion gets its
    motion back; --agree leaves a gain at 1 where the other clip points the other way."""
    import voice_channel_gain as vcg

    t, jaw = speech_like(seed=5)
    label = face(t, jaw)
    pred = label.copy()
    timid = vm.ARKIT_NAMES.index("mouthSmileLeft")
    label[:, timid] = 0.1 + 0.2 * jaw
    pred[:, timid] = 0.1 + 0.05 * jaw

    k = {c: i for i, c in enumerate(vm.MOUTH_JAW)}[timid]
    assert vcg.choose(*vcg.clip_errors(*fixed_prediction(t, label, pred)))[k] == 1.0  # the default grid stops at 1
    grid = np.round(np.arange(0.0, 8.05, 0.1), 2)
    err, base = vcg.clip_errors(*fixed_prediction(t, label, pred), grid)
    gains = vcg.choose(err, base, grid)
    assert gains[k] == pytest.approx(4.0, abs=0.15)
    assert vcg.skill(err, base, gains, grid)[0] > vcg.skill(err, base, np.ones(len(gains)), grid)[0]
    assert list(vcg.agree(np.array([0.5, 3.0, 0.5, 3.0]), np.array([0.2, 2.0, 1.5, 0.5]))) == [0.5, 3.0, 1.0, 1.0]
