"""Crash journals in Blender: where a recording's journal is written, and which ones the panel offers.

Where: beside the saved .blend (``shot.blend.<time>-<pid>-<n>.kinemo-journal``), as
Blender keeps ``shot.blend1`` there, so the take travels with the project. For an
unsaved file, or a folder we cannot write, the add-on's own user folder
(``bpy.utils.extension_path_user``, i.e. ``…/extensions/.user/<repo>/kinemo/journals``):
stable across runs and reboots, private to the user, and the place Blender gives an
extension for its own files. Not ``bpy.app.tempdir`` (one per process, deleted when it
ends: the next Blender would never see it) nor the system temp folder (wiped on
reboot on many systems, shared between users).

What is offered is found when a file is loaded or saved (and at registration), never
while drawing: :data:`FOUND`.
"""

from __future__ import annotations

import os

import bpy

from . import take_journal
from .live import SESSION
from .recorder import Recorder

FOUND: list[take_journal.Found] = []  # journals for the open file, newest first: the panel's offer


def user_dir() -> str:
    """The add-on's journal folder for unsaved files (created on demand); "" if there is none."""
    try:
        return bpy.utils.extension_path_user(__package__, path="journals", create=True)
    except (OSError, ValueError, AttributeError):
        return ""


def blend_path() -> str:
    """The open .blend ("" if unsaved, or while ``bpy.data`` is closed to add-ons at startup)."""
    try:
        return bpy.data.filepath
    except AttributeError:
        return ""


def refresh() -> list[take_journal.Found]:
    """Look again for journals left for the open file (a directory listing and a header each)."""
    FOUND[:] = take_journal.find(blend_path(), user_dir())
    return FOUND


def start(rec: Recorder) -> str:
    """Journal ``rec`` while the live session records it; "" on success, else why not (a warning:
    the recording itself goes on in memory)."""
    blend = blend_path()
    header = {"take": rec.name, "blend": blend, "pid": os.getpid(), "blender": bpy.app.version_string}
    name = take_journal.journal_name(os.path.basename(blend))
    errors = []
    for folder in ([os.path.dirname(blend)] if blend else []) + [user_dir()]:
        if not folder:
            continue
        writer = take_journal.JournalWriter(rec, os.path.join(folder, name), header,
                                            lambda: SESSION.receiver is not None and SESSION.receiver.recorder is rec)
        try:
            writer.open()
        except OSError as e:
            errors.append(f"{folder}: {e.strerror or e}")
            continue
        rec.journal = writer
        return ""
    return "Recording without a crash journal (" + ("; ".join(errors) or "no folder to write to") + ")"


def keep(rec: Recorder | None) -> None:
    """Stop journaling ``rec`` but keep the file: the take was dropped without the user choosing to."""
    if rec is not None and rec.journal is not None:
        rec.journal.close()


def discard(rec: Recorder | None) -> None:
    """Stop journaling ``rec`` and delete the file: the take was baked, or thrown away on purpose."""
    if rec is not None and rec.journal is not None:
        rec.journal.discard()


def journal_error() -> str:
    """Why the running recording's journal stopped, for the status box ("" when fine)."""
    rx = SESSION.receiver
    rec = rx.recorder if rx is not None else None
    if rec is None:
        return ""
    return "Recording without a crash journal" if rec.journal is None else rec.journal.error
