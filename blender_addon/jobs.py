"""Operators that start and stop companion jobs (``kinemo video|webcam|audio|mic``) from the panel."""

from __future__ import annotations

import bpy
from bpy.props import EnumProperty

from .companion import JOBS, base_command, job_command

_KIND_ITEMS = [("VIDEO", "Video", "Track a video file"), ("WEBCAM", "Webcam", "Track a camera"),
               ("AUDIO", "Audio", "Lip-sync an audio file"), ("MIC", "Microphone", "Lip-sync the microphone")]


def _prefs(context):
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon is not None else None


class KINEMO_OT_job_start(bpy.types.Operator):
    """Start a Kinemo companion process that streams to this Blender"""

    bl_idname = "kinemo.job_start"
    bl_label = "Start Job"
    bl_options = {"REGISTER"}

    kind: EnumProperty(name="Kind", items=_KIND_ITEMS, default="VIDEO")

    def execute(self, context):
        s = context.scene.kinemo
        prefs = _prefs(context)
        base = base_command(prefs.kinemo_command if prefs is not None else "kinemo")
        path = bpy.path.abspath(s.audio_path if self.kind == "AUDIO" else s.video_path)
        if self.kind in ("VIDEO", "AUDIO") and not path:
            self.report({"ERROR"}, f"Choose the {self.kind.lower()} file first")
            return {"CANCELLED"}
        vmc = s.source == "VMC"
        argv = job_command(self.kind, base, host="127.0.0.1" if s.host in ("0.0.0.0", "") else s.host,
                           port=s.vmc_port if vmc else s.port, path=path, camera=s.camera, realtime=s.realtime,
                           vmc=vmc)
        job = JOBS.start(self.kind, argv)
        if job.start_error:
            self.report({"ERROR"}, job.start_error)
            return {"CANCELLED"}
        return {"FINISHED"}


class KINEMO_OT_job_stop(bpy.types.Operator):
    """Stop a companion process (Ctrl-C first, so a webcam job saves its take)"""

    bl_idname = "kinemo.job_stop"
    bl_label = "Stop Job"
    bl_options = {"REGISTER"}

    kind: EnumProperty(name="Kind", items=[*_KIND_ITEMS, ("ALL", "All", "Every job")], default="ALL")

    def execute(self, context):
        if self.kind == "ALL":
            JOBS.stop_all()
        else:
            JOBS.stop(self.kind)
        return {"FINISHED"}


CLASSES = (KINEMO_OT_job_start, KINEMO_OT_job_stop)
