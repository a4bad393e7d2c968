"""The data-made face rig: MediaPipe's face mesh with 52 ARKit shape keys learned from real tracking.

Pure numpy (no Blender): the mesh, the regions each key may move, the mirror map, the
least-squares fit and the reconstruction check. ``scripts/face/face_rig_fit.py`` runs the fit on
cached tracking (``scripts/face/face_rig_data.py``) and writes ``rigs/face_rig.npz``;
``rigs/human_head.py`` turns that into a Blender head. Details and numbers: docs/face-rig.md.

Frames: the mesh is MediaPipe's canonical face (``rigs/face_model_with_iris.obj``,
Apache-2.0, centimetres): x = the performer's left, y = up, z = forward (towards the
camera). Vertex i is landmark i.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OBJ = HERE / "face_model_with_iris.obj"
RIG = HERE / "face_rig.npz"
N = 478
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263
LEFT_IRIS, RIGHT_IRIS = 473, 468  # centres; 474-477 / 469-472 the ring

#: Points that expressions barely move: the pose (scale, rotation, translation) is fitted on these.
STABLE = (1, 4, 5, 6, 168, 195, 197, 133, 362, 33, 263, 127, 356, 234, 454, 93, 323, 162, 389, 21, 251, 54, 284,
          103, 332, 109, 338, 10, 151, 9, 8, 193, 417, 122, 351)

#: Channels the tracking data cannot teach: MediaPipe never outputs tongueOut, and cheekPuff stays
#: near zero on real faces (see docs/face-rig.md). They get hand-made offsets instead, and so does every
#: channel whose scores barely vary in the data (``solve``'s ``min_std``: on our data cheekSquint,
#: noseSneer, jawForward and mouthFunnel).
HAND_MADE = ("tongueOut", "cheekPuff")


def load_obj(path: str | Path = OBJ) -> tuple[np.ndarray, np.ndarray]:
    """(478, 3) vertices and (F, 3) triangles (0-based)."""
    verts, faces = [], []
    for line in Path(path).read_text().splitlines():
        if line.startswith("v "):
            verts.append([float(t) for t in line.split()[1:4]])
        elif line.startswith("f "):
            faces.append([int(t.split("/")[0]) - 1 for t in line.split()[1:4]])
    return np.array(verts), np.array(faces, np.int64)


def mirror_map(verts: np.ndarray) -> np.ndarray:
    """perm[i] = the vertex at i's mirror position (x → -x); the canonical mesh is exactly symmetric."""
    m = verts * (-1.0, 1.0, 1.0)
    d = np.linalg.norm(m[:, None, :] - verts[None, :, :], axis=2)
    return np.argmin(d, axis=1)


def mirror_name(name: str) -> str:
    if name.endswith("Left"):
        return name[:-4] + "Right"
    if name.endswith("Right"):
        return name[:-5] + "Left"
    return name


def side_of(name: str) -> int:
    """+1 performer's left, -1 right, 0 centred (jawLeft/mouthLeft move the whole jaw/mouth: centred regions)."""
    if name in ("jawLeft", "jawRight", "mouthLeft", "mouthRight"):
        return 0
    return 1 if name.endswith("Left") else -1 if name.endswith("Right") else 0


def _ellipse(verts: np.ndarray, centre, radii) -> np.ndarray:
    """Soft weight 1 inside the ellipsoid's inner 60 %, falling to 0 at its surface."""
    d = np.sqrt((((verts - np.asarray(centre, float)) / np.asarray(radii, float)) ** 2).sum(axis=1))
    return np.clip((1.0 - d) / 0.4, 0.0, 1.0)


#: Region shapes on the canonical face, for the performer's left side (x > 0); centres and radii in cm.
LEFT_REGIONS = {
    "eye": ((3.15, 2.6, 3.6), (2.6, 1.75, 3.0)),
    "brow": ((3.3, 4.9, 4.0), (3.6, 2.8, 4.0)),
    "cheek": ((3.9, -0.4, 4.0), (3.2, 2.8, 4.0)),
    "nose": ((1.4, -0.6, 5.6), (2.0, 2.6, 3.0)),
}
#: The lower face (lips, chin, jaw line): what jaw* and mouth* keys may move.
LOWER_FACE = ((0.0, -6.2, 4.5), (6.6, 4.6, 5.5))
BROW_INNER = ((0.0, 5.0, 4.8), (3.8, 3.0, 4.0))


def region_of(name: str, verts: np.ndarray) -> np.ndarray:
    """(478,) weight in [0, 1]: where key ``name`` may move vertices (0 = never)."""
    base = name.removesuffix("Left").removesuffix("Right") if side_of(name) else name
    side = side_of(name)
    if base.startswith(("jaw", "mouth", "tongue")):
        w = _ellipse(verts, *LOWER_FACE)
        if side:  # one corner: its own half, fading out across a 1 cm band over the midline
            w = w * np.clip((side * verts[:, 0] + 1.0) / 1.0, 0.0, 1.0)
        return w
    if base == "browInnerUp":
        return _ellipse(verts, *BROW_INNER)
    feature = {"eyeBlink": "eye", "eyeSquint": "eye", "eyeWide": "eye", "eyeLookUp": "eye", "eyeLookDown": "eye",
               "eyeLookIn": "eye", "eyeLookOut": "eye", "browDown": "brow", "browOuterUp": "brow",
               "cheekSquint": "cheek", "cheekPuff": "cheek", "noseSneer": "nose"}[base]
    centre, radii = LEFT_REGIONS[feature]
    sides = (side,) if side else (1, -1)
    w = np.zeros(len(verts))
    for s in sides:
        c = np.array(centre) * (s, 1, 1)
        w = np.maximum(w, _ellipse(verts, c, radii) * (s * verts[:, 0] > 0.05))
    return w


#: Partition of the face for reporting the reconstruction error.
EVAL_REGIONS = ("eyes", "brows", "nose", "cheeks", "lips", "jaw", "other")


def eval_regions(verts: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean (478,) masks, disjoint, covering every vertex."""
    from mediapipe.tasks.python.vision import FaceLandmarksConnections as C

    def idx(*groups):
        return sorted({i for g in groups for c in g for i in (c.start, c.end)})

    lab = np.full(len(verts), "other", object)
    lips = idx(C.FACE_LANDMARKS_LIPS)
    eyes = idx(C.FACE_LANDMARKS_LEFT_EYE, C.FACE_LANDMARKS_RIGHT_EYE, C.FACE_LANDMARKS_LEFT_IRIS,
               C.FACE_LANDMARKS_RIGHT_IRIS)
    brows = idx(C.FACE_LANDMARKS_LEFT_EYEBROW, C.FACE_LANDMARKS_RIGHT_EYEBROW)
    x, y = np.abs(verts[:, 0]), verts[:, 1]
    lab[(y < -4.8) & (x < 6.5)] = "jaw"
    lab[(np.abs(verts[:, 0] - 0) < 2.2) & (y > -3.0) & (y < 2.0) & (verts[:, 2] > 4.0)] = "nose"
    lab[(x > 2.2) & (y > -3.5) & (y < 1.2)] = "cheeks"
    lab[brows] = "brows"
    lab[eyes] = "eyes"
    lab[lips] = "lips"
    return {r: lab == r for r in EVAL_REGIONS}


# --- tracking → canonical frame ------------------------------------------------------------------------------


def to_camera(landmarks: np.ndarray, size) -> np.ndarray:
    """MediaPipe-normalised (x/W, y/H, z/W) → isotropic, right-handed, y up, z towards the camera."""
    w, h = float(size[0]), float(size[1])
    p = np.array(landmarks, np.float64, copy=True)
    p[..., 0] *= w / h
    p[..., 2] *= w / h
    p[..., 1] *= -1.0
    p[..., 2] *= -1.0
    return p


def similarity_to(reference: np.ndarray, shapes: np.ndarray, points=STABLE) -> np.ndarray:
    """Each (478, 3) shape moved onto ``reference`` by the scale·rotation+translation that best fits ``points``."""
    shapes = np.asarray(shapes, np.float64)
    single = shapes.ndim == 2
    shapes = shapes[None] if single else shapes
    pts = list(points)
    ref = reference[pts]
    rc = ref.mean(axis=0)
    r0 = ref - rc
    out = np.empty_like(shapes)
    for k, s in enumerate(shapes):
        q = s[pts]
        qc = q.mean(axis=0)
        q0 = q - qc
        u, sv, vt = np.linalg.svd(q0.T @ r0)
        d = np.sign(np.linalg.det(u @ vt))
        rot = u @ np.diag([1.0, 1.0, d]) @ vt  # row vectors: q0 @ rot ≈ r0 / scale
        scale = (sv * (1.0, 1.0, d)).sum() / (q0 ** 2).sum()
        out[k] = (s - qc) @ rot * scale + rc
    return out[0] if single else out


def canonical_shapes(landmarks: np.ndarray, size, reference: np.ndarray) -> np.ndarray:
    """(T, 478, 3) tracked landmarks → the canonical face's frame and scale (pose removed)."""
    return similarity_to(reference, to_camera(landmarks, size))


# --- the fit -------------------------------------------------------------------------------------------------


@dataclass
class Rig:
    names: tuple[str, ...]
    basis: np.ndarray  # (478, 3)
    deltas: np.ndarray  # (K, 478, 3): offset per unit key value
    faces: np.ndarray  # (F, 3)
    learned: np.ndarray  # (K,) bool: fitted from data (False = hand-made)

    def shape(self, weights: np.ndarray, basis: np.ndarray | None = None) -> np.ndarray:
        """(…, K) key values → (…, 478, 3) vertices."""
        b = self.basis if basis is None else basis
        return b + np.tensordot(np.asarray(weights, float), self.deltas, axes=([-1], [0]))

    def save(self, path: str | Path = RIG) -> None:
        np.savez_compressed(path, names=np.array(self.names), basis=self.basis.astype(np.float32),
                            deltas=self.deltas.astype(np.float32), faces=self.faces.astype(np.int32),
                            learned=self.learned)

    @classmethod
    def load(cls, path: str | Path = RIG) -> Rig:
        with np.load(path, allow_pickle=False) as z:
            return cls(tuple(str(n) for n in z["names"]), z["basis"].astype(np.float64),
                       z["deltas"].astype(np.float64), z["faces"].astype(np.int64), z["learned"].astype(bool))


def mirror_data(shapes: np.ndarray, scores: np.ndarray, perm: np.ndarray, names) -> tuple[np.ndarray, np.ndarray]:
    """The same frames seen in a mirror: vertices swap sides, Left/Right channels swap."""
    cols = [list(names).index(mirror_name(n)) for n in names]
    return shapes[:, perm] * (-1.0, 1.0, 1.0), scores[:, cols]


class Accumulator:
    """Normal equations of Y = X·W over many centred groups (clips), with their mirror images."""

    def __init__(self, names, perm: np.ndarray) -> None:
        self.names = tuple(names)
        self.perm = perm
        k = len(self.names)
        self.xtx = np.zeros((k, k))
        self.xty = np.zeros((k, N * 3))
        self.count = 0

    def add(self, shapes: np.ndarray, scores: np.ndarray, weight: float = 1.0) -> None:
        """One group (a clip, or a set of photos): centred on its own mean, so identity cancels."""
        if len(shapes) < 2:
            return
        for s, b in ((shapes, scores), mirror_data(shapes, scores, self.perm, self.names)):
            y = (s - s.mean(axis=0)).reshape(len(s), -1)
            x = b - b.mean(axis=0)
            self.xtx += weight * x.T @ x
            self.xty += weight * x.T @ y
            self.count += len(s)


def solve(acc: Accumulator, verts: np.ndarray, faces: np.ndarray, ridge: float = 0.02,
          min_std: float = 0.01) -> Rig:
    """Per vertex, regularised least squares over only the keys whose region holds that vertex."""
    names = acc.names
    k = len(names)
    regions = np.stack([region_of(n, verts) for n in names])  # (K, 478)
    std = np.sqrt(np.diag(acc.xtx) / max(acc.count, 1))
    learned = np.array([n not in HAND_MADE and s >= min_std for n, s in zip(names, std, strict=True)])
    lam = ridge * np.trace(acc.xtx) / k
    deltas = np.zeros((k, N, 3))
    active = (regions > 0) & learned[:, None]
    groups: dict[bytes, list[int]] = {}
    for v in range(N):
        groups.setdefault(active[:, v].tobytes(), []).append(v)
    for key, vs in groups.items():
        sel = np.frombuffer(key, dtype=bool)
        if not sel.any():
            continue
        ks = np.flatnonzero(sel)
        cols = (np.array(vs)[:, None] * 3 + np.arange(3)).ravel()
        a = acc.xtx[np.ix_(ks, ks)] + lam * np.eye(len(ks))
        w = np.linalg.solve(a, acc.xty[np.ix_(ks, cols)])
        deltas[ks[:, None], np.array(vs)[None, :], :] = w.reshape(len(ks), len(vs), 3)
    deltas *= regions[:, :, None]  # fade out towards each region's edge
    deltas = symmetrise(deltas, names, mirror_map(verts))
    for i, n in enumerate(names):
        if not learned[i]:
            deltas[i] = hand_made(n, verts)
    return Rig(tuple(names), verts.copy(), deltas, faces, learned)


def symmetrise(deltas: np.ndarray, names, perm: np.ndarray) -> np.ndarray:
    """Average each key with its mirror twin's mirror image (exact symmetry, no numerical drift)."""
    names = list(names)
    out = np.empty_like(deltas)
    for i, n in enumerate(names):
        j = names.index(mirror_name(n))
        out[i] = 0.5 * (deltas[i] + deltas[j][perm] * (-1.0, 1.0, 1.0))
    return out


def hand_made(name: str, verts: np.ndarray) -> np.ndarray:
    """Offsets (cm per unit value) for channels the data cannot teach, inside the key's own region.

    cheekPuff: both cheeks swell outwards (≤ 0.9 cm) around the mouth; tongueOut: the lower lip and
    chin drop 0.6 cm (the tongue itself, a part of the Blender head, is pushed out too);
    cheekSquint: the cheek rises 0.4 cm; noseSneer: the nose wing and the skin beside it rise 0.35 cm
    and draw back a little; jawForward: the chin comes 0.6 cm forward; mouthFunnel: the lips push
    0.5 cm forward, narrow and part vertically.
    """
    w = region_of(name, verts)
    d = np.zeros_like(verts)
    base = name.removesuffix("Left").removesuffix("Right")
    x, y = verts[:, 0], verts[:, 1]
    if name == "cheekPuff":
        c = np.array([0.0, -2.5, 1.0])
        out = verts - c
        out[:, 1] *= 0.3
        out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-9
        swell = _ellipse(verts, (3.6, -3.0, 4.0), (2.8, 2.4, 3.5)) + _ellipse(verts, (-3.6, -3.0, 4.0),
                                                                                (2.8, 2.4, 3.5))
        return 0.9 * np.clip(swell, 0, 1)[:, None] * out * w[:, None]
    if name == "tongueOut":
        below = np.clip((-4.3 - y) / 0.6, 0.0, 1.0)
        d[:, 1] = -0.6 * below
        d[:, 2] = 0.25 * below * np.clip((y + 6.0) / 1.5, 0, 1)
    elif base == "cheekSquint":
        d[:, 1] = 0.4
    elif base == "noseSneer":
        d[:, 1], d[:, 2] = 0.35, -0.1
    elif name == "jawForward":
        d[:, 2] = 0.6 * np.clip((-4.6 - y) / 1.5, 0.0, 1.0)
    elif name == "mouthFunnel":
        lips = _ellipse(verts, (0.0, -4.3, 5.0), (3.4, 1.8, 3.0))
        d[:, 0] = -0.18 * x * lips
        d[:, 1] = 0.35 * np.tanh((y + 4.27) / 0.3) * lips
        d[:, 2] = 0.5 * lips
    return d * w[:, None]


# --- the check -----------------------------------------------------------------------------------------------


def reconstruction_error(rig: Rig, shapes: np.ndarray, scores: np.ndarray) -> dict[str, dict[str, float]]:
    """Drive the rig with a clip's scores; compare with the clip's own tracked (canonical-frame) shapes.

    ``rig``: the shipped rig (its own basis = MediaPipe's canonical face, so the performer's different
    face is part of the error); ``neutral``: the rig's key offsets on the performer's own neutral (the
    clip mean, less what the rig says its mean scores add); ``static``: that neutral with no expression
    at all, the floor any rig has to beat. Mean point error in % of the inter-ocular distance per region.
    """
    shapes = np.asarray(shapes, float)
    scores = np.asarray(scores, float)
    mean = shapes.mean(axis=0)
    own = mean - np.tensordot(scores.mean(axis=0), rig.deltas, axes=([0], [0]))
    iod = np.linalg.norm(mean[RIGHT_EYE_OUTER] - mean[LEFT_EYE_OUTER])
    preds = {"rig": rig.shape(scores), "neutral": rig.shape(scores, basis=own),
             "static": np.broadcast_to(mean, shapes.shape)}
    out: dict[str, dict[str, float]] = {}
    regions = eval_regions(rig.basis)
    for label, p in preds.items():
        err = np.linalg.norm(p - shapes, axis=2) / iod * 100.0  # (T, 478)
        out[label] = {r: float(err[:, m].mean()) for r, m in regions.items()}
        out[label]["all"] = float(err.mean())
    return out
