"""MediaPipe's 33 pose landmarks: names, left/right mirroring, and the joints we measure from."""

from __future__ import annotations

import numpy as np

#: Landmark names in MediaPipe Pose order. "left" is the performer's left.
LANDMARK_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
NUM_LANDMARKS = len(LANDMARK_NAMES)  # 33
INDEX = {n: i for i, n in enumerate(LANDMARK_NAMES)}
#: Channels per landmark in pose files and windows: x, y, z, visibility.
CHANNELS = 4

L_SHOULDER, R_SHOULDER = INDEX["left_shoulder"], INDEX["right_shoulder"]
L_HIP, R_HIP = INDEX["left_hip"], INDEX["right_hip"]
L_WRIST, R_WRIST = INDEX["left_wrist"], INDEX["right_wrist"]


def _mirror_permutation() -> np.ndarray:
    perm = []
    for name in LANDMARK_NAMES:
        if name.startswith("left_"):
            name = "right_" + name[5:]
        elif name.startswith("right_"):
            name = "left_" + name[6:]
        elif name in ("mouth_left", "mouth_right"):
            name = "mouth_right" if name == "mouth_left" else "mouth_left"
        perm.append(INDEX[name])
    return np.array(perm)


#: ``landmarks[..., MIRROR, :]`` swaps every left landmark with its right twin.
MIRROR = _mirror_permutation()


def mirror(landmarks: np.ndarray) -> np.ndarray:
    """The same motion seen in a mirror: x flipped about the image centre, left/right swapped."""
    out = landmarks[..., MIRROR, :].copy()
    out[..., 0] = 1.0 - out[..., 0]
    return out
