"""The file engine (Whisper tiny.en encoder + our head): streaming equals whole-file, memory stays bounded."""

import numpy as np
import pytest
from conftest import SHARED, require

from kinemo.protocol import ARKIT_INDEX
from kinemo.voice.audio_io import AudioFileSource
from kinemo.voice.engine import VoiceAnimator, VoiceAnimatorOptions
from kinemo.voice.features import SAMPLE_RATE
from kinemo.voice.net import FILE_MODEL, load_voice_net
from kinemo.voice.visemes import NEUTRAL
from kinemo.voice.whisper import MARGIN_S, SAMPLES_PER_FRAME, WINDOW_S, WhisperEncoder, WhisperVoiceNet

JAW = ARKIT_INDEX["jawOpen"]


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    """22 s of real speech (JFK's 11 s twice): several encoder windows, 16 kHz mono."""
    audio = np.concatenate(list(AudioFileSource(require(SHARED / "data/speech/jfk.flac")).blocks()))
    return np.concatenate([audio, audio])


@pytest.fixture(scope="module")
def animator() -> VoiceAnimator:
    return VoiceAnimator.create_from_options(VoiceAnimatorOptions(model_path=FILE_MODEL, fps=30))


def run_blocks(animator: VoiceAnimator, audio: np.ndarray, size: int) -> np.ndarray:
    animator.reset()
    out = []
    for i in range(0, len(audio), size):
        out += animator.process_audio_block(audio[i:i + size])
    out += animator.finish()
    return np.stack([f.blendshapes for f in out])


def test_file_model_is_the_whisper_network_and_covers_the_lower_face():
    net = load_voice_net(FILE_MODEL)
    assert isinstance(net, WhisperVoiceNet)
    # the heads (two networks, two linear jaws); the encoder comes from its package. The linear jaws
    # keep only the column their mix reads, jawOpen's (scripts/voice/voice_file_prune.py): 5.1 → 3.7 MB
    assert FILE_MODEL.stat().st_size <= 4 * 1024 * 1024
    for name in ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthPressLeft", "cheekPuff",
                 "mouthSmileRight", "noseSneerLeft"):
        assert name in net.channels
    assert not any(c.startswith(("eye", "brow")) for c in net.channels)


def test_file_model_reads_the_whole_encoder_and_the_one_cut_after_three_blocks(speech):
    """v2.5: the network heads read the whole encoder, the second linear jaw the encoder cut
    after its third block; both outputs side by side are what the graph takes."""
    net = load_voice_net(FILE_MODEL)
    assert net.encoder.blocks == (4, 3)
    feats = net.encoder.encode(speech[: 5 * SAMPLE_RATE])
    assert feats.shape[1] == 768
    curves = net._head.run(None, {"features": feats[None]})[0][0]
    assert curves.shape == (len(feats), len(net.channels)) and np.isfinite(curves).all()
    jaw = net.channels.index("jawOpen")
    cut = feats.copy()
    cut[:, 384:] = feats[:, 384:].mean(axis=0)  # take the cut encoder's information away: the jaw changes
    moved = net._head.run(None, {"features": cut[None]})[0][0]
    assert np.abs(moved[:, jaw] - curves[:, jaw]).mean() > 0.01
    others = [i for i in range(len(net.channels)) if i != jaw]
    np.testing.assert_allclose(moved[:, others], curves[:, others], atol=1e-6)  # the rest reads the whole encoder


def test_any_block_size_gives_the_whole_file_result(animator, speech):
    whole = run_blocks(animator, speech, len(speech))
    assert len(whole) == int(np.ceil(len(speech) / SAMPLE_RATE * 30))
    for size in (256, 16000, 123457):
        np.testing.assert_array_equal(run_blocks(animator, speech, size), whole)


def test_speech_moves_the_jaw_and_silence_rests_it(animator, speech):
    pad = np.zeros(3 * SAMPLE_RATE, np.float32)
    poses = run_blocks(animator, np.concatenate([pad, speech[: 6 * SAMPLE_RATE], pad]), 4096)
    t = np.arange(len(poses)) / 30
    talking = poses[(t > 3.5) & (t < 8.5), JAW]
    quiet = poses[(t < 2.0) | (t > 10.0)]
    assert talking.max() > NEUTRAL[JAW] + 0.1 and talking.std() > 0.02  # it opens and closes
    np.testing.assert_allclose(quiet, np.broadcast_to(NEUTRAL, quiet.shape), atol=1e-6)  # far from speech: rest


def test_long_input_holds_only_a_window_of_audio(speech):
    net = load_voice_net(FILE_MODEL)
    block = np.asarray(speech[:SAMPLE_RATE], np.float32)
    for _ in range(40):  # 40 s in 1 s blocks
        net.push(np.zeros((100, 1), np.float32), block)
        assert len(net._audio) <= (WINDOW_S + 2) * SAMPLE_RATE
        assert len(net._curves) <= 200


def test_encoder_windows_join_without_a_seam(speech):
    """Long audio is cut into overlapping windows; each frame comes from a window's centre."""
    enc = WhisperEncoder()
    feats = enc.encode(speech)
    assert feats.shape == (int(np.ceil(len(speech) / SAMPLES_PER_FRAME)), 384)
    assert np.isfinite(feats).all()
    first = enc.encode(speech[: int(WINDOW_S * SAMPLE_RATE)])
    # well inside the first window, the first 10 s alone and the windowed whole agree
    np.testing.assert_allclose(feats[50:400], first[50:400], atol=1e-3)


def test_windows_hand_over_without_a_step(speech):
    """Where one encoder window's frames give way to the next (every 8 s), the curves must not jump.

    Two windows never agree exactly; switching hard from one to the other made the shipped
    model step by up to 0.1 in a channel at 17 s of this speech, while its frames otherwise
    change by less than 0.005 per 10 ms. The hand-over is a cross-fade now.
    """
    net = load_voice_net(FILE_MODEL)
    rows = net.push(np.zeros((len(speech) // 160, 1), np.float32), np.asarray(speech, np.float32), final=True)
    step = np.abs(np.diff(rows, axis=0)).max(axis=1)  # largest change of any channel, 10 ms apart
    hand_overs = [WINDOW_S - MARGIN_S + k * (WINDOW_S - 2 * MARGIN_S) for k in range(2)]  # 9 s, 17 s
    assert hand_overs[-1] < len(rows) / 100 - MARGIN_S  # both inside the speech
    for t in hand_overs:
        k = int(round(t * 100))
        assert step[k - 3:k + 3].max() < 0.02, f"step of {step[k - 3:k + 3].max():.3f} where windows meet at {t:g} s"
