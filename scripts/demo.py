"""The main job on bundled defaults: a face performance and a spoken line baked onto the demo avatar.

  python scripts/demo.py [--face CLIP] [--speech AUDIO] [--output out/demo.blend] [--no-render]

What it does, as a user would:
1. builds the demo avatar from code (rigs/avatar.py: ARKit head, eyes, armature, body actions);
2. runs the companion out of process on a face clip (``kinemo video``: ../shared/data/grid's
   bbaf2n.mpg when present, else the bundled rigs/media/astronaut.mp4) and on a spoken line
   (``kinemo audio``: the bundled rigs/media/hello.flac, synthesised with espeak-ng);
3. bakes both with the add-on's own operators onto the head, one after the other on the NLA,
   with the line's sound in the sequencer, and lays a "wave" body action under the speech;
4. saves out/demo.blend and renders a contact sheet of key frames (Workbench) to
   out/demo_contact.png;
5. renders every frame of the timeline (Workbench) into out/demo.mp4 with sound: the source face
   clip (then the spoken line's waveform) beside the avatar, and the jawOpen/mouth curves below
   with a moving playhead; the sound is the clip's own track, then the spoken line.

The avatar's head is the data-made face rig (rigs/human_head.py, docs/face-rig.md).
Each step prints how long it took.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FACE_DEFAULTS = (ROOT.parent / "shared" / "data" / "grid" / "bbaf2n.mpg", ROOT / "rigs" / "media" / "astronaut.mp4")
SPEECH_DEFAULT = ROOT / "rigs" / "media" / "hello.flac"
ADDON = "bl_ext.user_default.kinemo"


_T = [time.perf_counter()]


def step(msg: str) -> None:
    now = time.perf_counter()
    print(f"demo: [{now - _T[0]:5.1f} s] {msg}", flush=True)
    _T[0] = now


def kinemo(*args: str) -> None:
    r = subprocess.run([sys.executable, "-m", "kinemo", *args])
    if r.returncode != 0:
        raise SystemExit(f"demo: error: 'kinemo {args[0]}' failed (exit {r.returncode})")


def contact_sheet(bpy, shots: list[tuple[int, object]], out: Path, size=(320, 320)) -> Path:
    """Render (frame, camera) shots with Workbench and tile them into one PNG."""
    import numpy as np

    scene = bpy.context.scene
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "STUDIO"
    scene.display.shading.color_type = "MATERIAL"
    scene.render.resolution_x, scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    tiles = []
    with tempfile.TemporaryDirectory() as tmp:
        for f, camera in shots:
            scene.camera = camera
            scene.frame_set(f)
            scene.render.filepath = os.path.join(tmp, f"{f:04d}.png")
            bpy.ops.render.render(write_still=True)
            img = bpy.data.images.load(scene.render.filepath)
            px = np.array(img.pixels[:], np.float32).reshape(img.size[1], img.size[0], 4)[::-1]
            bpy.data.images.remove(img)
            tiles.append(px)
    cols = 4
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[i:i + cols], axis=1) for i in range(0, len(tiles), cols)]
    sheet = np.concatenate(rows, axis=0)
    h, w = sheet.shape[:2]
    img = bpy.data.images.new("KinemoContactSheet", w, h, alpha=True)
    img.pixels[:] = sheet[::-1].ravel()
    img.filepath_raw = str(out)
    img.file_format = "PNG"
    img.save()
    bpy.data.images.remove(img)
    return out


def face_take_peak(take: Path, k: int) -> float:
    """Frames worth showing: the k-th quarter's widest jaw opening in the face take (1-based frames)."""
    import json

    import numpy as np

    doc = json.loads(take.read_text())
    jaw = np.array(doc["blendshapes"])[:, doc["channels"].index("jawOpen")]
    q = np.array_split(np.arange(len(jaw)), 4)[k]
    return 1 + float(q[int(np.argmax(jaw[q]))]) * 25.0 / doc["fps"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--face", "--input", dest="face", type=Path, help="face video (default: GRID, else bundled)")
    parser.add_argument("--speech", type=Path, default=SPEECH_DEFAULT, help="spoken line (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=ROOT / "out" / "demo.blend", help="default: %(default)s")
    parser.add_argument("--no-render", action="store_true", help="skip the contact sheet and the video")
    parser.add_argument("--no-video", action="store_true", help="skip out/demo.mp4")
    args = parser.parse_args(argv)
    clip = args.face or next(p for p in FACE_DEFAULTS if p.exists())
    out = args.output.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    face_take = out.with_name(f"{clip.stem}.json")
    speech_take = out.with_name(f"{args.speech.stem}.json")
    t0 = time.perf_counter()

    step(f"tracking the face in {clip.name} → {face_take.name}")
    kinemo("video", "-o", str(face_take), "--no-osc", "-q", "--", str(clip))  # '--': the clip may start with '-'
    step(f"animating speech from {args.speech.name} → {speech_take.name}")
    kinemo("audio", "-o", str(speech_take), "--no-osc", "-q", "--fps", "25", "--blinks", "--no-landmarks", "--",
           str(args.speech))

    # A private Blender user folder: the demo never touches your own Blender setup.
    os.environ.setdefault("BLENDER_USER_RESOURCES", str(ROOT / "build" / "blender-user"))
    sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "rigs")]
    import bpy
    import build_addon
    from avatar import build_avatar
    from bake_audio import add_sound

    step("installing the add-on into Blender (from its zip)")
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.extensions.package_install_files(filepath=str(build_addon.build(ROOT / "build")), repo="user_default",
                                             enable_on_install=True)
    if ADDON not in bpy.context.preferences.addons:
        print("demo: error: the add-on did not enable", file=sys.stderr)
        return 1

    step("building the demo avatar")
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 25, 1.0
    parts = build_avatar(bpy, "Kinemo")
    head, rig = parts["head"], parts["rig"]
    key = head.data.shape_keys
    from mathutils import Vector

    def camera(name: str, at: tuple, look: tuple, lens: float):
        cam = bpy.data.objects.new(name, bpy.data.cameras.new(name))
        scene.collection.objects.link(cam)
        cam.location = at
        cam.rotation_euler = (Vector(look) - cam.location).to_track_quat("-Z", "Y").to_euler()
        cam.data.lens = lens
        return cam

    body_cam = camera("Body Camera", (2.2, -10.5, 4.6), (0.0, 0.0, 3.2), 40)
    face_cam = camera("Face Camera", (0.9, -5.5, 4.5), (0.0, 0.0, 4.45), 60)
    scene.camera = body_cam

    step("baking the face performance and the spoken line")
    scene.frame_start = scene.frame_end = 1
    track = key.animation_data_create().nla_tracks.new()
    track.name = "Kinemo takes"
    start = 1
    for take in (face_take, speech_take):
        bpy.ops.kinemo.import_take(filepath=str(take), target=head.name, frame_start=float(start), replace="KEEP")
        action = key.animation_data.action
        strip = track.strips.new(action.name, start, action)
        if getattr(key.animation_data, "action_slot", None) is not None and hasattr(strip, "action_slot"):
            strip.action_slot = key.animation_data.action_slot
        key.animation_data.action = None
        if take is speech_take:
            add_sound(scene, args.speech, start, channel=1, mute=False)
            speech_start, speech_end = start, int(strip.frame_end)
        start = int(strip.frame_end) + 12
    scene.frame_end = start
    body = rig.animation_data.nla_tracks.new()
    body.name = "Kinemo body"
    wave = body.strips.new("wave", speech_start, bpy.data.actions["wave"])
    wave.blend_in = wave.blend_out = 6

    bpy.ops.wm.save_as_mainfile(filepath=str(out))
    step(f"wrote {out}: face take frames 1-{speech_start - 12}, speech {speech_start}-{speech_end}, "
         f"body 'wave' under the speech")
    if not args.no_render:
        face_frames = [int(face_take_peak(face_take, k)) for k in range(4)]
        shots = [(f, face_cam) for f in face_frames]
        shots += [(speech_start + 8, face_cam), (speech_start + 40, face_cam)]
        shots += [(speech_start + 20, body_cam), (speech_end - 5, body_cam)]
        sheet = contact_sheet(bpy, shots, out.with_name("demo_contact.png"))
        step(f"rendered {sheet} (frames {', '.join(str(f) for f, _ in shots)})")
        if not args.no_video:
            from demo_video import make_video

            video = make_video(bpy, face_cam, clip, args.speech, speech_start, speech_end,
                               out.with_name("demo.mp4"), log=step)
            step(f"wrote {video}")
    bpy.ops.preferences.addon_disable(module=ADDON)
    print(f"demo: done in {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
