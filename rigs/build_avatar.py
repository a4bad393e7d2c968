"""Build the demo avatar .blend headless from code.

  python rigs/build_avatar.py [OUT.blend]            (bpy module, as the tests do)
  blender -b -P rigs/build_avatar.py -- [OUT.blend]  (a Blender install)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str]) -> int:
    import bpy
    from avatar import build_avatar

    out = Path(argv[0] if argv else Path(__file__).resolve().parent.parent / "out" / "avatar.blend").resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    parts = build_avatar(bpy)
    bpy.ops.wm.save_as_mainfile(filepath=str(out))
    print(f"build_avatar: wrote {out} ({len(parts['actions'])} body actions, "
          f"{len(parts['head'].data.shape_keys.key_blocks) - 1} shape keys)")
    return 0


if __name__ == "__main__":
    args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    sys.exit(main(args))
