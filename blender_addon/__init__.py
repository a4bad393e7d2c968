"""Kinemo add-on: receive the Kinemo service's (or a VMC sender's) stream and drive an avatar.

The service (``kinemo`` command) does the tracking; this add-on never imports ML
libraries. Wire protocol: ``protocol.py`` (the service's own module, copied in by
``scripts/build_addon.py``); spec: docs/protocol.md, add-on guide: docs/addon.md.

``bpy`` is imported only inside :func:`register`/:func:`unregister`, so the
Blender-independent modules (mapping, retarget, bake_plan, takes_io, receiver…) import and
test in plain Python.
"""

from __future__ import annotations

import atexit

_registered: list = []


def _stop_on_load(_dummy) -> None:
    # The targets belong to the file being closed; stop so nothing writes into freed data.
    # A take still recording is not baked, but its journal stays: the file offers it when reopened.
    from . import recovery
    from .live import SESSION

    recovery.keep(SESSION.stop())


def _find_journals(_dummy) -> None:
    # Takes left by a crashed (or quit-while-recording) Blender for the file just loaded or saved.
    from . import recovery

    try:
        recovery.refresh()
    except Exception:  # noqa: BLE001 - a handler must never raise into Blender; nothing is offered then
        recovery.FOUND.clear()


def register() -> None:
    import bpy
    from bpy.app.handlers import persistent

    from . import ops_capture, ops_jobs, ops_mapping, props, take_journal, ui

    persistent(_stop_on_load)  # kept across file loads, so it sees every load
    persistent(_find_journals)
    classes = (*props.CLASSES, *ui.CLASSES, *ops_capture.CLASSES, *ops_mapping.CLASSES, *ops_jobs.CLASSES)
    for cls in classes:
        bpy.utils.register_class(cls)
    _registered[:] = classes
    bpy.types.Scene.kinemo = bpy.props.PointerProperty(type=props.KinemoSettings)
    bpy.app.handlers.load_pre.append(_stop_on_load)
    bpy.app.handlers.load_post.append(_find_journals)
    bpy.app.handlers.save_post.append(_find_journals)
    _find_journals(None)  # enabled on an open file (at startup load_post follows)
    if not bpy.app.background:
        bpy.app.timers.register(ui.redraw_while_live, first_interval=0.5, persistent=True)
    ops_jobs.JOBS.install_exit_hook()
    atexit.register(take_journal.close_all)  # quitting while recording: flush the last half second too


def unregister() -> None:
    import bpy

    from . import ops_jobs, recovery, take_journal, ui
    from .live import SESSION

    recovery.keep(SESSION.stop())  # disabling the add-on is no reason to lose a take
    take_journal.close_all()
    atexit.unregister(take_journal.close_all)
    recovery.FOUND.clear()
    ops_jobs.JOBS.stop_all()
    ops_jobs.JOBS.remove_exit_hook()
    if bpy.app.timers.is_registered(ui.redraw_while_live):
        bpy.app.timers.unregister(ui.redraw_while_live)
    for handlers, fn in ((bpy.app.handlers.load_pre, _stop_on_load), (bpy.app.handlers.load_post, _find_journals),
                         (bpy.app.handlers.save_post, _find_journals)):
        if fn in handlers:
            handlers.remove(fn)
    if hasattr(bpy.types.Scene, "kinemo"):
        del bpy.types.Scene.kinemo
    for cls in reversed(_registered):
        bpy.utils.unregister_class(cls)
    _registered.clear()
