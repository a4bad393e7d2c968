"""The voice engine: streaming equals offline, bounded look-ahead, silence, features, the shipped model."""

import numpy as np
import pytest
from conftest import SHARED, require

from kinemo.voice.audio_io import AudioFileSource
from kinemo.voice.engine import VoiceAnimator, VoiceAnimatorOptions
from kinemo.voice.features import SAMPLE_RATE, LogMelStream, log_mel
from kinemo.voice.net import DEFAULT_MODEL
from kinemo.voice.visemes import NEUTRAL, SPEECH_INDEX

JAW = 17


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """Six seconds of real speech (JFK, 1961), 16 kHz mono."""
    audio = np.concatenate(list(AudioFileSource(require(SHARED / "data/speech/jfk.flac")).blocks()))
    return audio[: 6 * SAMPLE_RATE]


def run_blocks(animator: VoiceAnimator, audio: np.ndarray, sizes) -> np.ndarray:
    animator.reset()
    out, i, k = [], 0, 0
    while i < len(audio):
        n = sizes[k % len(sizes)]
        out += animator.process_audio_block(audio[i:i + n])
        i, k = i + n, k + 1
    out += animator.finish()
    return np.stack([f.blendshapes for f in out]), np.array([f.time for f in out])


def test_shipped_model_is_small_and_loads():
    assert DEFAULT_MODEL.stat().st_size <= 5 * 1024 * 1024
    animator = VoiceAnimator.create_from_options(VoiceAnimatorOptions(smoothing="live"))
    assert animator.lookahead_s <= 0.100  # the bound on future audio
    assert animator.net.delay >= 1


def test_features_are_identical_in_any_block_size(speech):
    whole = log_mel(speech)
    stream, parts, i = LogMelStream(), [], 0
    rng = np.random.default_rng(0)
    while i < len(speech):
        n = int(rng.integers(1, 1500))
        parts.append(stream.push(speech[i:i + n]))
        i += n
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-4)  # float32 FFT batching only
    assert len(whole) == len(speech) // 160


@pytest.mark.parametrize("smoothing", ["live", "savgol"])
@pytest.mark.parametrize("fps", [25, 60])
def test_sound_card_blocks_give_the_offline_result(speech, smoothing, fps):
    animator = VoiceAnimator.create_from_options(VoiceAnimatorOptions(fps=fps, smoothing=smoothing))
    offline, t_off = run_blocks(animator, speech, [len(speech)])
    live, t_live = run_blocks(animator, speech, [256, 1024, 480, 512, 333])
    assert len(offline) == len(live) == int(np.ceil(len(speech) / SAMPLE_RATE * fps))
    assert np.array_equal(t_off, t_live)
    np.testing.assert_allclose(live, offline, atol=1e-4)
    assert offline[:, JAW].std() > 0.02  # it actually moves with the speech


def test_a_block_that_completes_no_frame_runs_no_network(speech):
    """Live blocks that emit nothing leave their feature frames for the next block's network call."""
    animator = VoiceAnimator.create_from_options(VoiceAnimatorOptions(fps=60, smoothing="live"))
    offline, _ = run_blocks(animator, speech, [len(speech)])
    animator.reset()
    calls, push = [], animator.net.push
    animator.net.push = lambda *a, **k: calls.append(len(a[0])) or push(*a, **k)
    frames, emitted = [], []
    for i in range(0, len(speech), 256):
        out = animator.process_audio_block(speech[i:i + 256])
        emitted.append(len(out))
        frames += out
    frames += animator.finish()
    assert emitted.count(0) > 0
    assert len(calls) <= len(emitted) - emitted.count(0) + 1  # + the call in finish()
    assert max(calls) >= 3  # deferred frames ride along with the next block's
    np.testing.assert_allclose(np.stack([f.blendshapes for f in frames]), offline, atol=1e-4)


def test_future_audio_beyond_the_lookahead_changes_nothing(speech):
    """Frames up to t may not depend on audio after t + look-ahead (the live latency claim)."""
    animator = VoiceAnimator.create_from_options(VoiceAnimatorOptions(fps=60, smoothing="live"))
    cut = 3 * SAMPLE_RATE
    other = speech.copy()
    other[cut:] = np.random.default_rng(1).standard_normal(len(speech) - cut).astype(np.float32) * 0.3
    a, t = run_blocks(animator, speech, [512])
    b, _ = run_blocks(animator, other, [512])
    before = t < cut / SAMPLE_RATE - animator.lookahead_s
    after = t > cut / SAMPLE_RATE + 0.05
    np.testing.assert_array_equal(a[before], b[before])
    assert np.abs(a[after] - b[after]).max() > 1e-3  # and later frames do follow the audio


def test_silence_closes_the_mouth(speech):
    animator = VoiceAnimator.create_from_options(VoiceAnimatorOptions(fps=60))
    audio = np.concatenate([speech[: 2 * SAMPLE_RATE], np.zeros(2 * SAMPLE_RATE, np.float32)])
    poses, t = run_blocks(animator, audio, [4000])
    quiet = t > 2.4
    np.testing.assert_allclose(poses[quiet][:, SPEECH_INDEX], np.broadcast_to(NEUTRAL[SPEECH_INDEX],
                                                                              (quiet.sum(), len(SPEECH_INDEX))),
                               atol=1e-5)
    speaking = t < 1.9
    assert poses[speaking, JAW].max() > NEUTRAL[JAW] + 0.1


def test_blinks_are_optional_and_reproducible(speech):
    plain = VoiceAnimator.create_from_options(VoiceAnimatorOptions(fps=30))
    lively = VoiceAnimator.create_from_options(VoiceAnimatorOptions(fps=30, blinks=True, seed=3))
    a, _ = run_blocks(plain, speech, [len(speech)])
    b, _ = run_blocks(lively, speech, [len(speech)])
    c, _ = run_blocks(lively, speech, [len(speech)])
    blink = 0  # eyeBlinkLeft
    assert np.ptp(a[:, blink]) == 0.0
    assert b[:, blink].max() > 0.8  # at least one full blink in six seconds
    np.testing.assert_array_equal(b, c)
