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


@pytest.fixture(scope="module")
def aligned(grid_clips):
    import grid_align

    return {clip.stem: grid_align.align_clip(clip) for clip in grid_clips}


def test_grid_names_spell_their_sentence():
    import grid_align

    assert grid_align.grid_sentence("bbaf2n") == "bin blue at f two now"
    assert grid_align.grid_sentence("lrwp9a") == "lay red with p nine again"
    with pytest.raises(ValueError, match="not a GRID clip name"):
        grid_align.grid_sentence("jfk")


def test_real_speech_is_aligned_inside_the_clip(aligned):
    from kinemo.voice.visemes import PHONES

    for name, phones in aligned.items():
        spoken = [p for p in phones if p[2] != "sil"]
        assert len(spoken) >= 12, (name, phones)  # six words
        assert all(p in PHONES for _, _, p in spoken), name  # every phone has a viseme target
        starts = [s for s, _, _ in phones]
        assert starts == sorted(starts) and phones[-1][1] <= 3.05
        assert 0.2 < spoken[0][0] < spoken[-1][1] < 2.9  # GRID clips open and close with silence
    # "bin blue at f two now": the bilabial /b/ opens it, the diphthong /aw/ ends it
    words = [p for _, _, p in aligned["bbaf2n"] if p != "sil"]
    assert words[0] == "b" and words[-1] == "aw", words


def test_network_recovers_its_labelling_rule_from_real_voices(evaluation, aligned):
    """The acoustic half on real speech: the model's jawOpen against its own rule on the real phone timing."""
    from kinemo.voice.visemes import full_pose, phone_curves

    rs = []
    for name, (pred, _, _) in evaluation.items():
        t = np.arange(len(pred)) / 25.0
        rule = full_pose(phone_curves(aligned[name], t))
        rs.append(np.corrcoef(pred[:, voice_eval.JAW_OPEN], rule[:, voice_eval.JAW_OPEN])[0, 1])
    assert np.mean(rs) > 0.7, rs  # 0.82 in docs/voice-model.md


def test_rule_is_weights_times_targets():
    from kinemo.voice.visemes import PHONES, TARGET_TABLE, phone_curves, phone_weights

    t = np.arange(0, 1.5, 0.01)
    phones = [(0.5, 0.6, "b"), (0.6, 0.75, "aa"), (0.75, 0.8, "t"), (1.2, 1.3, "uw")]
    w = phone_weights(phones, t)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-5)
    assert w[0, PHONES.index("sil")] == 1.0  # nothing near the start: silence
    assert w[np.searchsorted(t, 0.7)].argmax() == PHONES.index("aa")  # inside the vowel, the vowel leads
    np.testing.assert_allclose(phone_curves(phones, t, smooth=0), w @ TARGET_TABLE, atol=1e-6)
