"""Live session: the receiver thread plus a main-thread timer that applies frames to shape keys.

``LiveSession.tick()`` is the whole of the timer's work, callable directly so tests
and ``blender -b`` scripts can drive the add-on without an event loop.
"""

from __future__ import annotations

import traceback

import bpy

from . import protocol
from .mapping import match_channels
from .receiver import Receiver

TICK_INTERVAL = 1.0 / 120.0  # poll faster than any sender's frame rate


def _shape_key_targets(names: list[str]) -> list[bpy.types.Object]:
    objs = []
    for name in names:
        obj = bpy.data.objects.get(name)
        if obj is not None and obj.type == "MESH" and obj.data.shape_keys is not None:
            objs.append(obj)
    return objs


class LiveSession:
    def __init__(self) -> None:
        self.receiver: Receiver | None = None
        self.targets: list[str] = []
        self.last_applied: protocol.FaceSample | None = None
        self.applied = 0
        self.errors = 0
        self.last_error = ""
        self._maps: dict[tuple, dict[int, str]] = {}

    @property
    def running(self) -> bool:
        return self.receiver is not None and self.receiver.running

    def start(self, targets: list[str], host: str = protocol.DEFAULT_HOST,
              port: int = protocol.DEFAULT_PORT, *, use_timer: bool = True) -> None:
        self.stop()
        receiver = Receiver(host, port)
        receiver.start()  # raises OSError if the port is taken; nothing is left behind
        self.receiver, self.targets = receiver, list(targets)
        self.applied = self.errors = 0
        self.last_error = ""
        self._maps.clear()
        if use_timer and not bpy.app.timers.is_registered(_timer):
            bpy.app.timers.register(_timer, first_interval=0.0, persistent=True)

    def stop(self) -> None:
        if bpy.app.timers.is_registered(_timer):
            bpy.app.timers.unregister(_timer)
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None

    def tick(self) -> protocol.FaceSample | None:
        """Apply the newest frame, if any arrived; returns it. Never raises."""
        if self.receiver is None:
            return None
        try:
            sample = self.receiver.take_latest()
            if sample is None:
                return None
            for obj in _shape_key_targets(self.targets):
                self.apply(obj, sample)
            self.last_applied = sample
            self.applied += 1
            return sample
        except Exception:  # noqa: BLE001 - the UI must never see an exception from a timer
            self.errors += 1
            self.last_error = traceback.format_exc(limit=1).strip().splitlines()[-1]
            return None

    def apply(self, obj: bpy.types.Object, sample: protocol.FaceSample) -> None:
        key_blocks = obj.data.shape_keys.key_blocks
        cache_key = (obj.as_pointer(), len(key_blocks))
        mapping = self._maps.get(cache_key)
        if mapping is None:
            mapping = self._maps[cache_key] = match_channels(kb.name for kb in key_blocks)
        values = sample.blendshapes
        for index, name in mapping.items():
            key_blocks[name].value = values[index]


SESSION = LiveSession()


def _timer() -> float | None:
    if not SESSION.running:
        return None
    SESSION.tick()
    return TICK_INTERVAL
