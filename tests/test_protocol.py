import math

import pytest
from pythonosc.osc_packet import OscPacket

from kinemo import protocol
from kinemo.errors import KinemoError
from kinemo.osc_out import build_bundle, parse_target


def sample(seq=7):
    return protocol.FaceSample(
        seq=seq, stamp=1.7e9 + 0.25, time=3.5, present=True,
        blendshapes=tuple(i / 64 for i in range(52)), head=(10.0, -5.0, 2.5, 1.0, 2.0, -40.0, 0.1, 0.2, 0.0, 0.97),
        eyes=(3.0, -1.0, 2.0, -1.5))


def test_arkit_order_matches_live_link_face():
    assert protocol.NUM_BLENDSHAPES == 52
    assert protocol.ARKIT_NAMES[0] == "eyeBlinkLeft" and protocol.ARKIT_NAMES[-1] == "tongueOut"
    # Live Link Face puts Right before Left for these two pairs.
    assert protocol.ARKIT_INDEX["jawRight"] < protocol.ARKIT_INDEX["jawLeft"]
    assert protocol.ARKIT_INDEX["mouthRight"] < protocol.ARKIT_INDEX["mouthLeft"]
    assert len(set(protocol.ARKIT_NAMES)) == 52


def test_bundle_round_trip_through_python_osc():
    s = sample()
    packet = OscPacket(build_bundle(s))
    merged = protocol.FaceSample(seq=-1, stamp=0, time=0, present=False)
    addresses = []
    for timed in packet.messages:
        update = protocol.decode_message(timed.message.address, tuple(timed.message.params))
        addresses.append(update.address)
        assert (update.seq, update.stamp, update.time) == (7, s.stamp, 3.5)
        protocol.apply_update(merged, update)
    assert addresses == [protocol.ADDR_PRESENT, protocol.ADDR_BLENDSHAPES, protocol.ADDR_HEAD, protocol.ADDR_EYES]
    assert merged.present is True
    # float32 on the wire: values survive to float32 precision.
    assert all(math.isclose(a, b, abs_tol=1e-7) for a, b in zip(merged.blendshapes, s.blendshapes, strict=True))
    assert merged.head == pytest.approx(s.head, abs=1e-5)
    assert merged.eyes == pytest.approx(s.eyes, abs=1e-6)


def test_bundle_fits_one_ethernet_frame():
    assert len(build_bundle(sample())) <= 1472


def test_unknown_addresses_are_ignored_not_errors():
    assert protocol.decode_message("/VMC/Ext/OK", (1,)) is None
    assert protocol.decode_message("/kinemo/face/somethingnew", (1, 2.0, 3.0)) is None


def test_longer_messages_are_accepted_for_forward_compatibility():
    args = (1, 2.0, 3.0, 1, 99.0, "extra")
    update = protocol.decode_message(protocol.ADDR_PRESENT, args)
    assert update.values == (1,)


@pytest.mark.parametrize("args", [
    (),
    (1, 2.0),
    ("x", 2.0, 3.0, 1),
    (1, "t", 3.0, 1),
    (1, 2.0, float("nan"), 1),
    (1, 2.0, 3.0, 0.5),  # present must be an int
    (True, 2.0, 3.0, 1),
])
def test_malformed_known_messages_raise(args):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_message(protocol.ADDR_PRESENT, args)


def test_blendshapes_need_all_52_values():
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_message(protocol.ADDR_BLENDSHAPES, (1, 0.0, 0.0, *([0.5] * 51)))
    ok = protocol.decode_message(protocol.ADDR_BLENDSHAPES, (1, 0.0, 0.0, *([0.5] * 52)))
    assert len(ok.values) == 52


def test_parse_target():
    assert parse_target("127.0.0.1:9000") == ("127.0.0.1", 9000)
    assert parse_target(":9001") == ("127.0.0.1", 9001)
    assert parse_target("localhost") == ("localhost", protocol.DEFAULT_PORT)
    for bad in ("host:abc", "host:0", "host:70000"):
        with pytest.raises(KinemoError):
            parse_target(bad)


def test_addon_and_service_share_one_protocol_file():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    link = root / "blender_addon" / "protocol.py"
    assert link.is_symlink() and link.resolve() == (root / "inference" / "kinemo" / "protocol.py").resolve()


def test_protocol_module_is_pure_stdlib():
    import ast
    import sys

    tree = ast.parse(open(protocol.__file__).read())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


@pytest.mark.parametrize("ypr", [(0, 0, 0), (30, 0, 0), (0, -20, 0), (0, 0, 15), (25, 10, -8), (-60, 35, 40)])
def test_unity_quaternion_round_trip(ypr):
    q = protocol.unity_quaternion(*ypr)
    assert sum(c * c for c in q) == pytest.approx(1.0)
    assert protocol.head_from_unity_quaternion(q) == pytest.approx(ypr, abs=1e-6)


def test_unity_quaternion_matches_unity_euler_convention():
    # Unity: Quaternion.Euler(0, 90, 0) = (0, 0.7071, 0, 0.7071); our yaw -90 maps to Unity y +90.
    assert protocol.unity_quaternion(-90, 0, 0) == pytest.approx((0, math.sqrt(0.5), 0, math.sqrt(0.5)))
    # Quaternion.Euler(30, 0, 0) → x = sin(15°): our pitch -30 (chin down) is Unity x +30.
    assert protocol.unity_quaternion(0, -30, 0) == pytest.approx((math.sin(math.radians(15)), 0, 0,
                                                                  math.cos(math.radians(15))))


def test_body_messages_round_trip():
    msgs = protocol.encode_body(5, 10.0, 0.2, present=True, probs={"idle": 0.25, "wave": 0.75})
    decoded = [protocol.decode_message(a, args) for a, _, args in msgs]
    assert decoded[0].values == (1,)
    assert decoded[1].values == ("idle", 0.25, "wave", 0.75)
    addr, types, args = protocol.encode_event(6, 10.0, 0.24, label="wave", phase=protocol.EVENT_START,
                                              confidence=0.9, start=0.1, end=0.1)
    assert types == "iddssfdd"
    assert protocol.decode_message(addr, args).values == ("wave", "start", 0.9, 0.1, 0.1)
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_message(addr, (6, 10.0, 0.24, 3, "start", 0.9, 0.1, 0.1))
    with pytest.raises(protocol.ProtocolError):
        protocol.decode_message(protocol.ADDR_BODY_PROBS, (1, 0.0, 0.0, 0.5, "idle"))
    with pytest.raises(protocol.ProtocolError):
        protocol.encode_event(1, 0, 0, label="x", phase="middle", confidence=1, start=0, end=0)
