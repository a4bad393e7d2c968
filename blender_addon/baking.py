"""Bake a take onto the scene's targets: one new Action per target, NLA strips for action events.

The thin ``bpy`` side of baking; all the arithmetic is in :mod:`bake` (pure numpy).
Called by the Import Take and Stop Recording operators, each one undo step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy

from . import mapping, props
from .actions import plan_strips
from .bake import plan_bones, plan_shape_keys
from .fcurves import bake_action
from .takes_io import Take

TRACK_PREFIX = "Kinemo: "


@dataclass
class BakeResult:
    actions: list[bpy.types.Action] = field(default_factory=list)
    strips: int = 0
    channels: int = 0
    frames: int = 0
    last_frame: float = 0.0


def _action_name(take: Take, obj: bpy.types.Object, first: bool) -> str:
    return take.name if first else f"{take.name} ({obj.name})"


def bake_take(context, take: Take, *, frame_start: float | None = None, replace: bool | None = None,
              targets: list[bpy.types.Object] | None = None) -> BakeResult:
    settings = context.scene.kinemo
    scene = context.scene
    fps = scene.render.fps / scene.render.fps_base
    start = float(scene.frame_start if frame_start is None or frame_start < 0 else frame_start)
    replace = settings.replace_action if replace is None else replace
    tol = settings.reduce_tolerance if settings.reduce_keys else 0.0
    over, off = props.overrides(settings)
    shaping = props.retarget(settings)
    out = BakeResult()
    for obj in targets if targets is not None else props.target_meshes(settings):
        key = obj.data.shape_keys
        if key is None:
            continue
        chosen = mapping.resolve([kb.name for kb in key.key_blocks], over, off)
        if not chosen:
            continue
        plans = plan_shape_keys(take.times, take.blendshapes, chosen, fps=fps, frame_start=start, retarget=shaping,
                                smoothing=settings.smoothing, tolerance=tol)
        out.actions.append(bake_action(key, _action_name(take, obj, not out.actions), plans, replace=replace))
        out.channels = max(out.channels, len(chosen))
        out.frames = max(out.frames, max(len(p.frames) for p in plans))
        out.last_frame = max(out.last_frame, float(plans[0].frames[-1]) if len(plans[0].frames) else start)
    arm = settings.armature
    if arm is not None and arm.type == "ARMATURE":
        _bake_armature(settings, arm, take, fps, start, tol, replace, out)
    scene.frame_end = max(scene.frame_end, int(round(out.last_frame)))
    return out


def _bake_armature(settings, arm, take: Take, fps: float, start: float, tol: float, replace: bool,
                   out: BakeResult) -> None:
    bones = props.bone_targets(settings)
    axes, eye_axes = props.axis_maps(settings)
    if any((bones.head, bones.neck, bones.eye_left, bones.eye_right, bones.root)):
        plans = plan_bones(take.times, take.head, take.eyes, bones, fps=fps, frame_start=start, axes=axes,
                           eye_axes=eye_axes, neck_share=settings.neck_share, root_scale=settings.root_scale,
                           smoothing=settings.smoothing, tolerance=tol)
        out.actions.append(bake_action(arm, _action_name(take, arm, not out.actions), plans, replace=replace))
        out.last_frame = max(out.last_frame, float(plans[0].frames[-1]))
    actions = {m.name: m.action for m in settings.actions if m.name and m.action is not None}
    if not take.events or not actions:
        return
    lengths = {label: max(1.0, a.frame_range[1] - a.frame_range[0]) for label, a in actions.items()}
    ad = arm.animation_data or arm.animation_data_create()
    tracks: dict[tuple[str, int], bpy.types.NlaTrack] = {}
    for plan in plan_strips(take.events, fps=fps, frame_start=start, lengths=lengths,
                            blend_time=settings.action_blend):
        action = actions[plan.label]
        strip = None
        track_no = plan.track
        while strip is None:
            track = tracks.get((plan.label, track_no))
            if track is None:
                track = tracks[(plan.label, track_no)] = ad.nla_tracks.new()
                track.name = TRACK_PREFIX + plan.label + (f" {track_no + 1}" if track_no else "")
            try:
                strip = track.strips.new(plan.label, int(round(plan.frame_start)), action)
            except RuntimeError:  # rounding made it touch the previous strip: next track
                track_no += 1
        strip.repeat = max(1.0, (plan.frame_end - plan.frame_start) / lengths[plan.label])
        strip.blend_in = strip.blend_out = min(plan.blend, (strip.frame_end - strip.frame_start) / 2)
        out.strips += 1
        out.last_frame = max(out.last_frame, strip.frame_end)
