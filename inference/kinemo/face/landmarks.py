"""Landmarks: the 478-point MediaPipe mesh, its 68-point iBUG-300W view, and a compact PCA code.

68-point mapping (iBUG-300W / dlib order; "right" is the subject's right, which is
image-left for an unmirrored camera):

  0-16 jaw contour, image left → right, chin at 8. Picked on the mesh's face oval by
       equal arc length between the oval vertex level with the eyes (127 / 356) and
       the chin (152); the choice is symmetric in the mesh (127↔356, 234↔454, …).
  17-21 right brow, outer → inner; 22-26 left brow, inner → outer (upper brow edge).
  27-30 nose bridge, nasion → tip; 31-35 nose base, image left → right (alae, subnasale).
  36-41 right eye from the outer corner clockwise; 42-47 left eye from the inner corner.
  48-59 outer lip from the right corner (48) over the upper lip to the left corner (54)
       and back along the lower lip; 60-67 inner lip, likewise (60 and 64 the corners).

``tests/test_landmarks.py`` checks the geometry on real faces.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kinemo.face.headpose import matrix_from_quaternion, quaternion_from_matrix

NUM_POINTS = 478
MESH_TO_IBUG68 = np.array([
    127, 234, 93, 132, 172, 136, 149, 176, 152, 400, 378, 365, 397, 361, 323, 454, 356,  # jaw 0-16
    70, 63, 105, 66, 107,  # right brow 17-21
    336, 296, 334, 293, 300,  # left brow 22-26
    168, 197, 5, 4,  # nose bridge 27-30
    98, 97, 2, 326, 327,  # nose base 31-35
    33, 160, 158, 133, 153, 144,  # right eye 36-41
    362, 385, 387, 263, 373, 380,  # left eye 42-47
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,  # outer lip 48-59
    78, 81, 13, 311, 308, 402, 14, 178,  # inner lip 60-67
], dtype=np.int64)

#: Outer eye corners, for inter-ocular normalisation (NME).
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263

PCA_ASSET = Path(__file__).resolve().parent.parent / "assets" / "landmark_pca.npz"


def to_metric(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """MediaPipe's normalised (x/W, y/H, z/W) → isotropic units of image height."""
    out = np.array(points, dtype=np.float64, copy=True)
    aspect = width / height
    out[..., 0] *= aspect
    out[..., 2] *= aspect
    return out


def ibug68(points: np.ndarray) -> np.ndarray:
    """(…, 478, D) → (…, 68, D)."""
    return np.asarray(points)[..., MESH_TO_IBUG68, :]


@dataclass
class Similarity:
    """x_image = scale · R @ x_shape + t — what pose normalisation removed."""

    scale: float
    rotation: np.ndarray  # (3, 3)
    translation: np.ndarray  # (3,)

    def apply(self, shape: np.ndarray) -> np.ndarray:
        return self.scale * shape @ self.rotation.T + self.translation

    def quaternion(self) -> np.ndarray:
        """(x, y, z, w) of ``rotation``."""
        return quaternion_from_matrix(self.rotation)

    @classmethod
    def from_params(cls, scale: float, quat: np.ndarray, translation: np.ndarray) -> Similarity:
        return cls(float(scale), matrix_from_quaternion(quat), np.asarray(translation, float))


def align(points: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, Similarity]:
    """Pose-normalise one (478, 3) shape onto ``reference`` (centred, unit RMS): Kabsch + scale."""
    p = np.asarray(points, float)
    centre = p.mean(axis=0)
    q = p - centre
    scale = np.sqrt((q ** 2).sum() / len(q))
    q = q / scale
    u, _, vt = np.linalg.svd(q.T @ reference)
    d = np.sign(np.linalg.det(u @ vt))
    rot = u @ np.diag([1.0, 1.0, d]) @ vt  # row vectors: shape = q @ rot
    shape = q @ rot
    return shape, Similarity(scale, rot, centre)


class LandmarkPCA:
    """A point-distribution model: mean shape + ≤ 20 components over pose-normalised meshes."""

    def __init__(self, mean: np.ndarray, components: np.ndarray, stddev: np.ndarray) -> None:
        self.mean = np.asarray(mean, np.float64).reshape(NUM_POINTS, 3)  # also the alignment reference
        self.components = np.asarray(components, np.float64)  # (K, 478*3), orthonormal rows
        self.stddev = np.asarray(stddev, np.float64)  # (K,) per-component spread in the fit data

    @property
    def size(self) -> int:
        return len(self.components)

    @classmethod
    def load(cls, path: str | Path = PCA_ASSET) -> LandmarkPCA:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["mean"], z["components"], z["stddev"])

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, mean=self.mean.astype(np.float32),
                            components=self.components.astype(np.float32), stddev=self.stddev.astype(np.float32))

    def encode(self, points: np.ndarray) -> tuple[np.ndarray, Similarity]:
        """(478, 3) metric points → (K,) coefficients and the pose that was removed."""
        shape, pose = align(points, self.mean)
        return self.components @ (shape - self.mean).ravel(), pose

    def decode(self, coeffs: np.ndarray, pose: Similarity | None = None) -> np.ndarray:
        """Coefficients → (478, 3) shape; in image space when ``pose`` is given."""
        shape = self.mean + (np.asarray(coeffs, float) @ self.components).reshape(NUM_POINTS, 3)
        return pose.apply(shape) if pose is not None else shape

    @classmethod
    def fit(cls, shapes: np.ndarray, size: int = 20, iterations: int = 5) -> LandmarkPCA:
        """Generalised Procrustes alignment, then PCA on the aligned shapes."""
        shapes = np.asarray(shapes, float)
        reference = shapes[0] - shapes[0].mean(axis=0)
        reference /= np.sqrt((reference ** 2).sum() / NUM_POINTS)
        for _ in range(iterations):
            aligned = np.stack([align(s, reference)[0] for s in shapes])
            reference = aligned.mean(axis=0)
            reference -= reference.mean(axis=0)
            reference /= np.sqrt((reference ** 2).sum() / NUM_POINTS)
        aligned = np.stack([align(s, reference)[0] for s in shapes])
        flat = aligned.reshape(len(aligned), -1)
        mean = flat.mean(axis=0)
        _, sing, vt = np.linalg.svd(flat - mean, full_matrices=False)
        stddev = sing[:size] / np.sqrt(max(len(flat) - 1, 1))
        return cls(mean, vt[:size], stddev)


def nme(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean point error as a percentage of the inter-ocular (outer-corner) distance of ``truth``."""
    truth = np.asarray(truth, float)
    iod = np.linalg.norm(truth[..., RIGHT_EYE_OUTER, :2] - truth[..., LEFT_EYE_OUTER, :2], axis=-1)
    err = np.linalg.norm(np.asarray(predicted, float)[..., :2] - truth[..., :2], axis=-1).mean(axis=-1)
    return float(np.mean(err / iod) * 100.0)
