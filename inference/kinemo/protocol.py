"""Kinemo wire protocol v1 — the single definition shared by service and add-on.

Pure standard library on purpose: the Blender add-on ships this very file (the
build copies it into the extension zip), so it must not import numpy, mediapipe
or python-osc. It says *what* travels (addresses, argument layouts, channel
order, units, the value ranges receivers accept). The OSC byte encoding of a
message is python-osc's job on both sides, but *splitting* a datagram into
messages is ours (:func:`split_datagram`): a strictly forward, bounds-checked walk
that both receivers use, because python-osc 1.10.2's bundle walk follows negative
element sizes backwards and never ends. The human-readable specification is
``docs/protocol.md``.
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
#: The label over every label the performer's profile knows, the user's own names included
#: (label, then name/score pairs). Sent beside ADDR_EXPRESSION, which keeps the built-in view.
ADDR_EXPRESSION_LABELS = "/kinemo/face/expression/labels"
ADDR_ACTION_UNITS = "/kinemo/face/au"
ADDR_LANDMARKS68 = "/kinemo/face/landmarks68"
ADDR_LANDMARKS = "/kinemo/face/landmarks"
ADDR_LANDMARKS_PCA = "/kinemo/face/landmarks/pca"
ADDR_CALIBRATE = "/kinemo/control/calibrate"
#: Change the emotion a speaking face shows (kinemo mic/audio): name, intensity 0-1.
ADDR_EMOTION = "/kinemo/control/emotion"
#: Where ``kinemo mic`` listens for control messages by default (``kinemo webcam`` has DEFAULT_PORT + 1).
VOICE_CONTROL_PORT = DEFAULT_PORT + 2

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
    # variable length: the label, then (name s, score f) pairs over every label; see decode_message
    ADDR_EXPRESSION_LABELS: "s",
    ADDR_ACTION_UNITS: "f" * len(ACTION_UNITS),
    # x, y per iBUG-300W point, normalised image coordinates
    ADDR_LANDMARKS68: "f" * 136,
    # x, y, z per mesh point, MediaPipe's normalised coordinates
    ADDR_LANDMARKS: "f" * (478 * 3),
    # variable length: the PCA_POSE_FIELDS, then the coefficients (as many as the basis has)
    ADDR_LANDMARKS_PCA: "f" * len(PCA_POSE_FIELDS),
    # seconds to capture the performer's neutral face for
    ADDR_CALIBRATE: "f",
    ADDR_EMOTION: "sf",
    ADDR_BODY_PRESENT: "i",
    # label, phase ("start"/"end"), confidence, start media time, end media time (= start while ongoing)
    ADDR_BODY_EVENT: "ssfdd",
    # variable length: (label s, probability f) pairs, one per class; see decode_message
    ADDR_BODY_PROBS: "",
}


class ProtocolError(ValueError):
    """A message at a Kinemo address whose arguments break the layout."""


class ValueRangeError(ProtocolError):
    """A message of ours with a NaN, an infinity or an absurd magnitude: dropped, and counted apart
    so the panel can say that values (not framing) were the problem."""


#: Largest magnitudes receivers accept, per kind of value. Far beyond anything a real sender
#: produces, far below what overflows the maths downstream (3e38 root motion, 1e200 quaternions).
MAX_TIME = 1e10  # seconds: sender stamps (Unix time) and media times
MAX_WEIGHT = 10.0  # blendshape weights, AU intensities, scores, probabilities (nominally 0..1)
MAX_ANGLE = 720.0  # degrees: head and gaze angles
MAX_CM = 1e4  # head translation, centimetres (100 m)
MAX_COORD = 1e3  # normalised landmark coordinates (nominally 0..1)
MAX_PCA = 1e6  # compact landmark pose and coefficients
MAX_SEQ = 0x7FFFFFFF  # senders mask seq to 31 bits; anything else is not ours

_LIMITS: dict[str, float] = {
    ADDR_BLENDSHAPES: MAX_WEIGHT, ADDR_EYES: MAX_ANGLE, ADDR_EXPRESSION: MAX_WEIGHT, ADDR_EXPRESSION_LABELS: MAX_WEIGHT,
    ADDR_ACTION_UNITS: MAX_WEIGHT, ADDR_LANDMARKS68: MAX_COORD, ADDR_LANDMARKS: MAX_COORD,
    ADDR_LANDMARKS_PCA: MAX_PCA, ADDR_CALIBRATE: MAX_TIME, ADDR_EMOTION: MAX_WEIGHT, ADDR_BODY_PROBS: MAX_WEIGHT,
    ADDR_BODY_EVENT: MAX_TIME,
}
_HEAD_LIMITS = (MAX_ANGLE,) * 3 + (MAX_CM,) * 3 + (2.0,) * 4  # angles, translation, quaternion


def value_limit(address: str, k: int) -> float:
    """Largest magnitude accepted for payload value ``k`` (after the header) at ``address``."""
    if address == ADDR_HEAD:
        return _HEAD_LIMITS[k] if k < len(_HEAD_LIMITS) else MAX_CM
    if address == ADDR_BODY_EVENT and k == 2:
        return MAX_WEIGHT  # the confidence; the other numbers are media times
    return _LIMITS.get(address, MAX_TIME)


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
    expression_labels: tuple | None = None  # (label, name, score, name, score, …) over the profile's labels
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
    if sample.expression_labels is not None:
        label, *pairs = sample.expression_labels
        payloads += ((ADDR_EXPRESSION_LABELS, (str(label), *(str(v) if k % 2 == 0 else float(v)
                                                              for k, v in enumerate(pairs)))),)
    for address, values in ((ADDR_ACTION_UNITS, sample.action_units), (ADDR_LANDMARKS68, sample.landmarks68),
                            (ADDR_LANDMARKS, sample.landmarks), (ADDR_LANDMARKS_PCA, sample.landmarks_pca)):
        if values is not None:
            payloads += ((address, tuple(float(v) for v in values)),)
    out: list[Message] = []
    for address, payload in payloads:
        types = PAYLOAD_TYPES[address]
        if address == ADDR_LANDMARKS_PCA:
            types = "f" * len(payload)
        elif address == ADDR_EXPRESSION_LABELS:
            types = "s" + "sf" * ((len(payload) - 1) // 2)
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


def _check_value(address: str, k: int, v: float | int) -> None:
    if not math.isfinite(v) or abs(v) > value_limit(address, k):
        raise ValueRangeError(f"{address}: value {v!r} out of range")


def decode_message(address: str, args: tuple | list, tags: str | None = None) -> Update | None:
    """Validate one message. ``None`` means "not ours, ignore"; raises ProtocolError
    (ValueRangeError for NaN, infinity or an absurd magnitude). ``tags``: the message's OSC
    type tags when known (see :func:`message_tags`), so an int64 ``h`` cannot pass for an ``i``."""
    types = PAYLOAD_TYPES.get(address)
    if types is None:
        return None
    need = len(HEADER_TYPES) + len(types)
    if len(args) < need:
        raise ProtocolError(f"{address}: {len(args)} arguments, need {need}")
    seq, stamp, t = args[0], args[1], args[2]
    if not _is_int(seq) or not _is_number(stamp) or not _is_number(t):
        if isinstance(stamp, float) and isinstance(t, float) and _is_int(seq):
            raise ValueRangeError(f"{address}: non-finite header {args[:3]!r}")
        raise ProtocolError(f"{address}: bad header {args[:3]!r}")
    if tags is not None and (tags[:1] != "i" or "h" in tags):
        raise ProtocolError(f"{address}: type tags {tags!r}: seq must be int32 and no value int64")
    if not 0 <= seq <= MAX_SEQ or abs(stamp) > MAX_TIME or abs(t) > MAX_TIME:
        raise ValueRangeError(f"{address}: header out of range {args[:3]!r}")
    if address == ADDR_BODY_PROBS:
        types = "sf" * ((len(args) - need) // 2)
        need += len(types)
    elif address == ADDR_EXPRESSION_LABELS:
        types = "s" + "sf" * ((len(args) - need) // 2)
        need += len(types) - 1
    elif address == ADDR_LANDMARKS_PCA:
        types = "f" * (len(args) - len(HEADER_TYPES))
        need = len(args)
    payload = tuple(args[3:need])
    for k, (tag, v) in enumerate(zip(types, payload, strict=True)):
        if tag == "i":
            ok = _is_int(v)
        elif tag == "s":
            ok = isinstance(v, str)
        else:
            ok = _is_int(v) or isinstance(v, float)
            if ok:
                _check_value(address, k, v)
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
    elif address == ADDR_EXPRESSION_LABELS:
        sample.expression_labels = tuple(update.values)
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


# --- OSC datagram framing ------------------------------------------------------------------
# Both receivers split datagrams here and hand each message's bytes to python-osc's
# OscMessage. The walk only ever moves forward and checks every size against the bytes
# that are really there, so one datagram costs time linear in its length, whatever it holds.

BUNDLE_TAG = b"#bundle\0"
#: Bundles inside bundles a receiver follows (the outermost counts as one).
MAX_BUNDLE_DEPTH = 8
#: Messages in one datagram; a VMC frame is ~150, a Kinemo frame ~10.
MAX_MESSAGES = 1024
#: Fixed argument sizes of the OSC type tags python-osc decodes; ``s`` and ``b`` are measured,
#: ``[`` and ``]`` take no bytes. Any other tag makes the message malformed: python-osc would
#: skip it without consuming its bytes and read the rest misaligned.
_FIXED_SIZES = {"i": 4, "f": 4, "r": 4, "m": 4, "h": 8, "d": 8, "t": 8, "T": 0, "F": 0, "N": 0}


class DatagramError(ProtocolError):
    """A datagram whose OSC framing is broken: element sizes, strings, type tags, nesting."""


def _string_end(data: bytes, start: int, stop: int) -> int:
    """Index just past the NUL-terminated, 4-byte padded OSC string at ``start``."""
    nul = data.find(b"\0", start, stop)
    if nul < 0:
        raise DatagramError(f"unterminated string at byte {start}")
    end = start + (nul - start + 4) // 4 * 4
    if end > stop:
        raise DatagramError(f"string padding past the end at byte {start}")
    return end


def message_tags(data: bytes, start: int = 0, stop: int | None = None) -> str:
    """Check one OSC message's layout in ``data[start:stop]`` and return its type tags (no ``,``).

    Every argument must fit inside the message; blob sizes must not be negative; arrays nest
    at most MAX_BUNDLE_DEPTH deep. Raises DatagramError otherwise.
    """
    stop = len(data) if stop is None else stop
    if not data.startswith(b"/", start, stop):
        raise DatagramError(f"no OSC address at byte {start}")
    i = _string_end(data, start, stop)
    if i == stop:
        return ""  # an address alone is a message without arguments
    j = _string_end(data, i, stop)
    raw = data[i:j].rstrip(b"\0")
    if not raw.startswith(b",") or not raw.isascii():
        raise DatagramError(f"bad type tag string at byte {i}")
    tags = raw[1:].decode("ascii")
    depth = 0
    for tag in tags:
        size = _FIXED_SIZES.get(tag)
        if size is not None:
            j += size
        elif tag == "s":
            j = _string_end(data, j, stop)
        elif tag == "b":
            n = int.from_bytes(data[j:j + 4], "big", signed=True) if j + 4 <= stop else -1
            if n < 0:
                raise DatagramError(f"bad blob size at byte {j}")
            j += 4 + n + (-n % 4)
        elif tag == "[":
            depth += 1
            if depth > MAX_BUNDLE_DEPTH:
                raise DatagramError("arrays nested too deep")
        elif tag == "]":
            depth -= 1
            if depth < 0:
                raise DatagramError("unbalanced ']' in type tags")
        else:
            raise DatagramError(f"unsupported type tag {tag!r}")
        if j > stop:
            raise DatagramError("arguments run past the end of the message")
    if depth:
        raise DatagramError("unbalanced '[' in type tags")
    return tags


def split_datagram(data: bytes) -> list[tuple[bytes, str]]:
    """(message bytes, type tags) for every message in one UDP datagram, bundles unpacked in order.

    A datagram is one OSC message or a bundle: ``#bundle\\0``, an 8-byte time tag, then elements,
    each an int32 size (≥ 0, a multiple of 4, inside the enclosing bundle) and that many bytes of
    message or nested bundle. Raises DatagramError on anything else; never loops or allocates
    more than the datagram's own size.
    """
    out: list[tuple[bytes, str]] = []
    _walk(bytes(data), 0, len(data), 1, out)
    return out


def _walk(data: bytes, start: int, stop: int, depth: int, out: list[tuple[bytes, str]]) -> None:
    if data.startswith(b"/", start, stop):
        tags = message_tags(data, start, stop)
        if len(out) >= MAX_MESSAGES:
            raise DatagramError(f"more than {MAX_MESSAGES} messages in one datagram")
        out.append((data[start:stop], tags))
        return
    if not data.startswith(BUNDLE_TAG, start, stop):
        raise DatagramError(f"neither an OSC message nor a bundle at byte {start}")
    if depth > MAX_BUNDLE_DEPTH:
        raise DatagramError(f"bundles nested deeper than {MAX_BUNDLE_DEPTH}")
    i = start + len(BUNDLE_TAG) + 8  # the time tag: receivers apply frames on arrival
    if i > stop:
        raise DatagramError("bundle time tag cut short")
    while i < stop:
        if i + 4 > stop:
            raise DatagramError(f"bundle element size cut short at byte {i}")
        size = int.from_bytes(data[i:i + 4], "big", signed=True)
        if size < 0 or size % 4 or i + 4 + size > stop:
            raise DatagramError(f"bundle element size {size} at byte {i} (datagram of {len(data)})")
        i += 4
        if size:
            _walk(data, i, i + size, depth + 1, out)
        i += size
