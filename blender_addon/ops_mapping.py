"""Mapping operators: fill the channel list, presets, extra target meshes, action labels, expression reactions."""

from __future__ import annotations

import os

import bpy
from bpy.props import BoolProperty, FloatProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from . import presets, props, protocol
from .expressions import action_labels, default_reaction, is_label
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


def known_labels(settings) -> list[str]:
    """Labels worth offering for a reaction: the built-in ones, then the performer's own seen on the stream,
    then names already mapped or with a ``react_<label>`` Action, each once."""
    out = list(protocol.EMOTIONS)
    for name in (*SESSION.seen_labels, *(m.name for m in settings.expressions),
                 *action_labels(a.name for a in bpy.data.actions)):
        if is_label(name) and name not in out:
            out.append(name)
    return out


def _label_search(_self, context, edit_text: str) -> list[tuple[str, str]]:
    """Suggestions while typing a label (any name may be typed; these are the ones known so far)."""
    seen = set(SESSION.seen_labels)
    return [(name, "built-in" if name in protocol.EMOTIONS else "seen on the stream" if name in seen else "your own")
            for name in known_labels(context.scene.kinemo) if edit_text.casefold() in name.casefold()]


def _expression_row(settings, label: str):
    row = next((m for m in settings.expressions if m.name == label), None)
    if row is None:
        row = settings.expressions.add()
        row.name = label
        settings.expression_index = len(settings.expressions) - 1
    return row


class KINEMO_OT_expression_map_set(bpy.types.Operator):
    """Map an expression label to an Action and/or shape keys (the reaction it drives)"""

    bl_idname = "kinemo.expression_map_set"
    bl_label = "Set Expression Reaction"
    bl_options = {"REGISTER", "UNDO"}

    label: StringProperty(name="Label", default="happy", search=_label_search,
                          description="Expression label: a built-in one (neutral, happy, sad, surprise, anger, "
                                      "fear, disgust) or one the performer taught (smirk); case-sensitive")
    action: StringProperty(name="Action", description="Action name (empty: none)")
    shape_keys: StringProperty(name="Shape Keys", description="Comma-separated shape keys, optionally key=value")
    weight: FloatProperty(name="Weight", default=1.0, min=0.0, max=1.0)

    def execute(self, context):
        settings = context.scene.kinemo
        if not is_label(self.label):
            self.report({"ERROR"}, f"'{self.label}' cannot be an expression label: letters, digits, '_' or '-' "
                                   "(up to 32, starting with a letter)")
            return {"CANCELLED"}
        action = bpy.data.actions.get(self.action) if self.action else None
        if self.action and action is None:
            self.report({"ERROR"}, f"No Action named '{self.action}'")
            return {"CANCELLED"}
        row = _expression_row(settings, self.label)
        row.action, row.shape_keys, row.weight = action, self.shape_keys, self.weight
        _refresh_live(context)
        return {"FINISHED"}


class KINEMO_OT_expression_map_remove(bpy.types.Operator):
    """Remove an expression reaction (the selected row, or the given label's)"""

    bl_idname = "kinemo.expression_map_remove"
    bl_label = "Remove Expression Reaction"
    bl_options = {"REGISTER", "UNDO"}

    label: StringProperty(name="Label", description="Label whose row to remove (empty: the selected row)")

    def execute(self, context):
        settings = context.scene.kinemo
        i = next((k for k, m in enumerate(settings.expressions) if m.name == self.label), -1) if self.label \
            else settings.expression_index
        if not 0 <= i < len(settings.expressions):
            return {"CANCELLED"}
        settings.expressions.remove(i)
        settings.expression_index = max(0, min(settings.expression_index, len(settings.expressions) - 1))
        _refresh_live(context)
        return {"FINISHED"}


class KINEMO_OT_expression_map_defaults(bpy.types.Operator):
    """Map every expression label to what the avatar offers: a 'react_<label>' Action (your own labels
    too, such as react_smirk), else its VRM expression shape key (Joy, Sorrow, Angry, Surprised, Fun, as
    VRoid or VRM 1.0 name them)"""

    bl_idname = "kinemo.expression_map_defaults"
    bl_label = "Find Reactions"
    bl_options = {"REGISTER", "UNDO"}

    overwrite: BoolProperty(name="Overwrite", description="Replace rows that already map something")

    def execute(self, context):
        settings = context.scene.kinemo
        actions = [a.name for a in bpy.data.actions]
        keys: list[str] = []
        for obj in props.target_meshes(settings):
            if obj.data.shape_keys is not None:
                keys += [kb.name for kb in obj.data.shape_keys.key_blocks[1:]]
        found = 0
        for label in known_labels(settings):
            action, key = default_reaction(label, actions, keys)
            if not action and not key:
                continue
            old = next((m for m in settings.expressions if m.name == label), None)
            if old is not None and (old.action is not None or old.shape_keys) and not self.overwrite:
                continue
            row = _expression_row(settings, label)
            row.action, row.shape_keys = bpy.data.actions.get(action) if action else None, key
            found += 1
        self.report({"INFO"}, f"Mapped {found} expression labels" if found else
                    "The avatar has no react_<label> Actions or VRM expression shape keys")
        _refresh_live(context)
        return {"FINISHED"}


CLASSES = (KINEMO_OT_mapping_reset, KINEMO_OT_preset_load, KINEMO_OT_preset_save, KINEMO_OT_target_add,
           KINEMO_OT_target_remove, KINEMO_OT_action_map_add, KINEMO_OT_action_map_remove,
           KINEMO_OT_expression_map_set, KINEMO_OT_expression_map_remove, KINEMO_OT_expression_map_defaults)
