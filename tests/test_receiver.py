"""The add-on's receiver, without Blender: decoding, counters, newest-frame policy, real UDP."""

import random
import socket
import threading
import time

from pythonosc.osc_message_builder import OscMessageBuilder

from blender_addon.receiver import Receiver
from kinemo import protocol
from kinemo.frame import Frame
from kinemo.osc_out import OscSender, build_bundle


def bundle(seq, jaw=0.5):
    bs = [0.0] * 52
    bs[protocol.ARKIT_INDEX["jawOpen"]] = jaw
    return build_bundle(protocol.FaceSample(seq=seq, stamp=time.time(), time=seq / 25, blendshapes=tuple(bs)))


def message(address, *args_types):
    b = OscMessageBuilder(address)
    for value, tag in args_types:
        b.add_arg(value, tag)
    return b.build().dgram


def test_keeps_only_the_newest_frame():
    rx = Receiver()
    for seq in range(5):
        assert rx.handle_datagram(bundle(seq, jaw=seq / 10), ("127.0.0.1", 5000))
    latest = rx.take_latest()
    assert latest.seq == 4 and latest.blendshape("jawOpen") == 0.4000000059604645
    assert rx.take_latest() is None  # nothing new since
    assert rx.stats.frames == 5 and rx.stats.packets == 5 and rx.stats.malformed == 0
    assert rx.stats.last_sender == "127.0.0.1:5000"


def test_malformed_and_foreign_packets_are_counted_and_dropped():
    rx = Receiver()
    rx.handle_datagram(bundle(1))
    assert rx.take_latest().seq == 1
    bad = [
        b"",
        b"\x00\x01garbage",
        b"#bundle\x00" + b"\xff" * 11,
        message(protocol.ADDR_BLENDSHAPES, (1, "i"), (0.0, "d"), (0.0, "d"), (0.5, "f")),  # too short
        message(protocol.ADDR_PRESENT, ("x", "s"), (0.0, "d"), (0.0, "d"), (1, "i")),  # bad header type
    ]
    for data in bad:
        assert rx.handle_datagram(data) is False
    assert rx.stats.malformed == len(bad)
    assert rx.handle_datagram(message("/VMC/Ext/OK", (1, "i"))) is False
    assert rx.stats.ignored == 1 and rx.stats.malformed == len(bad)
    assert rx.take_latest() is None  # the bad packets did not touch the frame
    assert rx.handle_datagram(bundle(2, jaw=0.25))
    assert rx.take_latest().blendshape("jawOpen") == 0.25


def test_random_and_mutated_packets_never_raise():
    rng = random.Random(1234)
    rx = Receiver()
    good = bundle(3)
    for i in range(20000):
        if i % 2:
            data = bytearray(good)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data[: rng.randint(0, len(data))]) if i % 3 == 0 else bytes(data)
        else:
            data = rng.randbytes(rng.randint(0, 400))
        rx.handle_datagram(data)
    assert rx.stats.packets == 20000
    assert rx.stats.malformed + rx.stats.ignored > 0
    rx.take_latest()
    assert rx.handle_datagram(bundle(99, jaw=0.75))
    latest = rx.take_latest()
    assert latest.seq == 99 and latest.blendshape("jawOpen") == 0.75


def test_real_udp_default_binds_loopback_and_stops_cleanly():
    rx = Receiver(port=0)
    assert rx.host == "127.0.0.1"
    rx.start()
    try:
        assert rx.running
        sender = OscSender("127.0.0.1", rx.port)
        frame = Frame(seq=11, time=0.44, stamp=time.time(), present=True)
        frame.blendshapes[protocol.ARKIT_INDEX["jawOpen"]] = 0.6
        deadline = time.time() + 5
        sample = None
        while sample is None and time.time() < deadline:
            sender.send(frame)
            time.sleep(0.01)
            sample = rx.take_latest()
        sender.close()
        assert sample is not None and sample.seq == 11 and sample.present
        assert abs(sample.blendshape("jawOpen") - 0.6) < 1e-7
        assert rx.receiving() and rx.fps() > 0
    finally:
        port = rx.port
        rx.stop()
    assert not rx.running
    assert not [t for t in threading.enumerate() if t.name.startswith("kinemo-osc")]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))  # the port was released


def test_port_in_use_raises_before_any_thread_starts():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        rx = Receiver(port=s.getsockname()[1])
        try:
            rx.start()
            raise AssertionError("bind should fail")
        except OSError:
            pass
        assert not rx.running
