"""Companion processes: run ``kinemo video|webcam|audio|mic … --osc HOST:PORT`` beside Blender. No ``bpy``.

The add-on never imports the service; it starts it as a program, the way a user
would from a shell. Each job's stderr is read on a small thread into a bounded
buffer so the panel can show why a job failed. Jobs are stopped with SIGINT first
(``kinemo webcam`` saves its take on Ctrl-C), then terminated, then killed; the
add-on stops them all on unregister and at interpreter exit.

The guided teach (``kinemo expressions teach --camera N``) is a job too: it talks to the
performer through stderr, one line per prompt ("[3/14] make your HAPPY face …", "hold …",
"got happy (58 frames)") and a last line naming what the profile now labels.
:func:`teach_progress` reads those lines back into the step the panel shows, so the UI
thread only ever parses a few buffered lines and never waits on the process.
"""

from __future__ import annotations

import atexit
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass

KINDS = ("VIDEO", "WEBCAM", "AUDIO", "MIC")
TEACH = "TEACH"  # the job kind of the guided expression teach (one at a time, like every kind)


def base_command(setting: str) -> list[str]:
    """The configured program: ``kinemo`` (or a path to it), or a Python that has the package."""
    setting = (setting or "kinemo").strip()
    parts = shlex.split(setting) if not os.path.exists(setting) else [setting]
    exe = os.path.basename(parts[0]).lower()
    if exe.startswith("python") and "-m" not in parts:
        parts += ["-m", "kinemo"]
    return parts


def job_command(kind: str, base: list[str], *, host: str, port: int, path: str = "", camera: int = 0,
                realtime: bool = True, vmc: bool = False, profile: str = "") -> list[str]:
    """The command line for one kind of job, streaming to the add-on's receiver.

    The user's file comes last, after ``--``: a name such as ``-x.wav`` is then a path,
    never an option of ``kinemo``. ``profile``: the performer's profile for face jobs, so
    the stream carries their taught expressions (and their neutral calibration).
    """
    target = f"{host}:{port}"
    out = ["--vmc", target] if vmc else ["--osc", target]
    face = ["--profile", profile] if profile else []
    if kind == "VIDEO":
        return [*base, "video", *(["--realtime"] if realtime else []), *face, *out, "--", path]
    if kind == "AUDIO":
        return [*base, "audio", *(["--realtime"] if realtime else []), *out, "--", path]
    if kind == "WEBCAM":
        return [*base, "webcam", "--camera", str(camera), *face, *out]
    if kind == "MIC":
        return [*base, "mic", *out]
    raise ValueError(f"unknown job kind {kind!r}: one of {KINDS}")


def teach_command(base: list[str], *, profile: str, camera: int = 0, labels: list[str] | None = None,
                  seconds: float = 2.0, ready: float = 2.0, repeats: int = 2) -> list[str]:
    """``kinemo expressions teach`` guided from a camera, into ``profile`` (created if missing).
    ``labels``: which expressions (None or empty: the service's default, every built-in one)."""
    argv = [*base, "expressions", "teach", "--profile", profile, "--camera", str(camera)]
    if labels:
        argv += ["--labels", ",".join(labels)]
    return [*argv, "--seconds", f"{seconds:g}", "--ready", f"{ready:g}", "--repeats", str(repeats)]


_PROMPT = re.compile(r"^\[(\d+)/(\d+)\]\s+make your (.+?) face")
_HOLD = re.compile(r"^\s*hold\b")
_GOT = re.compile(r"^\s*got (\S+) \((\d+) frames?\)")
_TAUGHT = re.compile(r"^taught (.*); fitted in [^;]*; (.*) now labels: (.*)$")


@dataclass
class TeachProgress:
    """Where a guided teach is, read from its prompts: what the panel shows while it runs and after."""

    step: int = 0  # the expression being taught, 1-based (0: not started: the camera and model load)
    total: int = 0
    label: str = ""  # the expression of this step, as the service spells it
    phase: str = "starting"  # starting, ready (get into the face), hold (being recorded), got, saved
    frames: int = 0  # frames recorded for the last finished step
    profile: str = ""  # once saved: the profile written
    labels: tuple[str, ...] = ()  # once saved: every label the profile now gives the stream

    @property
    def fraction(self) -> float:
        """0–1 done: a step counts half once held, whole once got."""
        if self.phase == "saved":
            return 1.0
        if not self.total:
            return 0.0
        part = {"hold": 0.5, "got": 1.0}.get(self.phase, 0.0)
        return min(1.0, (self.step - 1 + part) / self.total)

    @property
    def text(self) -> str:
        """One line for the panel, in the prompt's own words."""
        if self.phase == "saved":
            return f"Saved {self.profile}: labels {', '.join(self.labels)}"
        if self.phase == "starting":
            return "Starting the camera…"
        where = f"{self.step}/{self.total}"
        if self.phase == "ready":
            return f"{where}: make your {self.label.upper()} face"
        if self.phase == "hold":
            return f"{where}: hold your {self.label.upper()} face…"
        if self.step >= self.total:
            return f"Got {self.label} ({self.frames} frames); fitting…"
        return f"{where}: got {self.label} ({self.frames} frames)"


def teach_progress(lines) -> TeachProgress:
    """The teach's state after the stderr ``lines`` it wrote so far (other lines, such as native
    library logs, are skipped). Pure, so the panel can draw from it every redraw."""
    p = TeachProgress()
    for line in lines:
        m = _PROMPT.match(line)
        if m:
            p.step, p.total, p.label, p.phase = int(m.group(1)), int(m.group(2)), m.group(3).lower(), "ready"
            continue
        if _HOLD.match(line) and p.phase == "ready":
            p.phase = "hold"
            continue
        m = _GOT.match(line)
        if m:
            p.label, p.frames, p.phase = m.group(1), int(m.group(2)), "got"
            continue
        m = _TAUGHT.match(line.strip())
        if m:
            p.phase, p.profile = "saved", m.group(2)
            p.labels = tuple(x.strip() for x in m.group(3).split(",") if x.strip())
    return p


def teach_outcome(status: JobStatus, progress: TeachProgress, profile: str) -> tuple[bool, str]:
    """(saved?, the line to report) once a teach job has ended: the profile and what it now labels, or
    why nothing was saved (the service writes the profile only when every step found a face)."""
    if status.returncode == 0:
        if progress.phase == "saved":
            return True, progress.text
        return True, f"Saved {profile}"
    return False, f"Teaching stopped, {profile} unchanged: {status.error or 'no reason given'}"


@dataclass
class JobStatus:
    running: bool
    returncode: int | None
    error: str  # last stderr line of a failed job, "" otherwise


class Job:
    def __init__(self, kind: str, argv: list[str]) -> None:
        self.kind, self.argv = kind, argv
        self.lines: deque[str] = deque(maxlen=50)
        self.proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self.start_error = ""
        self.profile = ""  # a teach job: the profile it writes (named in the report when it ends)
        self.camera: int | None = None  # the camera a webcam or teach job holds (one process per camera)
        self.reported = False  # a teach job: its outcome was reported once it ended

    def start(self) -> None:
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, text=True, errors="replace",
                                         start_new_session=True)
        except OSError as e:
            self.start_error = f"cannot run {self.argv[0]}: {e.strerror or e} (set the Kinemo command in Preferences)"
            return
        self._reader = threading.Thread(target=self._read, name=f"kinemo-job-{self.kind.lower()}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            line = line.rstrip()
            if line:
                self.lines.append(line[-300:])

    def status(self) -> JobStatus:
        if self.proc is None:
            return JobStatus(False, None, self.start_error)
        rc = self.proc.poll()
        if rc is None:
            return JobStatus(True, None, "")
        if self._reader is not None:
            self._reader.join(timeout=1.0)
        err = "" if rc == 0 else (self.lines[-1] if self.lines else f"exited with code {rc}")
        return JobStatus(False, rc, err)

    def stop(self, timeout: float = 3.0) -> None:
        p = self.proc
        if p is not None and p.poll() is None:
            if sys.platform != "win32":
                try:
                    p.send_signal(signal.SIGINT)
                    p.wait(timeout=timeout)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout=timeout)
            self._reader = None
        if p is not None and p.stderr is not None:
            p.stderr.close()


class JobManager:
    """At most one job per kind."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self._hooked = False

    def start(self, kind: str, argv: list[str]) -> Job:
        self.stop(kind)
        job = self.jobs[kind] = Job(kind, argv)
        job.start()
        return job

    def stop(self, kind: str) -> None:
        job = self.jobs.pop(kind, None)
        if job is not None:
            job.stop()

    def stop_all(self) -> None:
        for kind in list(self.jobs):
            self.stop(kind)

    def install_exit_hook(self) -> None:
        if not self._hooked:
            atexit.register(self.stop_all)
            self._hooked = True

    def remove_exit_hook(self) -> None:
        if self._hooked:
            atexit.unregister(self.stop_all)
            self._hooked = False


JOBS = JobManager()
