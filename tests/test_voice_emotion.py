"""Emotion on speech: --emotion shows it where speech leaves the muscles free, the mouth keeps the voice's timing."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest
from conftest import ROOT, free_udp_port, run_kinemo
from pythonosc.osc_message_builder import OscMessageBuilder

from kinemo import protocol
from kinemo.control import ControlListener
from kinemo.errors import KinemoError
from kinemo.face.calibration import Profile
from kinemo.face.personal import Example, PersonalExpressions
from kinemo.protocol import ARKIT_INDEX
from kinemo.takes import read_take
from kinemo.voice.emotion import KEY_CHANNELS, EmotionLayer, parse_emotion, poses_from_profile

SPEECH = ROOT / "rigs" / "media" / "hello.flac"
JAW, CLOSE = ARKIT_INDEX["jawOpen"], ARKIT_INDEX["mouthClose"]


def _speech_frames() -> np.ndarray:
    """Two frames of speech: an open vowel, then lips closed for /m/."""
    f = np.zeros((2, 52), np.float32)
    f[0, JAW] = 0.5
    f[1, CLOSE] = 0.3
    return f


def test_a_smile_still_closes_and_an_angry_mouth_still_opens():
    layer = EmotionLayer(60)
    layer.set("happy", 1.0, immediately=True)
    vowel, closure = layer.apply(_speech_frames())
    for c in ("mouthUpperUpLeft", "mouthLowerDownLeft", "mouthStretchLeft"):  # pull the lips apart
        assert closure[ARKIT_INDEX[c]] == 0.0  # …not while speech closes them
    assert closure[ARKIT_INDEX["mouthSmileLeft"]] > 0.3 and vowel[ARKIT_INDEX["mouthSmileLeft"]] > 0.3
    assert vowel[JAW] == 0.5 and closure[CLOSE] == pytest.approx(0.3)  # the voice's own timing, untouched
    layer.set("anger", 1.0, immediately=True)
    vowel, closure = layer.apply(_speech_frames())
    assert vowel[ARKIT_INDEX["mouthPressLeft"]] == 0.0  # a pressed mouth gives way to an open vowel
    assert vowel[ARKIT_INDEX["browDownLeft"]] >= 0.2  # while the brows show the anger


def test_a_switch_ramps_instead_of_popping():
    layer = EmotionLayer(60)
    layer.set("surprise", 1.0)
    frames = layer.apply(np.zeros((30, 52), np.float32))
    brow = frames[:, ARKIT_INDEX["browInnerUp"]]
    assert brow[0] < 0.1 and np.all(np.diff(brow) >= 0) and brow[-1] > brow[0] + 0.1


def test_emotion_names_and_intensities_are_checked():
    assert parse_emotion("happy:0.8") == ("happy", 0.8) and parse_emotion("sad") == ("sad", 1.0)
    for bad in ("happy:2", "happy:x", ":0.5"):
        with pytest.raises(KinemoError):
            parse_emotion(bad)
    with pytest.raises(KinemoError, match="unknown emotion 'smirk'"):
        EmotionLayer(60).check("smirk")


def test_a_taught_expression_can_be_the_emotion():
    personal = PersonalExpressions()
    rest = np.full(52, 0.05)
    smirk = rest.copy()
    smirk[ARKIT_INDEX["mouthSmileLeft"]] = 0.6
    personal.add("neutral", [Example(rest)])
    personal.add("smirk", [Example(smirk)])
    layer = EmotionLayer(60, poses_from_profile(Profile(personal=personal)))
    layer.set("smirk", 1.0, immediately=True)
    out = layer.apply(np.zeros((1, 52), np.float32))[0]
    assert out[ARKIT_INDEX["mouthSmileLeft"]] == pytest.approx(0.55, abs=1e-5)
    assert out[ARKIT_INDEX["mouthSmileRight"]] == 0.0


def test_kinemo_audio_emotion_raises_its_channels_and_keeps_the_jaw(tmp_path):
    takes = {}
    for name, extra in (("none", []), ("happy", ["--emotion", "happy:0.8"]), ("anger", ["--emotion", "anger:0.8"])):
        r = run_kinemo("audio", str(SPEECH), "-o", str(tmp_path / f"{name}.npz"), "-q", *extra)
        assert r.returncode == 0, r.stderr
        takes[name] = read_take(tmp_path / f"{name}.npz")["blendshapes"]
    for emotion in ("happy", "anger"):
        keys = [ARKIT_INDEX[c] for c in KEY_CHANNELS[emotion]]
        assert (takes[emotion][:, keys] - takes["none"][:, keys]).mean() >= 0.15
        assert np.corrcoef(takes[emotion][:, JAW], takes["none"][:, JAW])[0, 1] >= 0.9


def test_a_batch_takes_each_files_emotion_from_a_csv(tmp_path):
    a, b = tmp_path / "a.flac", tmp_path / "b.flac"
    a.write_bytes(SPEECH.read_bytes())
    b.write_bytes(SPEECH.read_bytes())
    (tmp_path / "emotions.csv").write_text("file,emotion,intensity\na.flac,sad,1\n")
    out = tmp_path / "takes"
    out.mkdir()
    r = run_kinemo("audio", str(a), str(b), "-o", str(out), "--format", "npz", "--emotion", "happy:0.5",
                   "--emotions", str(tmp_path / "emotions.csv"), "-q")
    assert r.returncode == 0, r.stderr
    sad = [ARKIT_INDEX[c] for c in KEY_CHANNELS["sad"]]
    smile = [ARKIT_INDEX[c] for c in KEY_CHANNELS["happy"]]
    ta, tb = read_take(out / "a.npz")["blendshapes"], read_take(out / "b.npz")["blendshapes"]
    assert ta[:, sad].mean() > tb[:, sad].mean() + 0.1  # a.flac: sad from the CSV
    assert tb[:, smile].mean() > ta[:, smile].mean() + 0.1  # b.flac: not listed, so --emotion's happy


@pytest.mark.parametrize(("args", "message"), [
    (["--emotion", "furious"], "unknown emotion"),
    (["--emotion", "happy:3"], "intensity 0-1"),
    (["--emotions", "{csv}"], "not among the inputs"),
])
def test_bad_emotions_are_one_line_before_any_model_loads(tmp_path, args, message):
    (tmp_path / "e.csv").write_text("other.wav,happy,0.5\n")
    args = [a.format(csv=tmp_path / "e.csv") for a in args]
    r = run_kinemo("audio", str(SPEECH), "-o", str(tmp_path / "x.csv"), "--model", str(tmp_path / "none.onnx"), *args)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and message in r.stderr, r.stderr


def test_the_emotion_changes_live_over_osc():
    layer = EmotionLayer(60)
    port = free_udp_port()
    listener = ControlListener(port=port, on_emotion=layer.set)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for name, value in (("nonsense", 0.5), ("anger", 0.7)):
                b = OscMessageBuilder(protocol.ADDR_EMOTION)
                for v in (1, 0.0, 0.0, name, value):
                    b.add_arg(v, "i" if isinstance(v, int) else "s" if isinstance(v, str) else "f")
                s.sendto(b.build().dgram, ("127.0.0.1", port))
            deadline = time.time() + 5
            while layer.name != "anger" and time.time() < deadline:
                time.sleep(0.02)
    finally:
        listener.close()
    assert (layer.name, round(layer.intensity, 3)) == ("anger", 0.7)
    assert listener.malformed == 1  # the unknown emotion was dropped and counted, never raised
