"""The human demo head: the data-made face rig (rigs/face_rig.npz) closed into a head.

Geometry, all in one mesh so the 52 shape keys drive every part (numpy, testable without Blender):
the face is MediaPipe's canonical mesh with the fills over the eye openings and between the lips
removed (and the iris patches); a cranium is an ellipsoid whose radius is bent, direction by
direction, to meet the face's outer edge and to stay just behind the face; inside the mouth a dark
cavity, upper and lower teeth and a tongue. The lower teeth, tongue and the cavity's floor follow
the chin's offsets in every key (so jawOpen opens the teeth too); tongueOut pushes the tongue out.
Eyes are separate objects (white ball, iris, pupil) on the armature's gaze bones, centred behind
the tracked iris points. Materials: skin, lips, brows, hair, mouth, teeth, tongue.

Frames: canonical centimetres (x = the performer's left, y up, z forward) map to the head object's
local Blender units by ``to_local``: scale ``SCALE``, the face looking down -Y, Z up.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import face_rig as fr  # noqa: E402

SCALE = 0.11  # Blender units per canonical centimetre (the head is ~2 units tall, like the stylised one)
ORIGIN = np.array([0.0, 0.09, -0.5])  # the canonical point at the head object's origin
EYE_RADIUS_CM = 1.2
EYE_DEPTH_CM = 1.08  # eyeball centre behind the iris landmark
CRANIUM_CENTRE = np.array([0.0, 0.5, -1.5])
CRANIUM_RADII = np.array([7.8, 9.6, 9.3])
INNER_LIP = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415)
CHIN_ANCHORS = (17, 84, 314, 18, 200, 199, 175, 181, 405)  # below the lower lip: they ride on the jaw
MATERIALS = {"skin": (0.80, 0.60, 0.50, 1.0), "lips": (0.72, 0.40, 0.40, 1.0), "brows": (0.25, 0.17, 0.12, 1.0),
             "hair": (0.22, 0.15, 0.10, 1.0), "mouth": (0.30, 0.06, 0.07, 1.0), "teeth": (0.93, 0.92, 0.86, 1.0),
             "tongue": (0.75, 0.35, 0.38, 1.0), "eye": (0.95, 0.95, 0.95, 1.0), "iris": (0.30, 0.42, 0.55, 1.0),
             "pupil": (0.03, 0.03, 0.04, 1.0)}
MATERIAL_ORDER = ("skin", "lips", "brows", "hair", "mouth", "teeth", "tongue")


def to_local(p: np.ndarray) -> np.ndarray:
    """Canonical cm (x left, y up, z forward) → head-local Blender units (x left, -y forward, z up)."""
    p = (np.asarray(p, float) - ORIGIN) * SCALE
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1)


def eye_centres() -> dict[str, np.ndarray]:
    """Canonical cm centre of each eyeball: behind its tracked iris centre."""
    verts, _ = fr.load_obj()
    return {side: verts[i] - (0.0, 0.0, EYE_DEPTH_CM) for side, i in (("L", fr.LEFT_IRIS), ("R", fr.RIGHT_IRIS))}


def _ring(groups) -> set[int]:
    return {i for g in groups for c in g for i in (c.start, c.end)}


def face_triangles(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The face's triangles without the eye/lip fills and iris patches, and a material per triangle."""
    from mediapipe.tasks.python.vision import FaceLandmarksConnections as C

    holes = [_ring([C.FACE_LANDMARKS_LEFT_EYE]), _ring([C.FACE_LANDMARKS_RIGHT_EYE]), set(INNER_LIP)]
    keep = np.array([not any(all(i in h for i in t) for h in holes) and max(t) < 468 for t in faces])
    tris = faces[keep]
    lips = _ring([C.FACE_LANDMARKS_LIPS])
    brows = _ring([C.FACE_LANDMARKS_LEFT_EYEBROW, C.FACE_LANDMARKS_RIGHT_EYEBROW])
    mat = np.zeros(len(tris), np.int64)
    mat[[all(i in lips for i in t) for t in tris]] = MATERIAL_ORDER.index("lips")
    mat[[all(i in brows for i in t) for t in tris]] = MATERIAL_ORDER.index("brows")
    return tris, mat


def _uv_sphere(centre, radii, segments: int, rings: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (poles included) and triangles of an ellipsoid."""
    pts = [np.array([0.0, 1.0, 0.0])]
    for r in range(1, rings):
        th = np.pi * r / rings
        for s in range(segments):
            ph = 2 * np.pi * s / segments
            pts.append(np.array([np.sin(th) * np.sin(ph), np.cos(th), np.sin(th) * np.cos(ph)]))
    pts.append(np.array([0.0, -1.0, 0.0]))
    u = np.array(pts)
    tris = []
    last = len(u) - 1
    for s in range(segments):
        tris.append((0, 1 + (s + 1) % segments, 1 + s))
        b = 1 + (rings - 2) * segments
        tris.append((last, b + s, b + (s + 1) % segments))
    for r in range(rings - 2):
        a, b = 1 + r * segments, 1 + (r + 1) * segments
        for s in range(segments):
            s1 = (s + 1) % segments
            tris += [(a + s, a + s1, b + s), (a + s1, b + s1, b + s)]
    return np.asarray(centre) + u * np.asarray(radii), np.array(tris, np.int64)


def cranium(face: np.ndarray, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The back and top of the head: an ellipsoid bent to meet the face's rim and to stay behind the face."""
    from collections import Counter

    edges = Counter(tuple(sorted(e)) for t in tris for e in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0])))
    rim_ids = sorted({i for e, c in edges.items() if c == 1 for i in e} - set(INNER_LIP))
    rim_ids = [i for i in rim_ids if np.linalg.norm(face[i, :2]) > 6.0]  # the outer edge, not eye/lip holes
    unit, ctris = _uv_sphere((0, 0, 0), (1, 1, 1), 32, 24)
    used = np.unique(tris)

    def radius(u):  # the ellipsoid's radius along unit directions u
        return 1.0 / np.sqrt(((u / CRANIUM_RADII) ** 2).sum(axis=-1))

    d = face[used] - CRANIUM_CENTRE
    r_face = np.linalg.norm(d, axis=1)
    u_face = d / r_face[:, None]
    res = r_face - radius(u_face)
    is_rim = np.isin(used, rim_ids)
    cos = unit @ u_face.T  # (S, F)
    ang = np.arccos(np.clip(cos, -1, 1))
    w = np.exp(-(ang / 0.12) ** 2)
    wsum = w.sum(axis=1)
    interp = (w * res).sum(axis=1) / np.maximum(wsum, 1e-9)
    alpha = np.clip(wsum / 0.3, 0.0, 1.0)
    nearest = np.argmin(ang, axis=1)
    inside = (~is_rim[nearest]) & (ang[np.arange(len(unit)), nearest] < 0.12)
    r = radius(unit) + alpha * interp - np.where(inside, 0.7, 0.0)
    return CRANIUM_CENTRE + unit * r[:, None], ctris


def _arch(width: float, front: float, curve: float, top: float, bottom: float, depth: float, n: int = 12):
    """A row of teeth: a curved slab, as vertices and quads split into triangles."""
    u = np.linspace(-1, 1, n)
    x, z = width * u, front - curve * u ** 2
    ring = []
    for zz_off in (0.0, -depth):
        for yy in (top, bottom):
            ring.append(np.stack([x, np.full(n, yy), z + zz_off], axis=1))
    v = np.concatenate(ring)  # 4 strips: front-top, front-bottom, back-top, back-bottom
    tris = []
    for a, b in ((0, 1), (1, 3), (3, 2), (2, 0)):
        for i in range(n - 1):
            p, q = a * n + i, b * n + i
            tris += [(p, p + 1, q), (p + 1, q + 1, q)]
    for end in (0, n - 1):
        tris += [(end, n + end, 3 * n + end), (end, 3 * n + end, 2 * n + end)]
    return v, np.array(tris, np.int64)


def head_geometry(rig: fr.Rig | None = None) -> dict:
    """Everything the Blender head is made of, in canonical cm: verts, tris, material per triangle,
    deltas (K, V, 3) per key, and ``parts`` (name → vertex index range)."""
    rig = rig or fr.Rig.load()
    face = rig.basis
    tris, mats = face_triangles(rig.faces)
    parts = {"face": (0, len(face))}
    verts, all_tris, all_mats = [face], [tris], [mats]
    k = len(rig.names)
    deltas = [rig.deltas]
    chin = rig.deltas[:, list(CHIN_ANCHORS)].mean(axis=1)  # (K, 3): how the jaw moves in each key

    def add(name, v, t, material, follow):
        start = sum(len(x) for x in verts)
        verts.append(v)
        all_tris.append(t + start)
        all_mats.append(np.full(len(t), MATERIAL_ORDER.index(material)))
        deltas.append(follow[:, None, None] * chin[:, None, :] if np.ndim(follow) == 1 else follow)
        parts[name] = (start, start + len(v))

    cv, ct = cranium(face, tris)
    cmat = np.where(cv[ct].mean(axis=1)[:, 1] > 3.0, "hair", "skin")
    cmat[(cv[ct].mean(axis=1)[:, 2] < -4.0) & (cv[ct].mean(axis=1)[:, 1] > -3.0)] = "hair"
    start = sum(len(x) for x in verts)
    verts.append(cv)
    all_tris.append(ct + start)
    all_mats.append(np.array([MATERIAL_ORDER.index(m) for m in cmat]))
    deltas.append(np.zeros((k, len(cv), 3)))
    parts["cranium"] = (start, start + len(cv))

    mv, mt = _uv_sphere((0.0, -4.5, 2.6), (2.4, 1.7, 1.85), 16, 10)
    floor = np.clip((-4.3 - mv[:, 1]) / 1.2, 0.0, 1.0)
    add("mouth", mv, mt, "mouth", floor[None, :, None] * chin[:, None, :])
    uv, ut = _arch(1.75, 4.75, 1.25, -3.7, -4.3, 0.35)
    add("upper_teeth", uv, ut, "teeth", np.zeros((k, len(uv), 3)))
    lv, lt = _arch(1.65, 4.55, 1.25, -4.3, -4.9, 0.35)
    add("lower_teeth", lv, lt, "teeth", np.broadcast_to(chin[:, None, :], (k, len(lv), 3)).copy())
    tv, tt = _uv_sphere((0.0, -4.75, 3.2), (1.35, 0.4, 1.5), 16, 8)
    tongue = np.broadcast_to(0.9 * chin[:, None, :], (k, len(tv), 3)).copy()
    if "tongueOut" in rig.names:
        front = np.clip((tv[:, 2] - 1.7) / 3.0, 0.0, 1.0)
        tongue[rig.names.index("tongueOut")] += np.stack([0 * front, -0.5 * front, 2.4 * front ** 0.5], axis=1)
    add("tongue", tv, tt, "tongue", tongue)
    return {"verts": np.concatenate(verts), "tris": np.concatenate(all_tris), "materials": np.concatenate(all_mats),
            "deltas": np.concatenate(deltas, axis=1), "parts": parts, "names": rig.names}


def _material(bpy, role: str):
    name = f"KinemoHuman_{role}"
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    mat.diffuse_color = MATERIALS[role]
    mat.roughness = 0.6 if role in ("eye", "teeth", "lips") else 0.8
    return mat


def build_human_head(bpy, name: str = "KinemoHead", channel_names=None):
    """The head mesh object (shape keys Basis + every ARKit name), in the current scene; no eyes."""
    geo = head_geometry()
    names = list(channel_names) if channel_names is not None else list(geo["names"])
    co = to_local(geo["verts"])
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([tuple(p) for p in co], [], [tuple(int(i) for i in t) for t in geo["tris"]])
    mesh.update()
    for role in MATERIAL_ORDER:
        mesh.materials.append(_material(bpy, role))
    mesh.polygons.foreach_set("material_index", geo["materials"].astype(np.int32))
    mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), bool))
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    obj.shape_key_add(name="Basis", from_mix=False)
    rig_names = list(geo["names"])
    for channel in names:
        kb = obj.shape_key_add(name=channel, from_mix=False)
        if channel in rig_names:
            d = geo["deltas"][rig_names.index(channel)] * SCALE
            d = np.stack([d[:, 0], -d[:, 2], d[:, 1]], axis=1)
            kb.data.foreach_set("co", (co + d).astype(np.float32).ravel())
    return obj


def eye_parts(bpy, name: str, centre_local, rig, bone: str, parent_to_bone) -> list:
    """White ball, iris and pupil for one eye, centred at ``centre_local`` (world), children of ``bone``."""
    import bmesh

    r = EYE_RADIUS_CM * SCALE
    out = []
    for part, size, forward, role in (("", (r, r, r), 0.0, "eye"), ("Iris", (0.48 * r, 0.12 * r, 0.48 * r),
                                                                   0.93 * r, "iris"),
                                      ("Pupil", (0.22 * r, 0.08 * r, 0.22 * r), 0.99 * r, "pupil")):
        mesh = bpy.data.meshes.new(f"{name}{part}")
        bm = bmesh.new()
        bmesh.ops.create_uvsphere(bm, u_segments=24, v_segments=16, radius=1.0)
        bmesh.ops.scale(bm, vec=size, verts=bm.verts)
        bm.to_mesh(mesh)
        bm.free()
        for poly in mesh.polygons:
            poly.use_smooth = True
        mesh.materials.append(_material(bpy, role))
        obj = bpy.data.objects.new(f"{name}{part}", mesh)
        bpy.context.scene.collection.objects.link(obj)
        obj.location = (centre_local[0], centre_local[1] - forward, centre_local[2])
        parent_to_bone(obj, rig, bone)
        out.append(obj)
    return out
