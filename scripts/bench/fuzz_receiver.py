"""Fuzz the add-on's packet decoding: random, mutated and hand-broken datagrams into a real Receiver.

  python scripts/bench/fuzz_receiver.py [--packets 1000000] [--seed N]

Structure-aware mutation fuzzing (seeded, reproducible; the standard library's
``random``, no extra dependency). Without ``--seed`` the seed is random; it is printed
first either way, so any failure or hang can be replayed. Each datagram is one of:

- valid: a Kinemo frame bundle with a new sequence number → must be *accepted*
- broken: a Kinemo/VMC message with wrong types, too few arguments, NaN/inf, strings
  where numbers go → must be *malformed*
- foreign: well-formed OSC at addresses we don't use → must be *foreign*
- framing: a bundle with a negative (down to -2**31), oversize or unaligned element
  size, nested too deep, or a message with a negative blob size → must be *malformed*,
  quickly (python-osc's own bundle walk loops forever on a negative size)
- nested: a valid frame wrapped in 1–7 more bundles → must be *accepted*
- mutated: a valid Kinemo/VMC/event datagram with flipped bytes, truncated, extended
  or re-sized → any outcome, but exactly one
- random: random bytes of random length → any outcome, but exactly one

Checks: nothing raises, no datagram takes long (max time printed), every datagram
lands in exactly one outcome counter, the expected categories land where they must,
and a valid frame still arrives intact afterwards. Prints the counts.
"""

from __future__ import annotations

import argparse
import math
import random
import struct
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from blender_addon import protocol  # noqa: E402
from blender_addon.receiver import Receiver  # noqa: E402

OUTCOMES = ("accepted", "malformed", "stale", "duplicate", "rejected", "foreign")
SLOW_MS = 500.0  # no single datagram may take longer (generous: shared CI machines stall)


def _s(text: str) -> bytes:
    b = text.encode() + b"\0"
    return b + b"\0" * (-len(b) % 4)


def osc_message(address: str, tags: str, args) -> bytes:
    """A minimal independent OSC 1.0 encoder (i, f, d, s; big-endian)."""
    out = [_s(address), _s("," + tags)]
    for tag, v in zip(tags, args, strict=True):
        if tag == "i":
            out.append(struct.pack(">i", v))
        elif tag == "f":
            out.append(struct.pack(">f", v))
        elif tag == "d":
            out.append(struct.pack(">d", v))
        elif tag == "s":
            out.append(_s(v))
    return b"".join(out)


def osc_bundle(messages: list[bytes]) -> bytes:
    return b"#bundle\0" + struct.pack(">Q", 1) + b"".join(struct.pack(">i", len(m)) + m for m in messages)


def frame(seq: int, rng: random.Random, jaw: float | None = None) -> bytes:
    bs = [rng.random() for _ in range(protocol.NUM_BLENDSHAPES)]
    if jaw is not None:
        bs[protocol.ARKIT_INDEX["jawOpen"]] = jaw
    head = [rng.uniform(-30, 30) for _ in range(6)]
    q = [rng.gauss(0, 1) for _ in range(4)]
    n = math.sqrt(sum(c * c for c in q)) or 1.0
    head += [c / n for c in q]  # the head quaternion is a rotation: unit length
    eyes = [rng.uniform(-20, 20) for _ in range(len(protocol.EYE_FIELDS))]
    sample = protocol.FaceSample(seq=seq, stamp=time.time(), time=seq / 60, blendshapes=tuple(bs),
                                 head=tuple(head), eyes=tuple(eyes))
    return osc_bundle([osc_message(a, t, args) for a, t, args in protocol.encode_sample(sample)])


def vmc_bundle(rng: random.Random) -> bytes:
    msgs = [osc_message(protocol.VMC_BLEND_VAL, "sf", (rng.choice(protocol.ARKIT_NAMES), rng.random()))
            for _ in range(4)]
    msgs.append(osc_message(protocol.VMC_BONE_POS, "sfffffff", ("Head", 0.0, 0.0, 0.0, 0.0, 0.1, 0.0, 0.99)))
    msgs.append(osc_message(protocol.VMC_BLEND_APPLY, "", ()))
    return osc_bundle(msgs)


def event(seq: int) -> bytes:
    address, tags, args = protocol.encode_event(seq, time.time(), seq / 60, label="wave", phase=protocol.EVENT_START,
                                                confidence=0.9, start=1.0, end=1.0)
    return osc_bundle([osc_message(address, tags, args)])


def broken(rng: random.Random, seq: int) -> bytes:
    """A message of ours that breaks its layout: must be counted as malformed."""
    kind = rng.randrange(7)
    header = (seq, time.time(), 0.5)
    if kind == 0:  # too few blendshapes
        n = rng.randrange(0, protocol.NUM_BLENDSHAPES)
        return osc_message(protocol.ADDR_BLENDSHAPES, "idd" + "f" * n, (*header, *([0.5] * n)))
    if kind == 1:  # NaN or infinity
        vals = [0.1] * protocol.NUM_BLENDSHAPES
        vals[rng.randrange(len(vals))] = rng.choice([math.nan, math.inf, -math.inf])
        return osc_message(protocol.ADDR_BLENDSHAPES, "idd" + "f" * len(vals), (*header, *vals))
    if kind == 2:  # a string where the sequence number goes
        return osc_message(protocol.ADDR_PRESENT, "sddi", ("x", 0.0, 0.0, 1))
    if kind == 3:  # head with a string inside
        n = len(protocol.HEAD_FIELDS)
        return osc_message(protocol.ADDR_HEAD, "idd" + "f" * (n - 1) + "s", (*header, *([1.0] * (n - 1)), "z"))
    if kind == 4:  # VMC blend value that is a string
        return osc_message(protocol.VMC_BLEND_VAL, "ss", ("jawOpen", "high"))
    if kind == 5:  # VMC bone with too few floats
        return osc_message(protocol.VMC_BONE_POS, "sfff", ("Head", 0.0, 0.0, 0.0))
    # a valid frame bundle with one broken message inside: the whole datagram is dropped
    return osc_bundle([osc_message(protocol.ADDR_PRESENT, "iddi", (*header, 1)),
                       osc_message(protocol.ADDR_EYES, "iddff", (*header, 1.0, 2.0))])


def _bundle_raw(elements: list[tuple[int, bytes]]) -> bytes:
    """A bundle whose element sizes are given explicitly (may lie about the content)."""
    return b"#bundle\0" + struct.pack(">Q", 1) + b"".join(struct.pack(">i", n) + e for n, e in elements)


def framing(rng: random.Random, seq: int) -> bytes:
    """Hostile OSC framing, on purpose: must be *malformed* and cheap."""
    x = osc_message("/x", "i", (1,))
    good = frame(seq, rng)
    negative = rng.choice([-4, -8, -20, -len(x) - 8, -(2 ** 31), -rng.randrange(1, 1 << 31)])
    kind = rng.randrange(7)
    if kind == 0:  # a 20-byte datagram: one negative size, nothing else
        data = _bundle_raw([(negative, b"")])
    elif kind == 1:  # a message, then a size pointing back at it (once a memory blow-up)
        data = _bundle_raw([(len(x), x), (negative, b"")])
    elif kind == 2:  # oversize: past the end of the datagram
        data = _bundle_raw([(rng.choice([len(x) + 4, 2 ** 31 - 1, rng.randrange(len(x) + 4, 1 << 20)]), x)])
    elif kind == 3:  # not a multiple of 4
        data = _bundle_raw([(len(x) - rng.choice([1, 2, 3]), x)])
    elif kind == 4:  # nested too deep
        data = good
        for _ in range(rng.randint(8, 40)):
            data = _bundle_raw([(len(data), data)])
    elif kind == 5:  # a negative blob size inside a message
        data = b"/x\0\0,bs\0" + struct.pack(">i", negative) + b"abc\0"
    else:  # both of the above inside a nested bundle
        inner = _bundle_raw([(len(x), x), (negative, b"")])
        data = _bundle_raw([(len(inner), inner)])
    return data


def nested(rng: random.Random, seq: int) -> bytes:
    data = frame(seq, rng)
    for _ in range(rng.randint(1, 7)):
        data = _bundle_raw([(len(data), data)])
    return data


def foreign(rng: random.Random) -> bytes:
    address = rng.choice(["/VMC/Ext/OK", "/avatar/parameters/Blink", "/kinemo/face/future", "/x"])
    return osc_message(address, "if", (rng.randrange(100), rng.random()))


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    op = rng.randrange(5)
    if op == 0:
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif op == 1:
        del b[rng.randrange(len(b)):]
    elif op == 2:
        b += rng.randbytes(rng.randint(1, 64))
    elif op == 3:  # corrupt a size or a type tag area (sizes sit at 16, and after each element)
        i = rng.choice([16, rng.randrange(0, max(1, len(b) - 4))])
        b[i:i + 4] = struct.pack(">i", rng.choice([-1, -4, -20, -(2 ** 31), 0, 3, 2 ** 31 - 1,
                                                    rng.randrange(1 << 16)]))
    else:
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


def run(packets: int = 1_000_000, seed: int = 1) -> dict:
    """Fuzz a fresh Receiver with ``packets`` datagrams from ``seed``; raises AssertionError on a
    broken promise (including any datagram slower than ``SLOW_MS``)."""
    import logging

    logging.getLogger().addFilter(lambda r: "pythonosc" not in r.pathname)  # as a running receiver does
    rng = random.Random(seed)
    rx = Receiver(vmc=True)
    want_of = {"valid": "accepted", "nested": "accepted", "broken": "malformed", "framing": "malformed",
               "foreign": "foreign"}
    expected = dict.fromkeys(want_of, 0)
    counts = dict.fromkeys((*want_of, "mutated", "random"), 0)
    templates = [frame(7, rng), vmc_bundle(rng), event(7)]
    seq = 1000
    now = 0.0
    worst = 0.0
    t_start = time.perf_counter()
    for i in range(packets):
        r = rng.random()
        now += 1 / 240
        before = {k: getattr(rx.stats, k) for k in OUTCOMES}
        if r < 0.10:
            seq += 1000  # well past anything a mutation left behind: a new frame either way
            data, cat = frame(seq, rng), "valid"
        elif r < 0.20:
            data, cat = broken(rng, seq), "broken"
        elif r < 0.25:
            data, cat = foreign(rng), "foreign"
        elif r < 0.32:
            data, cat = framing(rng, seq), "framing"
        elif r < 0.35:
            seq += 1000
            data, cat = nested(rng, seq), "nested"
        elif r < 0.75:
            data, cat = mutate(rng, rng.choice(templates)), "mutated"
        else:
            data, cat = rng.randbytes(rng.randint(0, 600)), "random"
        t0 = time.perf_counter()
        rx.handle_datagram(data, ("127.0.0.1", 9000), now=now)
        took = time.perf_counter() - t0
        worst = max(worst, took)
        if took * 1000 > SLOW_MS:
            raise AssertionError(f"packet {i} ({cat}) took {took * 1000:.0f} ms: {data[:80]!r}")
        after = {k: getattr(rx.stats, k) for k in OUTCOMES}
        moved = [k for k in OUTCOMES if after[k] != before[k]]
        if len(moved) != 1 or after[moved[0]] - before[moved[0]] != 1:
            raise AssertionError(f"packet {i} ({cat}) moved counters {moved}")
        want = want_of.get(cat)
        if want is not None:
            if moved[0] != want:
                raise AssertionError(f"packet {i}: {cat} landed in {moved[0]}, not {want}: {data[:80]!r}")
            expected[cat] += 1
        counts[cat] += 1
        if i % 7 == 0:
            rx.take_latest()
            rx.take_events()
    elapsed = time.perf_counter() - t_start
    st = rx.stats
    assert st.packets == packets == sum(getattr(st, k) for k in OUTCOMES)
    assert st.accepted >= expected["valid"] and st.malformed >= expected["broken"]
    # A valid frame still arrives intact afterwards.
    rx.take_latest()
    assert rx.handle_datagram(frame(seq + 10_000, rng, jaw=0.625), ("127.0.0.1", 9000), now=now + 1)
    latest = rx.take_latest()
    assert latest is not None and latest.seq == seq + 10_000 and latest.blendshape("jawOpen") == 0.625
    return {"packets": packets, "seconds": elapsed, "worst_ms": worst * 1000, "categories": counts,
            "outcomes": {k: getattr(st, k) for k in OUTCOMES}, "ignored_messages": st.ignored}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=None, help="default: a random seed (printed)")
    args = ap.parse_args(argv)
    seed = random.SystemRandom().randrange(1 << 32) if args.seed is None else args.seed
    print(f"fuzz: seed {seed} (replay: --packets {args.packets} --seed {seed})", flush=True)
    r = run(args.packets, seed)
    print(f"fuzz: {r['packets']} datagrams in {r['seconds']:.1f} s ({r['packets'] / r['seconds']:.0f}/s), "
          f"slowest {r['worst_ms']:.2f} ms, no exception escaped")
    print("  sent:     " + "  ".join(f"{k} {v}" for k, v in r["categories"].items()))
    print("  outcomes: " + "  ".join(f"{k} {v}" for k, v in r["outcomes"].items())
          + f"  (ignored messages {r['ignored_messages']})")
    print("  every datagram in exactly one outcome; valid/nested→accepted, broken/framing→malformed, "
          f"foreign→foreign; none slower than {SLOW_MS:.0f} ms; a valid frame applies afterwards: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
