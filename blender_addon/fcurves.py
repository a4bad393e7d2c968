"""Bulk keyframe writes into a new Action, for Blender 4.2 (legacy) and 4.4+/5.0 (slotted actions)."""

from __future__ import annotations

from collections.abc import Sequence

import bpy

from .bake import CurvePlan

LINEAR = 1  # index of 'LINEAR' in the keyframe interpolation enum


def _is_slotted(action: bpy.types.Action) -> bool:
    return hasattr(action, "slots") and hasattr(action, "layers")


def _channel_collection(action: bpy.types.Action, id_data: bpy.types.ID):
    """Where new f-curves go, plus the slot to assign (None before 4.4)."""
    if not _is_slotted(action):
        return action.fcurves, None
    slot = action.slots.new(id_type=id_data.id_type, name=id_data.name)
    layer = action.layers.new("Layer")
    strip = layer.strips.new(type="KEYFRAME")
    return strip.channelbag(slot, ensure=True).fcurves, slot


def bake_action(id_data: bpy.types.ID, name: str, curves: Sequence[CurvePlan], *,
                assign: bool = True) -> bpy.types.Action:
    """Create a new Action named ``name`` (Blender makes it unique) holding ``curves``.

    An action already on ``id_data`` is kept (fake user) rather than lost: baking
    never destroys animation.
    """
    action = bpy.data.actions.new(name)
    if not _is_slotted(action):
        action.id_root = id_data.id_type
    fcurves, slot = _channel_collection(action, id_data)
    for plan in curves:
        if slot is None:
            fc = fcurves.new(plan.data_path, index=0, action_group=plan.group)
        else:
            fc = fcurves.new(plan.data_path, index=0)
        n = len(plan.frames)
        fc.keyframe_points.add(n)
        fc.keyframe_points.foreach_set("co", plan.interleaved())
        fc.keyframe_points.foreach_set("interpolation", [LINEAR] * n)
        fc.update()
    if assign:
        ad = id_data.animation_data or id_data.animation_data_create()
        if ad.action is not None:
            ad.action.use_fake_user = True
        ad.action = action
        if slot is not None:
            ad.action_slot = slot
    return action
