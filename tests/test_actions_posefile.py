"""Pose files: round trip, and clear one-line errors for damaged input."""

from __future__ import annotations

import numpy as np
import pytest

from kinemo.body.generator import generate
from kinemo.body.posefile import PoseTrack, read_pose_file, write_pose_file
from kinemo.errors import KinemoError


def track() -> PoseTrack:
    seq = generate(np.random.default_rng(0), [("idle", 1.0), ("clap", 1.5)])
    present = np.ones(len(seq.time), bool)
    present[5:8] = False
    lm = np.where(present[:, None, None], seq.landmarks, 0.0).astype(np.float32)
    return PoseTrack(seq.time, lm, present, seq.fps, seq.size)


def test_round_trip_keeps_every_value(tmp_path):
    t = track()
    back = read_pose_file(write_pose_file(tmp_path / "p.npz", t))
    np.testing.assert_array_equal(back.landmarks, t.landmarks)
    np.testing.assert_array_equal(back.time, t.time)
    np.testing.assert_array_equal(back.present, t.present)
    assert back.size == t.size and back.fps == pytest.approx(t.fps)


def test_minimal_file_needs_only_landmarks_and_fps(tmp_path):
    lm = np.random.default_rng(0).uniform(0, 1, (12, 33, 4)).astype(np.float32)
    np.savez(tmp_path / "min.npz", landmarks=lm, fps=25.0)
    back = read_pose_file(tmp_path / "min.npz")
    assert np.allclose(back.time, np.arange(12) / 25.0) and back.present.all() and back.size == (1, 1)


def test_truncated_file_is_a_clear_error(tmp_path):
    path = write_pose_file(tmp_path / "p.npz", track())
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(KinemoError, match="damaged or truncated"):
        read_pose_file(tmp_path / "cut.npz")


@pytest.mark.parametrize("content,message", [
    ({"landmarks": np.zeros((5, 17, 3), np.float32), "fps": 30.0}, r"shape \(5, 17, 3\)"),
    ({"landmarks": np.zeros((5, 33, 4), np.float32)}, "missing fps"),
    ({"landmarks": np.zeros((0, 33, 4), np.float32), "fps": 30.0}, "no frames"),
    ({"landmarks": np.zeros((3, 33, 4), np.float32), "fps": 30.0, "time": np.array([0, 1, 1.0])}, "increasing"),
])
def test_wrong_content_is_a_clear_error(tmp_path, content, message):
    np.savez(tmp_path / "bad.npz", **content)
    with pytest.raises(KinemoError, match=message):
        read_pose_file(tmp_path / "bad.npz")


def test_pickled_objects_are_refused(tmp_path):
    np.savez(tmp_path / "obj.npz", landmarks=np.array([{"x": 1}], dtype=object), fps=30.0)
    with pytest.raises(KinemoError):
        read_pose_file(tmp_path / "obj.npz")
