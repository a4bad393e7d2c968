"""The receiving side of the VMC protocol (VSeeFace, Kinemo ``--vmc``, …) → our face frame. No ``bpy``.

VMC sends blendshape values one message each (``/VMC/Ext/Blend/Val`` name, value) and
then ``/VMC/Ext/Blend/Apply``; bones as Unity local rotations (``/VMC/Ext/Bone/Pos``).
Blend names are ARKit names in any case (VSeeFace "perfect sync") or VRM presets
(``Blink_L``, ``A``…), both resolved by :mod:`mapping`. The head is Neck·Head (Unity
bones are local to their parent) turned back into our yaw/pitch/roll.
"""

from __future__ import annotations

import math

from . import protocol
from .mapping import channel_for
from .protocol import ARKIT_INDEX, NUM_BLENDSHAPES

ADDRESSES = frozenset({protocol.VMC_BLEND_VAL, protocol.VMC_BLEND_APPLY, protocol.VMC_BONE_POS,
                       protocol.VMC_ROOT_POS, protocol.VMC_OK, protocol.VMC_TIME})
_VRM_VOWELS = {"a": "jawOpen", "o": "mouthFunnel", "u": "mouthPucker"}  # one-letter VRM 0.x presets


class VmcError(ValueError):
    """A VMC message with a broken layout (counted as malformed)."""


def _finite(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _quat(args: tuple, name: str) -> tuple[float, float, float, float]:
    if len(args) < 8 or not isinstance(args[0], str) or not all(_finite(a) for a in args[1:8]):
        raise VmcError(f"{name}: expected (s, 7 × f), got {args[:8]!r}")
    return (float(args[4]), float(args[5]), float(args[6]), float(args[7]))


def _mul(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float, float]:
    return protocol._quat_mul(a, b)  # the protocol's own Hamilton product, (x, y, z, w)


def validate(address: str, args: tuple) -> None:
    """Raise VmcError if a VMC message breaks its layout (before any state changes)."""
    if address == protocol.VMC_BLEND_VAL:
        if len(args) < 2 or not isinstance(args[0], str) or not _finite(args[1]):
            raise VmcError(f"Blend/Val: expected (s, f), got {args[:2]!r}")
    elif address in (protocol.VMC_BONE_POS, protocol.VMC_ROOT_POS):
        _quat(args, address)
    elif address == protocol.VMC_TIME and (not args or not _finite(args[0])):
        raise VmcError(f"T: expected (f), got {args[:1]!r}")


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

    def handle(self, address: str, args: tuple) -> bool:
        """Apply one valid message (see :func:`validate`); True when it completes a frame
        (Apply, or a head/eye bone)."""
        if address == protocol.VMC_BLEND_VAL:
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
            q = _quat(args, "Bone/Pos")
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
