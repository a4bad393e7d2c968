"""Kinemo add-on: receive the Kinemo service's OSC stream and drive ARKit shape keys.

The service (``kinemo`` command) does the tracking; this add-on never imports ML
libraries. Wire protocol: ``protocol.py`` (the service's own module, copied in by
``scripts/build_addon.py``); spec: docs/protocol.md in the repository.
"""

from __future__ import annotations

import bpy
from bpy.app.handlers import persistent

from . import operators, ui
from .live import SESSION

_CLASSES = (*ui.CLASSES, *operators.CLASSES)


@persistent
def _stop_on_load(_dummy) -> None:
    # The targets belong to the file being closed.
    SESSION.stop()


def register() -> None:
    for cls in _CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.kinemo = bpy.props.PointerProperty(type=ui.KinemoSettings)
    bpy.app.handlers.load_pre.append(_stop_on_load)
    if not bpy.app.background:
        bpy.app.timers.register(ui._redraw_while_live, first_interval=0.5, persistent=True)


def unregister() -> None:
    SESSION.stop()
    if bpy.app.timers.is_registered(ui._redraw_while_live):
        bpy.app.timers.unregister(ui._redraw_while_live)
    if _stop_on_load in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_stop_on_load)
    del bpy.types.Scene.kinemo
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
