"""Benchmark: applying one live frame (52 shape keys + head, neck and eye bones), vs. the naive way.

  python scripts/bench/bench_apply.py [--frames 5000]

Ours: ``LiveSession.apply_current`` — the add-on's real per-frame work (shaping, one
``foreach_get``/``foreach_set`` for all keys, four bone rotations). Baseline, same run:
the straightforward script (``key_blocks[name].value = v`` per channel, bones set the
same way). Prints mean and 99th percentile per frame side by side with the ratio;
target ≤ 0.5 ms per frame.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "rigs"))
sys.path.insert(0, str(ROOT / "tests"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=5000)
    args = ap.parse_args(argv)

    import bpy
    from addon_rigs import head_rig
    from demo_head import build_head

    from blender_addon import drive, rig
    from blender_addon.bake_plan import BoneTargets
    from blender_addon.live import LiveConfig, LiveSession
    from blender_addon.protocol import ARKIT_NAMES

    bpy.ops.wm.read_homefile(use_empty=True)
    face = build_head(bpy, "Face")
    arm = head_rig(bpy)
    bones = BoneTargets("head", "neck", "eye.L", "eye.R")
    session = LiveSession()
    session.targets = [face.name]
    session.configure(LiveConfig(armature=arm.name, bones=bones, neck_share=0.3))
    rng = np.random.default_rng(0)
    frames = rng.uniform(0, 1, (args.frames, 62))
    frames[:, 52:58] = rng.uniform(-20, 20, (args.frames, 6))
    frames[:, 58:] = rng.uniform(-15, 15, (args.frames, 4))

    def ours(row):
        session.current = row
        session.apply_current()

    blocks = face.data.shape_keys.key_blocks
    pose = arm.pose.bones

    def baseline(row):
        for i, name in enumerate(ARKIT_NAMES):
            blocks[name].value = row[i]
        y, p, r = row[52:55] * 0.7
        yn, pn, rn = row[52:55] * 0.3
        ax = rig.DEFAULT_AXES
        for name, q in (("head", rig.rotation_one(y, p, r, ax)), ("neck", rig.rotation_one(yn, pn, rn, ax)),
                        ("eye.L", rig.rotation_one(row[58], row[59], 0.0, ax)),
                        ("eye.R", rig.rotation_one(row[60], row[61], 0.0, ax))):
            drive.set_rotation(pose[name], q)

    def timed(fn) -> np.ndarray:
        for row in frames[:200]:  # warm up caches
            fn(row)
        out = np.empty(len(frames))
        for k, row in enumerate(frames):
            t0 = time.perf_counter()
            fn(row)
            out[k] = time.perf_counter() - t0
        return out * 1000.0

    b = timed(baseline)
    o = timed(ours)
    session.current = frames[-1]
    session.apply_current()
    assert abs(blocks["jawOpen"].value - frames[-1][17]) < 1e-6
    print(f"apply one frame: 52 shape keys + 4 bones, {args.frames} frames, bpy {bpy.app.version_string}")
    def line(label, x):
        return f"  {label} median {np.median(x):.4f} ms  mean {x.mean():.4f} ms  p99 {np.percentile(x, 99):.4f} ms"

    print(line("per-key assignment (baseline):", b))
    print(line("Kinemo apply_current:         ", o))
    print(f"  ratio (median): {np.median(b) / np.median(o):.1f}x; target <= 0.5 ms per frame (median): "
          f"{'met' if np.median(o) <= 0.5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
