"""Companion processes: run ``kinemo video|webcam|audio|mic … --osc HOST:PORT`` beside Blender. No ``bpy``.

The add-on never imports the service; it starts it as a program, the way a user
would from a shell. Each job's stderr is read on a small thread into a bounded
buffer so the panel can show why a job failed. Jobs are stopped with SIGINT first
(``kinemo webcam`` saves its take on Ctrl-C), then terminated, then killed; the
add-on stops them all on unregister and at interpreter exit.
"""

from __future__ import annotations

import atexit
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass

KINDS = ("VIDEO", "WEBCAM", "AUDIO", "MIC")


def base_command(setting: str) -> list[str]:
    """The configured program: ``kinemo`` (or a path to it), or a Python that has the package."""
    setting = (setting or "kinemo").strip()
    parts = shlex.split(setting) if not os.path.exists(setting) else [setting]
    exe = os.path.basename(parts[0]).lower()
    if exe.startswith("python") and "-m" not in parts:
        parts += ["-m", "kinemo"]
    return parts


def job_command(kind: str, base: list[str], *, host: str, port: int, path: str = "", camera: int = 0,
                realtime: bool = True, vmc: bool = False) -> list[str]:
    """The command line for one kind of job, streaming to the add-on's receiver.

    The user's file comes last, after ``--``: a name such as ``-x.wav`` is then a path,
    never an option of ``kinemo``.
    """
    target = f"{host}:{port}"
    out = ["--vmc", target] if vmc else ["--osc", target]
    if kind in ("VIDEO", "AUDIO"):
        return [*base, kind.lower(), *(["--realtime"] if realtime else []), *out, "--", path]
    if kind == "WEBCAM":
        return [*base, "webcam", "--camera", str(camera), *out]
    if kind == "MIC":
        return [*base, "mic", *out]
    raise ValueError(f"unknown job kind {kind!r}: one of {KINDS}")


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
