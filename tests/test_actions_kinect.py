"""Kinect-20 → MediaPipe-33 conversion and UTKinect parsing (scripts/actions/kinect.py)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import ROOT, SHARED, require

from kinemo.body.posefile import read_pose_file, write_pose_file
from kinemo.body.skeleton import INDEX
from kinemo.errors import KinemoError

sys.path.insert(0, str(ROOT / "scripts" / "actions"))
import kinect  # noqa: E402

UTK = SHARED / "data" / "actions" / "utkinect"


def standing(n: int = 5, depth: float = 2.5, hand_forward: float = 0.0) -> np.ndarray:
    """A person facing the sensor, Kinect joint placement (hip centre high on the pelvis)."""
    j = np.zeros((20, 3))
    pts = {  # x: + is the sensor's left = the performer's right when facing it
        "hip_center": (0, 0.0, 0), "spine": (0, 0.08, 0), "shoulder_center": (0, 0.45, 0), "head": (0, 0.66, 0),
        "shoulder_left": (-0.19, 0.40, 0), "elbow_left": (-0.24, 0.12, 0), "wrist_left": (-0.26, -0.12, 0),
        "hand_left": (-0.27, -0.2, 0),
        "shoulder_right": (0.19, 0.40, 0), "elbow_right": (0.24, 0.12, 0), "wrist_right": (0.26, -0.12, -hand_forward),
        "hand_right": (0.27, -0.2, -hand_forward),
        "hip_left": (-0.08, -0.06, 0), "knee_left": (-0.1, -0.55, 0), "ankle_left": (-0.1, -1.0, 0),
        "foot_left": (-0.1, -1.05, -0.1),
        "hip_right": (0.08, -0.06, 0), "knee_right": (0.1, -0.55, 0), "ankle_right": (0.1, -1.0, 0),
        "foot_right": (0.1, -1.05, -0.1),
    }
    for name, p in pts.items():
        j[kinect.K[name]] = p
    j[:, 1] += 0.35  # the sensor at about waist height
    j[:, 2] += depth
    return np.repeat(j[None], n, axis=0)


def test_conversion_places_joints_as_mediapipe_would():
    lm = kinect.kinect_to_mediapipe(standing())
    assert lm.shape == (5, 33, 4) and lm.dtype == np.float32
    x, y, z = lm[0, :, 0], lm[0, :, 1], lm[0, :, 2]
    assert np.all((x > 0) & (x < 1) & (y > 0) & (y < 1)) and np.all(lm[..., 3] > 0.9)
    # facing the camera, unmirrored: the performer's left is on the image's right
    assert x[INDEX["left_shoulder"]] > x[INDEX["right_shoulder"]]
    assert x[INDEX["left_hip"]] > x[INDEX["right_hip"]] and x[INDEX["left_eye"]] > x[INDEX["right_eye"]]
    # head above shoulders above hips above knees (image y grows downwards); nose in front of the ears
    sh = y[[INDEX["left_shoulder"], INDEX["right_shoulder"]]].mean()
    hp = y[[INDEX["left_hip"], INDEX["right_hip"]]].mean()
    an = y[[INDEX["left_ankle"], INDEX["right_ankle"]]].mean()
    assert y[INDEX["nose"]] < sh < hp < y[INDEX["left_knee"]] < an
    assert z[INDEX["nose"]] < z[INDEX["left_ear"]]
    # calibrated: the hips sit lower than the Kinect hip centre (0.45 of shoulder→ankle height here
    # against the raw 0.34 of this skeleton) and wider than the Kinect's hip joints
    raw = kinect.project(np.pad(standing()[:, [0]], ((0, 0), (0, 32), (0, 0)), mode="edge"))[0, 0, 1]
    assert (hp - sh) / (an - sh) > (raw - sh) / (an - sh) + 0.08
    hip_w = abs(x[INDEX["left_hip"]] - x[INDEX["right_hip"]])
    assert hip_w == pytest.approx(kinect.HIP_SPREAD * abs(0.16) * kinect.KINECT_FX / 2.5, rel=0.05)


def test_depth_follows_the_camera():
    lm = kinect.kinect_to_mediapipe(standing(hand_forward=0.4))
    assert lm[0, INDEX["right_wrist"], 2] < lm[0, INDEX["left_wrist"], 2] - 0.05  # the forward hand is closer
    near, far = kinect.kinect_to_mediapipe(standing(depth=2.0)), kinect.kinect_to_mediapipe(standing(depth=4.0))
    span = lambda lm: lm[0, INDEX["left_ankle"], 1] - lm[0, INDEX["nose"], 1]  # noqa: E731
    assert span(near) == pytest.approx(2 * span(far), rel=0.02)  # pinhole: twice as far, half as big
    ortho = kinect.kinect_to_mediapipe(standing(hand_forward=0.4), orthographic=True)
    assert span(ortho) == pytest.approx(span(kinect.kinect_to_mediapipe(standing())), rel=0.02)
    with pytest.raises(KinemoError):
        kinect.kinect_to_mediapipe(np.zeros((3, 15, 3)))


def test_utkinect_parsing_drops_repeats_and_uses_sixty_per_second(tmp_path):
    rows = [[190, *range(60)], [190, *range(60)], [194, *range(60)], [196, *np.arange(60) + 1.0]]
    (tmp_path / "joints_s03_e02.txt").write_text("\n".join(" ".join(str(v) for v in r) for r in rows))
    (tmp_path / "actionLabel.txt").write_text("s03_e02\nwalk: 190 196\ncarry:  NaN NaN\nclapHands: 150 180\n")
    t, j = kinect.read_joints(tmp_path / "joints_s03_e02.txt")
    np.testing.assert_allclose(t, [190 / 60, 194 / 60, 196 / 60])
    assert j.shape == (3, 20, 3) and j[2, 0, 0] == 1.0
    (rec,) = kinect.read_utkinect(tmp_path)
    assert rec.name == "s03_e02" and rec.subject == 3
    assert rec.segments == [("clapHands", 2.5, 3.0), ("walk", 190 / 60, 196 / 60)]  # NaN rows skipped, sorted
    track = rec.track()
    back = read_pose_file(write_pose_file(tmp_path / "p.npz", track))
    np.testing.assert_allclose(back.time, t)
    assert back.landmarks.shape == (3, 33, 4) and back.size == kinect.KINECT_SIZE
    (tmp_path / "joints_s03_e02.txt").write_text("1 2 3\n")
    with pytest.raises(KinemoError):
        kinect.read_joints(tmp_path / "joints_s03_e02.txt")


def test_real_utkinect_converts_to_mediapipe_proportions():
    recs = kinect.read_utkinect(require(UTK))
    assert len(recs) == 20 and len({r.subject for r in recs}) == 10
    segs = [s for r in recs for s in r.segments]
    assert len(segs) == 199  # 200 labelled, one carry not performed
    assert {s[0] for s in segs} == {"walk", "waveHands", "clapHands", "sitDown", "standUp", "pickUp", "carry",
                                    "throw", "push", "pull"}
    for r in recs:
        assert np.all(np.diff(r.time) > 0) and 8 < len(r.time) / (r.time[-1] - r.time[0]) < 25
    lm = np.concatenate([kinect.kinect_to_mediapipe(r.joints, orthographic=True) for r in recs])
    y = lm[..., 1]
    sh, hp = y[:, [11, 12]].mean(1), y[:, [23, 24]].mean(1)
    kn, an = y[:, [25, 26]].mean(1), y[:, [27, 28]].mean(1)
    h = an - sh
    upright = (kn - sh > 0.62 * h) & (np.abs(lm[:, 11, 0] - lm[:, 12, 0]) * 4 / 3 > 0.15 * h)
    # real MediaPipe (ML Kit BlazePose samples): hips 0.40, nose 0.16 above the shoulders
    assert np.median(((hp - sh) / h)[upright]) == pytest.approx(0.40, abs=0.02)
    assert np.median(((sh - y[:, 0]) / h)[upright]) == pytest.approx(0.16, abs=0.02)
