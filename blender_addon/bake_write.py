"""Bake a take onto the scene's targets: one new Action per target, NLA strips for action events.

The thin ``bpy`` side of baking; all the arithmetic is in :mod:`bake_plan` (pure numpy).
Called by the Import Take and Stop Recording operators, each one undo step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy

from . import mapping, props
from .actions import plan_strips
from .bake_plan import CurvePlan, plan_bones, plan_shape_keys
from .expressions import reaction_curves, take_events
from .fcurves import bake_action
from .live import is_shape_key_action
from .takes_io import Take

TRACK_PREFIX = "Kinemo: "
EXPRESSION_TRACK_PREFIX = "Kinemo expression: "


@dataclass
class BakeResult:
    actions: list[bpy.types.Action] = field(default_factory=list)
    strips: int = 0
    channels: int = 0
    frames: int = 0
    last_frame: float = 0.0
    reactions: int = 0  # expression reactions baked (strips or shape-key fades)


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
    reactions = props.expression_map(settings) if take.emotion is not None else {}
    # The take's own label set: a reaction mapped to one of the performer's taught names bakes as it played live.
    events = take_events(take.times, take.emotion, take.emotion_scores, reactions, names=take.labels,
                         threshold=settings.expression_threshold, hold=settings.expression_hold) if reactions else []
    last = start + float(take.times[-1]) * fps
    shapes = reaction_curves(events, {lb: keys for lb, (_, keys) in reactions.items()}, fps=fps, frame_start=start,
                             last_frame=last, blend_time=settings.expression_blend) if events else {}
    meshes = targets if targets is not None else props.target_meshes(settings)
    for obj in meshes:
        key = obj.data.shape_keys
        if key is None:
            continue
        names = [kb.name for kb in key.key_blocks]
        chosen = mapping.resolve(names, over, off)
        driven = {k for keys in chosen.values() for k in keys}
        extra = [CurvePlan(f'key_blocks["{k}"].value', "Expression", fr, v)
                 for k, (fr, v) in shapes.items() if k in names and k not in driven]
        if not chosen and not extra:
            continue
        plans = plan_shape_keys(take.times, take.blendshapes, chosen, fps=fps, frame_start=start, retarget=shaping,
                                smoothing=settings.smoothing, tolerance=tol) if chosen else []
        plans += extra
        out.actions.append(bake_action(key, _action_name(take, obj, not out.actions), plans, replace=replace))
        out.channels = max(out.channels, len(chosen))
        out.frames = max(out.frames, max(len(p.frames) for p in plans))
        out.last_frame = max(out.last_frame, float(plans[0].frames[-1]) if len(plans[0].frames) else start)
    arm = settings.armature
    if arm is not None and arm.type == "ARMATURE":
        _bake_armature(settings, arm, take, fps, start, tol, replace, out)
    else:
        arm = None
    out.reactions = len(events)
    if events:
        _bake_reactions(settings, reactions, events, arm, meshes, fps, start, out)
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
    if take.events and actions:
        _place_strips(arm, take.events, actions, {}, fps, start, settings.action_blend, TRACK_PREFIX, out)


def _bake_reactions(settings, reactions, events, arm, meshes, fps: float, start: float, out: BakeResult) -> None:
    """Expression reactions mapped to Actions: NLA strips, as action events (shape-key presets were keyed
    with the meshes)."""
    actions = {lb: bpy.data.actions.get(name) for lb, (name, _) in reactions.items() if name}
    actions = {lb: a for lb, a in actions.items() if a is not None}
    key = next((m.data.shape_keys for m in meshes if m.data.shape_keys is not None), None)
    owners = {lb: key if is_shape_key_action(a) else arm for lb, a in actions.items()}
    actions = {lb: a for lb, a in actions.items() if owners[lb] is not None}
    if actions:
        _place_strips(arm, events, actions, owners, fps, start, settings.expression_blend,
                      EXPRESSION_TRACK_PREFIX, out)


def _place_strips(arm, events, actions: dict[str, bpy.types.Action], owners: dict[str, bpy.types.ID], fps: float,
                  start: float, blend_time: float, prefix: str, out: BakeResult) -> None:
    """(label, start s, end s, confidence) events → NLA strips of the labels' Actions on ``arm`` (or
    ``owners[label]``), one track per label and more where events overlap."""
    lengths = {label: max(1.0, a.frame_range[1] - a.frame_range[0]) for label, a in actions.items()}
    tracks: dict[tuple[str, int], bpy.types.NlaTrack] = {}
    for plan in plan_strips(events, fps=fps, frame_start=start, lengths=lengths, blend_time=blend_time):
        action = actions[plan.label]
        owner = owners.get(plan.label, arm)
        ad = owner.animation_data or owner.animation_data_create()
        strip = None
        track_no = plan.track
        while strip is None:
            track = tracks.get((plan.label, track_no))
            if track is None:
                track = tracks[(plan.label, track_no)] = ad.nla_tracks.new()
                track.name = prefix + plan.label + (f" {track_no + 1}" if track_no else "")
            try:
                strip = track.strips.new(plan.label, int(round(plan.frame_start)), action)
            except RuntimeError:  # rounding made it touch the previous strip: next track
                track_no += 1
        strip.repeat = max(1.0, (plan.frame_end - plan.frame_start) / lengths[plan.label])
        strip.blend_in = strip.blend_out = min(plan.blend, (strip.frame_end - strip.frame_start) / 2)
        out.strips += 1
        out.last_frame = max(out.last_frame, strip.frame_end)
