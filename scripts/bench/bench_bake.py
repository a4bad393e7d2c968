"""Benchmark: baking 52 shape-key channels, bulk writes vs. one ``keyframe_insert`` per key, same run.

  python scripts/bench/bench_bake.py [--seconds 60] [--fps 60] [--hour] [--reduce TOL]

Baseline: the usual script approach (set the value, ``keyframe_insert`` per key per
channel). Ours: the add-on's own bake path (``bake_plan.plan_shape_keys`` +
``fcurves.bake_action``: ``keyframe_points.add`` + ``foreach_set``). Both bake the same
random-walk take into a new Action; the script checks both give identical keys and
prints the times side by side with the ratio. ``--hour`` also bakes one hour at the
same rate with the bulk path (target ≤ 10 s). Runs with the project's bpy.
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--fps", type=float, default=60.0)
    ap.add_argument("--hour", action="store_true", help="also bake one hour with the bulk path")
    ap.add_argument("--reduce", type=float, default=0.0, metavar="TOL", help="also time key reduction at TOL")
    args = ap.parse_args(argv)

    import bpy
    from demo_head import build_head

    from blender_addon.bake_plan import plan_shape_keys
    from blender_addon.fcurves import action_fcurves, bake_action
    from blender_addon.mapping import auto_map
    from blender_addon.protocol import ARKIT_NAMES

    bpy.ops.wm.read_homefile(use_empty=True)
    head = build_head(bpy, "Head")
    key = head.data.shape_keys
    names = [kb.name for kb in key.key_blocks]
    mapping = auto_map(names)
    rng = np.random.default_rng(0)

    def take(seconds: float):
        n = int(seconds * args.fps)
        t = np.arange(n) / args.fps
        return t, np.clip(0.5 + np.cumsum(rng.normal(0, 0.01, (n, 52)), axis=0), 0, 1)

    t, bs = take(args.seconds)
    n = len(t)
    print(f"bake: {n} frames × {len(mapping)} channels = {n * len(mapping)} keys "
          f"({args.seconds:g} s at {args.fps:g} fps), bpy {bpy.app.version_string}")

    # Ours: the add-on's bake path, planning included.
    t0 = time.perf_counter()
    plans = plan_shape_keys(t, bs, mapping, fps=args.fps, frame_start=1)
    ours_action = bake_action(key, "bulk", plans)
    ours = time.perf_counter() - t0

    # Baseline: keyframe_insert per key, into its own new action.
    key.animation_data.action = None
    t0 = time.perf_counter()
    base_action = bpy.data.actions.new("per_key")
    key.animation_data.action = base_action
    blocks = key.key_blocks
    for i, name in enumerate(ARKIT_NAMES):
        kb = blocks[name]
        col = bs[:, i]
        for f in range(n):
            kb.value = col[f]
            kb.keyframe_insert("value", frame=1 + f)
    baseline = time.perf_counter() - t0

    # Same keys either way.
    def curve(action, path):
        fc = next(c for c in action_fcurves(action, key) if c.data_path == path)
        co = np.empty(2 * len(fc.keyframe_points), np.float32)
        fc.keyframe_points.foreach_get("co", co)
        return co

    path = 'key_blocks["jawOpen"].value'
    assert np.allclose(curve(ours_action, path), curve(base_action, path), atol=1e-6), "bakes differ"
    print(f"  keyframe_insert per key (baseline): {baseline:8.3f} s")
    print(f"  bulk foreach_set (Kinemo):          {ours:8.3f} s")
    print(f"  speed-up: {baseline / ours:.0f}x  (target >= 200x)")

    if args.reduce > 0:
        t0 = time.perf_counter()
        plans_r = plan_shape_keys(t, bs, mapping, fps=args.fps, frame_start=1, tolerance=args.reduce)
        dt = time.perf_counter() - t0
        kept = sum(len(p.frames) for p in plans_r) / sum(len(p.frames) for p in plans)
        print(f"  key reduction at {args.reduce:g}: {dt:.3f} s, {kept:.1%} of keys kept")

    if args.hour:
        th, bh = take(3600.0)
        t0 = time.perf_counter()
        plans = plan_shape_keys(th, bh, mapping, fps=args.fps, frame_start=1)
        t1 = time.perf_counter()
        bake_action(key, "hour", plans)
        t2 = time.perf_counter()
        print(f"one hour: {len(th)} frames × {len(plans)} channels = {len(th) * len(plans)} keys: "
              f"{t2 - t0:.2f} s (plan {t1 - t0:.2f} s + write {t2 - t1:.2f} s; target <= 10 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
