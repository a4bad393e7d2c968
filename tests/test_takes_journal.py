"""Nothing lost: takes stream into a journal while they record, so no ending loses more than a second.

Unit tests of the journal and the take writer, then the real ``kinemo video --realtime`` ended by
SIGKILL (recovered with ``kinemo recover``), SIGTERM and SIGHUP (the take written as Ctrl-C would).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import BIN, ROOT, run_kinemo

from kinemo.errors import KinemoError
from kinemo.face.expression import classify
from kinemo.frame import Frame
from kinemo.journal import JournalWriter, journal_path, read_journal
from kinemo.takes import TakeWriter, read_take, recover

FPS = 25


def _frames(n: int, seed: int = 0) -> list[Frame]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        f = Frame(seq=i, time=i / FPS, stamp=1000 + i / FPS, present=i % 5 != 0,
                  blendshapes=rng.random(52).astype(np.float32))
        if f.present:
            f.landmarks = rng.random((478, 3)).astype(np.float32)
            f.expression = classify(f.blendshapes)
        out.append(f)
    return out


def test_journal_reads_back_every_frame_and_stops_at_a_torn_tail(tmp_path):
    path = tmp_path / "t.json.journal"
    w = JournalWriter(path, {"fps": FPS})
    frames = _frames(40)
    for f in frames:
        w.add(f)
    w.close()
    meta, back, torn = read_journal(path)
    assert meta == {"fps": FPS} and not torn and len(back) == 40
    for a, b in zip(frames, back, strict=True):
        assert (a.seq, a.time, a.stamp, a.present) == (b.seq, b.time, b.stamp, b.present)
        assert np.array_equal(a.blendshapes, b.blendshapes) and np.array_equal(a.head, b.head)
        assert (a.landmarks is None) == (b.landmarks is None)
        if a.expression is not None:
            assert b.expression.label == a.expression.label
            assert np.array_equal(b.expression.scores, a.expression.scores)
    data = path.read_bytes()
    path.write_bytes(data[:-7])  # a kill in the middle of the last record
    _, back, torn = read_journal(path)
    assert torn and len(back) == 39
    damaged = bytearray(data)
    damaged[-100] ^= 0xFF  # a flipped byte in the last record fails its CRC
    path.write_bytes(bytes(damaged))
    _, back, torn = read_journal(path)
    assert torn and len(back) == 39
    path.write_bytes(b"not a journal")
    with pytest.raises(KinemoError, match="not a Kinemo take journal"):
        read_journal(path)


@pytest.mark.parametrize("suffix", [".csv", ".json", ".npz"])
def test_writer_journals_while_recording_and_removes_the_journal_when_done(tmp_path, suffix):
    out = tmp_path / f"take{suffix}"
    w = TakeWriter(out, fps=FPS)
    assert not journal_path(out).exists()  # nothing recorded yet: a run that fails first leaves nothing
    frames = _frames(30)
    for f in frames[:10]:
        w.add(f)
    assert journal_path(out).exists() and not out.exists()
    for f in frames[10:]:
        w.add(f)
    assert w.count == 30 and w.frames == []  # on disk, not in memory: an hour's take costs no memory
    w.close()
    assert out.exists() and not journal_path(out).exists()
    if suffix != ".csv":
        take = read_take(out)
        assert take["seq"].tolist() == list(range(30))
        assert np.allclose(take["blendshapes"], np.stack([f.blendshapes for f in frames]))


def test_recover_writes_what_a_normal_stop_would_have(tmp_path):
    frames = _frames(50, seed=3)
    normal = TakeWriter(tmp_path / "normal.json", fps=FPS, source="clip", zero_phase=True)
    killed = TakeWriter(tmp_path / "killed.json", fps=FPS, source="clip", zero_phase=True)
    for f in frames:
        normal.add(f)
        killed.add(f)
    normal.close()
    killed._journal.close()  # what a SIGKILL leaves: the journal, no take
    path, n, torn = recover(tmp_path / "killed.json")
    assert (n, torn) == (50, False) and not journal_path(path).exists()
    assert json.loads(path.read_text()) == json.loads((tmp_path / "normal.json").read_text())
    with pytest.raises(KinemoError, match="no journal to recover"):
        recover(tmp_path / "killed.json")


def test_a_new_capture_never_overwrites_an_unrecovered_journal(tmp_path):
    out = tmp_path / "take.csv"
    w = TakeWriter(out, fps=FPS)
    w.add(_frames(1)[0])
    w._journal.close()
    with pytest.raises(KinemoError, match="kinemo recover"):
        TakeWriter(out, fps=FPS)
    r = run_kinemo("video", str(ROOT / "rigs" / "media" / "astronaut.mp4"), "-o", str(out), "--no-osc")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "kinemo recover" in r.stderr
    assert journal_path(out).stat().st_size > 0 and not out.exists()


def test_take_files_get_the_users_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "take.json"
        w = TakeWriter(out, fps=FPS)
        w.add(_frames(1)[0])
        assert journal_path(out).stat().st_mode & 0o777 == 0o644
        w.close()
        assert out.stat().st_mode & 0o777 == 0o644
        out.chmod(0o644)
        w = TakeWriter(out, fps=FPS)  # rewriting an existing take keeps it readable
        w.close()
        assert out.stat().st_mode & 0o777 == 0o644
        os.umask(0o027)
        w = TakeWriter(tmp_path / "private.csv", fps=FPS)
        w.close()
        assert (tmp_path / "private.csv").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory) -> Path:
    """A 16 s clip (the bundled 2 s clip eight times), long enough to be killed mid-capture."""
    src = cv2.VideoCapture(str(ROOT / "rigs" / "media" / "astronaut.mp4"))
    pictures = []
    while True:
        ok, img = src.read()
        if not ok:
            break
        pictures.append(img)
    src.release()
    out = tmp_path_factory.mktemp("clip") / "long.mp4"
    h, w = pictures[0].shape[:2]
    vw = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (w, h))
    for _ in range(8):
        for img in pictures:
            vw.write(img)
    vw.release()
    return out


def _capture(clip: Path, out: Path, sig: int, after: float) -> tuple[subprocess.Popen, float]:
    """Start a real-time capture, wait until its journal has frames and ``after`` more seconds, signal it."""
    proc = subprocess.Popen([str(BIN / "kinemo"), "video", str(clip), "--realtime", "--no-osc", "-o", str(out),
                             "--workers", "1", "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not journal_path(out).exists() or journal_path(out).stat().st_size < 1000:
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "the capture never started recording"
        time.sleep(0.05)
    time.sleep(after)
    proc.send_signal(sig)
    return proc, time.time()


def _stamps(out: Path) -> np.ndarray:
    return np.asarray(read_take(out)["stamp"], float)


@pytest.mark.parametrize("suffix", [".csv", ".json", ".npz"])
def test_a_killed_capture_is_recovered_but_for_the_last_second(tmp_path, long_clip, suffix):
    out = tmp_path / f"take{suffix}"
    proc, killed_at = _capture(long_clip, out, signal.SIGKILL, after=3.0)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    _, journaled, _ = read_journal(journal_path(out))
    assert max(f.stamp for f in journaled) > killed_at - 1.5  # at most the last second (+ tracking latency)
    assert [f.seq for f in journaled] == list(range(len(journaled)))  # every frame before it
    r = run_kinemo("recover", str(out))
    assert r.returncode == 0 and f"recovered {len(journaled)} frames into {out}" in r.stderr, r.stderr
    assert not journal_path(out).exists()
    if suffix == ".csv":
        with open(out, newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0][:2] == ["Timecode", "BlendshapeCount"] and len(rows) == len(journaled) + 1
    else:
        assert len(_stamps(out)) == len(journaled) and _stamps(out).max() > killed_at - 1.5


@pytest.mark.parametrize(("sig", "suffix"), [(signal.SIGTERM, ".npz"), (signal.SIGHUP, ".json")])
def test_sigterm_and_sighup_finish_the_take_like_ctrl_c(tmp_path, long_clip, sig, suffix):
    out = tmp_path / f"take{suffix}"
    proc, sent_at = _capture(long_clip, out, sig, after=2.0)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err  # the shell's status for the signal
    assert "Traceback" not in err and not journal_path(out).exists()
    stamps = _stamps(out)
    assert stamps.max() > sent_at - 0.5 and len(stamps) >= 2 * FPS  # every frame up to the signal


def test_finish_gives_the_npz_takes_arrays_without_a_file(tmp_path):
    """A farm worker's take: the arrays an NPZ file would hold, and neither that file nor the journal left."""
    frames = _frames(20, seed=5)
    written, sent = TakeWriter(tmp_path / "a.npz", fps=FPS), TakeWriter(tmp_path / "b.npz", fps=FPS)
    for f in frames:
        written.add(f)
        sent.add(f)
    written.close()
    arrays = sent.finish()
    assert not (tmp_path / "b.npz").exists() and not journal_path(tmp_path / "b.npz").exists()
    with np.load(tmp_path / "a.npz", allow_pickle=False) as z:
        assert z.files == list(arrays)
        assert [k for k in z.files if not np.array_equal(z[k], arrays[k], equal_nan=z[k].dtype.kind == "f")] == []


def test_a_take_kept_in_memory_finishes_as_the_journaled_one(tmp_path):
    """journal=False (a farm worker's take): no journal on disk while recording, the same arrays at the end."""
    frames = _frames(20, seed=6)
    journaled, kept = TakeWriter(tmp_path / "a.npz", fps=FPS), TakeWriter(tmp_path / "b.npz", fps=FPS, journal=False)
    for f in frames:
        journaled.add(f)
        kept.add(f)
    assert kept.count == 20 and not journal_path(tmp_path / "b.npz").exists()
    a, b = journaled.finish(), kept.finish()
    assert list(a) == list(b)
    assert [k for k in a if not np.array_equal(a[k], b[k], equal_nan=a[k].dtype.kind == "f")] == []
