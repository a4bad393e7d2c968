"""Scene settings and the sidebar panel (View3D ▸ Sidebar ▸ Kinemo)."""

from __future__ import annotations

import bpy
from bpy.props import IntProperty, PointerProperty, StringProperty

from . import protocol
from .live import SESSION


def _is_mesh(_self, obj) -> bool:
    return obj.type == "MESH"


class KinemoSettings(bpy.types.PropertyGroup):
    target: PointerProperty(name="Target", type=bpy.types.Object, poll=_is_mesh,
                            description="Mesh whose ARKit-named shape keys the stream drives")
    host: StringProperty(name="Listen On", default=protocol.DEFAULT_HOST,
                         description="Address to bind; 127.0.0.1 accepts only this machine. "
                                     "Use 0.0.0.0 to accept senders on your network")
    port: IntProperty(name="Port", default=protocol.DEFAULT_PORT, min=1, max=65535)


class KINEMO_PT_live(bpy.types.Panel):
    bl_label = "Kinemo Live"
    bl_idname = "KINEMO_PT_live"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Kinemo"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.kinemo
        layout.prop(settings, "target")
        row = layout.row(align=True)
        row.prop(settings, "host")
        row.prop(settings, "port")
        if SESSION.running:
            layout.operator("kinemo.live_stop", icon="PAUSE")
            rx = SESSION.receiver
            box = layout.box()
            if rx.receiving():
                box.label(text=f"Receiving {rx.fps():.0f} frames/s from {rx.stats.last_sender}", icon="CHECKMARK")
                box.label(text=f"Latency {rx.stats.latency_ms:.0f} ms")
            else:
                box.label(text=f"Waiting for frames on port {rx.port}", icon="TIME")
            box.label(text=f"Frames {rx.stats.frames}  malformed {rx.stats.malformed}  ignored {rx.stats.ignored}")
            if SESSION.last_error:
                box.label(text=SESSION.last_error, icon="ERROR")
        else:
            layout.operator("kinemo.live_start", icon="PLAY")
        layout.separator()
        layout.operator("kinemo.import_take", icon="IMPORT")


CLASSES = (KinemoSettings, KINEMO_PT_live)


def _redraw_while_live() -> float | None:
    """Status text changes without user input, so nudge the sidebar to redraw."""
    if not SESSION.running:
        return 0.5
    for window in getattr(bpy.context.window_manager, "windows", []):
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()
    return 0.5
