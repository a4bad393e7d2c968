"""`kinemo audio` end to end: formats, rates, channels, bad input, several files, OSC."""

import csv
import json
import socket
import threading

import numpy as np
import pytest
import soundfile as sf
from conftest import SHARED, free_udp_port, require, run_kinemo
from pythonosc.osc_packet import OscPacket

from kinemo import protocol
from kinemo.takes import LLF_HEADER
from kinemo.voice.audio_io import AudioFileSource
from kinemo.voice.visemes import NEUTRAL

JAW = protocol.ARKIT_INDEX["jawOpen"]


@pytest.fixture(scope="module")
def speech():
    """Three seconds of real speech at 16 kHz, and its sound files in several shapes."""
    audio = np.concatenate(list(AudioFileSource(require(SHARED / "data/speech/jfk.flac")).blocks()))
    return audio[: 3 * 16000]


@pytest.fixture(scope="module")
def files(speech, tmp_path_factory):
    import soxr

    d = tmp_path_factory.mktemp("voice-audio")
    sf.write(d / "speech.wav", speech, 16000)
    sf.write(d / "speech8k.wav", soxr.resample(speech, 16000, 8000), 8000)
    sf.write(d / "speech96k.flac", soxr.resample(speech, 16000, 96000), 96000, subtype="PCM_24")
    sf.write(d / "six.wav", np.repeat(speech[:, None], 6, axis=1) * np.linspace(0.5, 1.0, 6), 16000)
    sf.write(d / "vorbis.ogg", speech, 16000)
    sf.write(d / "mpeg.mp3", soxr.resample(speech, 16000, 44100), 44100)
    sf.write(d / "silent.wav", np.zeros(32000, np.float32), 16000)
    sf.write(d / "short.wav", speech[8000:9600], 16000)  # 0.1 s
    (d / "empty.wav").write_bytes(b"")
    (d / "text.wav").write_text("this is not audio\n" * 50)
    (d / "corrupt.flac").write_bytes(b"fLaC" + np.random.default_rng(0).bytes(5000))
    whole = (d / "speech.wav").read_bytes()
    (d / "truncated.wav").write_bytes(whole[: len(whole) // 2])
    (d / "folder.wav").mkdir()
    return d


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == LLF_HEADER
    return np.array([[float(v) for v in r[2:54]] for r in rows[1:]], np.float32), [r[0] for r in rows[1:]]


def test_wav_to_live_link_face_csv(files, tmp_path):
    out = tmp_path / "take.csv"
    r = run_kinemo("audio", str(files / "speech.wav"), "-o", str(out), "-q")
    assert r.returncode == 0, r.stderr
    values, timecodes = read_csv(out)
    assert len(values) == 180  # 3 s at the default 60 fps
    assert timecodes[0] == "00:00:00:00.000" and timecodes[60] == "00:00:01:00.000"
    assert values[:, JAW].max() > NEUTRAL[JAW] + 0.1 and values[:, JAW].std() > 0.03
    assert np.all((values >= 0) & (values <= 1))


NAMES = ["speech8k.wav", "speech96k.flac", "six.wav", "vorbis.ogg", "mpeg.mp3"]


def test_any_rate_channels_and_format_gives_the_same_animation(files, tmp_path):
    """8 kHz, 96 kHz/24-bit, 6 channels, OGG, MP3: one run, all animated like the 16 kHz WAV."""
    r = run_kinemo("audio", str(files / "speech.wav"), *(str(files / n) for n in NAMES), "-o", str(tmp_path),
                   "-q", "--fps", "25")
    assert r.returncode == 0, r.stderr
    a, _ = read_csv(tmp_path / "speech.csv")
    for name in NAMES:
        b, _ = read_csv(tmp_path / (name.split(".")[0] + ".csv"))
        assert abs(len(a) - len(b)) <= 1, name
        n = min(len(a), len(b))
        lag = 4 if name.endswith(".mp3") else 0  # mp3 encoders add leading padding
        r_jaw = max(np.corrcoef(a[:n - k, JAW], b[k:n, JAW])[0, 1] for k in range(lag + 1))
        assert r_jaw > (0.8 if "8k" in name else 0.95), (name, r_jaw)


def test_video_sound_track_to_json_and_npz(grid_clips, tmp_path):
    clip = grid_clips[0]
    r = run_kinemo("audio", str(clip), "-o", str(tmp_path / "t.json"), "--fps", "25", "-q")
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "t.json").read_text())
    assert len(doc["time"]) == 75 and doc["fps"] == 25  # GRID: 3 s, the video's 75 frames
    assert np.allclose(np.diff(doc["time"]), 0.04)
    lm = doc["landmarks"][10]
    assert lm is not None and np.asarray(lm).shape == (478, 3)
    r = run_kinemo("audio", str(clip), "-o", str(tmp_path / "t.npz"), "--fps", "30", "-q")
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "t.npz", allow_pickle=False) as z:
        assert z["blendshapes"].shape == (90, 52)
        assert np.isfinite(z["landmarks"]).all()
        mouth_gap = np.linalg.norm(z["landmarks"][:, 13] - z["landmarks"][:, 14], axis=1)  # inner lips
        jaw = z["blendshapes"][:, JAW]
    assert np.corrcoef(mouth_gap, jaw)[0, 1] > 0.8  # landmarks open the mouth with the jaw


def test_silent_and_very_short_files_are_valid_takes(files, tmp_path):
    r = run_kinemo("audio", str(files / "silent.wav"), str(files / "short.wav"), "-o", str(tmp_path), "-q")
    assert r.returncode == 0, r.stderr
    silent, _ = read_csv(tmp_path / "silent.csv")
    assert len(silent) == 120
    np.testing.assert_allclose(silent, np.broadcast_to(NEUTRAL, silent.shape), atol=1e-6)  # mouth closed
    short, _ = read_csv(tmp_path / "short.csv")
    assert len(short) == 6  # 0.1 s at 60 fps


@pytest.mark.parametrize("name, message", [
    ("empty.wav", "is empty"),
    ("text.wav", "cannot read"),
    ("corrupt.flac", "cannot read"),
    ("folder.wav", "is a directory"),
    ("missing.wav", "no such file"),
])
def test_bad_file_is_one_clear_line(files, tmp_path, name, message):
    r = run_kinemo("audio", str(files / name), "-o", str(tmp_path / "x.csv"))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("kinemo: error:")]
    assert len(errors) == 1 and message in errors[0], r.stderr
    assert not (tmp_path / "x.csv").exists()


def test_several_files_bad_ones_reported_rest_processed(files, tmp_path):
    names = ["speech.wav", "empty.wav", "truncated.wav", "text.wav", "speech8k.wav", "folder.wav"]
    r = run_kinemo("audio", *(str(files / n) for n in names), "-o", str(tmp_path), "--format", "json", "-q")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("kinemo: error:")]
    assert len(errors) == 3, r.stderr
    for good in ("speech", "speech8k", "truncated"):  # a cut-off WAV yields what it holds
        doc = json.loads((tmp_path / f"{good}.json").read_text())
        assert len(doc["time"]) > 0
    assert len(json.loads((tmp_path / "truncated.json").read_text())["time"]) in range(80, 95)  # ~1.5 s
    assert not (tmp_path / "empty.json").exists()


def test_streams_the_same_frames_over_osc(files, tmp_path):
    port = free_udp_port()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(0.5)
    received, done = [], threading.Event()

    def listen():
        while not done.is_set():
            try:
                data, _ = sock.recvfrom(65536)
            except TimeoutError:
                continue
            for m in OscPacket(data).messages:
                if m.message.address == "/kinemo/face/blendshapes":
                    received.append(m.message.params)

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    out = tmp_path / "take.csv"
    r = run_kinemo("audio", str(files / "speech.wav"), "-o", str(out), "--osc", f"127.0.0.1:{port}", "--fps", "30",
                   "-q", "--realtime")
    done.set()
    thread.join(timeout=3)
    sock.close()
    assert r.returncode == 0, r.stderr
    values, _ = read_csv(out)
    assert len(received) == len(values) == 90
    seqs = [p[0] for p in received]
    assert seqs == list(range(90))
    np.testing.assert_allclose(np.array([p[3:55] for p in received]), values, atol=1e-6)


def test_help_teaches():
    r = run_kinemo("audio", "--help")
    assert r.returncode == 0 and "examples:" in r.stdout and "--fps" in r.stdout
    r = run_kinemo("mic", "--help")
    assert r.returncode == 0 and "--device" in r.stdout and "latency" in r.stdout.lower()
