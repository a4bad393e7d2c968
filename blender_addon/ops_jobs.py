"""Operators that start and stop companion jobs (``kinemo video|webcam|audio|mic``, and the guided
``kinemo expressions teach``) from the panel."""

from __future__ import annotations

import os
import socket
import time

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty

from . import protocol
from .companion import JOBS, TEACH, base_command, job_command, teach_command, teach_outcome, teach_progress
from .expressions import parse_labels
from .props import BLEND_RELATIVE

_KIND_ITEMS = [("VIDEO", "Video", "Track a video file"), ("WEBCAM", "Webcam", "Track a camera"),
               ("AUDIO", "Audio", "Lip-sync an audio file"), ("MIC", "Microphone", "Lip-sync the microphone")]
TEACH_POLL = 0.25  # seconds between looks at a running teach job (a timer: the UI never waits on it)


def _prefs(context):
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon is not None else None


def _base(context) -> list[str]:
    prefs = _prefs(context)
    return base_command(prefs.kinemo_command if prefs is not None else "kinemo")


def profile_file(path: str) -> str:
    """The profile setting as an absolute path ("" if unset, or relative to a .blend not saved yet)."""
    if not path:
        return ""
    resolved = bpy.path.abspath(path)
    return os.path.normpath(resolved) if os.path.isabs(resolved) else ""


class KINEMO_OT_job_start(bpy.types.Operator):
    """Start a Kinemo companion process that streams to this Blender"""

    bl_idname = "kinemo.job_start"
    bl_label = "Start Job"
    bl_options = {"REGISTER"}

    kind: EnumProperty(name="Kind", items=_KIND_ITEMS, default="VIDEO")

    def execute(self, context):
        s = context.scene.kinemo
        base = _base(context)
        path = bpy.path.abspath(s.audio_path if self.kind == "AUDIO" else s.video_path)
        if self.kind in ("VIDEO", "AUDIO") and not path:
            self.report({"ERROR"}, f"Choose the {self.kind.lower()} file first")
            return {"CANCELLED"}
        if self.kind == "WEBCAM" and _teaching(s.camera):
            self.report({"ERROR"}, f"Camera {s.camera} is teaching expressions: wait for it, or stop it first")
            return {"CANCELLED"}
        vmc = s.source == "VMC"
        profile = profile_file(s.profile_path)  # the performer's own expressions label the face stream
        argv = job_command(self.kind, base, host="127.0.0.1" if s.host in ("0.0.0.0", "") else s.host,
                           port=s.vmc_port if vmc else s.port, path=path, camera=s.camera, realtime=s.realtime,
                           vmc=vmc, profile=profile if os.path.isfile(profile) else "")
        job = JOBS.start(self.kind, argv)
        job.camera = s.camera if self.kind == "WEBCAM" else None
        if job.start_error:
            self.report({"ERROR"}, job.start_error)
            return {"CANCELLED"}
        return {"FINISHED"}


class KINEMO_OT_job_stop(bpy.types.Operator):
    """Stop a companion process (Ctrl-C first, so a webcam job saves its take)"""

    bl_idname = "kinemo.job_stop"
    bl_label = "Stop Job"
    bl_options = {"REGISTER"}

    kind: EnumProperty(name="Kind", items=[*_KIND_ITEMS, (TEACH, "Teach", "The guided expression teach (nothing "
                                                                       "is saved)"),
                                           ("ALL", "All", "Every job")], default="ALL")

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


def _teaching(camera: int | None = None) -> bool:
    """Is a teach job running (on ``camera``, when given)? A camera serves one process at a time."""
    job = JOBS.jobs.get(TEACH)
    return job is not None and job.status().running and (camera is None or job.camera == camera)


class KINEMO_OT_teach_expressions(bpy.types.Operator):
    """Teach Kinemo your own faces from the camera: make each expression when asked and hold it; the profile
    then labels the stream with them (built-in names or your own, such as smirk)"""

    bl_idname = "kinemo.teach_expressions"
    bl_label = "Teach Expressions"
    bl_options = {"REGISTER"}

    # Each defaults to the panel's setting when not given (a script may give any of them).
    labels: StringProperty(name="Expressions", description="Comma-separated names (empty: the seven built-in ones)")
    profile: StringProperty(name="Profile", subtype="FILE_PATH", options=BLEND_RELATIVE,
                            description="Profile (.json) to teach into")
    camera: IntProperty(name="Camera", default=0, min=0)
    seconds: FloatProperty(name="Hold", default=2.0, min=0.3, max=30.0)
    ready: FloatProperty(name="Get Ready", default=2.0, min=0.0, max=30.0)
    repeats: IntProperty(name="Rounds", default=2, min=1, max=10)

    def _given(self, name: str, default):
        return getattr(self, name) if self.properties.is_property_set(name) else default

    def execute(self, context):
        s = context.scene.kinemo
        text, given_profile = self._given("labels", s.teach_labels), self._given("profile", s.profile_path)
        try:
            labels = parse_labels(text)
        except ValueError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        profile = profile_file(given_profile)
        if not profile:
            self.report({"ERROR"}, "Choose the profile file (.json) first" if not given_profile else
                        f"'{given_profile}' is relative to the .blend: save the .blend first, or choose an "
                        "absolute path")
            return {"CANCELLED"}
        if not profile.lower().endswith(".json"):
            self.report({"ERROR"}, f"A profile is a .json file, not {os.path.basename(profile)}")
            return {"CANCELLED"}
        camera = self._given("camera", s.camera)
        webcam = JOBS.jobs.get("WEBCAM")
        if webcam is not None and webcam.status().running and webcam.camera == camera:
            self.report({"ERROR"}, f"The Webcam job is using camera {camera}: stop it first (teaching needs the "
                                   "camera), then start it again to stream your expressions")
            return {"CANCELLED"}
        # Remembered in the scene: the panel shows this teach, and Webcam/Video jobs then use this profile.
        s.profile_path, s.teach_labels = given_profile, ",".join(labels)
        s.teach_seconds = self._given("seconds", s.teach_seconds)
        s.teach_ready = self._given("ready", s.teach_ready)
        s.teach_repeats = self._given("repeats", s.teach_repeats)
        argv = teach_command(_base(context), profile=profile, camera=camera, labels=labels, seconds=s.teach_seconds,
                             ready=s.teach_ready, repeats=s.teach_repeats)
        job = JOBS.start(TEACH, argv)
        job.profile, job.camera = profile, camera
        if job.start_error:
            self.report({"ERROR"}, job.start_error)
            return {"CANCELLED"}
        if not bpy.app.timers.is_registered(watch_teach):
            bpy.app.timers.register(watch_teach, first_interval=TEACH_POLL, persistent=True)
        self.report({"INFO"}, f"Teaching {', '.join(labels) or 'the built-in expressions'} into {profile}: "
                              "follow the prompts in the panel (Expression Reactions ▸ Your Own Expressions)")
        return {"FINISHED"}


def teach_finished() -> tuple[bool, str] | None:
    """Once the teach job has ended and not been reported yet: (saved?, the line to report); else None.
    The timer below calls this; so may a script or test that runs no event loop."""
    job = JOBS.jobs.get(TEACH)
    if job is None or job.reported:
        return None
    st = job.status()
    if st.running:
        return None
    job.reported = True
    return teach_outcome(st, teach_progress(tuple(job.lines)), job.profile)


def watch_teach() -> float | None:
    """Timer: report the teach's outcome when its job ends (Info log and status bar), then stop."""
    if JOBS.jobs.get(TEACH) is None:
        return None
    outcome = teach_finished()
    if outcome is None:
        job = JOBS.jobs.get(TEACH)
        return TEACH_POLL if job is not None and not job.reported else None
    ok, text = outcome
    print(f"Kinemo: {text}")
    try:
        bpy.ops.kinemo.teach_report(message=text, failed=not ok)
    except (AttributeError, RuntimeError):  # the add-on was disabled meanwhile: the console line stays
        pass
    return None


class KINEMO_OT_teach_report(bpy.types.Operator):
    """Say how the expression teach ended (called when its job ends)"""

    bl_idname = "kinemo.teach_report"
    bl_label = "Teach Report"
    bl_options = {"INTERNAL"}

    message: StringProperty()
    failed: BoolProperty()

    def execute(self, context):
        self.report({"WARNING" if self.failed else "INFO"}, self.message)  # an ERROR would raise in the timer
        return {"FINISHED"}


CLASSES = (KINEMO_OT_job_start, KINEMO_OT_job_stop, KINEMO_OT_calibrate, KINEMO_OT_teach_expressions,
           KINEMO_OT_teach_report)
