"""Hostile datagrams, without Blender: framing that could hang, bloat or freeze a receiver, and values
that must never leave them. Each hostile datagram must be dropped, counted, fast and flat."""

from __future__ import annotations

import math
import struct
import threading
import time
import tracemalloc

import pytest
from addon_rigs import bundle, frame_bundle

from blender_addon import mapping, protocol
from blender_addon import receiver as receiver_mod
from blender_addon.receiver import MAX_GAP, Receiver
from blender_addon.retarget import Smoother
from kinemo.control import ControlListener

TIMETAG = struct.pack(">Q", 1)
X = b"/x\0\0,i\0\0" + struct.pack(">i", 1)  # a 12-byte message: /x ,i 1


def raw_bundle(*elements: tuple[int, bytes]) -> bytes:
    return b"#bundle\0" + TIMETAG + b"".join(struct.pack(">i", n) + e for n, e in elements)


def nest(data: bytes, levels: int) -> bytes:
    for _ in range(levels):
        data = raw_bundle((len(data), data))
    return data


HOSTILE = {
    "negative size alone (20 bytes)": raw_bundle((-4, b"")),
    "message then -20": raw_bundle((12, X), (-20, b"")),
    "message then -2**31": raw_bundle((12, X), (-(2 ** 31), b"")),
    "-2**31 alone": raw_bundle((-(2 ** 31), b"")),
    "nested: message then -20": nest(raw_bundle((12, X), (-20, b"")), 1),
    "nested 3: negative alone": nest(raw_bundle((-4, b"")), 3),
    "oversize": raw_bundle((2 ** 31 - 1, X)),
    "unaligned": raw_bundle((11, X)),
    "nested too deep": nest(raw_bundle((12, X)), 12),
    "negative blob size": b"/x\0\0,bs\0" + struct.pack(">i", -16) + b"abc\0",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_framing_is_dropped_fast_and_flat(name):
    data = HOSTILE[name]
    rx = Receiver(vmc=True)
    t0 = time.perf_counter()
    assert rx.handle_datagram(data, ("127.0.0.1", 1)) is False
    assert time.perf_counter() - t0 <= 0.05
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        worst = 0.0
        for _ in range(300):
            t0 = time.perf_counter()
            rx.handle_datagram(data, ("127.0.0.1", 1))
            worst = max(worst, time.perf_counter() - t0)
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert worst <= 0.05, f"{name}: {worst * 1000:.1f} ms"
    assert grown < 64 * 1024, f"{name}: memory grew by {grown} bytes"
    assert rx.stats.packets == rx.stats.malformed == 301
    rx.handle_datagram(frame_bundle(5, blend={"jawOpen": 0.5}), ("127.0.0.1", 1))  # still works after
    assert rx.take_latest().blendshape("jawOpen") == 0.5


def test_the_walk_itself_and_nesting_within_the_limit():
    msgs = protocol.split_datagram(nest(raw_bundle((12, X), (12, X)), protocol.MAX_BUNDLE_DEPTH - 1))
    assert msgs == [(X, "i"), (X, "i")]
    assert protocol.split_datagram(X) == [(X, "i")]
    for data in HOSTILE.values():
        with pytest.raises(protocol.DatagramError):
            protocol.split_datagram(data)
    with pytest.raises(protocol.DatagramError):
        protocol.split_datagram(raw_bundle(*[(12, X)] * (protocol.MAX_MESSAGES + 1)))
    rx = Receiver()
    assert rx.handle_datagram(nest(frame_bundle(3), protocol.MAX_BUNDLE_DEPTH - 1))


@pytest.mark.parametrize("name", list(HOSTILE))
def test_control_listener_drops_the_same_datagrams(name):
    calls: list[float] = []
    ctl = ControlListener(calls.append, port=0)
    try:
        t0 = time.perf_counter()
        ctl.handle(HOSTILE[name])
        assert time.perf_counter() - t0 <= 0.05 and ctl.malformed == 1
        ctl.handle(bundle([(protocol.ADDR_CALIBRATE, "iddf", (1, 0.0, 0.0, 2.0))]))
        assert calls == [2.0] and ctl.malformed == 1
    finally:
        ctl.close()


def test_a_64kb_vmc_blend_name_neither_freezes_nor_grows():
    rx = Receiver(vmc=True)
    long_name = "aB_" * 21_000
    data = bundle([(protocol.VMC_BLEND_VAL, "sf", (long_name, 0.5)), (protocol.VMC_BLEND_APPLY, "", ())])
    t0 = time.perf_counter()
    assert rx.handle_datagram(data) is False and rx.stats.malformed == 1
    assert time.perf_counter() - t0 <= 0.05
    t0 = time.perf_counter()
    assert mapping.channel_for(long_name) == []  # parsing is linear even when called directly
    assert time.perf_counter() - t0 <= 0.2
    assert mapping.channel_for("Eye_" * 5000 + "Blink_L") == ["eyeBlinkLeft"]
    ok = bundle([(protocol.VMC_BLEND_VAL, "sf", ("EyeBlinkLeft", 0.7)), (protocol.VMC_BLEND_APPLY, "", ())])
    assert rx.handle_datagram(ok) and rx.take_latest().blendshape("eyeBlinkLeft") == pytest.approx(0.7)


def test_the_main_thread_never_waits_on_decoding():
    rx = Receiver(vmc=True)
    rx.handle_datagram(frame_bundle(1, blend={"jawOpen": 0.25}))
    with rx._lock:  # the network side busy for as long as it likes
        done = threading.Event()
        out = []

        def main_thread():
            out.extend([rx.take_latest(), rx.take_events(), rx.fps(), rx.receiving()])
            done.set()

        threading.Thread(target=main_thread).start()
        assert done.wait(1.0), "take_latest/take_events/fps waited on the network side's lock"
    assert out[0].blendshape("jawOpen") == 0.25


def _values(rx: Receiver) -> list[float]:
    s = rx.take_latest()
    return [] if s is None else [*s.blendshapes, *s.head, *s.eyes]


BAD = [math.nan, math.inf, -math.inf, 1e300, 3e38]


@pytest.mark.parametrize("tag", ["f", "d", "i", "h"])
@pytest.mark.parametrize("address", [protocol.ADDR_BLENDSHAPES, protocol.ADDR_HEAD, protocol.ADDR_EYES])
def test_non_finite_or_absurd_values_never_leave_the_receiver(address, tag):
    n = len(protocol.PAYLOAD_TYPES[address])
    bad = {"f": [v for v in BAD if v != 1e300], "d": BAD, "i": [2 ** 31 - 1, -(2 ** 31)], "h": [10 ** 18]}[tag]
    rx = Receiver()
    for k, v in enumerate(bad):
        for pos in (0, n - 1, 3 if address == protocol.ADDR_HEAD else n // 2):
            vals = [0.0] * n
            vals[pos] = v
            tags = "idd" + "f" * pos + tag + "f" * (n - pos - 1)
            data = bundle([(address, tags, (100 + k, 1.0, 0.5, *vals))])
            assert rx.handle_datagram(data) is False
            assert _values(rx) == []
    assert rx.stats.malformed == rx.stats.packets > 0
    assert rx.stats.bad_values == (0 if tag == "h" else rx.stats.packets)  # int64 is a type error
    assert rx.handle_datagram(frame_bundle(200, blend={"jawOpen": 0.5}, head=(10, 0, 0, 1, 2, 3)))
    assert all(math.isfinite(v) for v in _values(rx))


@pytest.mark.parametrize("tag", ["f", "d"])
def test_vmc_bad_values_and_quaternions(tag):
    rx = Receiver(vmc=True)
    for v in BAD:
        if tag == "f" and abs(v) == 1e300:
            continue
        for args in (("Head", 0.0, 0.0, 0.0, v, v, 0.0, v), ("Neck", v, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)):
            assert not rx.handle_datagram(bundle([(protocol.VMC_BONE_POS, "s" + tag * 7, args)]))
        assert not rx.handle_datagram(bundle([(protocol.VMC_BLEND_VAL, "s" + tag, ("jawOpen", v)),
                                              (protocol.VMC_BLEND_APPLY, "", ())]))
        assert _values(rx) == []
    assert rx.stats.bad_values == rx.stats.malformed > 0
    # An unnormalised but sane quaternion is normalised: a turn of the head, finite.
    q = [c * 1000 for c in protocol.unity_quaternion(25.0, 0.0, 0.0)]
    assert rx.handle_datagram(bundle([(protocol.VMC_BONE_POS, "s" + tag * 7, ("Head", 0.0, 0.0, 0.0, *q))]))
    s = rx.take_latest()
    assert s.head[0] == pytest.approx(25.0, abs=1e-3) and all(math.isfinite(v) for v in s.head)


def test_int64_seq_and_huge_seq_jumps():
    rx = Receiver()
    m = (protocol.ADDR_PRESENT, "hddi", (5, 1.0, 0.5, 1))
    assert not rx.handle_datagram(bundle([m])) and rx.stats.malformed == 1
    assert not rx.handle_datagram(bundle([(protocol.ADDR_PRESENT, "iddi", (-5, 1.0, 0.5, 1))]))
    assert rx.handle_datagram(frame_bundle(10), now=1.0)
    assert rx.handle_datagram(frame_bundle(10 + 2 ** 30 - 1), now=1.01)  # the largest "newer" jump
    assert rx.stats.lost < MAX_GAP
    assert rx.handle_datagram(frame_bundle(10 + 2 ** 30 + 3), now=1.02)
    assert rx.stats.lost == 3


def test_smoothing_zero_passes_through_and_bad_input_resets():
    sm = Smoother(0.0)
    assert list(sm([1.0, 2.0], 0.0)) == [1.0, 2.0] and sm.state is None
    sm = Smoother(0.1)
    sm([0.0], 0.0)
    assert math.isnan(sm([math.nan], 0.01)[0]) and sm.state is None  # the caller drops it
    assert sm([1.0], 0.02)[0] == 1.0  # starts over from the next good frame, no NaN kept


def test_stop_reports_a_thread_that_did_not_stop(monkeypatch):
    monkeypatch.setattr(receiver_mod, "STOP_TIMEOUT", 0.2)
    rx = Receiver(port=0)
    release = threading.Event()
    entered = threading.Event()

    def stuck(data, addr=None, now=None):
        entered.set()
        release.wait(10)
        return False

    rx.handle_datagram = stuck
    rx.start()
    try:
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(X, ("127.0.0.1", rx.port))
        assert entered.wait(5)
        assert rx.stop() is False and rx.stats.stop_failed
    finally:
        release.set()
    rx2 = Receiver(port=0)
    rx2.start()
    assert rx2.stop() is True and not rx2.stats.stop_failed
