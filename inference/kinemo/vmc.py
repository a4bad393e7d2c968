"""VMC performer: the frame as VMC protocol messages, for VSeeFace-style receivers.

Blendshapes go out under their Live Link Face / perfect-sync names (``JawOpen``,
``EyeBlinkLeft``…) plus the VRM presets a receiver without perfect sync knows
(Blink, Blink_L, Blink_R, A, Joy); then Apply. Head, neck and eyes go out as
``/VMC/Ext/Bone/Pos`` local rotations in Unity coordinates. Every datagram is a
bundle of at most 1500 bytes, so a frame spans a few of them; Apply is last.
"""

from __future__ import annotations

import struct
import time

from pythonosc.osc_message_builder import OscMessageBuilder

from kinemo import protocol
from kinemo.frame import Frame

MAX_DATAGRAM = 1500
NECK_SHARE = 0.3  # fraction of the head rotation the neck takes


def _msg(address: str, *args_types: tuple[object, str]) -> bytes:
    b = OscMessageBuilder(address)
    for value, tag in args_types:
        b.add_arg(value, tag)
    return b.build().dgram


def _bone(name: str, yaw: float, pitch: float, roll: float, pos=(0.0, 0.0, 0.0)) -> bytes:
    q = protocol.unity_quaternion(yaw, pitch, roll)
    return _msg(protocol.VMC_BONE_POS, (name, "s"), *((float(v), "f") for v in pos), *((float(v), "f") for v in q))


def blend_values(frame: Frame) -> list[tuple[str, float]]:
    bs = frame.blendshapes
    named = [(protocol.pascal_case(n), float(bs[i])) for i, n in enumerate(protocol.ARKIT_NAMES)]
    blink_l = float(bs[protocol.ARKIT_INDEX["eyeBlinkLeft"]])
    blink_r = float(bs[protocol.ARKIT_INDEX["eyeBlinkRight"]])
    happy = frame.expression.score("happy") if frame.expression is not None else 0.0
    presets = [("Blink_L", blink_l), ("Blink_R", blink_r), ("Blink", min(blink_l, blink_r)),
               ("A", float(bs[protocol.ARKIT_INDEX["jawOpen"]])), ("Joy", happy)]
    return named + presets


def messages(frame: Frame) -> list[bytes]:
    """All messages of one frame, in sending order."""
    out = [_msg(protocol.VMC_OK, (1, "i")), _msg(protocol.VMC_TIME, (float(frame.time), "f")),
           _msg(protocol.VMC_ROOT_POS, ("root", "s"), *((0.0, "f"),) * 6, (1.0, "f"))]
    yaw, pitch, roll = (float(v) for v in frame.head[:3])
    out.append(_bone("Neck", yaw * NECK_SHARE, pitch * NECK_SHARE, roll * NECK_SHARE))
    out.append(_bone("Head", yaw * (1 - NECK_SHARE), pitch * (1 - NECK_SHARE), roll * (1 - NECK_SHARE)))
    e = frame.eyes
    out.append(_bone("LeftEye", float(e[0]), float(e[1]), 0.0))
    out.append(_bone("RightEye", float(e[2]), float(e[3]), 0.0))
    out += [_msg(protocol.VMC_BLEND_VAL, (name, "s"), (value, "f")) for name, value in blend_values(frame)]
    out.append(_msg(protocol.VMC_BLEND_APPLY))
    return out


def pack(msgs: list[bytes], limit: int = MAX_DATAGRAM) -> list[bytes]:
    """Group messages into as few bundles as fit in ``limit`` bytes each, keeping their order."""
    bundles, current, size = [], [], 16  # "#bundle\0" + timetag
    for m in msgs:
        if current and size + 4 + len(m) > limit:
            bundles.append(current)
            current, size = [], 16
        current.append(m)
        size += 4 + len(m)
    if current:
        bundles.append(current)
    # OSC 1.0 bundle: "#bundle", the "immediately" timetag, then (int32 size, message) pairs.
    head = b"#bundle\x00" + struct.pack(">Q", 1)
    return [head + b"".join(struct.pack(">i", len(m)) + m for m in group) for group in bundles]


class VmcSender:
    def __init__(self, host: str = protocol.DEFAULT_HOST, port: int = protocol.VMC_PORT) -> None:
        from kinemo.osc_out import OscSender

        self._out = OscSender(host, port, landmarks="none")
        self.started = time.time()

    def send(self, frame: Frame) -> None:
        for datagram in pack(messages(frame)):
            self._out.send_bytes(datagram)

    def close(self) -> None:
        self._out.close()
