"""The motion generator and the window features: real numbers, no model involved."""

from __future__ import annotations

import numpy as np
import pytest

from kinemo.body import features
from kinemo.body.generator import EXTRA_MOTIONS, SHIFTED, TRAIN, VOCABULARY, generate, random_script, with_config
from kinemo.body.skeleton import INDEX, LANDMARK_NAMES, MIRROR, mirror

FRONT = with_config(TRAIN, camera_yaw_deg=(-25, 25), mirror_prob=0.0, occlusion_prob=(0, 0), upper_body_prob=0.0,
                    noise=(0.002, 0.004))


def square(seq):
    """Landmarks in square image units (undo MediaPipe's per-axis normalisation)."""
    return seq.landmarks[..., :3] * np.array([seq.aspect, 1.0, seq.aspect])


def steady(seq, label: str, margin: float = 0.8) -> np.ndarray:
    (_, a, b), = [s for s in seq.segments if s[0] == label]
    return (seq.time >= a + margin) & (seq.time < b - 0.2)


def test_same_seed_same_take_other_seed_other_take():
    script = [("idle", 1.0), ("wave", 2.0)]
    a = generate(np.random.default_rng(5), script)
    b = generate(np.random.default_rng(5), script)
    c = generate(np.random.default_rng(6), script)
    assert np.array_equal(a.landmarks, b.landmarks) and np.array_equal(a.time, b.time)
    assert a.landmarks.shape[1:] == (33, 4) and a.landmarks.dtype == np.float32
    assert not np.array_equal(a.landmarks[: len(c.time)], c.landmarks[: len(a.time)])


def test_every_motion_renders_with_sane_values():
    rng = np.random.default_rng(0)
    for label in (*VOCABULARY, *EXTRA_MOTIONS):
        for cfg in (TRAIN, SHIFTED):
            seq = generate(rng, random_script(rng, label) if label in VOCABULARY else [(label, 2.0)], cfg)
            assert np.isfinite(seq.landmarks).all(), label
            vis = seq.landmarks[..., 3]
            assert vis.min() >= 0 and vis.max() <= 1
            assert np.all(np.diff(seq.time) > 0)
            assert seq.segments[0][1] == 0.0 and seq.time[-1] < seq.segments[-1][2]
            # most of the body is inside the frame most of the time
            inside = (seq.landmarks[..., :2] > -0.1) & (seq.landmarks[..., :2] < 1.1)
            assert inside.all(axis=-1).mean() > 0.5, label


def test_mirror_swaps_sides_and_is_its_own_inverse():
    assert LANDMARK_NAMES[MIRROR[INDEX["left_wrist"]]] == "right_wrist"
    assert LANDMARK_NAMES[MIRROR[INDEX["nose"]]] == "nose"
    lm = generate(np.random.default_rng(1), [("clap", 2.0)]).landmarks
    assert np.allclose(mirror(mirror(lm)), lm)


def test_hands_up_raises_both_wrists_above_the_shoulders():
    for seed in range(6):
        seq = generate(np.random.default_rng(seed), [("idle", 1.0), ("hands_up", 3.0)], FRONT)
        y = square(seq)[steady(seq, "hands_up"), :, 1]
        shoulders = y[:, [INDEX["left_shoulder"], INDEX["right_shoulder"]]].min(axis=1)
        for wrist in ("left_wrist", "right_wrist"):
            assert (y[:, INDEX[wrist]] < shoulders).mean() > 0.9, (seed, wrist)


def test_idle_keeps_a_hand_down_and_squat_and_jump_move_the_hips():
    def hip_range(seq, label):
        y = square(seq)[steady(seq, label, 0.3)]
        hips = 0.5 * (y[:, INDEX["left_hip"], 1] + y[:, INDEX["right_hip"], 1])
        torso = np.median(hips - 0.5 * (y[:, INDEX["left_shoulder"], 1] + y[:, INDEX["right_shoulder"], 1]))
        return (hips.max() - hips.min()) / torso

    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        idle = generate(rng, [("idle", 4.0)], FRONT)
        y = square(idle)[..., 1]
        sh = np.maximum(y[:, INDEX["left_shoulder"]], y[:, INDEX["right_shoulder"]])
        assert (np.maximum(y[:, INDEX["left_wrist"]], y[:, INDEX["right_wrist"]]) > sh).all()
        assert hip_range(idle, "idle") < 0.15
        assert hip_range(generate(rng, [("idle", 1.0), ("squat", 4.0)], FRONT), "squat") > 0.25
        assert hip_range(generate(rng, [("idle", 1.0), ("jump", 3.0)], FRONT), "jump") > 0.2


def test_window_features_ignore_position_and_scale_in_the_frame():
    seq = generate(np.random.default_rng(3), [("idle", 1.0), ("jump", 2.0)])
    moved = seq.landmarks.copy()
    # the same person, 0.6x the size and somewhere else in the frame
    moved[..., 0] = (moved[..., 0] * seq.aspect * 0.6 + 0.2) / seq.aspect
    moved[..., 1] = moved[..., 1] * 0.6 + 0.3
    moved[..., 2] *= 0.6
    a = features.window_at(seq.time, seq.landmarks, 2.5, seq.aspect)
    b = features.window_at(seq.time, moved, 2.5, seq.aspect)
    assert a.shape == (features.STEPS, features.FEATURES)
    np.testing.assert_allclose(a, b, atol=1e-4)
    # but motion of the whole body inside the window is kept: a jump is not flattened away
    hips = a.reshape(features.STEPS, 33, 4)[:, INDEX["left_hip"], 1]
    assert hips.max() - hips.min() > 0.1


def test_windows_resample_any_frame_rate_to_the_same_clock():
    seq = generate(np.random.default_rng(4), [("wave", 3.0)], with_config(TRAIN, fps=(60, 60), noise=(0, 0)))
    fast = features.window_at(seq.time, seq.landmarks, 2.5, seq.aspect)
    slow = features.window_at(seq.time[::4], seq.landmarks[::4], 2.5, seq.aspect)  # the same take at 15 FPS
    assert np.abs(fast - slow).mean() < 0.05


@pytest.mark.parametrize("cfg", [TRAIN, SHIFTED])
def test_shifted_ranges_really_differ(cfg):
    assert SHIFTED.tempo != TRAIN.tempo and SHIFTED.camera_yaw_deg != TRAIN.camera_yaw_deg
    assert cfg.fps[0] < cfg.fps[1]
