"""Kinemo add-on: receive the Kinemo service's (or a VMC sender's) stream and drive an avatar.

The service (``kinemo`` command) does the tracking; this add-on never imports ML
libraries. Wire protocol: ``protocol.py`` (the service's own module, copied in by
``scripts/build_addon.py``); spec: docs/protocol.md, add-on guide: docs/addon.md.

``bpy`` is imported only inside :func:`register`/:func:`unregister`, so the
Blender-independent modules (mapping, retarget, bake_plan, takes_io, receiver…) import and
test in plain Python.
"""

from __future__ import annotations

_registered: list = []


def _stop_on_load(_dummy) -> None:
    # The targets belong to the file being closed; stop so nothing writes into freed data.
    from .live import SESSION

    SESSION.stop()


def register() -> None:
    import bpy
    from bpy.app.handlers import persistent

    from . import ops_capture, ops_jobs, ops_mapping, props, ui

    persistent(_stop_on_load)  # kept across file loads, so it sees every load
    classes = (*props.CLASSES, *ui.CLASSES, *ops_capture.CLASSES, *ops_mapping.CLASSES, *ops_jobs.CLASSES)
    for cls in classes:
        bpy.utils.register_class(cls)
    _registered[:] = classes
    bpy.types.Scene.kinemo = bpy.props.PointerProperty(type=props.KinemoSettings)
    bpy.app.handlers.load_pre.append(_stop_on_load)
    if not bpy.app.background:
        bpy.app.timers.register(ui.redraw_while_live, first_interval=0.5, persistent=True)
    ops_jobs.JOBS.install_exit_hook()


def unregister() -> None:
    import bpy

    from . import ops_jobs, ui
    from .live import SESSION

    SESSION.stop()
    ops_jobs.JOBS.stop_all()
    ops_jobs.JOBS.remove_exit_hook()
    if bpy.app.timers.is_registered(ui.redraw_while_live):
        bpy.app.timers.unregister(ui.redraw_while_live)
    if _stop_on_load in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_stop_on_load)
    if hasattr(bpy.types.Scene, "kinemo"):
        del bpy.types.Scene.kinemo
    for cls in reversed(_registered):
        bpy.utils.unregister_class(cls)
    _registered.clear()
