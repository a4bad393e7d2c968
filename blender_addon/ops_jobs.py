"""Operators that start and stop companion jobs (``kinemo video|webcam|audio|mic``) from the panel."""

from __future__ import annotations

import socket
import time

import bpy
from bpy.props import EnumProperty, FloatProperty, IntProperty

from . import protocol
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


class KINEMO_OT_calibrate(bpy.types.Operator):
    """Ask the running kinemo service to capture your neutral face (hold still, look at the camera)"""

    bl_idname = "kinemo.calibrate"
    bl_label = "Calibrate Neutral Face"
    bl_options = {"REGISTER"}

    seconds: FloatProperty(name="Seconds", default=3.0, min=0.5, max=60.0)
    port: IntProperty(name="Control Port", default=protocol.DEFAULT_PORT + 1, min=1, max=65535,
                      description="The service's control port (kinemo webcam --control-port)")

    def execute(self, context):
        from pythonosc.osc_message_builder import OscMessageBuilder

        msg = OscMessageBuilder(protocol.ADDR_CALIBRATE)
        for value, tag in ((0, "i"), (time.time(), "d"), (0.0, "d"), (float(self.seconds), "f")):
            msg.add_arg(value, tag)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.sendto(msg.build().dgram, ("127.0.0.1", self.port))
        except OSError as e:
            self.report({"ERROR"}, f"Could not reach the service on port {self.port}: {e.strerror or e}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Calibrating for {self.seconds:g} s: hold a neutral face")
        return {"FINISHED"}


CLASSES = (KINEMO_OT_job_start, KINEMO_OT_job_stop, KINEMO_OT_calibrate)
