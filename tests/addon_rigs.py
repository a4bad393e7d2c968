"""Test avatars and a real-UDP frame sender for the add-on tests (bpy 5.0 and 4.2 alike).

Imports neither the service nor anything but python-osc, so the same tests run under
the Blender 4.2 LTS interpreter (``.venv-bpy42``).
"""

from __future__ import annotations

import socket
import time

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from blender_addon import protocol

#: Character Creator-style names on the face mesh (CC splits some channels in two).
CC_FACE_KEYS = ("Basis", "Eye_Blink_L", "Eye_Blink_R", "Jaw_Open", "Mouth_Smile_L", "Mouth_Smile_R",
                "Brow_Raise_Inner_L", "Brow_Raise_Inner_R", "Eye_L_Look_R", "Mouth_Funnel_Up_L", "Custom_Wrinkle")


def shape_key_mesh(bpy, name: str, keys) -> object:
    """A small mesh with the given shape keys (first is the basis)."""
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    for k in keys:
        obj.shape_key_add(name=k, from_mix=False).value = 0.0  # Blender 5.0 starts new keys at 1.0
    return obj


def head_rig(bpy, name: str = "Rig") -> object:
    """Spine → neck → head pointing up (+Z), eyes pointing forward (−Y), and a hand with a 'wave' action."""
    data = bpy.data.armatures.new(name)
    arm = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    eb = data.edit_bones
    root = eb.new("root")
    root.head, root.tail = (0, 0, 0), (0, 0.5, 0)
    neck = eb.new("neck")
    neck.head, neck.tail, neck.parent = (0, 0, 1.4), (0, 0, 1.55), root
    head = eb.new("head")
    head.head, head.tail, head.parent, head.use_connect = (0, 0, 1.55), (0, 0, 1.8), neck, True
    for side, x in (("L", 0.03), ("R", -0.03)):
        eye = eb.new(f"eye.{side}")
        eye.head, eye.tail, eye.parent = (x, -0.08, 1.65), (x, -0.12, 1.65), head
    hand = eb.new("hand")
    hand.head, hand.tail, hand.parent = (0.5, 0, 1.0), (0.7, 0, 1.0), root
    bpy.ops.object.mode_set(mode="OBJECT")
    wave = bpy.data.actions.new("wave")
    arm.animation_data_create().action = wave
    pb = arm.pose.bones["hand"]
    for frame, z in ((1, 0.0), (11, 1.0)):
        pb.location = (0, 0, z)
        pb.keyframe_insert("location", frame=frame)
    arm.animation_data.action = None
    pb.location = (0, 0, 0)
    wave.use_fake_user = True
    return arm


def reaction_avatar(bpy, scene, keys, reaction: str):
    """A face with shape keys ``keys`` and a rig whose hand Action is the user's ``react_<reaction>``, both set
    as the add-on's targets."""
    face = shape_key_mesh(bpy, "Face", keys)
    arm = head_rig(bpy)
    bpy.data.actions["wave"].name = f"react_{reaction}"
    scene.kinemo.target, scene.kinemo.armature = face, arm
    return face, arm


def frame_bundle(seq: int, *, time_s: float = 0.0, blend: dict[str, float] | None = None,
                 head=(0.0,) * 6, eyes=(0.0,) * 4, present: bool = True) -> bytes:
    bs = [0.0] * protocol.NUM_BLENDSHAPES
    for k, v in (blend or {}).items():
        bs[protocol.ARKIT_INDEX[k]] = v
    sample = protocol.FaceSample(seq=seq, stamp=time.time(), time=time_s, present=present, blendshapes=tuple(bs),
                                 head=(*head[:6], 0.0, 0.0, 0.0, 1.0), eyes=tuple(eyes))
    return bundle(protocol.encode_sample(sample))


def bundle(messages) -> bytes:
    b = OscBundleBuilder(IMMEDIATELY)
    for address, types, args in messages:
        m = OscMessageBuilder(address)
        for tag, value in zip(types, args, strict=True):
            m.add_arg(value, tag)
        b.add_content(m.build())
    return b.build().dgram


def message(address: str, *args_types) -> bytes:
    m = OscMessageBuilder(address)
    for value, tag in args_types:
        m.add_arg(value, tag)
    return m.build().dgram


class Sender:
    """A real UDP sender (its own socket, so a new Sender looks like a restarted process)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, ("127.0.0.1", self.port))

    def close(self) -> None:
        self.sock.close()


def tick_until(session, predicate, timeout: float = 5.0):
    """Run the add-on's timer work until ``predicate(sample)`` holds for a returned sample."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        sample = session.tick()
        if sample is not None and predicate(sample):
            return sample
        time.sleep(0.002)
    raise AssertionError("the frame never arrived")
