"""Live session: the receiver thread plus a main-thread timer that applies frames to the avatar.

``LiveSession.tick()`` is the whole of the timer's work, callable directly so tests
and ``blender -b`` scripts can drive the add-on without an event loop. A tick applies
the newest frame (shape keys of every target mesh, head/neck/eye bones, action
blends); when the sender has gone quiet it holds the pose or eases to neutral.
The receiver lets nothing non-finite through; a frame that still is (a bug upstream)
is dropped here and counted, and the smoother starts over, so no NaN can reach a
shape key, a bone or a recording.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field

import bpy
import numpy as np

from . import protocol, rig
from .bake_plan import BoneTargets
from .drive import EXPRESSION_TRACK_PREFIX, ActionWriter, MeshDrivers, write_bones
from .expressions import ReactionGate, is_label, streamed_label
from .receiver import Receiver
from .recorder import Recorder
from .retarget import Retarget, Smoother

TICK_INTERVAL = 1.0 / 120.0  # poll faster than any sender's frame rate
LOST_AFTER = 0.5  # seconds without frames before the status says "lost"
EASE_TIME = 0.15  # time constant of the ease back to neutral
_NB = protocol.NUM_BLENDSHAPES
_POSE = 6  # yaw, pitch, roll, x, y, z: the head fields bones use (the quaternion repeats the angles)
#: Labels of the performer's own remembered for the panel's offer; a sender naming more is not a performer.
MAX_SEEN_LABELS = 64


@dataclass
class LiveConfig:
    """What the session drives and how; built from the scene's settings by the operators."""

    retarget: Retarget = field(default_factory=Retarget)
    overrides: dict[int, list[str]] = field(default_factory=dict)
    disabled: list[int] = field(default_factory=list)
    smoothing: float = 0.0
    armature: str = ""
    bones: BoneTargets = field(default_factory=BoneTargets)
    axes: rig.AxisMap = field(default_factory=rig.AxisMap)
    eye_axes: rig.AxisMap = field(default_factory=rig.AxisMap)
    neck_share: float = 0.0
    root_scale: float = 1.0
    actions: dict[str, str] = field(default_factory=dict)  # label → Action name
    action_blend: float = 0.25
    on_lost: str = "HOLD"  # or "NEUTRAL"
    #: expression reactions: label → (Action name or "", [(shape key, value)])
    expressions: dict[str, tuple[str, list[tuple[str, float]]]] = field(default_factory=dict)
    expression_threshold: float = 0.5
    expression_hold: float = 0.5
    expression_blend: float = 0.3


class LiveSession:
    def __init__(self) -> None:
        self.receiver: Receiver | None = None
        self.targets: list[str] = []
        self.config = LiveConfig()
        self.last_applied: protocol.FaceSample | None = None
        self.applied = 0
        self.errors = 0
        self.last_error = ""
        self.bad_frames = 0  # frames dropped here for non-finite values
        self.stop_error = ""  # set when the last stop left a receiver thread running
        self.current: np.ndarray | None = None  # 52 weights + 6 head pose + 4 eyes, smoothed, before shaping
        self._smoother = Smoother()
        self._meshes = MeshDrivers()
        self._actions = ActionWriter(0.25)
        self._gate = ReactionGate(())
        self._reactions = ActionWriter(0.3, EXPRESSION_TRACK_PREFIX)
        self._root_ref: np.ndarray | None = None
        self._last_tick: float | None = None
        #: Labels beyond the built-in ones seen on the stream (the performer's taught expressions), first seen
        #: first: the panel offers them for reactions, so a user need not guess how a name was spelled.
        self.seen_labels: list[str] = []
        #: The newest frame's (label, score), from the labels message when there is one, else v1: the panel's readout.
        self.streamed: tuple[str | None, float] = (None, 0.0)

    @property
    def running(self) -> bool:
        return self.receiver is not None and self.receiver.running

    @property
    def recording(self) -> bool:
        return self.receiver is not None and self.receiver.recorder is not None

    def start(self, targets: list[str], host: str = protocol.DEFAULT_HOST,
              port: int = protocol.DEFAULT_PORT, *, use_timer: bool = True, config: LiveConfig | None = None,
              vmc: bool = False, allow: set[str] | None = None) -> None:
        self.stop()
        receiver = Receiver(host, port, vmc=vmc, allow=allow)
        receiver.start()  # raises OSError if the port is taken; nothing is left behind
        self.receiver, self.targets = receiver, list(targets)
        self.configure(config or LiveConfig())
        self.applied = self.errors = self.bad_frames = 0
        self.last_error = ""
        self.current = None
        self._root_ref = None
        self._last_tick = None
        self.streamed = (None, 0.0)
        if use_timer and not bpy.app.timers.is_registered(_timer):
            bpy.app.timers.register(_timer, first_interval=0.0, persistent=True)

    def configure(self, config: LiveConfig) -> None:
        """Take new settings while running (the panel calls this when they change)."""
        self.config = config
        self._smoother = Smoother(config.smoothing)
        self._meshes.clear()
        self._actions.blender.blend_time = config.action_blend
        # Changed in place: a running reaction whose label lost its mapping ends after the hold.
        self._gate.labels = set(config.expressions)
        self._gate.threshold, self._gate.hold = config.expression_threshold, config.expression_hold
        self._reactions.blender.blend_time = config.expression_blend

    def stop(self) -> Recorder | None:
        """Stop listening; returns the recording, if one was running."""
        if bpy.app.timers.is_registered(_timer):
            bpy.app.timers.unregister(_timer)
        rec = None
        if self.receiver is not None:
            rx = self.receiver
            self.stop_error = "" if rx.stop() else \
                f"The receiver thread on port {rx.port} did not stop; restart Blender if frames misbehave"
            rec, rx.recorder = rx.recorder, None
            self.receiver = None
        arm = bpy.data.objects.get(self.config.armature) if self.config.armature else None
        if arm is not None and arm.type == "ARMATURE":
            ActionWriter.remove_tracks(arm)
            ActionWriter.remove_tracks(arm, EXPRESSION_TRACK_PREFIX)
        for key in self._shape_keys():
            ActionWriter.remove_tracks(key, EXPRESSION_TRACK_PREFIX)
        self._actions = ActionWriter(self.config.action_blend)
        self._gate = ReactionGate(self.config.expressions, self.config.expression_threshold,
                                  self.config.expression_hold)
        self._reactions = ActionWriter(self.config.expression_blend, EXPRESSION_TRACK_PREFIX)
        return rec

    # -- recording ---------------------------------------------------------
    def record_start(self, name: str) -> None:
        if self.receiver is None:
            raise RuntimeError("start live first")
        self.receiver.recorder = Recorder(name)

    def record_stop(self) -> Recorder | None:
        if self.receiver is None:
            return None
        rec, self.receiver.recorder = self.receiver.recorder, None
        return rec

    def status(self, now: float | None = None) -> dict:
        """What the panel shows: state (off/waiting/connected/lost), rates, counters, sender."""
        rx = self.receiver
        if rx is None:
            return {"state": "off", "stop_error": self.stop_error}
        st = rx.stats
        state = "waiting" if st.last_receive == 0 else "lost" if self.lost(now) else "connected"
        return {"state": state, "fps": rx.fps(), "latency_ms": st.latency_ms, "frames": st.frames,
                "dropped": st.dropped, "lost_frames": st.lost, "malformed": st.malformed, "ignored": st.ignored,
                "bad_values": st.bad_values + self.bad_frames, "stop_error": self.stop_error,
                "sender": st.last_sender, "port": rx.port, "recording": len(rx.recorder) if rx.recorder else None,
                "errors": self.errors, "last_error": self.last_error}

    # -- the timer's work ----------------------------------------------------
    def lost(self, now: float | None = None) -> bool:
        return self.receiver is not None and not self.receiver.receiving(LOST_AFTER, now)

    def tick(self, now: float | None = None) -> protocol.FaceSample | None:
        """Apply the newest frame, if any arrived; returns it. Never raises."""
        if self.receiver is None:
            return None
        now = time.monotonic() if now is None else now
        try:
            dt = 0.0 if self._last_tick is None else now - self._last_tick
            self._last_tick = now
            sample = self.receiver.take_latest()
            events = self.receiver.take_events()
            changed = False
            raw = None
            if sample is not None and sample.present:
                raw = np.array((*sample.blendshapes, *sample.head[:_POSE], *sample.eyes), float)
                if not np.isfinite(raw).all():
                    self.bad_frames += 1
                    self._smoother.reset()
                    sample = raw = None
            if raw is not None:
                self.current = self._smoother(raw, now)
                if self._root_ref is None:
                    self._root_ref = raw[_NB:_NB + _POSE].copy()
                changed = True
            elif self.config.on_lost == "NEUTRAL" and self.current is not None and np.any(self.current) and (
                    self.lost(now) or (sample is not None and not sample.present)):
                self.current = self.current * math.exp(-dt / EASE_TIME)
                self.current[np.abs(self.current) < 1e-4] = 0.0
                self._smoother.reset()
                changed = True
            if changed:
                self.apply_current()
            self._drive_actions(events, now)
            self._note_labels(sample)
            self._drive_expressions(sample, now)
            if sample is not None:
                self.last_applied = sample
                self.applied += 1
            return sample
        except Exception:  # noqa: BLE001 - the UI must never see an exception from a timer
            self.errors += 1
            self.last_error = traceback.format_exc(limit=1).strip().splitlines()[-1]
            return None

    def apply_current(self) -> None:
        cfg, cur = self.config, self.current
        if cur is None:
            return
        weights = cfg.retarget.apply(cur[:_NB])
        for name in self.targets:
            obj = bpy.data.objects.get(name)
            if obj is not None and obj.type == "MESH":
                self._meshes.write(obj, weights, cfg.overrides, cfg.disabled)
        arm = bpy.data.objects.get(cfg.armature) if cfg.armature else None
        if arm is not None and arm.type == "ARMATURE":
            write_bones(arm, cfg.bones, cur[_NB:_NB + _POSE], cur[_NB + _POSE:], axes=cfg.axes, eye_axes=cfg.eye_axes,
                        neck_share=cfg.neck_share, root_ref=self._root_ref, root_scale=cfg.root_scale)

    def apply(self, obj: bpy.types.Object, sample: protocol.FaceSample) -> None:
        """Apply one frame to one mesh directly (no smoothing): for scripts and benchmarks."""
        weights = self.config.retarget.apply(np.asarray(sample.blendshapes, float))
        self._meshes.write(obj, weights, self.config.overrides, self.config.disabled)

    def _drive_actions(self, events, now: float) -> None:
        cfg = self.config
        arm = bpy.data.objects.get(cfg.armature) if cfg.armature else None
        if arm is None or arm.type != "ARMATURE" or not cfg.actions:
            return
        scene = bpy.context.scene
        self._actions.fps = scene.render.fps / scene.render.fps_base
        self._actions.write(arm, cfg.actions, events, now)

    def _shape_keys(self) -> list:
        out = []
        for name in self.targets:
            obj = bpy.data.objects.get(name)
            if obj is not None and obj.type == "MESH" and obj.data.shape_keys is not None:
                out.append(obj.data.shape_keys)
        return out

    def _note_labels(self, sample: protocol.FaceSample | None) -> None:
        """Remember the frame's streamed label (custom names first, else v1) and any new name of the
        performer's own, for the gate and the panel; a lost face has no label."""
        if sample is None:
            return
        if not sample.present:
            self.streamed = (None, 0.0)
            return
        self.streamed = streamed_label(sample.expression, sample.expression_labels)
        labels = sample.expression_labels
        if labels and len(self.seen_labels) < MAX_SEEN_LABELS:
            for k in range(1, len(labels) - 1, 2):
                name = str(labels[k])
                if name not in protocol.EMOTIONS and name not in self.seen_labels and is_label(name):
                    self.seen_labels.append(name)
                    if len(self.seen_labels) >= MAX_SEEN_LABELS:
                        break

    def _drive_expressions(self, sample: protocol.FaceSample | None, now: float) -> None:
        """The expression label (the performer's own names when streamed, else the built-in v1 label) →
        reaction events (threshold, hold) → Actions and shape keys, faded."""
        cfg = self.config
        if not cfg.expressions and not self._reactions.blender.actions:
            return
        events: list[tuple[str, str]] = []
        if sample is not None or self.lost(now):
            label, score = self.streamed if sample is not None else (None, 0.0)
            events = self._gate.update(label, score, now)
        arm = bpy.data.objects.get(cfg.armature) if cfg.armature else None
        arm = arm if arm is not None and arm.type == "ARMATURE" else None
        keys = self._shape_keys()
        owners = {}
        for label, (name, _) in cfg.expressions.items():
            action = bpy.data.actions.get(name) if name else None
            if action is not None and is_shape_key_action(action):
                owners[label] = keys[0] if keys else None
        scene = bpy.context.scene
        self._reactions.fps = scene.render.fps / scene.render.fps_base
        actions = {label: name for label, (name, _) in cfg.expressions.items()}
        weights = self._reactions.write(arm, actions, events, now, owners)
        values: dict[str, float] = {}
        for label, (weight, _elapsed) in weights.items():
            for key_name, v in cfg.expressions.get(label, ("", []))[1]:
                values[key_name] = max(values.get(key_name, 0.0), weight * v)
        for key in keys if values else ():
            for key_name, v in values.items():
                kb = key.key_blocks.get(key_name)
                if kb is not None:
                    kb.value = v


def is_shape_key_action(action) -> bool:
    """Does ``action`` animate shape keys (a Key's ``key_blocks``) rather than an object or its bones?"""
    slots = getattr(action, "slots", None)
    if slots is not None and len(slots):
        return any(getattr(s, "target_id_type", "") == "KEY" for s in slots)
    return getattr(action, "id_root", "") == "KEY"


SESSION = LiveSession()


def _timer() -> float | None:
    if not SESSION.running:
        return None
    SESSION.tick()
    return TICK_INTERVAL
