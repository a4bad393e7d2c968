"""Kinemo wire protocol v1 — the single definition shared by service and add-on.

Pure standard library on purpose: the Blender add-on ships this very file (the
build copies it into the extension zip), so it must not import numpy, mediapipe
or python-osc. It says *what* travels (addresses, argument layouts, channel
order, units); the OSC byte encoding itself is python-osc's job on both sides.
The human-readable specification is ``docs/protocol.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

PROTOCOL_VERSION = 1
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 39570

#: ARKit blendshape names in ARKit/Live Link Face order (camelCase, as ARKit spells them).
ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawRight", "jawLeft", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthRight", "mouthLeft",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)
NUM_BLENDSHAPES = len(ARKIT_NAMES)
ARKIT_INDEX: dict[str, int] = {name: i for i, name in enumerate(ARKIT_NAMES)}

#: Head pose fields: rotation in degrees, translation in centimetres (camera space).
HEAD_FIELDS: tuple[str, ...] = ("yaw", "pitch", "roll", "x", "y", "z")
#: Gaze fields in degrees.
EYE_FIELDS: tuple[str, ...] = ("leftYaw", "leftPitch", "rightYaw", "rightPitch")

#: Live Link Face CSV: the 52 blendshapes (PascalCase) are followed by these (radians).
LLF_ROTATIONS: tuple[str, ...] = (
    "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)
#: ``format`` field of our JSON/NPZ take files.
TAKE_FORMAT = "kinemo-take"

ADDR_BLENDSHAPES = "/kinemo/face/blendshapes"
ADDR_HEAD = "/kinemo/face/head"
ADDR_EYES = "/kinemo/face/eyes"
ADDR_PRESENT = "/kinemo/face/present"

#: Every message starts with this header: sequence number, sender wall clock
#: (Unix seconds), media time (seconds since the source started).
HEADER_TYPES = "idd"

#: Payload type tags after the header, per address. Receivers accept *longer*
#: messages (later versions append fields) and ignore the extra arguments.
PAYLOAD_TYPES: dict[str, str] = {
    ADDR_BLENDSHAPES: "f" * NUM_BLENDSHAPES,
    ADDR_HEAD: "f" * len(HEAD_FIELDS),
    ADDR_EYES: "f" * len(EYE_FIELDS),
    ADDR_PRESENT: "i",
}


class ProtocolError(ValueError):
    """A message at a Kinemo address whose arguments break the layout."""


@dataclass
class FaceSample:
    """One face frame as it travels: plain floats, no numpy."""

    seq: int
    stamp: float
    time: float
    present: bool = True
    blendshapes: tuple[float, ...] = (0.0,) * NUM_BLENDSHAPES
    head: tuple[float, ...] = (0.0,) * len(HEAD_FIELDS)
    eyes: tuple[float, ...] = (0.0,) * len(EYE_FIELDS)

    def blendshape(self, name: str) -> float:
        return self.blendshapes[ARKIT_INDEX[name]]


@dataclass
class Update:
    """One decoded message: which stream, its header, and its payload."""

    address: str
    seq: int
    stamp: float
    time: float
    values: tuple = field(default_factory=tuple)


Message = tuple[str, str, tuple]  # (address, OSC type tags without ',', arguments)


def encode_sample(sample: FaceSample) -> list[Message]:
    """The messages that make up one frame, in the order they are bundled."""
    header = (int(sample.seq) & 0x7FFFFFFF, float(sample.stamp), float(sample.time))
    payloads = (
        (ADDR_PRESENT, (1 if sample.present else 0,)),
        (ADDR_BLENDSHAPES, tuple(float(v) for v in sample.blendshapes)),
        (ADDR_HEAD, tuple(float(v) for v in sample.head)),
        (ADDR_EYES, tuple(float(v) for v in sample.eyes)),
    )
    out: list[Message] = []
    for address, payload in payloads:
        types = PAYLOAD_TYPES[address]
        if len(payload) != len(types):
            raise ProtocolError(f"{address}: expected {len(types)} values, got {len(payload)}")
        out.append((address, HEADER_TYPES + types, header + payload))
    return out


def is_kinemo_address(address: str) -> bool:
    return address in PAYLOAD_TYPES


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


def decode_message(address: str, args: tuple | list) -> Update | None:
    """Validate one message. ``None`` means "not ours, ignore"; raises ProtocolError."""
    types = PAYLOAD_TYPES.get(address)
    if types is None:
        return None
    need = len(HEADER_TYPES) + len(types)
    if len(args) < need:
        raise ProtocolError(f"{address}: {len(args)} arguments, need {need}")
    seq, stamp, t = args[0], args[1], args[2]
    if not _is_int(seq) or not _is_number(stamp) or not _is_number(t):
        raise ProtocolError(f"{address}: bad header {args[:3]!r}")
    payload = tuple(args[3:need])
    for tag, v in zip(types, payload, strict=True):
        ok = _is_int(v) if tag == "i" else _is_number(v)
        if not ok:
            raise ProtocolError(f"{address}: bad value {v!r} for type {tag}")
    return Update(address, int(seq), float(stamp), float(t), payload)


def apply_update(sample: FaceSample, update: Update) -> FaceSample:
    """Merge one message into the receiver's current frame (newest wins)."""
    sample.seq, sample.stamp, sample.time = update.seq, update.stamp, update.time
    if update.address == ADDR_BLENDSHAPES:
        sample.blendshapes = tuple(float(v) for v in update.values)
    elif update.address == ADDR_HEAD:
        sample.head = tuple(float(v) for v in update.values)
    elif update.address == ADDR_EYES:
        sample.eyes = tuple(float(v) for v in update.values)
    elif update.address == ADDR_PRESENT:
        sample.present = bool(update.values[0])
    return sample


def pascal_case(name: str) -> str:
    """ARKit camelCase → Live Link Face PascalCase (``jawOpen`` → ``JawOpen``)."""
    return name[:1].upper() + name[1:]
