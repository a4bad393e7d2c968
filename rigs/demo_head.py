"""A stylised demo head with all 52 ARKit shape keys, built from code (no binary assets).

Each shape key moves only a soft region around its feature: the region and the
direction of motion are read off the ARKit name (side, feature, verb). It is a
stand-in good enough to see a performance on; the full avatar is issue #7.
The head faces -Y (Blender's front view), so the performer's left is +X.
"""

from __future__ import annotations

import numpy as np

# Feature centres on a unit sphere (x for the performer's left side; mirrored for Right).
FEATURES = {
    "eye": (0.33, -0.88, 0.28),
    "brow": (0.33, -0.82, 0.52),
    "browInner": (0.0, -0.9, 0.45),
    "cheek": (0.5, -0.78, -0.05),
    "nose": (0.12, -0.98, 0.02),
    "mouth": (0.0, -0.92, -0.38),
    "mouthCorner": (0.24, -0.86, -0.38),
    "jaw": (0.0, -0.75, -0.65),
    "tongue": (0.0, -0.95, -0.42),
}
RADIUS = {"eye": 0.16, "brow": 0.2, "browInner": 0.18, "cheek": 0.25, "nose": 0.14, "mouth": 0.22,
          "mouthCorner": 0.14, "jaw": 0.6, "tongue": 0.12}
#: The lips meet at this height; the mesh has a slit there, and the jaw moves only what is below.
MOUTH_Z = -0.38
MOUTH_HALF_WIDTH = 0.2


def _region_and_motion(name: str) -> tuple[str, int, tuple[float, float, float]]:
    """(feature, side: +1 left / -1 right / 0 centre, displacement direction) for one ARKit name."""
    side = 1 if name.endswith("Left") else -1 if name.endswith("Right") else 0
    base = name[: -len("Left")] if side == 1 else name[: -len("Right")] if side == -1 else name
    table = {
        "eyeBlink": ("eye", (0, 0, -0.12)), "eyeSquint": ("eye", (0, 0, 0.05)), "eyeWide": ("eye", (0, 0, 0.07)),
        "eyeLookUp": ("eye", (0, 0, 0.05)), "eyeLookDown": ("eye", (0, 0, -0.05)),
        "eyeLookIn": ("eye", (-0.05, 0, 0)), "eyeLookOut": ("eye", (0.05, 0, 0)),
        "browDown": ("brow", (0, 0, -0.08)), "browOuterUp": ("brow", (0.02, 0, 0.1)),
        "browInnerUp": ("browInner", (0, 0, 0.1)),
        "cheekPuff": ("cheek", (0, -0.12, 0)), "cheekSquint": ("cheek", (0, 0, 0.06)),
        "noseSneer": ("nose", (0, 0, 0.06)),
        "jawOpen": ("jaw", (0, 0.05, -0.35)), "jawForward": ("jaw", (0, -0.12, 0)),
        "jawLeft": ("jaw", (0.12, 0, 0)), "jawRight": ("jaw", (-0.12, 0, 0)),
        "mouthClose": ("mouth", (0, 0, 0.05)), "mouthFunnel": ("mouth", (0, -0.08, 0)),
        "mouthPucker": ("mouth", (0, -0.1, 0)), "mouthLeft": ("mouth", (0.1, 0, 0)),
        "mouthRight": ("mouth", (-0.1, 0, 0)), "mouthRollLower": ("mouth", (0, 0.05, 0.02)),
        "mouthRollUpper": ("mouth", (0, 0.05, -0.02)), "mouthShrugLower": ("mouth", (0, 0, 0.05)),
        "mouthShrugUpper": ("mouth", (0, 0, 0.04)),
        "mouthSmile": ("mouthCorner", (0.06, 0, 0.08)), "mouthFrown": ("mouthCorner", (0, 0, -0.08)),
        "mouthDimple": ("mouthCorner", (0.05, 0.03, 0)), "mouthStretch": ("mouthCorner", (0.08, 0, -0.02)),
        "mouthPress": ("mouthCorner", (0, 0.03, 0)), "mouthLowerDown": ("mouthCorner", (0, 0, -0.07)),
        "mouthUpperUp": ("mouthCorner", (0, 0, 0.07)),
        "tongueOut": ("tongue", (0, -0.15, 0)),
    }
    if name in table:  # jawLeft, mouthRight…: one centred feature moving sideways
        side, base = 0, name
    feature, motion = table[base]
    return feature, side, motion


def shape_key_offsets(co: np.ndarray, name: str) -> np.ndarray:
    """Per-vertex displacement of one shape key (vertices outside its region don't move)."""
    feature, side, motion = _region_and_motion(name)
    centre = np.array(FEATURES[feature], float)
    move = np.array(motion, float)
    if side == -1:
        centre[0] = -centre[0]
        move[0] = -move[0]
    centres = [centre]
    if side == 0 and abs(centre[0]) > 1e-6:  # a centred channel on a paired feature: both sides
        centres.append(centre * np.array([-1.0, 1.0, 1.0]))
    weight = np.zeros(len(co))
    for c in centres:
        d = np.linalg.norm(co - c, axis=1)
        r = RADIUS[feature]
        weight = np.maximum(weight, np.clip(1.0 - (d / r) ** 2, 0.0, 1.0) ** 2)
    if side:
        weight *= side * co[:, 0] > 1e-3  # a one-sided key never crosses the midline
    if feature == "jaw":
        weight *= np.clip((MOUTH_Z - co[:, 2]) / 0.06, 0.0, 1.0)  # the jaw carries the lower lip, not the upper
    return weight[:, None] * move[None, :]


def arkit_names() -> tuple[str, ...]:
    """The protocol's channel list, also when run by Blender's own Python (no kinemo installed)."""
    try:
        from kinemo.protocol import ARKIT_NAMES
    except ImportError:
        import sys
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "inference"))
        from kinemo.protocol import ARKIT_NAMES
    return ARKIT_NAMES


def build_head(bpy, name: str = "KinemoHead", channel_names=None):
    """Create the head object in the current scene and return it."""
    import bmesh

    names = channel_names if channel_names is not None else arkit_names()
    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    bmesh.ops.create_uvsphere(bm, u_segments=64, v_segments=48, radius=1.0)
    # Part the lips: a slit the jaw opens, with a dark mouth inside (below).
    slit = [f for f in bm.faces if abs(f.calc_center_median().z - MOUTH_Z) < 0.03
            and abs(f.calc_center_median().x) < MOUTH_HALF_WIDTH and f.calc_center_median().y < -0.5]
    bmesh.ops.delete(bm, geom=slit, context="FACES_ONLY")
    bm.to_mesh(mesh)
    bm.free()
    for poly in mesh.polygons:
        poly.use_smooth = True
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    n = len(mesh.vertices)
    co = np.empty(n * 3, np.float32)
    mesh.vertices.foreach_get("co", co)
    co = co.reshape(n, 3).astype(float)
    obj.shape_key_add(name="Basis", from_mix=False)
    for channel in names:
        kb = obj.shape_key_add(name=channel, from_mix=False)
        kb.data.foreach_set("co", (co + shape_key_offsets(co, channel)).astype(np.float32).ravel())
    _mouth(bpy, obj)
    return obj


def _material(bpy, name: str, rgba: tuple[float, float, float, float]):
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    mat.diffuse_color = rgba  # what Workbench and the viewport show
    return mat


def _mouth(bpy, head) -> None:
    """Skin on the head, and a dark cavity behind the lips so an open mouth reads as open."""
    import bmesh

    head.data.materials.append(_material(bpy, "KinemoSkin", (0.85, 0.66, 0.55, 1.0)))
    mesh = bpy.data.meshes.new(f"{head.name}Mouth")
    bm = bmesh.new()
    bmesh.ops.create_uvsphere(bm, u_segments=24, v_segments=16, radius=1.0)
    bmesh.ops.scale(bm, vec=(0.26, 0.2, 0.22), verts=bm.verts)
    bmesh.ops.translate(bm, vec=(0.0, -0.66, MOUTH_Z - 0.1), verts=bm.verts)  # inside the skin
    bm.to_mesh(mesh)
    bm.free()
    mesh.materials.append(_material(bpy, "KinemoMouth", (0.25, 0.05, 0.06, 1.0)))
    cavity = bpy.data.objects.new(f"{head.name}Mouth", mesh)
    bpy.context.scene.collection.objects.link(cavity)
    cavity.parent = head
