"""The sidebar panels (View3D ▸ Sidebar ▸ Kinemo) and the channel list. Drawing only: no data writes."""

from __future__ import annotations

import time

import bpy

from . import mapping, props, protocol, recovery
from .companion import JOBS, TEACH, teach_outcome, teach_progress
from .live import SESSION

_report_cache: dict[tuple, tuple[dict[int, list[str]], list[str]]] = {}


def _report(obj) -> tuple[dict[int, list[str]], list[str]]:
    names = tuple(kb.name for kb in obj.data.shape_keys.key_blocks) if obj.data.shape_keys else ()
    hit = _report_cache.get(names)
    if hit is None:
        if len(_report_cache) > 32:
            _report_cache.clear()
        hit = _report_cache[names] = mapping.report(names)
    return hit


class KINEMO_UL_channels(bpy.types.UIList):
    """One row per ARKit channel: what it drives on each target, and its shaping."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        settings = context.scene.kinemo
        over, off = props.overrides(settings)
        i = mapping.ARKIT_NAMES.index(item.name) if item.name in mapping.ARKIT_NAMES else -1
        hits = []
        for obj in props.target_meshes(settings):
            names = [kb.name for kb in obj.data.shape_keys.key_blocks] if obj.data.shape_keys else []
            hits += mapping.resolve(names, over, off).get(i, [])
        row = layout.row(align=True)
        row.prop(item, "enabled", text="")
        row.label(text=item.name, icon="CHECKMARK" if hits else "X")
        row.label(text=", ".join(hits) if hits else "— unmatched —")
        row.prop(item, "gain", text="")
        row.prop(item, "invert", text="", icon="ARROW_LEFTRIGHT")
        row.prop(item, "mirror", text="", icon="MOD_MIRROR")


class _Panel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Kinemo"


def _status_box(layout) -> None:
    st = SESSION.status()
    box = layout.box()
    if st["state"] == "connected":
        box.label(text=f"Connected: {st['fps']:.0f} frames/s from {st['sender']}", icon="CHECKMARK")
        box.label(text=f"Latency {st['latency_ms']:.0f} ms")
    elif st["state"] == "lost":
        box.label(text=f"Lost: nothing from {st['sender']} for a while", icon="ERROR")
    else:
        box.label(text=f"Waiting for frames on port {st['port']}", icon="TIME")
    box.label(text=f"Frames {st['frames']}  dropped {st['dropped']}  malformed {st['malformed']}  "
                   f"ignored {st['ignored']}")
    if st["bad_values"]:
        box.label(text=f"Dropped {st['bad_values']} with NaN, infinite or absurd values", icon="ERROR")
    if st["recording"] is not None:
        box.label(text=f"Recording: {st['recording']} frames", icon="REC")
        journal_error = recovery.journal_error()
        if journal_error:
            box.label(text=journal_error, icon="ERROR")
    if st["last_error"]:
        box.label(text=st["last_error"], icon="ERROR")


def _recovery_box(layout) -> None:
    """Takes a crashed (or quit-while-recording) Blender left for this file: Recover or Discard each."""
    box = layout.box()
    box.label(text="Unrecovered takes (Blender stopped while recording):", icon="RECOVER_LAST")
    for found in recovery.FOUND[:5]:
        row = box.row(align=True)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(found.started))
        row.label(text=f"{found.take}, {when}, ~{found.frames} frames")
        row.operator("kinemo.recover_take", text="Recover", icon="RECOVER_LAST").filepath = found.path
        row.operator("kinemo.discard_journal", text="", icon="TRASH").filepath = found.path
    if len(recovery.FOUND) > 5:
        box.label(text=f"and {len(recovery.FOUND) - 5} more")


class KINEMO_PT_live(_Panel, bpy.types.Panel):
    bl_label = "Kinemo Live"
    bl_idname = "KINEMO_PT_live"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.kinemo
        if recovery.FOUND:
            _recovery_box(layout)
        layout.prop(settings, "target")
        layout.prop(settings, "source", expand=True)
        row = layout.row(align=True)
        row.prop(settings, "host")
        row.prop(settings, "vmc_port" if settings.source == "VMC" else "port")
        if settings.host not in ("127.0.0.1", "::1", "localhost"):
            layout.prop(settings, "allow")
        layout.prop(settings, "on_lost")
        if SESSION.running:
            layout.operator("kinemo.live_stop", icon="PAUSE")
            _status_box(layout)
            if SESSION.recording:
                layout.operator("kinemo.record_stop", icon="SNAP_FACE")
            else:
                row = layout.row(align=True)
                row.prop(settings, "take_name", text="")
                row.operator("kinemo.record_start", icon="REC")
        else:
            layout.operator("kinemo.live_start", icon="PLAY")
        if SESSION.stop_error:
            layout.label(text=SESSION.stop_error, icon="ERROR")


class KINEMO_PT_mapping(_Panel, bpy.types.Panel):
    bl_label = "Mapping"
    bl_parent_id = "KINEMO_PT_live"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.kinemo
        layout.label(text="More targets (teeth, tongue…):")
        row = layout.row()
        row.template_list("UI_UL_list", "kinemo_targets", settings, "extra_targets", settings, "extra_index", rows=2)
        col = row.column(align=True)
        col.operator("kinemo.target_add", icon="ADD", text="")
        col.operator("kinemo.target_remove", icon="REMOVE", text="")
        for obj in props.target_meshes(settings):
            matched, unmatched = _report(obj)
            layout.label(text=f"{obj.name}: {len(matched)}/52 channels matched, {len(unmatched)} keys unused",
                         icon="SHAPEKEY_DATA")
        if len(settings.channels) != 52:
            layout.operator("kinemo.mapping_reset", text="Edit Channels", icon="PRESET")
        else:
            layout.template_list("KINEMO_UL_channels", "", settings, "channels", settings, "channel_index", rows=6)
            if 0 <= settings.channel_index < len(settings.channels):
                ch = settings.channels[settings.channel_index]
                col = layout.column(align=True)
                col.prop(ch, "keys")
                row = col.row(align=True)
                row.prop(ch, "gain")
                row.prop(ch, "offset")
                row = col.row(align=True)
                row.prop(ch, "min")
                row.prop(ch, "max")
        layout.prop(settings, "smoothing")
        row = layout.row(align=True)
        row.operator("kinemo.preset_load", icon="FILEBROWSER")
        row.operator("kinemo.preset_save", icon="FILE_TICK")
        row.operator("kinemo.mapping_reset", text="", icon="LOOP_BACK")


class KINEMO_PT_armature(_Panel, bpy.types.Panel):
    bl_label = "Armature"
    bl_parent_id = "KINEMO_PT_live"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.kinemo
        layout.prop(settings, "armature")
        arm = settings.armature
        if arm is None:
            return
        for prop in ("head_bone", "neck_bone", "eye_left_bone", "eye_right_bone"):
            layout.prop_search(settings, prop, arm.pose, "bones")
        layout.prop(settings, "neck_share")
        row = layout.row(align=True)
        for prop in ("head_yaw_axis", "head_pitch_axis", "head_roll_axis"):
            row.prop(settings, prop, text="")
        row = layout.row(align=True)
        row.prop(settings, "eye_yaw_axis", text="")
        row.prop(settings, "eye_pitch_axis", text="")
        layout.prop(settings, "use_root_motion")
        if settings.use_root_motion:
            layout.prop_search(settings, "root_bone", arm.pose, "bones")
            layout.prop(settings, "root_scale")
        layout.label(text="Actions (label → Action):")
        row = layout.row()
        row.template_list("UI_UL_list", "kinemo_actions", settings, "actions", settings, "action_index", rows=2)
        col = row.column(align=True)
        col.operator("kinemo.action_map_add", icon="ADD", text="")
        col.operator("kinemo.action_map_remove", icon="REMOVE", text="")
        if 0 <= settings.action_index < len(settings.actions):
            item = settings.actions[settings.action_index]
            layout.prop(item, "name", text="Label")
            layout.prop(item, "action")
        layout.prop(settings, "action_blend")


class KINEMO_UL_expressions(bpy.types.UIList):
    """One row per expression label: the Action and/or shape keys it drives."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index):
        row = layout.row(align=True)
        row.label(text=item.name, icon="CHECKMARK" if item.action is not None or item.shape_keys else "X")
        what = [item.action.name] if item.action is not None else []
        if item.shape_keys:
            what.append(item.shape_keys)
        row.label(text=" + ".join(what) or "— nothing —")


class KINEMO_PT_expressions(_Panel, bpy.types.Panel):
    bl_label = "Expression Reactions"
    bl_parent_id = "KINEMO_PT_live"
    bl_options = {"DEFAULT_CLOSED"}

    def draw_header(self, context):
        self.layout.prop(context.scene.kinemo, "use_expressions", text="")

    def draw(self, context):
        layout = self.layout
        settings = context.scene.kinemo
        layout.active = settings.use_expressions
        row = layout.row(align=True)
        row.prop(settings, "expression_threshold")
        row.prop(settings, "expression_hold")
        layout.prop(settings, "expression_blend")
        row = layout.row()
        row.template_list("KINEMO_UL_expressions", "", settings, "expressions", settings, "expression_index",
                          rows=3)
        col = row.column(align=True)
        col.operator("kinemo.expression_map_set", icon="ADD", text="")
        col.operator("kinemo.expression_map_remove", icon="REMOVE", text="")
        if 0 <= settings.expression_index < len(settings.expressions):
            item = settings.expressions[settings.expression_index]
            layout.prop(item, "name", text="Label")
            if SESSION.seen_labels and item.name not in protocol.EMOTIONS and item.name not in SESSION.seen_labels:
                layout.label(text=f"'{item.name}' not seen on the stream (names are case-sensitive)", icon="INFO")
            layout.prop(item, "action")
            layout.prop(item, "shape_keys")
            layout.prop(item, "weight")
        mapped = {m.name for m in settings.expressions}
        offer = [name for name in SESSION.seen_labels if name not in mapped]
        if offer:  # the performer's own labels on the stream, one click from a reaction row
            layout.label(text="Your labels on the stream:")
            flow = layout.row(align=True)
            for name in offer[:6]:
                op = flow.operator("kinemo.expression_map_set", text=name, icon="ADD")
                op.label = name
                if f"react_{name}" in bpy.data.actions:
                    op.action = f"react_{name}"
        layout.operator("kinemo.expression_map_defaults", icon="SHAPEKEY_DATA")
        if SESSION.running:
            label, score = SESSION.streamed
            if label:
                layout.label(text=f"Streamed: {label} {score:.2f}", icon="MONKEY")
        if SESSION.running and SESSION.config.expressions:
            gate = SESSION._gate
            layout.label(text=f"Reacting: {gate.active}" if gate.active else "No reaction",
                         icon="PLAY" if gate.active else "PAUSE")


def teach_lines() -> list[tuple[str, str]]:
    """What the teach box says, as (text, icon) lines: the running step, or how the last teach ended."""
    job = JOBS.jobs.get(TEACH)
    if job is None:
        return []
    st = job.status()
    progress = teach_progress(tuple(job.lines))
    if st.running:
        return [(progress.text, "REC" if progress.phase == "hold" else "TIME")]
    ok, text = teach_outcome(st, progress, job.profile)
    return [(text, "CHECKMARK" if ok else "ERROR")]


class KINEMO_PT_teach(_Panel, bpy.types.Panel):
    """Your own expressions: teach them from the camera (a companion job), its prompts shown as they come.
    A sub-panel of its own, so switching reactions off does not grey it out."""

    bl_label = "Your Own Expressions"
    bl_parent_id = "KINEMO_PT_expressions"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.kinemo
        layout.prop(settings, "profile_path")
        job = JOBS.jobs.get(TEACH)
        if job is not None and job.status().running:
            for text, icon in teach_lines():
                layout.label(text=text, icon=icon)
            layout.label(text=f"{teach_progress(tuple(job.lines)).fraction * 100:.0f} % done")
            layout.operator("kinemo.job_stop", text="Stop Teaching", icon="CANCEL").kind = TEACH
            return
        layout.prop(settings, "teach_labels")
        row = layout.row(align=True)
        row.prop(settings, "teach_ready")
        row.prop(settings, "teach_seconds")
        row = layout.row(align=True)
        row.prop(settings, "teach_repeats")
        row.prop(settings, "camera")
        layout.operator("kinemo.teach_expressions", icon="OUTLINER_OB_CAMERA")
        for text, icon in teach_lines():
            layout.label(text=text, icon=icon)


class KINEMO_PT_bake(_Panel, bpy.types.Panel):
    bl_label = "Takes and Baking"
    bl_parent_id = "KINEMO_PT_live"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.kinemo
        row = layout.row(align=True)
        row.prop(settings, "reduce_keys")
        sub = row.row()
        sub.enabled = settings.reduce_keys
        sub.prop(settings, "reduce_tolerance")
        layout.prop(settings, "replace_action")
        row = layout.row(align=True)
        row.operator("kinemo.import_take", icon="IMPORT")
        row.operator("kinemo.export_take", icon="EXPORT")


class KINEMO_PT_jobs(_Panel, bpy.types.Panel):
    bl_label = "Companion"
    bl_parent_id = "KINEMO_PT_live"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        settings = context.scene.kinemo
        layout.prop(settings, "video_path")
        layout.prop(settings, "realtime")
        layout.prop(settings, "camera")
        layout.prop(settings, "profile_path")  # Webcam and Video stream the performer's own expressions with it
        layout.prop(settings, "audio_path")
        for kind, label, icon in (("VIDEO", "Video", "FILE_MOVIE"), ("WEBCAM", "Webcam", "OUTLINER_OB_CAMERA"),
                                  ("AUDIO", "Audio", "FILE_SOUND"), ("MIC", "Microphone", "REC")):
            job = JOBS.jobs.get(kind)
            st = job.status() if job is not None else None
            row = layout.row(align=True)
            if st is not None and st.running:
                row.operator("kinemo.job_stop", text=f"Stop {label}", icon="CANCEL").kind = kind
            else:
                row.operator("kinemo.job_start", text=label, icon=icon).kind = kind
            if st is not None and st.error:
                layout.label(text=st.error, icon="ERROR")
        layout.operator("kinemo.calibrate", icon="RESTRICT_SELECT_OFF")


CLASSES = (KINEMO_UL_channels, KINEMO_UL_expressions, KINEMO_PT_live, KINEMO_PT_mapping, KINEMO_PT_armature,
           KINEMO_PT_expressions, KINEMO_PT_teach, KINEMO_PT_bake, KINEMO_PT_jobs)


def redraw_while_live() -> float | None:
    """Status text changes without user input, so nudge the sidebar to redraw."""
    if not SESSION.running and not JOBS.jobs:
        return 0.5
    for window in getattr(bpy.context.window_manager, "windows", []):
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()
    return 0.5
