"""The shipped voice model on real speakers it never heard: the five GRID development clips.

Labels come from MediaPipe on the clips' video, as in scripts/voice_eval.py (reused here).
The bounds sit below the numbers in docs/voice-model.md: they catch a broken model,
features or alignment, not a percent of drift.
"""

import sys

import numpy as np
import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import voice_eval  # noqa: E402


@pytest.fixture(scope="module")
def evaluation(grid_clips, face_model, tmp_path_factory):
    cache = tmp_path_factory.mktemp("grid-labels")
    out = {}
    for clip in grid_clips:
        label = voice_eval.video_labels(clip, cache)
        pred = voice_eval.predict(clip, None, 25.0)
        n = min(len(label), len(pred))
        out[clip.stem] = (pred[:n], label[:n], voice_eval.frame_rms(clip, n, 25.0))
    return out


def test_frames_line_up_with_the_video(evaluation):
    for pred, label, _ in evaluation.values():
        assert len(pred) == len(label) == 75  # 3 s at 25 fps, one prediction per video frame


def test_jaw_follows_real_speakers_better_than_energy(evaluation):
    ours, energy = [], []
    for pred, label, rms in evaluation.values():
        ours.append(np.corrcoef(pred[:, voice_eval.JAW_OPEN], label[:, voice_eval.JAW_OPEN])[0, 1])
        energy.append(np.corrcoef(rms, label[:, voice_eval.JAW_OPEN])[0, 1])
    assert np.mean(ours) > 0.35, ours
    assert np.mean(ours) > np.mean(energy) + 0.1, (ours, energy)


def test_mouth_error_below_the_other_speakers_mean_pose(evaluation):
    skills = []
    for name, (pred, label, _) in evaluation.items():
        others = np.concatenate([lab for k, (_, lab, _) in evaluation.items() if k != name])
        skills.append(voice_eval.metrics(pred, label, others.mean(axis=0))["skill"])
    assert np.mean(skills) > 5.0, skills  # % less mouth+jaw error than the mean-pose baseline
