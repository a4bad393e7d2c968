"""The demo's human in Blender: one skinned mesh with the 52 ARKit keys on a 53-bone armature, and body actions.

``build_human(bpy, name)`` builds, from :func:`human_body.human_geometry` (MakeHuman's CC0 base mesh with
the Face Units' ARKit targets, docs/avatar.md):

- ``{name}Head``: the whole human as one mesh — skin, clothes, lips, brows, short hair, lashes, teeth,
  tongue, mouth and the eyeballs — so every shape key moves every part it should (jawOpen the chin,
  lower teeth and tongue; tongueOut the tongue; eyeLook* the eyeballs; eyeBlink* the lids and lashes).
  The name is the ARKit target's in every avatar kind, the scripts and tests find it by it;
- ``{name}Rig``: MakeHuman's game-engine skeleton (Root, pelvis, spine_01-03, neck_01, head, clavicles,
  arms, hands with fingers, legs, feet) deforming the mesh with MakeHuman's weights;
- one Action per body action label (:data:`ACTIONS`), kept with a fake user, in quaternions on the
  bones: :func:`action_keys` says each as aims (where a limb points, armature axes), rotations or
  locations, so they read like what the body does.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import human_body as hb  # noqa: E402

ACTIONS = ("idle", "wave", "clap", "hands_up", "jump", "squat", "walk", "bow")
#: Bones the add-on drives from a take's head pose (the eyes turn with the eyeLook keys).
HEAD_BONE, NECK_BONE = "head", "neck_01"


def _unit(*v: float) -> tuple[float, float, float]:
    a = np.asarray(v, float)
    return tuple(float(x) for x in a / np.linalg.norm(a))


#: Where each limb rests in the relaxed stance (armature axes; x = the avatar's left, -y = forward).
RELAXED = {"upperarm_l": _unit(0.22, 0.04, -1), "lowerarm_l": _unit(0.1, -0.22, -1),
           "upperarm_r": _unit(-0.22, 0.04, -1), "lowerarm_r": _unit(-0.1, -0.22, -1)}


def action_keys() -> dict[str, dict[str, dict[str, list]]]:
    """label → bone → channel → [(frame, value)]: 'aim' a unit direction the bone points along (armature
    axes), 'rot' Euler XYZ degrees about the armature's axes (applied at the bone, carried by its parents),
    'loc' metres in armature axes. Pure data, testable without Blender. Every action starts and ends in the
    relaxed stance (arms down), so actions blend into one another and into ``idle`` on the NLA."""
    r = RELAXED
    acts: dict[str, dict[str, dict[str, list]]] = {}
    arms = ("upperarm_l", "lowerarm_l", "upperarm_r", "lowerarm_r")

    def hold(bones, frames):
        return {b: {"aim": [(f, r[b]) for f in frames]} for b in bones}

    # idle: relaxed arms, breathing and a slow shift of weight; frame 97 is frame 1 again, so it loops
    acts["idle"] = hold(arms, (1, 97))
    acts["idle"]["spine_03"] = {"rot": [(f, (1.5 * math.sin(2 * math.pi * (f - 1) / 48), 0, 0))
                                        for f in range(1, 98, 8)]}
    acts["idle"]["pelvis"] = {"rot": [(f, (0, 1.2 * math.sin(2 * math.pi * (f - 1) / 96), 0))
                                      for f in range(1, 98, 12)]}
    # wave: the right arm up and out, the forearm swinging from the elbow (three waves)
    up, wave = _unit(-0.75, -0.15, 0.65), []
    for i, f in enumerate(range(12, 49, 6)):
        wave.append((f, _unit(-0.38 if i % 2 else 0.05, -0.2, 1)))
    acts["wave"] = {
        "upperarm_r": {"aim": [(1, r["upperarm_r"]), (10, up), (50, up), (60, r["upperarm_r"])]},
        "lowerarm_r": {"aim": [(1, r["lowerarm_r"]), (10, _unit(-0.2, -0.2, 1))] + wave
                       + [(50, _unit(-0.2, -0.2, 1)), (60, r["lowerarm_r"])]},
    }
    # clap: both hands meet in front of the chest, five claps
    claps_l, claps_r = [], []
    for i, f in enumerate(range(10, 47, 4)):
        x, y = (-0.3, -1.0) if i % 2 == 0 else (-0.75, -0.6)  # apart, together
        claps_l.append((f, _unit(x, y, 0.35)))
        claps_r.append((f, _unit(-x, y, 0.35)))
    acts["clap"] = {
        "upperarm_l": {"aim": [(1, r["upperarm_l"]), (8, _unit(0.3, -0.8, -0.4)), (46, _unit(0.3, -0.8, -0.4)),
                               (54, r["upperarm_l"])]},
        "upperarm_r": {"aim": [(1, r["upperarm_r"]), (8, _unit(-0.3, -0.8, -0.4)), (46, _unit(-0.3, -0.8, -0.4)),
                               (54, r["upperarm_r"])]},
        "lowerarm_l": {"aim": [(1, r["lowerarm_l"])] + claps_l + [(54, r["lowerarm_l"])]},
        "lowerarm_r": {"aim": [(1, r["lowerarm_r"])] + claps_r + [(54, r["lowerarm_r"])]},
    }
    # hands up: both arms straight up
    acts["hands_up"] = {
        "upperarm_l": {"aim": [(1, r["upperarm_l"]), (12, _unit(0.3, 0, 1)), (36, _unit(0.3, 0, 1)),
                               (48, r["upperarm_l"])]},
        "upperarm_r": {"aim": [(1, r["upperarm_r"]), (12, _unit(-0.3, 0, 1)), (36, _unit(-0.3, 0, 1)),
                               (48, r["upperarm_r"])]},
        "lowerarm_l": {"aim": [(1, r["lowerarm_l"]), (12, _unit(0.2, 0, 1)), (36, _unit(0.2, 0, 1)),
                               (48, r["lowerarm_l"])]},
        "lowerarm_r": {"aim": [(1, r["lowerarm_r"]), (12, _unit(-0.2, 0, 1)), (36, _unit(-0.2, 0, 1)),
                               (48, r["lowerarm_r"])]},
    }
    # jump: crouch, up 0.35 m with the arms swinging up, land, stand
    legs = {"thigh_l": [(1, 0), (8, -45), (13, 0), (22, -30), (30, 0)],
            "calf_l": [(1, 0), (8, 80), (13, 0), (22, 55), (30, 0)],
            "foot_l": [(1, 0), (8, -35), (13, 20), (22, -25), (30, 0)]}
    acts["jump"] = {"Root": {"loc": [(1, (0, 0, 0)), (8, (0, 0, -0.18)), (13, (0, 0, 0.35)), (17, (0, 0, 0.3)),
                                     (22, (0, 0, -0.12)), (30, (0, 0, 0))]}}
    for side in ("l", "r"):
        for bone, keys in legs.items():
            acts["jump"][bone[:-1] + side] = {"rot": [(f, (a, 0, 0)) for f, a in keys]}
        acts["jump"][f"upperarm_{side}"] = {"aim": [(1, r[f"upperarm_{side}"]), (8, _unit(0, 0.5, -1)),
                                                    (13, _unit(0.3 if side == "l" else -0.3, -0.3, 1)),
                                                    (22, _unit(0, -0.3, -1)), (30, r[f"upperarm_{side}"])]}
    # squat: down and up with the arms held forward
    acts["squat"] = {"Root": {"loc": [(1, (0, 0, 0)), (16, (0, 0, -0.38)), (32, (0, 0, -0.38)), (48, (0, 0, 0))]}}
    for side in ("l", "r"):
        sx = 1 if side == "l" else -1
        for bone, angle in (("thigh", -95), ("calf", 110), ("foot", -15)):
            acts["squat"][f"{bone}_{side}"] = {"rot": [(1, (0, 0, 0)), (16, (angle, 0, 0)), (32, (angle, 0, 0)),
                                                       (48, (0, 0, 0))]}
        acts["squat"][f"upperarm_{side}"] = {"aim": [(1, r[f"upperarm_{side}"]), (16, _unit(0.25 * sx, -1, 0)),
                                                     (32, _unit(0.25 * sx, -1, 0)), (48, r[f"upperarm_{side}"])]}
    # walk (in place): legs and arms swing in opposition, one stride every 24 frames
    acts["walk"] = {}
    for side, phase in (("l", 0.0), ("r", math.pi)):
        frames = range(1, 50, 3)
        s = [(f, math.sin(2 * math.pi * (f - 1) / 24 + phase)) for f in frames]
        sx = 0.22 if side == "l" else -0.22
        acts["walk"][f"thigh_{side}"] = {"rot": [(f, (-25 * a, 0, 0)) for f, a in s]}
        acts["walk"][f"calf_{side}"] = {"rot": [(f, (35 * max(0.0, -a), 0, 0)) for f, a in s]}
        acts["walk"][f"upperarm_{side}"] = {"aim": [(f, _unit(sx, 0.45 * a, -1)) for f, a in s]}
    # bow: from the hips, the head following
    acts["bow"] = {
        "spine_01": {"rot": [(1, (0, 0, 0)), (14, (20, 0, 0)), (30, (20, 0, 0)), (44, (0, 0, 0))]},
        "spine_02": {"rot": [(1, (0, 0, 0)), (14, (15, 0, 0)), (30, (15, 0, 0)), (44, (0, 0, 0))]},
        "spine_03": {"rot": [(1, (0, 0, 0)), (14, (10, 0, 0)), (30, (10, 0, 0)), (44, (0, 0, 0))]},
        "neck_01": {"rot": [(1, (0, 0, 0)), (14, (10, 0, 0)), (30, (10, 0, 0)), (44, (0, 0, 0))]},
    }
    for label in ("bow", "jump", "squat"):  # the arms stay relaxed unless the action moves them
        for b in arms:
            acts[label].setdefault(b, {"aim": [(1, r[b]), (max(k[0] for ch in acts[label].values()
                                                              for keys in ch.values() for k in keys), r[b])]})
    return acts


# -- Blender -----------------------------------------------------------------------------------

def _material(bpy, role: str):
    name = f"KinemoHuman_{role}"
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    rgba = hb.MATERIALS[role]
    mat.diffuse_color = rgba  # Workbench and the viewport
    mat.roughness = {"sclera": 0.15, "iris": 0.2, "pupil": 0.1, "teeth": 0.3, "lips": 0.45, "tongue": 0.4,
                     "mouth": 0.9}.get(role, 0.7)
    mat.metallic = 0.0
    tree = getattr(mat, "node_tree", None)
    if tree is None and hasattr(mat, "use_nodes"):
        mat.use_nodes = True
        tree = mat.node_tree
    bsdf = next((n for n in tree.nodes if n.type == "BSDF_PRINCIPLED"), None) if tree is not None else None
    if bsdf is not None:  # EEVEE and Cycles: the same colour
        bsdf.inputs["Base Color"].default_value = rgba
        bsdf.inputs["Roughness"].default_value = mat.roughness
    return mat


def _armature(bpy, name: str, bones: dict):
    arm_data = bpy.data.armatures.new(f"{name}Rig")
    rig = bpy.data.objects.new(f"{name}Rig", arm_data)
    bpy.context.scene.collection.objects.link(rig)
    bpy.context.view_layer.objects.active = rig
    bpy.ops.object.mode_set(mode="EDIT")
    for bone_name, (head, tail, roll, _) in bones.items():
        eb = arm_data.edit_bones.new(bone_name)
        eb.head, eb.tail = tuple(head), tuple(tail)
        eb.roll = 0.0 if bone_name in (HEAD_BONE, NECK_BONE) else roll  # the add-on's default head axes
    for bone_name, (_, _, _, parent) in bones.items():
        if parent:
            arm_data.edit_bones[bone_name].parent = arm_data.edit_bones[parent]
    bpy.ops.object.mode_set(mode="OBJECT")
    for pb in rig.pose.bones:
        pb.rotation_mode = "QUATERNION"
    arm_data.display_type = "STICK"
    return rig


def build_human(bpy, name: str = "Kinemo") -> dict:
    """Build the human into the current scene; returns {"head": mesh, "rig": armature, "actions": [...]}."""
    geo = hb.human_geometry()
    mesh = bpy.data.meshes.new(f"{name}Head")
    mesh.from_pydata([tuple(p) for p in geo["verts"]], [], [tuple(int(i) for i in f) for f in geo["faces"]])
    mesh.update()
    for role in hb.ROLES:
        mesh.materials.append(_material(bpy, role))
    mesh.polygons.foreach_set("material_index", geo["materials"].astype(np.int32))
    mesh.polygons.foreach_set("use_smooth", np.ones(len(mesh.polygons), bool))
    obj = bpy.data.objects.new(f"{name}Head", mesh)
    bpy.context.scene.collection.objects.link(obj)
    co = geo["verts"].astype(np.float32)
    obj.shape_key_add(name="Basis", from_mix=False)
    for k, channel in enumerate(geo["names"]):
        kb = obj.shape_key_add(name=channel, from_mix=False)
        kb.data.foreach_set("co", (co + geo["deltas"][k]).astype(np.float32).ravel())
        kb.slider_max = 1.0
    rig = _armature(bpy, name, geo["bones"])
    for bone_name, (ids, w) in geo["weights"].items():
        vg = obj.vertex_groups.new(name=bone_name)
        for value in np.unique(np.round(w, 3)):
            sel = ids[np.round(w, 3) == value]
            vg.add(sel.tolist(), float(value), "REPLACE")
    obj.parent = rig
    mod = obj.modifiers.new("Armature", "ARMATURE")
    mod.object = rig
    actions = _build_actions(bpy, rig)
    bpy.context.view_layer.update()
    return {"head": obj, "rig": rig, "actions": actions, "geometry": geo}


def _quats(rig, keys: dict) -> dict[str, dict[str, list]]:
    """One label's action_keys() → bone → 'rot' (local quaternions) / 'loc' (local offsets) keys, via the rest pose.

    A bone's own channel is an armature-space rotation R applied at the bone before its parents' (so the
    parents carry it): its local quaternion is M⁻¹ R M for the bone's rest orientation M. An aim is the R
    that turns the bone, its parents posed, to point along the direction."""
    from mathutils import Euler, Quaternion, Vector

    bones = rig.data.bones
    rest = {b.name: b.matrix_local.to_3x3() for b in bones}

    def own(bone: str, frame: float) -> Quaternion:
        ch = keys.get(bone, {})
        if "aim" in ch:
            parents = chain(bone, frame)
            now = parents @ (rest[bone] @ Vector((0.0, 1.0, 0.0)))
            swing = now.rotation_difference(Vector(_at(ch["aim"], frame)).normalized())
            return parents.inverted() @ swing @ parents
        if "rot" in ch:
            return Euler([math.radians(a) for a in _at(ch["rot"], frame)], "XYZ").to_quaternion()
        return Quaternion()

    def chain(bone: str, frame: float) -> Quaternion:
        """The armature-space rotation of ``bone``'s parents together."""
        q = Quaternion()
        b = bones[bone].parent
        while b is not None:
            q = own(b.name, frame) @ q
            b = b.parent
        return q

    out: dict[str, dict[str, list]] = {}
    for bone, ch in keys.items():
        m = rest[bone]
        m_inv = m.inverted()
        rots, prev = [], None
        for frame, _ in ch.get("aim", ch.get("rot", [])):
            local = (m_inv @ own(bone, frame).to_matrix() @ m).to_quaternion()
            if prev is not None and prev.dot(local) < 0:
                local.negate()
            rots.append((frame, local))
            prev = local
        out[bone] = {"rot": rots}
        if "loc" in ch:
            out[bone]["loc"] = [(f, m_inv @ Vector(v)) for f, v in ch["loc"]]
    return out


def _at(keys: list, frame: int):
    """A channel's value at ``frame`` (linear between keys; held at the ends)."""
    frames = [k[0] for k in keys]
    if frame <= frames[0]:
        return keys[0][1]
    if frame >= frames[-1]:
        return keys[-1][1]
    i = int(np.searchsorted(frames, frame, side="right"))
    (f0, a), (f1, b) = keys[i - 1], keys[i]
    t = (frame - f0) / (f1 - f0)
    return tuple(x + t * (y - x) for x, y in zip(a, b, strict=True))


def _build_actions(bpy, rig) -> list:
    from bone_actions import key_actions

    acts = action_keys()
    return key_actions(bpy, rig, ACTIONS, lambda label: _quats(rig, acts[label]), "quaternion")
