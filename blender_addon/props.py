"""Scene settings and add-on preferences (the data behind the panels), and their pure-Python views."""

from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from . import protocol, rig
from .bake_plan import BoneTargets
from .presets import ChannelPreset, Preset
from .retarget import ChannelShape, Retarget

_AXIS_ITEMS = [(a, a, f"Rotate about the bone's {a} axis") for a in rig.AXES]
#: File paths that may be relative to the .blend ("//me.json"): Blender 5.0 warns on such a value unless the
#: property says it takes one; 4.2 has no such option (and no warning).
BLEND_RELATIVE: set[str] = ({"PATH_SUPPORTS_BLEND_RELATIVE"}
                            if "is_path_supports_blend_relative" in bpy.types.Property.bl_rna.properties else set())


def _changed(_self, context) -> None:
    """Settings edited while live take effect at once."""
    from .live import SESSION

    if SESSION.running and context is not None and context.scene is not None:
        SESSION.configure(live_config(context.scene.kinemo))


def _is_mesh(_self, obj) -> bool:
    return obj.type == "MESH"


def _is_armature(_self, obj) -> bool:
    return obj.type == "ARMATURE"


class KinemoPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    kinemo_command: StringProperty(
        name="Kinemo Command", subtype="FILE_PATH", default="kinemo",
        description="The 'kinemo' program, or a Python that has the kinemo package (run as 'python -m kinemo')")

    def draw(self, context):
        self.layout.prop(self, "kinemo_command")


class KinemoTarget(bpy.types.PropertyGroup):
    object: PointerProperty(name="Mesh", type=bpy.types.Object, poll=_is_mesh)


class KinemoChannel(bpy.types.PropertyGroup):
    # ``name`` (inherited) is the ARKit channel name.
    keys: StringProperty(update=_changed, name="Shape Keys",
                         description="Comma-separated shape keys this channel drives (empty: auto-map by name)")
    enabled: BoolProperty(update=_changed, name="Enabled", default=True)
    gain: FloatProperty(update=_changed, name="Gain", default=1.0, soft_min=0.0, soft_max=3.0)
    offset: FloatProperty(update=_changed, name="Offset", default=0.0, soft_min=-1.0, soft_max=1.0)
    min: FloatProperty(update=_changed, name="Min", default=0.0, soft_min=-1.0, soft_max=1.0)
    max: FloatProperty(update=_changed, name="Max", default=1.0, soft_min=0.0, soft_max=2.0)
    invert: BoolProperty(update=_changed, name="Invert", description="Use 1 − value")
    mirror: BoolProperty(update=_changed, name="Mirror", description="Take the other side's value (mirrored camera)")


class KinemoActionMap(bpy.types.PropertyGroup):
    # ``name`` (inherited) is the action label the service sends.
    action: PointerProperty(update=_changed, name="Action", type=bpy.types.Action)


class KinemoExpressionMap(bpy.types.PropertyGroup):
    # ``name`` (inherited) is the expression label: a built-in one (neutral, happy, sad, surprise, anger, fear,
    # disgust) or any name the performer taught (smirk, tongue_out), typed freely; names are case-sensitive.
    action: PointerProperty(update=_changed, name="Action", type=bpy.types.Action,
                            description="Action played while the label holds (on the armature, or on the "
                                        "target's shape keys for a shape-key Action)")
    shape_keys: StringProperty(update=_changed, name="Shape Keys",
                               description="Comma-separated shape keys set while the label holds, each "
                                           "optionally with its own value (Joy, Fcl_MTH_Fun=0.5)")
    weight: FloatProperty(update=_changed, name="Weight", default=1.0, min=0.0, max=1.0, subtype="FACTOR",
                          description="Value the shape keys reach")


class KinemoSettings(bpy.types.PropertyGroup):
    # targets
    target: PointerProperty(update=_changed, name="Target", type=bpy.types.Object, poll=_is_mesh,
                            description="Mesh whose ARKit-named shape keys the stream drives")
    extra_targets: CollectionProperty(type=KinemoTarget, description="More meshes driven together (teeth, tongue…)")
    extra_index: IntProperty()
    channels: CollectionProperty(type=KinemoChannel)
    channel_index: IntProperty()
    smoothing: FloatProperty(update=_changed, name="Smoothing", default=0.0, min=0.0, max=1.0, subtype="TIME_ABSOLUTE",
                             unit="TIME_ABSOLUTE",
                             description="Smoothing time constant in seconds (0: none); also used when baking")
    # armature
    armature: PointerProperty(update=_changed, name="Armature", type=bpy.types.Object, poll=_is_armature)
    head_bone: StringProperty(update=_changed, name="Head")
    neck_bone: StringProperty(update=_changed, name="Neck")
    eye_left_bone: StringProperty(update=_changed, name="Left Eye")
    eye_right_bone: StringProperty(update=_changed, name="Right Eye")
    root_bone: StringProperty(update=_changed, name="Root", description="Bone moved by head translation (root motion)")
    use_root_motion: BoolProperty(update=_changed, name="Root Motion")
    root_scale: FloatProperty(update=_changed, name="Root Scale", default=1.0, min=0.0)
    neck_share: FloatProperty(update=_changed, name="Neck Share", default=0.3, min=0.0, max=1.0, subtype="FACTOR")
    head_yaw_axis: EnumProperty(update=_changed, name="Yaw", items=_AXIS_ITEMS, default="Y")
    head_pitch_axis: EnumProperty(update=_changed, name="Pitch", items=_AXIS_ITEMS, default="-X")
    head_roll_axis: EnumProperty(update=_changed, name="Roll", items=_AXIS_ITEMS, default="-Z")
    eye_yaw_axis: EnumProperty(update=_changed, name="Eye Yaw", items=_AXIS_ITEMS, default="Y")
    eye_pitch_axis: EnumProperty(update=_changed, name="Eye Pitch", items=_AXIS_ITEMS, default="-X")
    actions: CollectionProperty(type=KinemoActionMap)
    action_index: IntProperty()
    action_blend: FloatProperty(update=_changed, name="Action Blend", default=0.25, min=0.0, subtype="TIME_ABSOLUTE",
                                unit="TIME_ABSOLUTE", description="Seconds to fade an action in and out")
    # expression reactions
    use_expressions: BoolProperty(update=_changed, name="Expression Reactions", default=True,
                                  description="Let the streamed expression label drive the mapped Actions "
                                              "and shape keys (live and when baking)")
    expressions: CollectionProperty(type=KinemoExpressionMap)
    expression_index: IntProperty()
    expression_threshold: FloatProperty(update=_changed, name="Threshold", default=0.5, min=0.0, max=1.0,
                                        subtype="FACTOR",
                                        description="Smallest score of the label that starts its reaction")
    expression_hold: FloatProperty(update=_changed, name="Hold", default=0.5, min=0.0, subtype="TIME_ABSOLUTE",
                                   unit="TIME_ABSOLUTE",
                                   description="Seconds a reaction stays on after its label last qualified")
    expression_blend: FloatProperty(update=_changed, name="Fade", default=0.3, min=0.0, subtype="TIME_ABSOLUTE",
                                    unit="TIME_ABSOLUTE", description="Seconds to fade a reaction in and out")
    # connection
    source: EnumProperty(name="Source", items=[
        ("KINEMO", "Kinemo", f"The Kinemo service's own stream (port {protocol.DEFAULT_PORT})"),
        ("VMC", "VMC", f"A VMC sender such as VSeeFace (port {protocol.VMC_PORT})")], default="KINEMO")
    host: StringProperty(name="Listen On", default=protocol.DEFAULT_HOST,
                         description="Address to bind; 127.0.0.1 accepts only this machine. "
                                     "Use 0.0.0.0 to accept senders on your network")
    port: IntProperty(name="Port", default=protocol.DEFAULT_PORT, min=1, max=65535)
    vmc_port: IntProperty(name="VMC Port", default=protocol.VMC_PORT, min=1, max=65535)
    allow: StringProperty(name="Allow", description="Comma-separated sender IP addresses accepted "
                                                    "(empty: any that can reach the bound address)")
    on_lost: EnumProperty(update=_changed, name="When Lost", items=[
        ("HOLD", "Hold", "Keep the last pose when the sender stops"),
        ("NEUTRAL", "Ease to Neutral", "Ease back to the neutral face when the sender stops")], default="HOLD")
    # record and bake
    take_name: StringProperty(name="Take", default="take")
    reduce_keys: BoolProperty(name="Reduce Keys", description="Drop keys linear interpolation reproduces")
    reduce_tolerance: FloatProperty(name="Tolerance", default=0.005, min=0.0, precision=4,
                                    description="Largest allowed error of a dropped key")
    replace_action: BoolProperty(name="Replace Existing",
                                 description="Write into the assigned actions instead of new ones "
                                             "(overwrites their curves at the same channels)")
    # your own expressions (kinemo expressions teach)
    profile_path: StringProperty(name="Profile", subtype="FILE_PATH", options=BLEND_RELATIVE,
                                 description="The performer's profile (.json): the expressions taught into it label "
                                             "the stream of Webcam and Video jobs started here, and Teach adds to it")
    teach_labels: StringProperty(name="Expressions", default="",
                                 description="Comma-separated expressions to teach, built-in names or your own "
                                             "(smirk, tongue_out); empty: the seven built-in ones")
    teach_seconds: FloatProperty(name="Hold", default=2.0, min=0.3, max=30.0, subtype="TIME_ABSOLUTE",
                                 unit="TIME_ABSOLUTE", description="Seconds each expression is held and recorded")
    teach_ready: FloatProperty(name="Get Ready", default=2.0, min=0.0, max=30.0, subtype="TIME_ABSOLUTE",
                               unit="TIME_ABSOLUTE", description="Seconds to get into each expression before "
                                                                 "it is recorded")
    teach_repeats: IntProperty(name="Rounds", default=2, min=1, max=10,
                               description="Times to go through the expressions")
    # companion jobs
    video_path: StringProperty(name="Video", subtype="FILE_PATH")
    audio_path: StringProperty(name="Audio", subtype="FILE_PATH")
    camera: IntProperty(name="Camera", default=0, min=0)
    realtime: BoolProperty(name="Real Time", default=True, description="Stream a video at its own speed")


CLASSES = (KinemoPreferences, KinemoTarget, KinemoChannel, KinemoActionMap, KinemoExpressionMap, KinemoSettings)


# -- pure views of the settings ----------------------------------------------------------

def target_meshes(settings) -> list[bpy.types.Object]:
    out = []
    for obj in [settings.target, *(t.object for t in settings.extra_targets)]:
        if obj is not None and obj.type == "MESH" and obj not in out:
            out.append(obj)
    return out


def ensure_channels(settings) -> None:
    """Fill the 52 channel rows once (the UI list edits them). Not callable from draw()."""
    if [c.name for c in settings.channels] == list(protocol.ARKIT_NAMES):
        return
    settings.channels.clear()
    for name in protocol.ARKIT_NAMES:
        settings.channels.add().name = name


def _channel_rows(settings):
    return [c for c in settings.channels if c.name in protocol.ARKIT_INDEX]


def overrides(settings) -> tuple[dict[int, list[str]], list[int]]:
    """(per-channel explicit shape keys, disabled channels)."""
    over, off = {}, []
    for c in _channel_rows(settings):
        i = protocol.ARKIT_INDEX[c.name]
        keys = [k.strip() for k in c.keys.split(",") if k.strip()]
        if keys:
            over[i] = keys
        if not c.enabled:
            off.append(i)
    return over, off


def retarget(settings) -> Retarget:
    return Retarget({protocol.ARKIT_INDEX[c.name]: ChannelShape(c.gain, c.offset, c.min, c.max, c.invert, c.mirror)
                     for c in _channel_rows(settings)})


def axis_maps(settings) -> tuple[rig.AxisMap, rig.AxisMap]:
    return (rig.AxisMap(settings.head_yaw_axis, settings.head_pitch_axis, settings.head_roll_axis),
            rig.AxisMap(settings.eye_yaw_axis, settings.eye_pitch_axis, "-Z"))


def bone_targets(settings) -> BoneTargets:
    arm = settings.armature
    if arm is None:
        return BoneTargets()
    names = [settings.head_bone, settings.neck_bone, settings.eye_left_bone, settings.eye_right_bone]
    names = [n if n in arm.pose.bones else "" for n in names]
    root = settings.root_bone if settings.use_root_motion and settings.root_bone in arm.pose.bones else ""
    modes = tuple((n, arm.pose.bones[n].rotation_mode) for n in names if n)
    return BoneTargets(*names, root=root, modes=modes)


def to_preset(settings, name: str) -> Preset:
    out = Preset(name=name, smoothing=settings.smoothing)
    for c in _channel_rows(settings):
        keys = [k.strip() for k in c.keys.split(",") if k.strip()]
        out.channels[c.name] = ChannelPreset(keys, ChannelShape(c.gain, c.offset, c.min, c.max, c.invert, c.mirror),
                                             c.enabled)
    return out


def apply_preset(settings, preset: Preset) -> None:
    ensure_channels(settings)
    settings.smoothing = preset.smoothing
    for c in settings.channels:
        p = preset.channels.get(c.name, ChannelPreset())
        s = p.shape
        c.keys = ", ".join(p.keys)
        c.enabled, c.gain, c.offset, c.min, c.max, c.invert, c.mirror = (
            p.enabled, s.gain, s.offset, s.min, s.max, s.invert, s.mirror)


def expression_map(settings) -> dict[str, tuple[str, list[tuple[str, float]]]]:
    """label → (Action name or "", [(shape key, value)]) for the rows that drive something. Any label name
    counts — the built-in ones and the performer's own — as long as the service could send it."""
    from .expressions import is_label, parse_keys

    out = {}
    if not settings.use_expressions:
        return out
    for m in settings.expressions:
        if not is_label(m.name):
            continue
        action = m.action.name if m.action is not None else ""
        keys = parse_keys(m.shape_keys, m.weight)
        if action or keys:
            out[m.name] = (action, keys)
    return out


def live_config(settings):
    from .live import LiveConfig

    over, off = overrides(settings)
    axes, eye_axes = axis_maps(settings)
    arm = settings.armature
    return LiveConfig(
        retarget=retarget(settings), overrides=over, disabled=off, smoothing=settings.smoothing,
        armature=arm.name if arm is not None else "", bones=bone_targets(settings), axes=axes, eye_axes=eye_axes,
        neck_share=settings.neck_share, root_scale=settings.root_scale,
        actions={m.name: m.action.name for m in settings.actions if m.name and m.action is not None},
        action_blend=settings.action_blend, on_lost=settings.on_lost, expressions=expression_map(settings),
        expression_threshold=settings.expression_threshold, expression_hold=settings.expression_hold,
        expression_blend=settings.expression_blend)


def allow_list(settings) -> set[str] | None:
    hosts = {h.strip() for h in settings.allow.split(",") if h.strip()}
    return hosts or None
