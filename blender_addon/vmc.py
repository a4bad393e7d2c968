"""The receiving side of the VMC protocol (VSeeFace, Kinemo ``--vmc``, …) → our face frame. No ``bpy``.

VMC sends blendshape values one message each (``/VMC/Ext/Blend/Val`` name, value) and
then ``/VMC/Ext/Blend/Apply``; bones as Unity local rotations (``/VMC/Ext/Bone/Pos``).
Blend names are ARKit names in any case (VSeeFace "perfect sync") or VRM presets
(``Blink_L``, ``A``…), both resolved by :mod:`mapping`. The head is Neck·Head (Unity
bones are local to their parent) turned back into our yaw/pitch/roll.

Everything off the network is bounded here: blend names longer than MAX_NAME are
malformed (name parsing must stay cheap), values must be finite and of sane size,
and bone quaternions are normalised, so no NaN can come out of the maths later.
"""

from __future__ import annotations

import math

from . import protocol
from .mapping import channel_for
from .protocol import ARKIT_INDEX, NUM_BLENDSHAPES

ADDRESSES = frozenset({protocol.VMC_BLEND_VAL, protocol.VMC_BLEND_APPLY, protocol.VMC_BONE_POS,
                       protocol.VMC_ROOT_POS, protocol.VMC_OK, protocol.VMC_TIME})
_VRM_VOWELS = {"a": "jawOpen", "o": "mouthFunnel", "u": "mouthPucker"}  # one-letter VRM 0.x presets
MAX_NAME = 128  # characters in a blend or bone name; real ones are under 40
MAX_POSITION = 1e4  # metres, bone and root positions
MAX_QUAT = 1e6  # quaternion components before normalising


class VmcError(ValueError):
    """A VMC message with a broken layout (counted as malformed)."""


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _bounded(v: float, limit: float, what: str) -> float:
    if not math.isfinite(v) or abs(v) > limit:
        raise protocol.ValueRangeError(f"{what}: value {v!r} out of range")
    return float(v)


def _name(args: tuple, what: str) -> str:
    if not args or not isinstance(args[0], str) or len(args[0]) > MAX_NAME:
        raise VmcError(f"{what}: expected a name of at most {MAX_NAME} characters, got {str(args[:1])[:80]}")
    return args[0]


def _quat(args: tuple, name: str) -> tuple[float, float, float, float]:
    """The message's rotation, normalised; raises on a broken layout, non-finite or absurd values."""
    _name(args, name)
    if len(args) < 8 or not all(_number(a) for a in args[1:8]):
        raise VmcError(f"{name}: expected (s, 7 × f), got {str(args[:8])[:200]}")
    for v in args[1:4]:
        _bounded(v, MAX_POSITION, name)
    x, y, z, w = (_bounded(v, MAX_QUAT, name) for v in args[4:8])
    n = math.sqrt(x * x + y * y + z * z + w * w)
    if n < 1e-9:
        raise protocol.ValueRangeError(f"{name}: zero quaternion")
    return (x / n, y / n, z / n, w / n)


def _mul(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float, float]:
    return protocol._quat_mul(a, b)  # the protocol's own Hamilton product, (x, y, z, w)


def validate(address: str, args: tuple) -> tuple:
    """The message's arguments, checked (before any state changes) and with bone rotations
    normalised. Raises VmcError on a broken layout, protocol.ValueRangeError on bad values."""
    if address == protocol.VMC_BLEND_VAL:
        _name(args, "Blend/Val")
        if len(args) < 2 or not _number(args[1]):
            raise VmcError(f"Blend/Val: expected (s, f), got {str(args[:2])[:200]}")
        return (args[0], _bounded(args[1], protocol.MAX_WEIGHT, "Blend/Val"))
    if address in (protocol.VMC_BONE_POS, protocol.VMC_ROOT_POS):
        return (args[0], *(float(v) for v in args[1:4]), *_quat(args, address))
    if address == protocol.VMC_TIME:
        if not args or not _number(args[0]):
            raise VmcError(f"T: expected (f), got {str(args[:1])[:200]}")
        return (_bounded(args[0], protocol.MAX_TIME, "T"),)
    return tuple(args)


class VmcState:
    """Accumulates VMC messages; :meth:`handle` says whether a frame is ready to apply."""

    def __init__(self) -> None:
        self.pending = [0.0] * NUM_BLENDSHAPES
        self.blendshapes = tuple(self.pending)
        self.bones: dict[str, tuple[float, float, float, float]] = {}
        self.media_time: float | None = None
        self.unknown_names = 0
        self._names: dict[str, list[int]] = {}

    def channels(self, name: str) -> list[int]:
        hit = self._names.get(name)
        if hit is None:
            if len(self._names) > 4096:  # a hostile sender inventing names must not grow memory
                self._names.clear()
            vowel = _VRM_VOWELS.get(name.casefold())
            names = [vowel] if vowel else channel_for(name)
            hit = self._names[name] = [ARKIT_INDEX[n] for n in names]
        return hit

    def resolve(self, address: str, args: tuple) -> list[int] | None:
        """The channels a (validated) Blend/Val message drives, None for other messages.
        Called before the receiver takes its lock: name parsing never runs under it."""
        return self.channels(args[0]) if address == protocol.VMC_BLEND_VAL else None

    def handle(self, address: str, args: tuple, idx: list[int] | None = None) -> bool:
        """Apply one valid message (see :func:`validate`; ``idx`` from :meth:`resolve`); True
        when it completes a frame (Apply, or a head/eye bone)."""
        if address == protocol.VMC_BLEND_VAL:
            if idx is None:
                idx = self.channels(args[0])
            if not idx:
                self.unknown_names += 1
            for i in idx:
                self.pending[i] = float(args[1])
            return False
        if address == protocol.VMC_BLEND_APPLY:
            self.blendshapes = tuple(self.pending)
            return True
        if address == protocol.VMC_BONE_POS:
            q = _quat(args, "Bone/Pos")  # validated already: normalising again is harmless
            if args[0] in protocol.VMC_BONES:
                self.bones[args[0]] = q
                return True
            return False
        if address == protocol.VMC_TIME:
            self.media_time = float(args[0])
            return False
        return False  # /VMC/Ext/OK and friends: status only

    def head(self) -> tuple[float, ...]:
        """The head message's fields in our conventions: angles, no translation over VMC, and the
        camera-space quaternion R = Ry(yaw)·Rx(−pitch)·Rz(−roll)."""
        ident = (0.0, 0.0, 0.0, 1.0)
        yaw, pitch, roll = protocol.head_from_unity_quaternion(
            _mul(self.bones.get("Neck", ident), self.bones.get("Head", ident)))
        q = _mul(_mul(protocol._axis_quat(1, yaw), protocol._axis_quat(0, -pitch)), protocol._axis_quat(2, -roll))
        return (yaw, pitch, roll, 0.0, 0.0, 0.0, *q)

    def eyes(self) -> tuple[float, ...]:
        out: list[float] = []
        for bone in ("LeftEye", "RightEye"):
            yaw, pitch, _ = protocol.head_from_unity_quaternion(self.bones.get(bone, (0.0, 0.0, 0.0, 1.0)))
            out += [yaw, pitch]
        return tuple(out)
