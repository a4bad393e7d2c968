"""Mapping operators: fill the channel list, presets, extra target meshes, action labels."""

from __future__ import annotations

import os

import bpy
from bpy.props import IntProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from . import presets, props
from .live import SESSION


def _refresh_live(context) -> None:
    if SESSION.running:
        SESSION.configure(props.live_config(context.scene.kinemo))


class KINEMO_OT_mapping_reset(bpy.types.Operator):
    """Reset the 52 channel rows to auto-mapping with neutral gain, offset and clamp"""

    bl_idname = "kinemo.mapping_reset"
    bl_label = "Reset Mapping"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        props.apply_preset(context.scene.kinemo, presets.Preset())
        _refresh_live(context)
        return {"FINISHED"}


class KINEMO_OT_preset_load(bpy.types.Operator, ImportHelper):
    """Load a mapping preset (JSON): explicit shape keys and shaping per channel"""

    bl_idname = "kinemo.preset_load"
    bl_label = "Load Preset"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def execute(self, context):
        try:
            preset = presets.load(self.filepath)
        except presets.PresetError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        props.apply_preset(context.scene.kinemo, preset)
        _refresh_live(context)
        extra = f" (unknown channels ignored: {', '.join(preset.unknown)})" if preset.unknown else ""
        self.report({"INFO"}, f"Loaded preset '{preset.name or os.path.basename(self.filepath)}'{extra}")
        return {"FINISHED"}


class KINEMO_OT_preset_save(bpy.types.Operator, ExportHelper):
    """Save the channel mapping and shaping as a JSON preset"""

    bl_idname = "kinemo.preset_save"
    bl_label = "Save Preset"
    bl_options = {"REGISTER"}

    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})
    name: StringProperty(name="Name")

    def execute(self, context):
        settings = context.scene.kinemo
        props.ensure_channels(settings)
        name = self.name or os.path.splitext(os.path.basename(self.filepath))[0]
        try:
            presets.save(self.filepath, props.to_preset(settings, name))
        except OSError as e:
            self.report({"ERROR"}, f"Cannot write {self.filepath}: {e.strerror or e}")
            return {"CANCELLED"}
        return {"FINISHED"}


class KINEMO_OT_target_add(bpy.types.Operator):
    """Drive another mesh together with the main target (teeth, tongue, eyelashes…)"""

    bl_idname = "kinemo.target_add"
    bl_label = "Add Target"
    bl_options = {"REGISTER", "UNDO"}

    object: StringProperty(name="Object", description="Mesh to add (default: the active object)")

    def execute(self, context):
        settings = context.scene.kinemo
        obj = bpy.data.objects.get(self.object) if self.object else context.active_object
        if obj is None or obj.type != "MESH":
            self.report({"ERROR"}, "Pick a mesh object")
            return {"CANCELLED"}
        if obj not in props.target_meshes(settings):
            settings.extra_targets.add().object = obj
        if SESSION.running and obj.name not in SESSION.targets:
            SESSION.targets.append(obj.name)
        return {"FINISHED"}


class KINEMO_OT_target_remove(bpy.types.Operator):
    """Stop driving an extra target mesh"""

    bl_idname = "kinemo.target_remove"
    bl_label = "Remove Target"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(default=-1, description="Row to remove (-1: the selected one)")

    def execute(self, context):
        settings = context.scene.kinemo
        i = settings.extra_index if self.index < 0 else self.index
        if not 0 <= i < len(settings.extra_targets):
            return {"CANCELLED"}
        obj = settings.extra_targets[i].object
        settings.extra_targets.remove(i)
        settings.extra_index = max(0, min(settings.extra_index, len(settings.extra_targets) - 1))
        if obj is not None and obj.name in SESSION.targets and obj != settings.target:
            SESSION.targets.remove(obj.name)
        return {"FINISHED"}


class KINEMO_OT_action_map_add(bpy.types.Operator):
    """Map an action label from the service to a Blender Action on the armature"""

    bl_idname = "kinemo.action_map_add"
    bl_label = "Add Action Mapping"
    bl_options = {"REGISTER", "UNDO"}

    label: StringProperty(name="Label")
    action: StringProperty(name="Action")

    def execute(self, context):
        settings = context.scene.kinemo
        row = next((m for m in settings.actions if m.name == self.label), None) if self.label else None
        row = row or settings.actions.add()
        row.name = self.label or "label"
        row.action = bpy.data.actions.get(self.action) if self.action else None
        _refresh_live(context)
        return {"FINISHED"}


class KINEMO_OT_action_map_remove(bpy.types.Operator):
    """Remove the selected action mapping"""

    bl_idname = "kinemo.action_map_remove"
    bl_label = "Remove Action Mapping"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        settings = context.scene.kinemo
        if 0 <= settings.action_index < len(settings.actions):
            settings.actions.remove(settings.action_index)
            settings.action_index = max(0, settings.action_index - 1)
        _refresh_live(context)
        return {"FINISHED"}


CLASSES = (KINEMO_OT_mapping_reset, KINEMO_OT_preset_load, KINEMO_OT_preset_save, KINEMO_OT_target_add,
           KINEMO_OT_target_remove, KINEMO_OT_action_map_add, KINEMO_OT_action_map_remove)
