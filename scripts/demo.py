"""The main job on bundled defaults: a face performance and a spoken line baked onto the demo avatar.

  python scripts/demo.py [--face CLIP] [--speech AUDIO] [--avatar human|mask|head] [--output out/demo.blend]
                         [--no-render] [--no-video]

What it does, as a user would:
1. runs the companion out of process on a face clip (``kinemo video``: ../shared/data/grid's
   bbaf2n.mpg when present, else the bundled rigs/media/astronaut.mp4) and on a spoken line
   (``kinemo audio``: the bundled rigs/media/hello.flac, synthesised with espeak-ng);
2. builds the demo avatar from code (rigs/avatar.py; by default the full-body human of
   docs/avatar.md: MakeHuman's CC0 body with the Face Units' 52 ARKit keys on a 53-bone skeleton)
   and sets it up in the add-on's panel: the target mesh, the armature with its head and neck bones,
   and the avatar's mapping preset (rigs/presets/kinemo_human.json: the tracker's ranges to this rig's);
3. bakes both takes with the add-on's own operators, one after the other on the NLA (the face on the
   shape keys, the head pose on the bones), with each take's sound in the sequencer once, and lays
   the body actions on the armature's NLA: "idle" under everything, "wave" under the speech;
4. saves out/demo.blend (open it and press play) and renders a contact sheet of key frames, in order
   and labelled with their times (Workbench), to out/demo_contact.png;
5. renders every frame of the timeline (Workbench) into out/demo.mp4 with sound: the input at its own
   resolution (the face clip, then the spoken line's waveform) beside a close-up of the avatar's face
   and its whole body, and the curves the face is driven by, with a time axis and a moving playhead.

Each step prints how long it took; rendering is one progress line.
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
FPS = 25
GAP = 12  # frames between the two takes
SHEET_TILE = 320


_T = [time.perf_counter()]


def step(msg: str) -> None:
    now = time.perf_counter()
    print(f"demo: [{now - _T[0]:5.1f} s] {msg}", flush=True)
    _T[0] = now


def kinemo(*args: str) -> None:
    r = subprocess.run([sys.executable, "-m", "kinemo", *args])
    if r.returncode != 0:
        raise SystemExit(f"demo: error: 'kinemo {args[0]}' failed (exit {r.returncode})")


def camera(bpy, name: str, at, look, lens: float):
    from mathutils import Vector

    cam = bpy.data.objects.new(name, bpy.data.cameras.new(name))
    bpy.context.scene.collection.objects.link(cam)
    cam.location = at
    cam.rotation_euler = (Vector(look) - cam.location).to_track_quat("-Z", "Y").to_euler()
    cam.data.lens = lens
    cam.data.clip_start, cam.data.clip_end = 0.05, 100.0
    return cam


def cameras(bpy, parts: dict) -> tuple:
    """(face close-up, whole body) cameras for the avatar."""
    if parts["kind"] == "human":
        eyes = parts["geometry"]["eyes"]
        y, z = float(eyes["L"][0][1]), float(eyes["L"][0][2])
        face_at = (0.0, y, z - 0.03)  # the whole head, the eyes above the middle
        return (camera(bpy, "Face Camera", (0.05, y - 0.8, z - 0.025), face_at, 85),
                camera(bpy, "Body Camera", (0.75, -3.4, 1.2), (0.0, 0.0, 0.98), 50))
    return (camera(bpy, "Face Camera", (0.9, -5.5, 4.5), (0.0, 0.0, 4.45), 60),
            camera(bpy, "Body Camera", (2.2, -10.5, 4.6), (0.0, 0.0, 3.2), 40))


def look(bpy) -> None:
    """Workbench, lit by the studio light, each material's colour, on an opaque backdrop."""
    scene = bpy.context.scene
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.light = "STUDIO"
    scene.display.shading.color_type = "MATERIAL"
    scene.render.film_transparent = False
    world = scene.world or bpy.data.worlds.new("Kinemo Backdrop")
    world.color = (0.18, 0.2, 0.23)
    scene.world = world
    scene.display.render_aa = "5"  # five samples: smooth edges at a third less time than eight
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"


def contact_sheet(bpy, shots: list[tuple[int, object, str]], out: Path, size: int = SHEET_TILE) -> Path:
    """Render (frame, camera, label) shots with Workbench and tile them, in frame order, each labelled with its
    time, into one opaque PNG."""
    import cv2
    import numpy as np
    from demo_video import label, quiet

    scene = bpy.context.scene
    scene.render.resolution_x = scene.render.resolution_y = size
    tiles = []
    with tempfile.TemporaryDirectory() as tmp, quiet(Path(tmp) / "render.log"):
        for f, cam, what in sorted(shots, key=lambda s: s[0]):
            scene.camera = cam
            scene.frame_set(f)
            scene.render.filepath = os.path.join(tmp, f"{f:04d}.png")
            bpy.ops.render.render(write_still=True)
            tile = cv2.imread(scene.render.filepath)
            label(tile, f"{(f - scene.frame_start) / FPS:.2f} s  (frame {f})", (8, 22), 0.5)
            label(tile, what, (8, size - 12), 0.5)
            tiles.append(tile)
    cols = 4
    while len(tiles) % cols:
        tiles.append(np.full_like(tiles[0], 40))
    rows = [np.concatenate(tiles[i:i + cols], axis=1) for i in range(0, len(tiles), cols)]
    cv2.imwrite(str(out), np.concatenate(rows, axis=0))
    return out


def peak(values, lo: int, hi: int, first: int) -> int:
    """The frame in [lo, hi] where ``values`` (one per frame from ``first``) is highest."""
    import numpy as np

    seg = np.asarray(values[lo - first:hi - first + 1])
    return lo + int(np.argmax(seg))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--face", "--input", dest="face", type=Path, help="face video (default: GRID, else bundled)")
    parser.add_argument("--speech", type=Path, default=SPEECH_DEFAULT, help="spoken line (default: %(default)s)")
    parser.add_argument("--avatar", choices=("human", "mask", "head"), default="human",
                        help="the full-body human (default), the data-made face mask or the stylised head")
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
    kinemo("audio", "-o", str(speech_take), "--no-osc", "-q", "--fps", str(FPS), "--blinks", "--no-landmarks", "--",
           str(args.speech))

    # A private Blender user folder: the demo never touches your own Blender setup.
    os.environ.setdefault("BLENDER_USER_RESOURCES", str(ROOT / "build" / "blender-user"))
    sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "rigs")]
    import bpy
    import build_addon
    from avatar import ADDON_BONES, PRESETS, build_avatar
    from bake_audio import add_sound
    from demo_video import has_audio, shape_key_values

    step("installing the add-on into Blender (from its zip)")
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.extensions.package_install_files(filepath=str(build_addon.build(ROOT / "build")), repo="user_default",
                                             enable_on_install=True)
    if ADDON not in bpy.context.preferences.addons:
        print("demo: error: the add-on did not enable", file=sys.stderr)
        return 1

    step(f"building the demo avatar ({args.avatar})")
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    try:
        parts = build_avatar(bpy, "Kinemo", avatar=args.avatar)
    except RuntimeError as e:  # the human's assets are not installed
        print(f"demo: error: {e}", file=sys.stderr)
        return 1
    head, rig = parts["head"], parts["rig"]
    key = head.data.shape_keys
    face_cam, body_cam = cameras(bpy, parts)
    scene.camera = body_cam
    settings = scene.kinemo  # the panel, set up as a user would: target, armature, bones, preset
    settings.target, settings.armature = head, rig
    for prop, bone in ADDON_BONES[parts["kind"]].items():
        setattr(settings, prop, bone)
    preset = PRESETS.get(parts["kind"])
    if preset is not None:
        bpy.ops.kinemo.preset_load(filepath=str(preset))

    step("baking the face performance and the spoken line")
    scene.frame_start = scene.frame_end = 1
    rig.animation_data_create()
    idle_track, body_track, pose_track = (rig.animation_data.nla_tracks.new() for _ in range(3))  # bottom to top
    idle_track.name, body_track.name, pose_track.name = "Kinemo idle", "Kinemo body", "Kinemo head"
    track = key.animation_data_create().nla_tracks.new()
    track.name = "Kinemo takes"
    start, spans = 1, []
    for take, sound in ((face_take, clip if has_audio(clip) else None), (speech_take, args.speech)):
        bpy.ops.kinemo.import_take(filepath=str(take), frame_start=float(start), replace="KEEP")
        for owner, nla in ((key, track), (rig, pose_track)):
            action = owner.animation_data.action
            if action is None:
                continue
            strip = nla.strips.new(action.name, start, action)
            if getattr(owner.animation_data, "action_slot", None) is not None and hasattr(strip, "action_slot"):
                strip.action_slot = owner.animation_data.action_slot
            owner.animation_data.action = None
            if owner is key:
                take_strip, end = strip, int(strip.frame_end)
        if sound is not None:  # each take's sound once, where its take starts
            add_sound(scene, sound, start, channel=1 + len(spans), mute=False)
        spans.append((start, end))
        start = end + GAP
    take_strip.extrapolation = "NOTHING"  # after the last take the face rests (no half-blink held to the end)
    (face_start, face_end), (speech_start, speech_end) = spans
    scene.frame_start, scene.frame_end = 1, start
    idle = idle_track.strips.new("idle", 1, bpy.data.actions["idle"])
    idle.repeat = max(1.0, (scene.frame_end + 1) / (idle.action_frame_end - idle.action_frame_start))
    wave_at = speech_start + 10
    wave = body_track.strips.new("wave", wave_at, bpy.data.actions["wave"])
    wave.blend_in = wave.blend_out = 6

    look(bpy)
    bpy.ops.wm.save_as_mainfile(filepath=str(out))
    step(f"wrote {out}: face take frames {face_start}-{face_end}, speech {speech_start}-{speech_end}, "
         f"body 'wave' from frame {wave_at} (target {head.name}, armature {rig.name})")
    if not args.no_render:
        values = shape_key_values(key, ("jawOpen", "eyeBlinkLeft"), scene.frame_start, scene.frame_end)
        jaw, blink = values[:, 0], values[:, 1]
        first = scene.frame_start
        mid = (face_start + face_end) // 2
        shots = [(peak(jaw, face_start, mid, first), face_cam, "face take: widest jaw, 1st half"),
                 (peak(jaw, mid, face_end, first), face_cam, "face take: widest jaw, 2nd half"),
                 (peak(blink, face_start, face_end, first), face_cam, "face take: a blink"),
                 (peak(jaw, speech_start, speech_end, first), face_cam, "speech: widest jaw"),
                 (peak(blink, speech_start, speech_end, first), face_cam, "speech: a blink"),
                 (peak(jaw, speech_start + 40, speech_end, first), face_cam, "speech: open vowel"),
                 (wave_at + 30, body_cam, "body: 'wave'"), (face_start + 5, body_cam, "body: 'idle'")]
        sheet = contact_sheet(bpy, shots, out.with_name("demo_contact.png"))
        step(f"rendered {sheet} (frames {', '.join(str(f) for f in sorted(f for f, _, _ in shots))})")
        if not args.no_video:
            from demo_video import make_video

            video = make_video(bpy, face_cam, body_cam, clip, args.speech, spans, out.with_name("demo.mp4"),
                               log=step)
            step(f"wrote {video}")
    bpy.ops.preferences.addon_disable(module=ADDON)
    print(f"demo: done in {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
