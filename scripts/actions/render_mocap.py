"""Real motion capture carried by the CC0 MakeHuman body and filmed as video, for the real pose tracker.

    python scripts/actions/render_mocap.py --blend avatar.blend --out build/actions/renders \\
        [--labels wave,jump,walk,negative,generator] [--per-label 6] [--views 0,90] [--fps 15]

The projected landmarks that selection films (``mocap.render``) are the joints themselves plus a
noise model of a tracker. This renders the same motion as pictures instead: the demo avatar's
body (MakeHuman's CC0 mesh and skeleton, ``rigs/build_avatar.py``) follows each file's joints
(every bone turns to point at the mocap joint it ends on; the pelvis follows the hips), a
camera at a fixed yaw pans after the performer, and Blender's Workbench engine writes an MP4.
``render_eval.py`` then runs the whole ``kinemo actions --video`` path on each video and
compares the events with the projected landmarks' of the same file and view. The motion
generator's takes of the actions no motion file shows (clap, hands up, bow, squat) and of
waves can be rendered the same way (``--labels generator``).

Runs with the bpy module (the project's ``.venv``); nothing here is needed at run time.
One file and view at a time, printed as it goes; an existing video is kept (delete it to redo).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "inference"))

import mocap  # noqa: E402

from kinemo.body.skeleton import INDEX  # noqa: E402

#: bone → (the landmark points it aims at (their mean), …); the bone's head stays where its parent puts it
AIMS = {
    "spine_01": ("left_shoulder", "right_shoulder"), "spine_02": ("left_shoulder", "right_shoulder"),
    "spine_03": ("left_shoulder", "right_shoulder"), "neck_01": ("left_ear", "right_ear"),
    "clavicle_l": ("left_shoulder",), "upperarm_l": ("left_elbow",), "lowerarm_l": ("left_wrist",),
    "hand_l": ("left_index", "left_pinky"), "clavicle_r": ("right_shoulder",), "upperarm_r": ("right_elbow",),
    "lowerarm_r": ("right_wrist",), "hand_r": ("right_index", "right_pinky"),
    "thigh_l": ("left_knee",), "calf_l": ("left_ankle",), "foot_l": ("left_foot_index",),
    "thigh_r": ("right_knee",), "calf_r": ("right_ankle",), "foot_r": ("right_foot_index",),
}
#: bone → the point its side axis (+X, the performer's left) turns towards
SIDES = {"pelvis": "left_hip", "spine_03": "left_shoulder"}
CAMERA_M = 4.2  # camera distance, metres
CAMERA_RISE = 0.25  # metres above the point it looks at (chest height): it looks down by about 3.4°
LENS_MM = 35.0  # on a 36 mm sensor: a 54° horizontal field of view
SIZE = (480, 360)


def to_blender(world: np.ndarray, height: float) -> np.ndarray:
    """Mocap world (units of height, y up, facing +z) → Blender metres (z up, the avatar facing −y)."""
    w = np.asarray(world, np.float64) * height
    return np.stack([w[..., 0], -w[..., 2], w[..., 1]], axis=-1)


def _key_locations(bpy, obj, xyz: np.ndarray) -> None:
    """Keyframe ``obj.location`` at frames 1… from (T, 3), in bulk (one constant pose per frame)."""
    obj.animation_data_create()
    action = bpy.data.actions.new(obj.name)
    obj.animation_data.action = action
    frames = np.arange(1, len(xyz) + 1, dtype=np.float64)
    for axis in range(3):
        fc = action.fcurve_ensure_for_datablock(obj, "location", index=axis)
        fc.keyframe_points.add(len(xyz))
        co = np.empty(2 * len(xyz))
        co[0::2], co[1::2] = frames, xyz[:, axis]
        fc.keyframe_points.foreach_set("co", co)
        fc.keyframe_points.foreach_set("interpolation", [0] * len(xyz))  # CONSTANT
        fc.update()


def _empty(bpy, name: str, xyz: np.ndarray):
    e = bpy.data.objects.new(name, None)
    bpy.context.scene.collection.objects.link(e)
    _key_locations(bpy, e, xyz)
    return e


def rig_motion(bpy, rig, pts: np.ndarray) -> None:
    """Constrain the avatar's bones to follow (T, 33, 3) landmark positions in Blender metres."""
    from mathutils import Vector

    def mean_of(names):
        return pts[:, [INDEX[n] for n in names]].mean(axis=1)

    targets: dict[str, object] = {}

    def aim(*names):
        """An empty at the mean of ``names`` (one per set of points, however many bones aim at it)."""
        key = "+".join(names)
        if key not in targets:
            targets[key] = _empty(bpy, f"aim:{key}", mean_of(names))
        return targets[key]

    ears = mean_of(("left_ear", "right_ear"))
    head_top = _empty(bpy, "aim:head_top", ears + 0.6 * (ears - mean_of(("left_shoulder", "right_shoulder"))))

    def track(pb, target, kind="DAMPED_TRACK", axis=None):
        c = pb.constraints.new(kind)
        c.target = target
        if axis:
            c.track_axis, c.lock_axis = axis, "LOCK_Y"

    pose = rig.pose.bones
    c = pose["pelvis"].constraints.new("COPY_LOCATION")
    c.target = _empty(bpy, "at:hips", mean_of(("left_hip", "right_hip")))
    track(pose["pelvis"], aim(*AIMS["spine_01"]))
    for bone, names in AIMS.items():
        track(pose[bone], aim(*names))
    for bone, point in SIDES.items():  # turn the bone about its length so that its +X side faces the left point
        x = rig.data.bones[bone].matrix_local.to_3x3() @ Vector((1, 0, 0))
        track(pose[bone], aim(point), "LOCKED_TRACK", "TRACK_X" if x.x > 0 else "TRACK_NEGATIVE_X")
    track(pose["head"], head_top)
    z = rig.data.bones["head"].matrix_local.to_3x3() @ Vector((0, 0, 1))  # the face looks along −y
    track(pose["head"], aim("nose"), "LOCKED_TRACK", "TRACK_NEGATIVE_Z" if z.y > 0 else "TRACK_Z")


def camera_path(hips: np.ndarray, yaw_deg: float, fps: float, pan_s: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: the camera's position and the point it looks at (the hips' moving average, chest height)."""
    look = mocap.follow(hips, fps, pan_s)
    look[:, 2] = 0.95
    yaw = math.radians(yaw_deg)  # 0: in front of the avatar (−y); 90: at its left (+x)
    where = look + CAMERA_M * np.array([math.sin(yaw), -math.cos(yaw), 0.0]) + np.array([0.0, 0.0, CAMERA_RISE])
    return where, look


def towards_camera(yaw_deg: float) -> np.ndarray:
    """The unit vector from the performer to the camera in the mocap world (y up, facing +z)."""
    yaw, pitch = math.radians(yaw_deg), math.atan2(CAMERA_RISE, CAMERA_M)
    return np.array([math.sin(yaw) * math.cos(pitch), math.sin(pitch), math.cos(yaw) * math.cos(pitch)])


def film(bpy, blend: Path, world: np.ndarray, fps_in: float, yaw_deg: float, fps: float, out: Path) -> int:
    """Render (F, 33, 3) mocap world landmarks from one yaw into ``out`` (MP4); returns the frame count."""
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    rig = next(o for o in scene.objects if o.type == "ARMATURE")
    for o in list(scene.objects):  # only the body: no lights, props or cameras of the demo
        if o.type not in ("ARMATURE", "MESH") or (o.type == "MESH" and o.parent != rig):
            bpy.data.objects.remove(o)
    rig.animation_data_clear()
    for o in scene.objects:
        if o.type == "MESH" and o.data.shape_keys is not None and o.data.shape_keys.animation_data:
            o.data.shape_keys.animation_data_clear()
    height = max(rig.dimensions.z, 1.0)
    pts = to_blender(mocap.resample(world, fps_in, fps)[1], height)
    rig_motion(bpy, rig, pts)
    where, look = camera_path(0.5 * (pts[:, INDEX["left_hip"]] + pts[:, INDEX["right_hip"]]), yaw_deg, fps)
    cam = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(cam)
    cam.data.lens, cam.data.sensor_width = LENS_MM, 36.0
    _key_locations(bpy, cam, where)
    c = cam.constraints.new("TRACK_TO")
    c.target = _empty(bpy, "look", look)
    c.track_axis, c.up_axis = "TRACK_NEGATIVE_Z", "UP_Y"
    scene.camera = cam
    r = scene.render
    r.engine = "BLENDER_WORKBENCH"
    r.resolution_x, r.resolution_y, r.resolution_percentage = *SIZE, 100
    r.fps, r.fps_base = int(round(fps)), 1.0
    scene.frame_start, scene.frame_end = 1, len(pts)
    scene.display.shading.light = "STUDIO"
    scene.display.shading.color_type = "MATERIAL"
    scene.display.shading.show_shadows = False
    world_bg = scene.world or bpy.data.worlds.new("world")
    scene.world = world_bg
    world_bg.color = (0.42, 0.44, 0.47)
    if hasattr(r.image_settings, "media_type"):  # Blender 5: videos are a media type of their own
        r.image_settings.media_type = "VIDEO"
    r.image_settings.file_format = "FFMPEG"
    r.ffmpeg.format, r.ffmpeg.codec = "MPEG4", "H264"
    r.ffmpeg.constant_rate_factor = "HIGH"
    r.filepath = str(out)
    bpy.ops.render.render(animation=True)
    return len(pts)


def chosen(labels: list[str], per_label: int) -> list:
    """Up to ``per_label`` files of each label, spread over the sources (every source before a second file);
    ``generator``: ``per_label`` takes of each of the motion generator's ``mocap.GENERATOR_LABELS``."""
    items = [i for i in mocap.read_manifest() if i.label in labels]
    picked = ([mocap.generator_item(g, k) for g in mocap.GENERATOR_LABELS for k in range(per_label)]
              if "generator" in labels else [])
    for label in labels:
        mine = sorted((i for i in items if i.label == label), key=lambda i: (i.source, str(i.path)))
        by_source: dict[str, list] = {}
        for i in mine:
            by_source.setdefault(i.source, []).append(i)
        order = []
        while any(by_source.values()):
            for src in sorted(by_source):
                if by_source[src]:
                    order.append(by_source[src].pop(0))
        picked += order[:per_label]
    return picked


def video_key(item) -> str:
    """The motion file's key as a file name can hold it (``-`` for ``/``)."""
    return item.key.replace("/", "-")


def video_name(item, yaw: float, fps: float) -> str:
    """``SOURCE__VIDEOKEY__yYAW_fFPS.mp4``."""
    return f"{item.source}__{video_key(item)}__y{int(yaw)}_f{int(fps)}.mp4"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--blend", type=Path, required=True, help="the demo avatar (python rigs/build_avatar.py OUT)")
    ap.add_argument("--out", type=Path, default=HERE.parents[1] / "build" / "actions" / "renders")
    ap.add_argument("--labels", default="wave,jump,walk,negative",
                    help="labels of the motion files to render; 'generator' adds the motion generator's "
                         f"{', '.join(mocap.GENERATOR_LABELS)} (--per-label takes each)")
    ap.add_argument("--per-label", type=int, default=6)
    ap.add_argument("--views", default="0,90", help="camera yaws in degrees (0: front, 90: the performer's left)")
    ap.add_argument("--fps", type=float, default=15.0)
    ap.add_argument("--max-seconds", type=float, default=12.0, help="render at most this much of each file")
    args = ap.parse_args(argv)
    if not args.blend.is_file():
        sys.exit(f"render_mocap: {args.blend}: no such .blend (make the avatar: python rigs/build_avatar.py "
                 f"{args.blend})")
    import bpy

    args.out.mkdir(parents=True, exist_ok=True)
    items = chosen(args.labels.split(","), args.per_label)
    views = [float(v) for v in args.views.split(",")]
    todo = [(i, y) for i in items for y in views]
    for k, (item, yaw) in enumerate(todo, 1):
        out = args.out / video_name(item, yaw, args.fps)
        if out.exists():
            print(f"[{k}/{len(todo)}] {out.name}: kept", flush=True)
            continue
        t0 = time.perf_counter()
        world, fps_in = mocap.load_world(item)
        world = world[: int(args.max_seconds * fps_in)]  # long dance takes would take long to render
        n = film(bpy, args.blend.resolve(), world, fps_in, yaw, args.fps, out)
        print(f"[{k}/{len(todo)}] {out.name}: {n} frames in {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
