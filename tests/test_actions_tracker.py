"""PoseTracker on real frames: Tasks model and bundled legacy model agree; two people → the largest."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import MODELS, SHARED, require

from kinemo.body.tracker import PoseTracker, PoseTrackerOptions
from kinemo.errors import KinemoError
from kinemo.sources import VideoSource


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    src = VideoSource(require(SHARED / "data" / "pose" / "dance.mp4"))
    try:
        return [rgb for _, _, rgb in src]
    finally:
        src.close()


def test_tasks_and_legacy_models_find_the_same_body(frames):
    require(MODELS / "pose_landmarker_lite.task")
    with PoseTracker.create_from_options() as tasks, \
            PoseTracker.create_from_options(PoseTrackerOptions(legacy=True)) as legacy:
        assert (tasks.kind, legacy.kind) == ("tasks", "legacy")
        diffs = []
        for i, rgb in enumerate(frames[:15]):
            a, b = tasks.process_video_frame(rgb, i * 50), legacy.process_video_frame(rgb, i * 50)
            assert a.landmarks.shape == b.landmarks.shape == (33, 4) and a.size == (600, 600)
            diffs.append(np.abs(a.landmarks[:, :2] - b.landmarks[:, :2]).mean())
    assert np.median(diffs) < 0.03  # a few percent of the image: the same person, the same joints


def test_two_people_the_largest_is_the_performer(frames):
    with PoseTracker.create_from_options(PoseTrackerOptions(num_poses=2)) as tracker:
        seen = []
        for i, rgb in enumerate(frames[:40]):
            canvas = np.full((600, 900, 3), 255, np.uint8)
            canvas[:, :600] = rgb  # the performer, full size
            canvas[150:450, 600:] = cv2.resize(frames[(i + 50) % len(frames)], (300, 300))  # someone smaller, behind
            pose = tracker.process_video_frame(canvas, i * 50)
            seen.append((pose.people, float(pose.landmarks[[23, 24], 0].mean())))
    both = [x for n, x in seen if n == 2]
    assert len(both) >= len(seen) // 2
    assert all(x < 600 / 900 for _, x in seen)  # never the small person on the right


def test_bad_pose_model_is_a_clear_error(tmp_path):
    with pytest.raises(KinemoError, match="pose model not found"):
        PoseTracker.create_from_options(PoseTrackerOptions(model_path=tmp_path / "nope.task"))
    bad = tmp_path / "bad.task"
    bad.write_bytes(b"not a model")
    with pytest.raises(KinemoError, match="could not load pose model"):
        PoseTracker.create_from_options(PoseTrackerOptions(model_path=bad))


def test_pose_worker_keeps_to_the_newest_frame_and_reports_errors(frames):
    from kinemo.body.pipeline import ActionPipeline
    from kinemo.body.worker import PoseWorker

    seen = []
    with ActionPipeline.create_from_options() as pipeline:
        worker = PoseWorker(pipeline, on_result=lambda r, seq: seen.append((seq, r.present, r.probs)))
        for i, rgb in enumerate(frames[:40]):
            worker.submit(rgb, i / 20, i)  # faster than pose can go: older waiting frames are skipped
        worker.close()
        assert worker.processed == len(seen) and worker.processed + worker.dropped == 40
        assert [s for s, _, _ in seen] == sorted(s for s, _, _ in seen) and seen[-1][0] == 39
        assert all(present and abs(sum(p.values()) - 1) < 1e-4 for _, present, p in seen)
        bad = PoseWorker(pipeline)
        bad.submit(np.zeros((4, 4), np.uint8), 10.0)  # not an RGB image
        with pytest.raises(KinemoError, match="expected an RGB image"):
            bad.close()
