import numpy as np
import pytest

from kinemo.face.headpose import gaze_from_blendshapes, head_from_matrix, matrix_from_head
from kinemo.protocol import ARKIT_INDEX


@pytest.mark.parametrize("ypr", [(0, 0, 0), (20, 0, 0), (0, 15, 0), (0, 0, -10), (25, -12, 8), (-40, 30, 20)])
def test_matrix_round_trip(ypr):
    m = matrix_from_head(*ypr)
    m[:3, 3] = (1.0, -2.0, -35.0)
    out = head_from_matrix(m)
    assert out[:3] == pytest.approx(ypr, abs=1e-4)
    assert out[3:6] == pytest.approx((1.0, -2.0, -35.0))
    from kinemo.face.headpose import matrix_from_quaternion

    np.testing.assert_allclose(matrix_from_quaternion(out[6:]), m[:3, :3], atol=1e-5)


def test_sign_conventions():
    # Positive yaw: the nose (+z, towards the camera) swings to +x (the performer's left).
    nose = matrix_from_head(20, 0, 0)[:3, :3] @ np.array([0, 0, 1.0])
    assert nose[0] > 0
    # Positive pitch: the nose goes up.
    nose = matrix_from_head(0, 20, 0)[:3, :3] @ np.array([0, 0, 1.0])
    assert nose[1] > 0
    # Positive roll: the top of the head tilts to +x (the performer's left).
    top = matrix_from_head(0, 0, 20)[:3, :3] @ np.array([0, 1.0, 0])
    assert top[0] > 0


def test_scaled_matrix_still_decomposes():
    m = matrix_from_head(10, 5, -3)
    m[:3, :3] *= 1.3
    assert head_from_matrix(m)[:3] == pytest.approx((10, 5, -3), abs=1e-4)


def test_gaze_directions():
    bs = np.zeros(52, np.float32)
    bs[ARKIT_INDEX["eyeLookOutLeft"]] = 1.0  # left eye looks to the performer's left
    bs[ARKIT_INDEX["eyeLookInRight"]] = 1.0  # right eye too
    bs[ARKIT_INDEX["eyeLookUpLeft"]] = 0.5
    ly, lp, ry, rp = gaze_from_blendshapes(bs)
    assert ly > 0 and ry > 0 and lp > 0 and rp == 0
