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

#: Head pose fields: rotation in degrees, translation in centimetres (camera space), and the
#: same rotation as a quaternion (x, y, z, w) in camera space.
HEAD_FIELDS: tuple[str, ...] = ("yaw", "pitch", "roll", "x", "y", "z", "qx", "qy", "qz", "qw")
#: Gaze fields in degrees.
EYE_FIELDS: tuple[str, ...] = ("leftYaw", "leftPitch", "rightYaw", "rightPitch")

#: Live Link Face CSV: the 52 blendshapes (PascalCase) are followed by these (radians).
LLF_ROTATIONS: tuple[str, ...] = (
    "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)
#: ``format`` field of our JSON/NPZ take files.
TAKE_FORMAT = "kinemo-take"

FACE_PREFIX = "/kinemo/face/"
ADDR_BLENDSHAPES = "/kinemo/face/blendshapes"
ADDR_HEAD = "/kinemo/face/head"
ADDR_EYES = "/kinemo/face/eyes"
ADDR_PRESENT = "/kinemo/face/present"
ADDR_EXPRESSION = "/kinemo/face/expression"
ADDR_ACTION_UNITS = "/kinemo/face/au"
ADDR_LANDMARKS68 = "/kinemo/face/landmarks68"
ADDR_LANDMARKS = "/kinemo/face/landmarks"
ADDR_LANDMARKS_PCA = "/kinemo/face/landmarks/pca"
ADDR_CALIBRATE = "/kinemo/control/calibrate"

#: Emotion labels of the expression stream, in the order their scores travel.
EMOTIONS: tuple[str, ...] = ("neutral", "happy", "sad", "surprise", "anger", "fear", "disgust")
#: FACS action units of the AU stream, in the order their intensities travel.
ACTION_UNITS: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 16, 17, 18, 20, 22, 23, 24, 26, 45)
#: Pose fields that precede the coefficients in the compact landmark message.
PCA_POSE_FIELDS: tuple[str, ...] = ("scale", "qx", "qy", "qz", "qw", "tx", "ty", "tz")

ADDR_BODY_PRESENT = "/kinemo/body/present"
ADDR_BODY_PROBS = "/kinemo/body/probs"
ADDR_BODY_EVENT = "/kinemo/body/event"
#: Phases of an action event: sent when an action is recognised, and again when it ends.
EVENT_START, EVENT_END = "start", "end"

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
    # label, then one score per EMOTIONS entry
    ADDR_EXPRESSION: "s" + "f" * len(EMOTIONS),
    ADDR_ACTION_UNITS: "f" * len(ACTION_UNITS),
    # x, y per iBUG-300W point, normalised image coordinates
    ADDR_LANDMARKS68: "f" * 136,
    # x, y, z per mesh point, MediaPipe's normalised coordinates
    ADDR_LANDMARKS: "f" * (478 * 3),
    # variable length: the PCA_POSE_FIELDS, then the coefficients (as many as the basis has)
    ADDR_LANDMARKS_PCA: "f" * len(PCA_POSE_FIELDS),
    # seconds to capture the performer's neutral face for
    ADDR_CALIBRATE: "f",
    ADDR_BODY_PRESENT: "i",
    # label, phase ("start"/"end"), confidence, start media time, end media time (= start while ongoing)
    ADDR_BODY_EVENT: "ssfdd",
    # variable length: (label s, probability f) pairs, one per class; see decode_message
    ADDR_BODY_PROBS: "",
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
    head: tuple[float, ...] = (0.0,) * 6 + (0.0, 0.0, 0.0, 1.0)
    eyes: tuple[float, ...] = (0.0,) * len(EYE_FIELDS)
    # Optional streams: None means "not sent".
    expression: tuple | None = None  # (label, *scores in EMOTIONS order)
    action_units: tuple[float, ...] | None = None  # ACTION_UNITS order
    landmarks68: tuple[float, ...] | None = None  # x0, y0, x1, y1, …
    landmarks: tuple[float, ...] | None = None  # x0, y0, z0, …
    landmarks_pca: tuple[float, ...] | None = None  # PCA_POSE_FIELDS then coefficients

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
    if sample.expression is not None:
        label, *scores = sample.expression
        payloads += ((ADDR_EXPRESSION, (str(label), *(float(v) for v in scores))),)
    for address, values in ((ADDR_ACTION_UNITS, sample.action_units), (ADDR_LANDMARKS68, sample.landmarks68),
                            (ADDR_LANDMARKS, sample.landmarks), (ADDR_LANDMARKS_PCA, sample.landmarks_pca)):
        if values is not None:
            payloads += ((address, tuple(float(v) for v in values)),)
    out: list[Message] = []
    for address, payload in payloads:
        types = PAYLOAD_TYPES[address]
        if address == ADDR_LANDMARKS_PCA:
            types = "f" * len(payload)
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
    if address == ADDR_BODY_PROBS:
        types = "sf" * ((len(args) - need) // 2)
        need += len(types)
    elif address == ADDR_LANDMARKS_PCA:
        types = "f" * (len(args) - len(HEADER_TYPES))
        need = len(args)
    payload = tuple(args[3:need])
    for tag, v in zip(types, payload, strict=True):
        ok = _is_int(v) if tag == "i" else isinstance(v, str) if tag == "s" else _is_number(v)
        if not ok:
            raise ProtocolError(f"{address}: bad value {v!r} for type {tag}")
    return Update(address, int(seq), float(stamp), float(t), payload)


def encode_body(seq: int, stamp: float, time: float, *, present: bool,
                probs: dict[str, float] | None = None) -> list[Message]:
    """Per-frame body messages: person present, then class probabilities (vocabulary order)."""
    header = (int(seq) & 0x7FFFFFFF, float(stamp), float(time))
    out: list[Message] = [(ADDR_BODY_PRESENT, HEADER_TYPES + "i", header + (1 if present else 0,))]
    if probs:
        flat: tuple = tuple(x for label, p in probs.items() for x in (str(label), float(p)))
        out.append((ADDR_BODY_PROBS, HEADER_TYPES + "sf" * len(probs), header + flat))
    return out


def encode_event(seq: int, stamp: float, time: float, *, label: str, phase: str, confidence: float,
                 start: float, end: float) -> Message:
    """An action event; ``phase`` is EVENT_START when recognised and EVENT_END when over."""
    if phase not in (EVENT_START, EVENT_END):
        raise ProtocolError(f"event phase must be '{EVENT_START}' or '{EVENT_END}', not {phase!r}")
    header = (int(seq) & 0x7FFFFFFF, float(stamp), float(time))
    return (ADDR_BODY_EVENT, HEADER_TYPES + PAYLOAD_TYPES[ADDR_BODY_EVENT],
            header + (str(label), phase, float(confidence), float(start), float(end)))


def apply_update(sample: FaceSample, update: Update) -> FaceSample:
    """Merge one face message into the receiver's current frame (newest wins)."""
    if not update.address.startswith(FACE_PREFIX):
        return sample
    sample.seq, sample.stamp, sample.time = update.seq, update.stamp, update.time
    address = update.address
    if address == ADDR_BLENDSHAPES:
        sample.blendshapes = tuple(float(v) for v in update.values)
    elif address == ADDR_HEAD:
        sample.head = tuple(float(v) for v in update.values)
    elif address == ADDR_EYES:
        sample.eyes = tuple(float(v) for v in update.values)
    elif address == ADDR_PRESENT:
        sample.present = bool(update.values[0])
    elif address == ADDR_EXPRESSION:
        sample.expression = tuple(update.values)
    elif address == ADDR_ACTION_UNITS:
        sample.action_units = tuple(update.values)
    elif address == ADDR_LANDMARKS68:
        sample.landmarks68 = tuple(update.values)
    elif address == ADDR_LANDMARKS:
        sample.landmarks = tuple(update.values)
    elif address == ADDR_LANDMARKS_PCA:
        sample.landmarks_pca = tuple(update.values)
    return sample


def pascal_case(name: str) -> str:
    """ARKit camelCase → Live Link Face PascalCase (``jawOpen`` → ``JawOpen``)."""
    return name[:1].upper() + name[1:]


# --- VMC protocol (https://protocol.vmc.info/) ---------------------------------------------
# Kinemo speaks the performer side of VMC so VSeeFace-style receivers (and our add-on)
# understand it. VMC uses Unity's coordinates: left-handed, Y up, the avatar facing +Z.

VMC_PORT = 39539
VMC_BLEND_VAL = "/VMC/Ext/Blend/Val"  # (s name, f value) per channel, then Apply
VMC_BLEND_APPLY = "/VMC/Ext/Blend/Apply"
VMC_BONE_POS = "/VMC/Ext/Bone/Pos"  # (s bone, f px, py, pz, f qx, qy, qz, qw), Unity HumanBodyBones names
VMC_ROOT_POS = "/VMC/Ext/Root/Pos"  # (s "root", f px, py, pz, f qx, qy, qz, qw)
VMC_OK = "/VMC/Ext/OK"  # (i loaded[, i calibration state, i calibration mode, i tracking status])
VMC_TIME = "/VMC/Ext/T"  # (f seconds)
VMC_BONES = ("Head", "Neck", "LeftEye", "RightEye")


def _quat_mul(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float, float, float]:
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz)


def _axis_quat(axis: int, degrees: float) -> tuple[float, float, float, float]:
    half = math.radians(degrees) / 2.0
    q = [0.0, 0.0, 0.0, math.cos(half)]
    q[axis] = math.sin(half)
    return (q[0], q[1], q[2], q[3])


def unity_euler(yaw: float, pitch: float, roll: float) -> tuple[float, float, float]:
    """Our head angles (degrees) → Unity Euler angles (x, y, z) for an avatar facing +Z.

    Turning to the performer's left is a negative rotation about Unity's +Y, lifting the
    chin a negative rotation about +X, tilting to the left shoulder a positive one about +Z.
    """
    return (-pitch, -yaw, roll)


def unity_quaternion(yaw: float, pitch: float, roll: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) as Unity's ``Quaternion.Euler`` builds it (Z, then X, then Y)."""
    ex, ey, ez = unity_euler(yaw, pitch, roll)
    return _quat_mul(_quat_mul(_axis_quat(1, ey), _axis_quat(0, ex)), _axis_quat(2, ez))


def head_from_unity_quaternion(q: tuple[float, ...]) -> tuple[float, float, float]:
    """Inverse of :func:`unity_quaternion`: (yaw, pitch, roll) in degrees."""
    x, y, z, w = q
    n = math.sqrt(x * x + y * y + z * z + w * w) or 1.0
    x, y, z, w = x / n, y / n, z / n, w / n
    # Rotation matrix entries needed for R = Ry · Rx · Rz.
    r02 = 2 * (x * z + w * y)
    r12 = 2 * (y * z - w * x)
    r22 = 1 - 2 * (x * x + y * y)
    r10 = 2 * (x * y + w * z)
    r11 = 1 - 2 * (x * x + z * z)
    ex = math.degrees(math.asin(max(-1.0, min(1.0, -r12))))
    ey = math.degrees(math.atan2(r02, r22))
    ez = math.degrees(math.atan2(r10, r11))
    return (-ey, -ex, ez)
