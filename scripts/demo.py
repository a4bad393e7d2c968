"""The main job on a bundled default: track a face clip and bake it onto a head in Blender.

  python scripts/demo.py [--input CLIP] [--output out/demo.blend]

Steps, as a user would do them: run the companion (``kinemo video``) out of
process to write a take; build the demo head; install and enable the add-on
from its zip; bake the take with the add-on's own operator; save the .blend.
Default input: ../shared/data/grid/bbaf2n.mpg when present (a real talking
face), else the bundled rigs/media/astronaut.mp4 (public domain).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INPUTS = (ROOT.parent / "shared" / "data" / "grid" / "bbaf2n.mpg", ROOT / "rigs" / "media" / "astronaut.mp4")
ADDON = "bl_ext.user_default.kinemo"


def step(msg: str) -> None:
    print(f"demo: {msg}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, help="face video (default: a GRID clip, else the bundled one)")
    parser.add_argument("--output", type=Path, default=ROOT / "out" / "demo.blend", help="default: %(default)s")
    args = parser.parse_args(argv)
    clip = args.input or next(p for p in DEFAULT_INPUTS if p.exists())
    out = args.output.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    take = out.with_name(f"{clip.stem}.json")
    t0 = time.perf_counter()

    step(f"tracking {clip} → {take.name}")
    kinemo = [sys.executable, "-m", "kinemo", "video", str(clip), "-o", str(take), "--no-osc"]
    if subprocess.run(kinemo).returncode != 0:
        return 1

    # A private Blender user folder: the demo never touches your own Blender setup.
    os.environ.setdefault("BLENDER_USER_RESOURCES", str(ROOT / "build" / "blender-user"))
    sys.path.insert(0, str(ROOT / "scripts"))
    sys.path.insert(0, str(ROOT / "rigs"))
    import bpy
    import build_addon
    from demo_head import build_head

    step("building the add-on and installing it into Blender")
    zip_path = build_addon.build(ROOT / "build")
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default", enable_on_install=True)
    if ADDON not in bpy.context.preferences.addons:
        print("demo: error: the add-on did not enable", file=sys.stderr)
        return 1

    step("building the demo head with 52 ARKit shape keys")
    scene = bpy.context.scene
    scene.render.fps = 25
    head = build_head(bpy, "KinemoHead")
    cam_data = bpy.data.cameras.new("Camera")
    cam = bpy.data.objects.new("Camera", cam_data)
    cam.location = (0.0, -5.0, 0.0)
    cam.rotation_euler = (1.5708, 0.0, 0.0)
    scene.collection.objects.link(cam)
    scene.camera = cam
    light = bpy.data.objects.new("Key Light", bpy.data.lights.new("Key Light", "SUN"))
    light.rotation_euler = (0.9, 0.2, -0.4)
    scene.collection.objects.link(light)

    step(f"baking {take.name} onto {head.name}")
    scene.kinemo.target = head
    scene.frame_start = scene.frame_end = 1  # the take sets the length
    bpy.ops.kinemo.import_take(filepath=str(take))
    action = head.data.shape_keys.animation_data.action
    bpy.ops.wm.save_as_mainfile(filepath=str(out))
    step(f"wrote {out} (action '{action.name}', frames {scene.frame_start}-{scene.frame_end}) "
         f"in {time.perf_counter() - t0:.1f} s")
    bpy.ops.preferences.addon_disable(module=ADDON)
    return 0


if __name__ == "__main__":
    sys.exit(main())
