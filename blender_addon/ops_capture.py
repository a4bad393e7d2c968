"""Live, record, recover, import and export operators: every panel button is one, usable as ``bpy.ops.kinemo.*``.

A recording is journaled to disk while it runs (:mod:`recovery`, :mod:`take_journal`);
Stop and Bake and the discarding stops delete the journal, Recover Take bakes one that
a crashed Blender left, through the same :meth:`Recorder.take` and :func:`bake_take`.
"""

from __future__ import annotations

import os

import bpy
import numpy as np
from bpy.props import BoolProperty, EnumProperty, FloatProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from . import mapping, props, protocol, recovery, take_journal
from .bake_write import bake_take
from .fcurves import action_fcurves, sample_curve
from .live import SESSION
from .takes_io import TakeError, read_take, write_llf_csv


def _target_mesh(context, name: str = ""):
    obj = bpy.data.objects.get(name) if name else context.scene.kinemo.target
    if obj is None or obj.type != "MESH":
        return None
    return obj


def _has_targets(settings) -> bool:
    return bool(props.target_meshes(settings)) or settings.armature is not None


class KINEMO_OT_live_start(bpy.types.Operator):
    """Listen for frames (Kinemo or VMC) and drive the targets live"""

    bl_idname = "kinemo.live_start"
    bl_label = "Start Live"
    bl_options = {"REGISTER"}

    def execute(self, context):
        settings = context.scene.kinemo
        if not _has_targets(settings):
            self.report({"ERROR"}, "Choose a target mesh with ARKit-named shape keys (or an armature) first")
            return {"CANCELLED"}
        vmc = settings.source == "VMC"
        port = settings.vmc_port if vmc else settings.port
        names = [o.name for o in props.target_meshes(settings)]
        try:
            SESSION.start(names, settings.host, port, config=props.live_config(settings), vmc=vmc,
                          allow=props.allow_list(settings))
        except OSError as e:
            hint = " (another program, or another Blender, is using it: pick another port)" \
                if getattr(e, "errno", None) in (98, 48, 10048) else ""
            self.report({"ERROR"}, f"Cannot listen on {settings.host}:{port}: {e.strerror or e}{hint}")
            return {"CANCELLED"}
        return {"FINISHED"}


class KINEMO_OT_live_stop(bpy.types.Operator):
    """Stop listening; the avatar keeps its last pose. A running recording is discarded"""

    bl_idname = "kinemo.live_stop"
    bl_label = "Stop Live"
    bl_options = {"REGISTER"}

    def execute(self, context):
        recovery.discard(SESSION.stop())
        if SESSION.stop_error:
            self.report({"WARNING"}, SESSION.stop_error)
        return {"FINISHED"}


class KINEMO_OT_record_start(bpy.types.Operator):
    """Record every received frame (with the sender's timestamps) while previewing live"""

    bl_idname = "kinemo.record_start"
    bl_label = "Record"
    bl_options = {"REGISTER"}

    def execute(self, context):
        if not SESSION.running:
            self.report({"ERROR"}, "Start Live first")
            return {"CANCELLED"}
        SESSION.record_start(context.scene.kinemo.take_name or "take")
        warning = recovery.start(SESSION.receiver.recorder)
        if warning:
            self.report({"WARNING"}, warning)
        return {"FINISHED"}


def _report_bake(op, result, what: str) -> None:
    names = ", ".join(a.name for a in result.actions) or "nothing"
    op.report({"INFO"}, f"Baked {what}: {result.channels} channels, {result.frames} frames, "
                        f"{result.strips} action strips, {result.reactions} expression reactions → {names}")


class KINEMO_OT_record_stop(bpy.types.Operator):
    """Stop recording and bake the take into new Actions at the scene frame rate (one undo step)"""

    bl_idname = "kinemo.record_stop"
    bl_label = "Stop and Bake"
    bl_options = {"REGISTER", "UNDO"}

    bake: BoolProperty(name="Bake", default=True, description="Bake the recording (off: discard it)")
    frame_start: FloatProperty(name="Start Frame", default=-1.0,
                               description="First frame of the take (-1: the scene's start frame)")

    def execute(self, context):
        rec = SESSION.record_stop()
        if rec is None:
            self.report({"ERROR"}, "Not recording")
            return {"CANCELLED"}
        recovery.keep(rec)  # closed, not yet deleted: should the bake fail, the take can still be recovered
        if not self.bake:
            recovery.discard(rec)
            return {"FINISHED"}
        take = rec.take()
        if take is None:
            recovery.discard(rec)
            self.report({"WARNING"}, "Nothing was received while recording")
            return {"CANCELLED"}
        result = bake_take(context, take, frame_start=self.frame_start)
        recovery.discard(rec)
        _report_bake(self, result, f"recording '{rec.name}'")
        return {"FINISHED"}


def _journal(op, path: str) -> str:
    """The journal an operator means: ``path``, or the newest one left for this file; "" after an error."""
    recovery.refresh()
    path = path or (recovery.FOUND[0].path if recovery.FOUND else "")
    if not path or not os.path.isfile(path):
        op.report({"ERROR"}, f"No crash journal {path}" if path else "No crash journal for this file")
        return ""
    if take_journal.is_live(path):
        op.report({"ERROR"}, "That take is still being recorded (by this or another Blender)")
        return ""
    return path


class KINEMO_OT_recover_take(bpy.types.Operator):
    """Bake a take that Blender was recording when it crashed or closed, as Stop and Bake would have"""

    bl_idname = "kinemo.recover_take"
    bl_label = "Recover Take"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="Journal", subtype="FILE_PATH",
                             description="Crash journal (empty: the newest one left for this file)")
    frame_start: FloatProperty(name="Start Frame", default=-1.0,
                               description="First frame of the take (-1: the scene's start frame)")

    def execute(self, context):
        path = _journal(self, self.filepath)
        if not path:
            return {"CANCELLED"}
        if not _has_targets(context.scene.kinemo):
            self.report({"ERROR"}, "Choose a target mesh with shape keys (or an armature) first; the take is kept")
            return {"CANCELLED"}
        try:
            journal = take_journal.read_journal(path)
        except (OSError, take_journal.JournalError) as e:
            self.report({"ERROR"}, f"Cannot read {os.path.basename(path)}: {getattr(e, 'strerror', None) or e}")
            return {"CANCELLED"}
        take = journal.recorder().take()
        if take is None:
            take_journal.remove(path)
            recovery.refresh()
            self.report({"WARNING"}, f"Nothing had been received in '{journal.name}': its journal is removed")
            return {"CANCELLED"}
        result = bake_take(context, take, frame_start=self.frame_start)
        take_journal.remove(path)
        recovery.refresh()
        _report_bake(self, result, f"recovered take '{journal.name}'")
        return {"FINISHED"}


class KINEMO_OT_discard_journal(bpy.types.Operator):
    """Delete a take Blender left unrecovered (its crash journal); this cannot be undone"""

    bl_idname = "kinemo.discard_journal"
    bl_label = "Discard Take"
    bl_options = {"REGISTER"}

    filepath: StringProperty(name="Journal", subtype="FILE_PATH",
                             description="Crash journal (empty: the newest one left for this file)")

    def invoke(self, context, event):
        return context.window_manager.invoke_confirm(self, event)

    def execute(self, context):
        path = _journal(self, self.filepath)
        if not path:
            return {"CANCELLED"}
        take_journal.remove(path)
        recovery.refresh()
        return {"FINISHED"}


class KINEMO_OT_import_take(bpy.types.Operator, ImportHelper):
    """Bake a take file (Kinemo JSON/NPZ or Live Link Face CSV) into new Actions"""

    bl_idname = "kinemo.import_take"
    bl_label = "Import Take"
    bl_options = {"REGISTER", "UNDO"}

    filter_glob: StringProperty(default="*.csv;*.json;*.npz", options={"HIDDEN"})
    target: StringProperty(name="Target", description="Mesh object (default: the panel's targets)")
    frame_start: FloatProperty(name="Start Frame", default=-1.0,
                               description="First frame of the take (-1: the scene's start frame)")
    replace: EnumProperty(name="Existing Animation", items=[
        ("SETTINGS", "As in Panel", "Use the panel's Replace Existing setting"),
        ("KEEP", "Keep", "Bake into new Actions; the old ones are kept"),
        ("REPLACE", "Replace", "Overwrite the curves of the assigned Actions")], default="SETTINGS")

    def execute(self, context):
        settings = context.scene.kinemo
        targets = None
        if self.target:
            obj = _target_mesh(context, self.target)
            if obj is None or obj.data.shape_keys is None:
                self.report({"ERROR"}, "Target must be a mesh with shape keys")
                return {"CANCELLED"}
            targets = [obj]
        elif not _has_targets(settings):
            self.report({"ERROR"}, "Choose a target mesh with shape keys (or an armature) first")
            return {"CANCELLED"}
        try:
            take = read_take(self.filepath)
        except TakeError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        replace = None if self.replace == "SETTINGS" else self.replace == "REPLACE"
        result = bake_take(context, take, frame_start=self.frame_start, replace=replace, targets=targets)
        if not result.actions and not result.strips:
            self.report({"ERROR"}, "No target has ARKit-named shape keys (e.g. 'jawOpen') or mapped bones")
            return {"CANCELLED"}
        _report_bake(self, result, os.path.basename(self.filepath))
        return {"FINISHED"}


class KINEMO_OT_export_take(bpy.types.Operator, ExportHelper):
    """Write the target's shape-key animation as a Live Link Face CSV (one row per frame)"""

    bl_idname = "kinemo.export_take"
    bl_label = "Export Take (LLF CSV)"
    bl_options = {"REGISTER"}

    filename_ext = ".csv"
    filter_glob: StringProperty(default="*.csv", options={"HIDDEN"})
    target: StringProperty(name="Target", description="Mesh object (default: the panel's target)")

    def execute(self, context):
        obj = _target_mesh(context, self.target)
        key = obj.data.shape_keys if obj is not None else None
        action = key.animation_data.action if key is not None and key.animation_data else None
        if action is None:
            self.report({"ERROR"}, "The target's shape keys have no action to export")
            return {"CANCELLED"}
        over, off = props.overrides(context.scene.kinemo)
        chosen = mapping.resolve([kb.name for kb in key.key_blocks], over, off)
        curves = {fc.data_path: fc for fc in action_fcurves(action, key)}
        f0, f1 = action.frame_range
        frames = np.arange(int(round(f0)), int(round(f1)) + 1, dtype=float)
        bs = np.zeros((len(frames), protocol.NUM_BLENDSHAPES))
        for i, keys in chosen.items():
            fc = curves.get(f'key_blocks["{keys[0]}"].value')
            if fc is not None:
                bs[:, i] = sample_curve(fc, frames)
        scene = context.scene
        fps = scene.render.fps / scene.render.fps_base
        try:
            write_llf_csv(self.filepath, (frames - frames[0]) / fps, bs, fps)
        except OSError as e:
            self.report({"ERROR"}, f"Cannot write {self.filepath}: {e.strerror or e}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Wrote {len(frames)} frames to {os.path.basename(self.filepath)}")
        return {"FINISHED"}


CLASSES = (KINEMO_OT_live_start, KINEMO_OT_live_stop, KINEMO_OT_record_start, KINEMO_OT_record_stop,
           KINEMO_OT_recover_take, KINEMO_OT_discard_journal, KINEMO_OT_import_take, KINEMO_OT_export_take)
