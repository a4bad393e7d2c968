"""Operators: every panel button is one of these, usable from scripts as ``bpy.ops.kinemo.*``."""

from __future__ import annotations

import os

import bpy
from bpy.props import FloatProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from .bake import plan_shape_keys
from .fcurves import bake_action
from .live import SESSION
from .mapping import match_channels
from .takes_io import TakeError, read_take


def _target_mesh(context, name: str = ""):
    obj = bpy.data.objects.get(name) if name else context.scene.kinemo.target
    if obj is None or obj.type != "MESH":
        return None
    return obj


class KINEMO_OT_live_start(bpy.types.Operator):
    """Listen for Kinemo frames and drive the target's ARKit shape keys"""

    bl_idname = "kinemo.live_start"
    bl_label = "Start Live"
    bl_options = {"REGISTER"}

    def execute(self, context):
        settings = context.scene.kinemo
        obj = _target_mesh(context)
        if obj is None:
            self.report({"ERROR"}, "Choose a target mesh with ARKit-named shape keys first")
            return {"CANCELLED"}
        try:
            SESSION.start([obj.name], settings.host, settings.port)
        except OSError as e:
            self.report({"ERROR"}, f"Cannot listen on {settings.host}:{settings.port}: {e.strerror or e}")
            return {"CANCELLED"}
        return {"FINISHED"}


class KINEMO_OT_live_stop(bpy.types.Operator):
    """Stop listening; the shape keys keep their last values"""

    bl_idname = "kinemo.live_stop"
    bl_label = "Stop Live"
    bl_options = {"REGISTER"}

    def execute(self, context):
        SESSION.stop()
        return {"FINISHED"}


class KINEMO_OT_import_take(bpy.types.Operator, ImportHelper):
    """Bake a take file (Kinemo JSON/NPZ or Live Link Face CSV) into a new shape-key Action"""

    bl_idname = "kinemo.import_take"
    bl_label = "Import Take"
    bl_options = {"REGISTER", "UNDO"}

    filter_glob: StringProperty(default="*.csv;*.json;*.npz", options={"HIDDEN"})
    target: StringProperty(name="Target", description="Mesh object (default: the panel's target)")
    frame_start: FloatProperty(name="Start Frame", default=-1.0,
                               description="First frame of the take (-1: the scene's start frame)")

    def execute(self, context):
        obj = _target_mesh(context, self.target)
        if obj is None or obj.data.shape_keys is None:
            self.report({"ERROR"}, "Target must be a mesh with shape keys")
            return {"CANCELLED"}
        try:
            take = read_take(self.filepath)
        except TakeError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        key = obj.data.shape_keys
        mapping = match_channels(kb.name for kb in key.key_blocks)
        if not mapping:
            self.report({"ERROR"}, f"{obj.name} has no ARKit-named shape keys (e.g. 'jawOpen')")
            return {"CANCELLED"}
        scene = context.scene
        fps = scene.render.fps / scene.render.fps_base
        start = scene.frame_start if self.frame_start < 0 else self.frame_start
        plans = plan_shape_keys(take.times, take.blendshapes, mapping, fps=fps, frame_start=start)
        action = bake_action(key, take.name, plans)
        last = int(plans[0].frames[-1]) if plans else start
        scene.frame_end = max(scene.frame_end, last)
        self.report({"INFO"}, f"Baked {os.path.basename(self.filepath)}: {len(plans)} channels, "
                              f"{len(plans[0].frames) if plans else 0} frames → action '{action.name}'")
        return {"FINISHED"}


CLASSES = (KINEMO_OT_live_start, KINEMO_OT_live_stop, KINEMO_OT_import_take)
