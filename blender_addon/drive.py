"""Write one live frame into Blender: shape keys, head/neck/eye bones, action blends. Main thread only.

Each writer resolves its targets by name on every frame (an undo or a file load can
free the data behind a cached reference) but caches the name → index work, keyed by
the names themselves so a rename or a new shape key rebuilds it.
"""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Quaternion

from . import mapping, rig
from .actions import ActionBlender
from .bake_plan import BoneTargets

LIVE_TRACK_PREFIX = "Kinemo live: "
EXPRESSION_TRACK_PREFIX = "Kinemo live expression: "


class MeshWriter:
    """All driven shape keys of one mesh in one ``foreach_get`` + ``foreach_set``."""

    def __init__(self, names: list[str], overrides: dict[int, list[str]], disabled: list[int]) -> None:
        self.names = names
        index = {n: i for i, n in enumerate(names)}
        pairs = [(ch, index[k]) for ch, keys in mapping.resolve(names, overrides, disabled).items() for k in keys]
        self.src = np.array([p[0] for p in pairs], int)
        self.dst = np.array([p[1] for p in pairs], int)
        self.shared = len(set(self.dst.tolist())) != len(self.dst)  # a key driven by several channels
        self.buf = np.empty(len(names), np.float32)

    def write(self, key: bpy.types.Key, values: np.ndarray) -> None:
        if not len(self.dst):
            return
        blocks = key.key_blocks
        blocks.foreach_get("value", self.buf)
        v = values[self.src]
        if self.shared:
            top = np.full(len(self.buf), -np.inf)
            np.maximum.at(top, self.dst, v)
            self.buf[self.dst] = top[self.dst]
        else:
            self.buf[self.dst] = v
        blocks.foreach_set("value", self.buf)
        key.update_tag()


class MeshDrivers:
    RECHECK = 30  # compare all key names every this many frames (renames); counts every frame

    def __init__(self) -> None:
        self._cache: dict[int, MeshWriter] = {}
        self._frames = 0

    def write(self, obj: bpy.types.Object, values: np.ndarray, overrides, disabled) -> None:
        key = obj.data.shape_keys
        if key is None:
            return
        self._frames += 1
        blocks = key.key_blocks
        w = self._cache.get(obj.as_pointer())
        if w is None or len(w.names) != len(blocks) or self._frames % self.RECHECK == 0:
            names = [kb.name for kb in blocks]
            if w is None or w.names != names:
                if len(self._cache) > 64:
                    self._cache.clear()
                w = self._cache[obj.as_pointer()] = MeshWriter(names, overrides, disabled)
        w.write(key, values)

    def clear(self) -> None:
        self._cache.clear()


def set_rotation(pbone: bpy.types.PoseBone, q: np.ndarray) -> None:
    """Set a bone-local rotation (w, x, y, z) in whatever rotation mode the bone uses."""
    mode = pbone.rotation_mode
    if mode == "QUATERNION":
        pbone.rotation_quaternion = q
    elif mode == "AXIS_ANGLE":
        axis, angle = Quaternion(q).to_axis_angle()
        pbone.rotation_axis_angle = (angle, *axis)
    else:
        pbone.rotation_euler = Quaternion(q).to_euler(mode)


def write_bones(arm: bpy.types.Object, bones: BoneTargets, head: np.ndarray, eyes: np.ndarray, *,
                axes: rig.AxisMap, eye_axes: rig.AxisMap, neck_share: float,
                root_ref: np.ndarray | None, root_scale: float) -> None:
    pose = arm.pose
    y, p, r = float(head[0]), float(head[1]), float(head[2])
    s = min(max(neck_share, 0.0), 1.0) if bones.neck else 0.0
    targets = (
        (bones.head, lambda: rig.rotation_one(y * (1 - s), p * (1 - s), r * (1 - s), axes)),
        (bones.neck, lambda: rig.rotation_one(y * s, p * s, r * s, axes)),
        (bones.eye_left, lambda: rig.rotation_one(float(eyes[0]), float(eyes[1]), 0.0, eye_axes)),
        (bones.eye_right, lambda: rig.rotation_one(float(eyes[2]), float(eyes[3]), 0.0, eye_axes)),
    )
    for name, q in targets:
        pb = pose.bones.get(name) if name else None
        if pb is not None:
            set_rotation(pb, q())
    if bones.root and root_ref is not None:
        pb = pose.bones.get(bones.root)
        if pb is not None:
            pb.location = rig.root_offset(head, root_ref, root_scale)


class ActionWriter:
    """Live action blending on per-label NLA tracks, via the strips' animated influence and time.

    Body action events and expression reactions (:mod:`expressions`) both go through it, each
    with its own writer and track name prefix."""

    def __init__(self, blend_time: float, prefix: str = LIVE_TRACK_PREFIX) -> None:
        self.blender = ActionBlender(blend_time)
        self.fps = 24.0
        self.prefix = prefix

    def _strip(self, arm: bpy.types.ID, label: str, action: bpy.types.Action):
        ad = arm.animation_data or arm.animation_data_create()
        name = self.prefix + label
        track = ad.nla_tracks.get(name)
        if track is None:
            track = ad.nla_tracks.new()
            track.name = name
        strip = track.strips[0] if len(track.strips) else None
        if strip is None or strip.action != action:
            if strip is not None:
                track.strips.remove(strip)
            strip = track.strips.new(label, int(action.frame_range[0]), action)
            strip.use_animated_influence = True
            strip.use_animated_time = True
            strip.extrapolation = "HOLD"
            for path in ("influence", "strip_time"):
                fc = strip.fcurves.find(path)
                if not len(fc.keyframe_points):
                    fc.keyframe_points.add(1)
        return strip

    def write(self, arm, actions: dict[str, str], events, now: float,
              owners: dict[str, bpy.types.ID] | None = None) -> dict[str, tuple[float, float]]:
        """Feed ``events`` (``/kinemo/body/event`` updates, or (label, phase) pairs) for labels in
        ``actions`` (label → Action name, "" for none), step the fades, write the strips onto ``arm``
        (or ``owners[label]``); returns the blender's {label: (weight, seconds since start)}."""
        for ev in events:
            label, phase = ev if isinstance(ev, tuple) else (ev.values[0], ev.values[1])
            if label in actions:
                self.blender.event(label, phase, now)
        weights = self.blender.step(now)
        touched = {id(arm): arm} if arm is not None and (self.blender.actions or events) else {}
        for label, (weight, elapsed) in weights.items():
            action = bpy.data.actions.get(actions.get(label, ""))
            owner = (owners or {}).get(label, arm)
            if action is None or owner is None:
                continue
            strip = self._strip(owner, label, action)
            touched[id(owner)] = owner
            f0, f1 = action.frame_range
            length = max(1.0, f1 - f0)
            influence = strip.fcurves.find("influence").keyframe_points[0]
            influence.co = (influence.co[0], weight)
            t = strip.fcurves.find("strip_time").keyframe_points[0]
            t.co = (t.co[0], f0 + (elapsed * self.fps) % length)
        for owner in touched.values():
            owner.update_tag(refresh={"TIME"})
        return weights

    @staticmethod
    def remove_tracks(arm: bpy.types.ID, prefix: str = LIVE_TRACK_PREFIX) -> None:
        ad = arm.animation_data
        if ad is None:
            return
        for track in [t for t in ad.nla_tracks if t.name.startswith(prefix)]:
            ad.nla_tracks.remove(track)
