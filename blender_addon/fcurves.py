"""Bulk keyframe writes for Blender 4.2 (legacy ``Action.fcurves``) and 4.4+/5.0 (slotted actions).

``keyframe_points.add(n)`` + ``foreach_set`` writes a whole curve in a few C calls
instead of one Python call per key (scripts/bench/bench_bake.py measures the difference).
Handles are set on the keys themselves, so no per-curve ``update()`` sort is needed:
keys arrive sorted, and LINEAR keys ignore handles anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

import bpy
import numpy as np

from .bake_plan import CurvePlan

LINEAR = 1  # index of 'LINEAR' in the keyframe interpolation enum


def is_slotted(action: bpy.types.Action) -> bool:
    return hasattr(action, "slots") and hasattr(action, "layers")


def _channelbag(action: bpy.types.Action, id_data: bpy.types.ID, slot=None):
    """The channelbag for ``slot`` (a new slot for ``id_data`` when None) and the slot."""
    if slot is None:
        slot = action.slots.new(id_type=id_data.id_type, name=id_data.name)
    layer = action.layers[0] if action.layers else action.layers.new("Layer")
    strip = layer.strips[0] if layer.strips else layer.strips.new(type="KEYFRAME")
    return strip.channelbag(slot, ensure=True), slot


def action_fcurves(action: bpy.types.Action, id_data: bpy.types.ID | None = None, slot=None):
    """The f-curves of ``action`` for ``id_data``'s assigned slot (4.4+), or all of them (4.2)."""
    if not is_slotted(action):
        return action.fcurves
    if slot is None and id_data is not None and id_data.animation_data is not None:
        slot = id_data.animation_data.action_slot
    if slot is None or not action.layers or not action.layers[0].strips:
        return []
    bag = action.layers[0].strips[0].channelbag(slot)
    return bag.fcurves if bag is not None else []


def write_curves(fcurves, curves: Sequence[CurvePlan], groups=None, legacy: bool = False) -> None:
    """Create one f-curve per plan (replacing one at the same path and index) and fill it in bulk."""
    made_groups: dict[str, object] = {}
    for plan in curves:
        old = fcurves.find(plan.data_path, index=plan.index)
        if old is not None:
            fcurves.remove(old)
        if legacy:
            fc = fcurves.new(plan.data_path, index=plan.index, action_group=plan.group)
        else:
            fc = fcurves.new(plan.data_path, index=plan.index)
            if groups is not None and plan.group:
                grp = made_groups.get(plan.group) or groups.get(plan.group) or groups.new(plan.group)
                made_groups[plan.group] = grp
                fc.group = grp
        n = len(plan.frames)
        co = plan.interleaved()
        kp = fc.keyframe_points
        kp.add(n)
        kp.foreach_set("co", co)
        kp.foreach_set("handle_left", co)
        kp.foreach_set("handle_right", co)
        kp.foreach_set("interpolation", np.full(n, LINEAR, np.int32))


def bake_action(id_data: bpy.types.ID, name: str, curves: Sequence[CurvePlan], *,
                assign: bool = True, replace: bool = False) -> bpy.types.Action:
    """Write ``curves`` into a new Action named ``name`` (Blender makes it unique) and assign it.

    An action already on ``id_data`` is kept (fake user) rather than lost: baking never
    destroys animation. ``replace=True`` is the explicit exception: the curves go into
    the assigned action, replacing only the f-curves at the same paths.
    """
    ad = id_data.animation_data
    if replace and ad is not None and ad.action is not None:
        action = ad.action
        if is_slotted(action):
            bag, _ = _channelbag(action, id_data, ad.action_slot)
            write_curves(bag.fcurves, curves, bag.groups)
        else:
            write_curves(action.fcurves, curves, legacy=True)
        return action
    action = bpy.data.actions.new(name)
    if is_slotted(action):
        bag, slot = _channelbag(action, id_data)
        write_curves(bag.fcurves, curves, bag.groups)
    else:
        action.id_root = id_data.id_type
        slot = None
        write_curves(action.fcurves, curves, legacy=True)
    if assign:
        ad = ad or id_data.animation_data_create()
        if ad.action is not None:
            ad.action.use_fake_user = True
        ad.action = action
        if slot is not None:
            ad.action_slot = slot
    return action


def sample_curve(fc, frames: np.ndarray) -> np.ndarray:
    """Values of ``fc`` at ``frames``: bulk read + interpolation for all-linear curves, else evaluate()."""
    n = len(fc.keyframe_points)
    if n == 0:
        return np.zeros(len(frames))
    interp = np.empty(n, np.int32)
    fc.keyframe_points.foreach_get("interpolation", interp)
    if np.all(interp == LINEAR):
        co = np.empty(2 * n, np.float32)
        fc.keyframe_points.foreach_get("co", co)
        return np.interp(frames, co[0::2], co[1::2])
    return np.array([fc.evaluate(float(f)) for f in frames])
