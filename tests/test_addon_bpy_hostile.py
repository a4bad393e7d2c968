"""Hostile values in real Blender: NaN, infinity and absurd values in every field type never reach
shape keys, bones or keyframes; every sidebar panel and UI list draws, in every add-on state,
naming only properties, operators and icons that exist."""

from __future__ import annotations

import math
import sys
import time
from types import SimpleNamespace

import numpy as np
import pytest
from addon_rigs import CC_FACE_KEYS, bundle, frame_bundle, head_rig, shape_key_mesh
from conftest import addon_module, free_udp_port

from blender_addon import protocol

BAD = [math.nan, math.inf, -math.inf, 1e300, 3e38]
SENDER = ("127.0.0.1", 40000)


@pytest.fixture
def scene(blender):
    bpy = blender
    bpy.ops.wm.read_homefile(use_empty=True)
    yield bpy.context.scene
    addon_module("live").SESSION.stop()
    addon_module("companion").JOBS.stop_all()


def _rigged(bpy, scene):
    face = shape_key_mesh(bpy, "Face", ("Basis", "jawOpen", "eyeBlinkLeft", "Eye_Blink_L"))
    arm = head_rig(bpy)
    arm.pose.bones["neck"].rotation_mode = "XYZ"  # Euler and quaternion bones both
    s = scene.kinemo
    s.target, s.armature = face, arm
    s.head_bone, s.neck_bone, s.eye_left_bone, s.eye_right_bone = "head", "neck", "eye.L", "eye.R"
    s.use_root_motion, s.root_bone = True, "root"
    s.smoothing = 0.05  # the smoother must not keep a NaN either
    scene.render.fps, scene.render.fps_base = 30, 1.0
    return face, arm


def _assert_finite(face, arm, what: str) -> None:
    kb = face.data.shape_keys.key_blocks
    vals = np.empty(len(kb), np.float32)
    kb.foreach_get("value", vals)
    assert np.isfinite(vals).all(), f"{what}: shape keys {vals}"
    for pb in arm.pose.bones:
        for prop in ("rotation_quaternion", "rotation_euler", "rotation_axis_angle", "location", "scale"):
            v = list(getattr(pb, prop))
            assert all(math.isfinite(x) for x in v), f"{what}: {pb.name}.{prop} = {v}"


def _assert_keys_finite(action, id_data) -> int:
    n = 0
    for fc in addon_module("fcurves").action_fcurves(action, id_data):
        co = np.empty(2 * len(fc.keyframe_points), np.float32)
        fc.keyframe_points.foreach_get("co", co)
        assert np.isfinite(co).all(), f"{fc.data_path}[{fc.array_index}] has non-finite keys"
        n += len(co) // 2
    return n


def _kinemo_bad_datagrams(seq: int):
    """One datagram per (address, tag, value, position): f, d and i where floats go."""
    for address in (protocol.ADDR_BLENDSHAPES, protocol.ADDR_HEAD, protocol.ADDR_EYES):
        n = len(protocol.PAYLOAD_TYPES[address])
        for tag, values in (("f", [v for v in BAD if v != 1e300]), ("d", BAD), ("i", [2 ** 31 - 1])):
            for v in values:
                for pos in {0, 3 % n, n - 1}:
                    vals = [0.1] * n
                    vals[pos] = v
                    tags = "idd" + "f" * pos + tag + "f" * (n - pos - 1)
                    seq += 1
                    yield seq, bundle([(address, tags, (seq, time.time(), seq / 30, *vals))])
    seq += 1
    yield seq, bundle([(protocol.ADDR_PRESENT, "iddi", (seq, math.nan, seq / 30, 1))])  # header: d NaN


def test_bad_values_never_reach_shape_keys_bones_or_keyframes(blender, scene):
    bpy = blender
    face, arm = _rigged(bpy, scene)
    scene.kinemo.port = free_udp_port()
    scene.kinemo.take_name = "hostile"
    assert bpy.ops.kinemo.live_start() == {"FINISHED"}
    session = addon_module("live").SESSION
    rx = session.receiver
    assert bpy.ops.kinemo.record_start() == {"FINISHED"}
    good_seq, bad = 0, 0
    for seq, data in _kinemo_bad_datagrams(1000):
        good_seq = seq + 1
        assert rx.handle_datagram(frame_bundle(good_seq, time_s=good_seq / 30, blend={"jawOpen": 0.5},
                                               head=(10, 5, 0, 1, 2, 3), eyes=(5, 0, 5, 0)), SENDER)
        session.tick()
        assert rx.handle_datagram(data, SENDER) is False
        bad += 1
        session.tick()
        _assert_finite(face, arm, f"after bad datagram {seq}")
    assert rx.stats.bad_values == bad and session.status()["bad_values"] == bad and session.errors == 0
    assert face.data.shape_keys.key_blocks["jawOpen"].value > 0.3  # good frames kept applying
    assert bpy.ops.kinemo.record_stop("EXEC_DEFAULT", True) == {"FINISHED"}
    key = face.data.shape_keys
    assert _assert_keys_finite(key.animation_data.action, key) > 0
    assert _assert_keys_finite(arm.animation_data.action, arm) > 0


def test_vmc_bad_values_never_reach_bones_or_keyframes(blender, scene):
    bpy = blender
    face, arm = _rigged(bpy, scene)
    s = scene.kinemo
    s.source, s.vmc_port, s.take_name = "VMC", free_udp_port(), "hostile_vmc"
    assert bpy.ops.kinemo.live_start() == {"FINISHED"}
    session = addon_module("live").SESSION
    rx = session.receiver
    assert bpy.ops.kinemo.record_start() == {"FINISHED"}
    q = protocol.unity_quaternion(20.0, 0.0, 0.0)
    good = bundle([(protocol.VMC_BLEND_VAL, "sf", ("jawOpen", 0.5)),
                   (protocol.VMC_BONE_POS, "sfffffff", ("Neck", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)),
                   (protocol.VMC_BONE_POS, "sfffffff", ("Head", 0.0, 0.0, 0.0, *q)),
                   (protocol.VMC_BLEND_APPLY, "", ())])
    for tag in ("f", "d"):
        for v in BAD:
            if tag == "f" and v == 1e300:
                continue
            for data in (bundle([(protocol.VMC_BONE_POS, "s" + tag * 7, (b, 0.0, 0.0, 0.0, v, v, 0.0, v))
                                 for b in ("Neck", "Head")]),
                         bundle([(protocol.VMC_BONE_POS, "s" + tag * 7, ("Head", v, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0))]),
                         bundle([(protocol.VMC_BLEND_VAL, "s" + tag, ("jawOpen", v)),
                                 (protocol.VMC_BLEND_APPLY, "", ())]),
                         bundle([(protocol.VMC_TIME, tag, (v,))])):
                assert rx.handle_datagram(good, SENDER)
                session.tick()
                rx.handle_datagram(data, SENDER)
                session.tick()
                _assert_finite(face, arm, f"VMC {tag} {v}")
    assert rx.stats.bad_values > 0 and session.errors == 0
    assert face.data.shape_keys.key_blocks["jawOpen"].value == pytest.approx(0.5)
    assert bpy.ops.kinemo.record_stop("EXEC_DEFAULT", True) == {"FINISHED"}
    assert _assert_keys_finite(arm.animation_data.action, arm) > 0


# --- every panel, every state ----------------------------------------------------------------

class RecordingLayout:
    """Stands in for ``UILayout``: records what a draw() names and checks that it exists."""

    def __init__(self, bpy, problems: list[str], where: str, seen: list[str]) -> None:
        object.__setattr__(self, "_bpy", bpy)
        object.__setattr__(self, "_problems", problems)
        object.__setattr__(self, "_where", where)
        object.__setattr__(self, "_seen", seen)

    def _fail(self, msg: str) -> None:
        self._problems.append(f"{self._where}: {msg}")

    def _sub(self, *_a, **_kw) -> RecordingLayout:
        return RecordingLayout(self._bpy, self._problems, self._where, self._seen)

    row = column = box = split = column_flow = grid_flow = _sub

    def __setattr__(self, name, value) -> None:
        if name not in self._bpy.types.UILayout.bl_rna.properties:
            self._fail(f"layout has no attribute {name!r}")

    def __getattr__(self, name):
        if not hasattr(self._bpy.types.UILayout, name):
            self._fail(f"UILayout has no method {name!r}")
        return lambda *a, **kw: None

    def _icon(self, icon: str) -> None:
        items = self._bpy.types.UILayout.bl_rna.functions["label"].parameters["icon"].enum_items.keys()
        if icon not in items:
            self._fail(f"no icon {icon!r}")

    def _kw(self, kw: dict) -> None:
        if "icon" in kw:
            self._icon(kw["icon"])
        if "text" in kw and not isinstance(kw["text"], str):
            self._fail(f"text is not a string: {kw['text']!r}")

    def _prop(self, data, name: str) -> None:
        self._seen.append(name)
        rna = getattr(data, "bl_rna", None)
        if rna is None or name not in rna.properties:
            self._fail(f"{type(data).__name__} has no property {name!r}")

    def prop(self, data, name, **kw) -> None:
        self._prop(data, name)
        self._kw(kw)

    def prop_search(self, data, name, search_data, search_name, **kw) -> None:
        self._prop(data, name)
        self._prop(search_data, search_name)
        self._kw(kw)

    def label(self, **kw) -> None:
        self._kw(kw)

    def separator(self, **kw) -> None:
        pass

    def operator(self, idname: str, **kw):
        self._kw(kw)
        self._seen.append(idname)
        mod, _, name = idname.partition(".")
        try:
            props = getattr(getattr(self._bpy.ops, mod), name).get_rna_type().properties
        except (AttributeError, KeyError):
            self._fail(f"no operator {idname!r}")
            return SimpleNamespace()
        layout = self

        class OpProps:
            def __setattr__(self, key, value) -> None:
                if key not in props:
                    layout._fail(f"operator {idname} has no property {key!r}")

        return OpProps()

    def template_list(self, listtype, list_id, data, name, active_data, active_name, **kw) -> None:
        cls = getattr(self._bpy.types, listtype, None)
        if cls is None:
            self._fail(f"no UI list {listtype!r}")
        self._prop(data, name)
        self._prop(active_data, active_name)
        if cls is not None and listtype.startswith("KINEMO_"):  # ours: draw every row too
            for index, item in enumerate(getattr(data, name)):
                cls.draw_item(SimpleNamespace(), self._bpy.context, self._sub(), data, item, 0, active_data,
                              active_name, index)


def _draw_all(bpy, state: str, problems: list[str]) -> list[str]:
    seen: list[str] = []
    ui = addon_module("ui")
    for cls in ui.CLASSES:
        if issubclass(cls, bpy.types.Panel):
            layout = RecordingLayout(bpy, problems, f"{state}/{cls.__name__}", seen)
            try:
                cls.draw(SimpleNamespace(layout=layout), bpy.context)
            except Exception as e:  # noqa: BLE001 - collected, reported together
                problems.append(f"{state}/{cls.__name__}: draw raised {type(e).__name__}: {e}")
    return seen


def _wait(pred, timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while not pred() and time.time() < deadline:
        time.sleep(0.02)
    assert pred()


def test_every_panel_draws_in_every_state(blender, scene):
    bpy = blender
    session = addon_module("live").SESSION
    jobs = addon_module("companion").JOBS
    problems: list[str] = []
    seen = _draw_all(bpy, "empty scene", problems)
    face = shape_key_mesh(bpy, "Face", CC_FACE_KEYS)
    teeth = shape_key_mesh(bpy, "Teeth", ("Basis", "jawOpen"))
    arm = head_rig(bpy)
    s = scene.kinemo
    s.target, s.armature, s.head_bone, s.use_root_motion, s.root_bone = face, arm, "head", True, "root"
    s.host, s.allow = "0.0.0.0", "127.0.0.1"  # the allow-list row shows
    bpy.context.view_layer.objects.active = teeth
    assert bpy.ops.kinemo.target_add() == {"FINISHED"}
    seen += _draw_all(bpy, "idle, channels not set up", problems)
    assert bpy.ops.kinemo.mapping_reset() == {"FINISHED"}
    assert bpy.ops.kinemo.action_map_add(label="wave", action="wave") == {"FINISHED"}
    assert bpy.ops.kinemo.expression_map_set(label="happy", action="wave", shape_keys="Mouth_Smile_L") == {"FINISHED"}
    assert bpy.ops.kinemo.expression_map_set(label="sad") == {"FINISHED"}  # a row that maps nothing yet
    s.channel_index, s.action_index, s.host = 3, 0, "127.0.0.1"
    seen += _draw_all(bpy, "idle", problems)
    s.port = free_udp_port()
    assert bpy.ops.kinemo.live_start() == {"FINISHED"}
    seen += _draw_all(bpy, "live, waiting", problems)
    rx = session.receiver
    rx.handle_datagram(frame_bundle(1, blend={"jawOpen": 0.5}), SENDER)
    session.tick()
    seen += _draw_all(bpy, "live, connected", problems)
    assert bpy.ops.kinemo.record_start() == {"FINISHED"}
    rx.handle_datagram(frame_bundle(2, time_s=0.1), SENDER)
    seen += _draw_all(bpy, "recording", problems)
    rx.handle_datagram(bundle([(protocol.ADDR_EYES, "iddffff", (3, 0.0, 0.1, math.nan, 0.0, 0.0, 0.0))]), SENDER)
    session.errors, session.last_error = 1, "ValueError: something broke"
    rx.stats.last_receive = time.monotonic() - 10  # the sender went quiet
    assert session.status()["state"] == "lost" and session.status()["bad_values"] == 1
    seen += _draw_all(bpy, "lost, errors, bad values", problems)
    jobs.start("VIDEO", [sys.executable, "-c", "import time; time.sleep(30)"])
    failed = jobs.start("AUDIO", [sys.executable, "-c",
                                  "import sys; print('kinemo: error: no such file', file=sys.stderr); sys.exit(2)"])
    _wait(lambda: not failed.status().running and failed.status().error)
    seen += _draw_all(bpy, "job running, job failed", problems)
    jobs.stop_all()
    assert bpy.ops.kinemo.live_stop() == {"FINISHED"}
    session.stop_error = "The receiver thread on port 1 did not stop; restart Blender if frames misbehave"
    seen += _draw_all(bpy, "stopped, thread stuck", problems)
    session.stop_error = ""
    assert not problems, "\n".join(problems)
    for name in ("target", "smoothing", "channels", "gain", "kinemo.live_start", "kinemo.live_stop",
                 "kinemo.record_start", "kinemo.record_stop", "kinemo.job_start", "kinemo.job_stop",
                 "root_bone", "allow", "reduce_tolerance", "action", "expressions", "expression_threshold",
                 "shape_keys", "kinemo.expression_map_defaults"):
        assert name in seen, f"no state drew {name!r}"
