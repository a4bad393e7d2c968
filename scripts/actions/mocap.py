"""Real motion capture → MediaPipe-33 pose tracks seen from any camera angle (evaluation and selection).

``../shared/data/motion`` holds real people's motion (CMU, AnimatedDrawings) in three
skeletons: BVH files of two rigs and CMU's 38-joint exponential maps. This module reads
each, runs the forward kinematics, places MediaPipe's 33 landmarks on the joints (face
points and hand/foot tips where the rig has none), normalises the body to the generator's
world (units of height, y up, facing +z, feet on the floor) and films it with the
generator's camera and tracker model (``kinemo.body.generator.film``) from a chosen yaw,
at a chosen frame rate. A panning camera keeps the performer in frame.

Every file keeps its ``source`` (data set, or the AnimatedDrawings subject), so selection
can leave one source out at a time.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kinemo.body.generator import FACE_POINTS, TRAIN, GeneratorConfig, film, perform, with_config
from kinemo.body.kinematics import MEDIAPIPE_DEPTH
from kinemo.body.posefile import PoseTrack
from kinemo.body.skeleton import INDEX, NUM_LANDMARKS, mirror

MOTION = Path(__file__).resolve().parents[3] / "shared" / "data" / "motion"
#: Labels of the manifest that are built-in actions; ``negative`` files hold none of them.
ACTIONS = ("walk", "jump", "wave")

# rig joint names → the body points we need (per side: L/R)
_AD = {"head": "Head", "head_end": "Head_end", "neck": "Neck", "shoulder": "{S}Arm", "elbow": "{S}ForeArm",
       "wrist": "{S}Hand", "hand_end": "{S}HandEnd", "thumb": "{S}HandThumb1", "hip": "{S}UpLeg",
       "knee": "{S}Leg", "ankle": "{S}Foot", "toe": "{S}ToeBase"}
_CMU_BVH = {"head": "Head", "head_end": "Head_end", "neck": "Neck", "shoulder": "{S}Shoulder", "elbow": "{S}Elbow",
            "wrist": "{S}Wrist", "hand_end": "{s}Fingers", "thumb": "{s}Thumb", "hip": "{S}Hip",
            "knee": "{S}Knee", "ankle": "{S}Ankle", "toe": "{S}Toe"}
_CC = {"head": "CC_Base_Head", "head_end": "CC_Base_Head_end", "neck": "CC_Base_NeckTwist01",
       "shoulder": "CC_Base_{s}_Upperarm", "elbow": "CC_Base_{s}_Forearm", "wrist": "CC_Base_{s}_Hand",
       "hand_end": "CC_Base_{s}_Mid1", "thumb": "CC_Base_{s}_Thumb1", "hip": "CC_Base_{s}_Thigh",
       "knee": "CC_Base_{s}_Calf", "ankle": "CC_Base_{s}_Foot", "toe": "CC_Base_{s}_ToeBase"}
_ROKOKO = {"head": "Head", "head_end": "Head_end", "neck": "Neck", "shoulder": "{S}Arm", "elbow": "{S}ForeArm",
           "wrist": "{S}Hand", "hand_end": "{S}HandMiddle1", "thumb": "{S}HandThumb1", "hip": "{S}UpLeg",
           "knee": "{S}Leg", "ankle": "{S}Foot", "toe": "{S}ToeBase"}
# CMU 38-joint exp-map skeleton (parents in skeleton_cmu38.json): left leg 1-6, right 7-12, spine 13-19,
# left arm 20-28, right arm 29-37; a joint's position is where its parent's bone ends.
_CMU38 = {"head": 18, "head_end": 19, "neck": 16, "shoulder": (21, 30), "elbow": (22, 31), "wrist": (23, 32),
          "hand_end": (25, 34), "thumb": (27, 36), "hip": (2, 8), "knee": (3, 9), "ankle": (4, 10), "toe": (5, 11)}
_SIDE_KEYS = ("shoulder", "elbow", "wrist", "hand_end", "thumb", "hip", "knee", "ankle", "toe")


@dataclass
class MotionFile:
    path: Path
    source: str  # data set or subject: the unit left out in selection
    label: str  # walk, jump, wave, negative, unsure
    description: str
    fps: float

    @property
    def key(self) -> str:
        """The file's path in the motion folder without its suffix: unique (the CMU exp-map set has
        ``train/jumping/jumping_1`` and ``test/jumping/jumping_1``, so folder and stem are not)."""
        parts = self.path.with_suffix("").parts
        return "/".join(parts[parts.index("motion") + 1:] if "motion" in parts else parts[-2:])

    @property
    def also(self) -> tuple[str, ...]:
        """Actions that may happen in this file besides its label: none is a hit, none is false.

        The manifest labels "walk and point" or "walk, side punch" ``negative`` (another action),
        yet the performer walks: a ``walk`` event there is right, and not what the file is about.
        """
        return ("walk",) if self.label == "negative" and self.description.lower().startswith("walk") else ()


# --- readers ------------------------------------------------------------------------------------

def _rot(axis: str, deg: np.ndarray) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    m = np.zeros((len(a), 3, 3))
    i, j = {"X": (1, 2), "Y": (2, 0), "Z": (0, 1)}[axis]
    k = 3 - i - j
    m[:, k, k] = 1
    m[:, i, i] = m[:, j, j] = c
    m[:, i, j], m[:, j, i] = -s, s
    return m


def read_bvh(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], float]:
    """BVH → ({joint name: (F, 3) world positions}, frame rate). End sites are ``PARENT_end``."""
    tokens = Path(path).read_text().split()
    i = 0
    names, parents, offsets, channels = [], [], [], []
    stack: list[int] = []
    while tokens[i] != "MOTION":
        tok = tokens[i]
        if tok in ("ROOT", "JOINT", "End"):
            name = tokens[i + 1] if tok != "End" else names[stack[-1]] + "_end"
            names.append(name)
            parents.append(stack[-1] if stack else -1)
            channels.append([])
            offsets.append(None)
            i += 2
        elif tok == "{":
            stack.append(len(names) - 1)
            i += 1
        elif tok == "}":
            stack.pop()
            i += 1
        elif tok == "OFFSET":
            offsets[stack[-1]] = np.array([float(v) for v in tokens[i + 1:i + 4]])
            i += 4
        elif tok == "CHANNELS":
            n = int(tokens[i + 1])
            channels[stack[-1]] = tokens[i + 2:i + 2 + n]
            i += 2 + n
        else:
            i += 1
    frames = int(tokens[i + 2])
    frame_time = float(tokens[i + 5])
    data = np.array(tokens[i + 6:], np.float64).reshape(frames, -1)
    col = 0
    rots: list[np.ndarray] = []
    pos: list[np.ndarray] = []
    for j, chans in enumerate(channels):
        r = np.repeat(np.eye(3)[None], frames, axis=0)
        p = np.repeat(offsets[j][None], frames, axis=0)
        for c in chans:
            v = data[:, col]
            col += 1
            if c.endswith("position"):
                p[:, "XYZ".index(c[0])] += v if parents[j] < 0 else 0.0
            else:
                r = r @ _rot(c[0], v)
        if parents[j] >= 0:
            pr, pp = rots[parents[j]], pos[parents[j]]
            p = pp + np.einsum("fij,fj->fi", pr, offsets[j][None].repeat(frames, 0))
            r = pr @ r
        rots.append(r)
        pos.append(p)
    return dict(zip(names, pos, strict=True)), 1.0 / frame_time


def _expmap(r: np.ndarray) -> np.ndarray:
    theta = np.linalg.norm(r, axis=-1, keepdims=True)
    k = r / np.maximum(theta, 1e-12)
    kx = np.zeros(r.shape[:-1] + (3, 3))
    kx[..., 0, 1], kx[..., 0, 2], kx[..., 1, 2] = -k[..., 2], k[..., 1], -k[..., 0]
    kx = kx - np.swapaxes(kx, -1, -2)
    th = theta[..., None]
    return np.eye(3) + np.sin(th) * kx + (1 - np.cos(th)) * kx @ kx


def read_expmap(path: str | os.PathLike) -> tuple[np.ndarray, float]:
    """CMU 38-joint exponential maps → ((F, 38, 3) positions in CMU lengths × 70, 120 fps)."""
    skel = json.loads((MOTION / "cmu_seq2seq_expmap" / "skeleton_cmu38.json").read_text())
    parent, offset = skel["parent"], np.array(skel["offset"], np.float64)
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    f = len(rows)
    xyz = np.zeros((f, len(parent), 3))
    rot = np.zeros((f, len(parent), 3, 3))
    for j, pj in enumerate(parent):
        r = _expmap(rows[:, 3 + 3 * j:6 + 3 * j])
        if pj < 0:
            rot[:, j] = r
            xyz[:, j] = offset[j] + rows[:, :3] * 70.0  # root motion in the offsets' units (CMU lengths × 70)
        else:
            rot[:, j] = r @ rot[:, pj]
            xyz[:, j] = np.einsum("j,fjk->fk", offset[j], rot[:, pj]) + xyz[:, pj]
    return xyz, 120.0


# --- rig → 33 landmarks -------------------------------------------------------------------------

def _points_bvh(joints: dict[str, np.ndarray], rig: dict) -> dict[str, np.ndarray]:
    out = {}
    for key, name in rig.items():
        if key in _SIDE_KEYS:
            for side, s, S in (("l", "L", "Left"), ("r", "R", "Right")):
                out[f"{side}_{key}"] = joints[name.format(s=s, S=S)]
        elif name in joints:
            out[key] = joints[name]
    if "head_end" not in out:  # a rig without a head end site: about one neck → head length further up
        out["head_end"] = out["head"] + 0.8 * (out["head"] - out["neck"])
    return out


def _points_cmu38(xyz: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for key, idx in _CMU38.items():
        if isinstance(idx, tuple):
            out[f"l_{key}"], out[f"r_{key}"] = xyz[:, idx[0]], xyz[:, idx[1]]
        else:
            out[key] = xyz[:, idx]
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def to_world33(pts: dict[str, np.ndarray]) -> np.ndarray:
    """Body points (any axes and units) → (F, 33, 3) in the generator's world: height units, y up, +z facing."""
    p = {k: np.asarray(v, np.float64) for k, v in pts.items()}
    # up: the axis along which the head stands highest above the ankles
    rise = (p["head"] - 0.5 * (p["l_ankle"] + p["r_ankle"])).mean(0)
    up_axis = int(np.argmax(np.abs(rise)))
    up = np.zeros(3)
    up[up_axis] = np.sign(rise[up_axis])
    left = (p["l_hip"] - p["r_hip"]).mean(0) + (p["l_shoulder"] - p["r_shoulder"]).mean(0)
    left -= up * (left @ up)
    left = _unit(left)
    fwd = np.cross(left, up)
    # is "l_" really the performer's left? The nose side (toe direction) must be forward.
    toes = (p["l_toe"] - p["l_ankle"] + p["r_toe"] - p["r_ankle"]).mean(0)
    if toes @ fwd < 0:  # labels mirrored in this rig: swap sides
        for key in _SIDE_KEYS:
            p[f"l_{key}"], p[f"r_{key}"] = p[f"r_{key}"], p[f"l_{key}"]
        left, fwd = -left, -fwd
    basis = np.stack([left, up, fwd])  # rows: world x (left), y (up), z (forward)
    p = {k: v @ basis.T for k, v in p.items()}
    floor = np.percentile(np.minimum(p["l_ankle"][:, 1], p["r_ankle"][:, 1]), 5)
    height = np.percentile(p["head_end"][:, 1], 90) - floor
    height *= 1.0 / 0.93  # the head joint's end sits a little under the top of the skull
    p = {k: (v - np.array([0.0, floor, 0.0])) / height + np.array([0.0, 0.045, 0.0]) for k, v in p.items()}
    f = len(p["head"])
    out = np.zeros((f, NUM_LANDMARKS, 3))
    # face: head frame from the neck → head-end axis and the shoulders' facing
    head_up = _unit(p["head_end"] - p["neck"])
    sh_left = _unit(p["l_shoulder"] - p["r_shoulder"])
    face_fwd = _unit(np.cross(sh_left, head_up))
    face_left = np.cross(head_up, face_fwd)
    centre = 0.5 * (p["head"] + p["head_end"])
    for name, (x, y, z) in FACE_POINTS.items():
        out[:, INDEX[name]] = centre + x * face_left + y * head_up + z * face_fwd
    for side, word in (("l", "left"), ("r", "right")):
        for key in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
            out[:, INDEX[f"{word}_{key}"]] = p[f"{side}_{key}"]
        w, tip, th = p[f"{side}_wrist"], p[f"{side}_hand_end"], p[f"{side}_thumb"]
        hand = _unit(tip - w)
        out[:, INDEX[f"{word}_index"]] = w + 0.075 * hand
        out[:, INDEX[f"{word}_pinky"]] = w + 0.065 * hand - 0.25 * (th - w)
        out[:, INDEX[f"{word}_thumb"]] = w + 0.6 * (th - w) + 0.02 * hand
        ankle, toe = p[f"{side}_ankle"], p[f"{side}_toe"]
        foot = _unit((toe - ankle) * np.array([1.0, 0.0, 1.0]))
        out[:, INDEX[f"{word}_heel"]] = ankle - 0.035 * foot - np.array([0.0, 0.03, 0.0])
        out[:, INDEX[f"{word}_foot_index"]] = ankle + 0.12 * foot - np.array([0.0, 0.04, 0.0])
    return out


def load_world(item: MotionFile) -> tuple[np.ndarray, float]:
    """A motion file → ((F, 33, 3) world landmarks, its frame rate)."""
    if item.source == "generator":
        return generator_world(item)
    if item.path.suffix == ".bvh":
        joints, fps = read_bvh(item.path)
        if "CC_Base_Hip" in joints:
            rig = _CC
        elif "LHipJoint" in joints:
            rig = _CMU_BVH
        elif "LeftHandMiddle1" in joints:
            rig = _ROKOKO
        else:
            rig = _AD
        return to_world33(_points_bvh(joints, rig)), fps
    xyz, fps = read_expmap(item.path)
    return to_world33(_points_cmu38(xyz)), fps


# --- filming --------------------------------------------------------------------------------------

#: Camera ranges for mocap: the generator's, at a fixed yaw per render, not mirrored (mirroring is a
#: separate view), upper-body framing off (these are whole-body actions).
CAMERA = with_config(TRAIN, mirror_prob=0.0, upper_body_prob=0.0, camera_pitch_deg=(-5.0, 15.0),
                     depth_scale=MEDIAPIPE_DEPTH)  # as MediaPipe reports depth


def torso_lengths(points: np.ndarray) -> np.ndarray:
    """(T, 33, D) points (world or picture) → (T,) hip centre → shoulder centre lengths."""
    return np.linalg.norm(0.5 * (points[:, INDEX["left_shoulder"]] + points[:, INDEX["right_shoulder"]])
                          - 0.5 * (points[:, INDEX["left_hip"]] + points[:, INDEX["right_hip"]]), axis=-1)


#: What the 3-D capture itself shows, whatever the file's label says, in the window around a moment (1.6 s before
#: it, 0.5 s after; lengths in torso lengths): walking is the hips travelling ``TRAVEL`` along the floor while the
#: lower foot never rises ``FLIGHT`` above the take's ground; jumping is that foot rising so (both feet off the
#: floor) while the feet's distance along the floor changes by less than ``STRIDE`` (they leave and land together)
BEFORE, AFTER = 1.6, 0.5
TRAVEL, FLIGHT, STRIDE = 1.0, 0.15, 0.5


def body_did(world: np.ndarray, fps: float) -> dict[str, np.ndarray]:
    """Per frame of a take's world landmarks (y up): whether the body was walking, or jumping, around it.

    A file's label names what the file is about (a dance, picking up…), not everything in it: a dancing child
    walks across the room and jumps. Judged from the capture, not from a camera, by what the words mean: a walk
    keeps a foot on the floor (a run or a skip leaves it), a jump leaves the floor with both feet together (a run,
    a skip or a leap strides). Selection counts an event of such an action there neither as found nor as false.
    """
    def floor(p: np.ndarray) -> np.ndarray:
        return p[:, [0, 2]]

    hips = 0.5 * (floor(world[:, INDEX["left_hip"]]) + floor(world[:, INDEX["right_hip"]]))
    torso = float(np.median(torso_lengths(world)))
    lower = np.minimum(world[:, INDEX["left_ankle"], 1], world[:, INDEX["right_ankle"], 1])
    lift = (lower - np.percentile(lower, 10)) / torso
    apart = np.linalg.norm(floor(world[:, INDEX["left_ankle"]]) - floor(world[:, INDEX["right_ankle"]]), axis=1) / torso
    n = len(world)
    a = np.clip(np.arange(n) - int(BEFORE * fps), 0, n - 1)
    b = np.clip(np.arange(n) + int(AFTER * fps), 0, n - 1)
    travel = np.linalg.norm(hips[b] - hips[a], axis=1) / torso
    flight = np.array([lift[i:j + 1].max() for i, j in zip(a, b, strict=True)])
    stride = np.array([np.ptp(apart[i:j + 1]) for i, j in zip(a, b, strict=True)])
    return {"walk": (travel >= TRAVEL) & (flight < FLIGHT), "jump": (flight >= FLIGHT) & (stride < STRIDE)}


def did_then(did: dict[str, np.ndarray], fps: float, label: str, t: float) -> bool:
    """Whether :func:`body_did` (per frame at ``fps``) says the body did ``label`` at ``t`` s into the take."""
    done = did.get(label)
    return done is not None and len(done) > 0 and bool(done[int(np.clip(round(t * fps), 0, len(done) - 1))])


def scored(events: list, label: str, did: dict[str, np.ndarray], fps: float) -> list[str]:
    """The labels of the events that score on a take of ``label``: its own always (found), another action's
    unless :func:`body_did` (per frame at ``fps``) says the body did it as the event starts (then neither found
    nor false)."""
    return [e.label for e in events if e.label == label or not did_then(did, fps, e.label, e.start)]


def resample(world: np.ndarray, fps_in: float, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(F, 33, 3) world landmarks at ``fps_in`` → (times, the landmarks at ``fps``), linearly interpolated."""
    t_in = np.arange(len(world)) / fps_in
    t = np.arange(0.0, t_in[-1], 1.0 / fps)
    flat = world.reshape(len(world), -1)
    w = np.stack([np.interp(t, t_in, flat[:, k]) for k in range(flat.shape[1])], axis=1).reshape(len(t), -1, 3)
    return t, w


def follow(points: np.ndarray, fps: float, pan: float = 2.0) -> np.ndarray:
    """Where a camera operator panning after ``points`` (T, D) aims: their moving average over ``pan`` s."""
    k = max(1, int(round(pan * fps)))
    pad = np.pad(points, ((k // 2, k - 1 - k // 2), (0, 0)), mode="edge")
    return np.stack([np.convolve(pad[:, a], np.ones(k) / k, mode="valid") for a in range(points.shape[1])], axis=1)


def render(world: np.ndarray, fps_in: float, *, yaw_deg: float, fps: float, seed: int,
           cfg: GeneratorConfig = CAMERA, mirrored: bool = False, pan: float = 2.0) -> PoseTrack:
    """Film world landmarks at ``fps`` from ``yaw_deg`` (0: frontal, 90: the performer's left side)."""
    rng = np.random.default_rng(seed)
    t, w = resample(world, fps_in, fps)
    # the camera pans after the performer: the hips' moving average stays centred
    aim = follow(0.5 * (w[:, INDEX["left_hip"]] + w[:, INDEX["right_hip"]])[:, [0, 2]], fps, pan)
    w[..., 0] -= aim[:, None, 0]
    w[..., 2] -= aim[:, None, 1]
    lm, size = film(rng, t, w, cfg, yaw_deg=yaw_deg)
    if mirrored:
        lm = mirror(lm)
    return PoseTrack(time=t, landmarks=lm, present=np.ones(len(t), bool), fps=fps, size=size)


# --- the manifest ----------------------------------------------------------------------------------

def _source(row: dict) -> str:
    ds = row["dataset"]
    if ds.startswith("CMU (iClone"):
        return "cmu_iclone"
    if ds.startswith("CMU (Li"):
        return "cmu_expmap"
    path = row["local_path"]
    if "/history/" in path:
        return "ad_" + path.split("/history/")[1].split("/")[0]
    if "/fair1/" in path:  # FAIR example files: captures of the two children (subject column)
        return "ad_" + row["subject"].split()[0]
    return "ad_other"


#: the generator's motions that no motion file shows (and waves; ``sweep``: a horizontal arm wave, a straight arm
#: swept level), for renders through the real tracker
GENERATOR_LABELS = ("clap", "hands_up", "bow", "squat", "wave", "sweep")
#: the event a generator motion is found by, where it is not its own name
GENERATOR_EVENT = {"sweep": "wave"}
GENERATOR_FPS = 30.0


def generator_item(motion: str, take: int) -> MotionFile:
    """Take ``take`` of the motion generator's ``motion`` as a motion file (``generator/clap3``): idle, the
    action, idle, performed by a random body (its seed is the name)."""
    return MotionFile(Path("generator") / f"{motion}{take}", "generator", GENERATOR_EVENT.get(motion, motion),
                      f"the motion generator's {motion}", GENERATOR_FPS)


def generator_motion(name: str) -> str:
    """A generator take's motion: ``sweep3`` → ``sweep``."""
    return name.rstrip("0123456789")


def generator_take(name: str) -> MotionFile | None:
    """``clap3`` → :func:`generator_item` ``("clap", 3)``; None for any other name."""
    motion = generator_motion(name)
    return generator_item(motion, int(name[len(motion):])) if motion in GENERATOR_LABELS and motion != name else None


def generator_world(item: MotionFile) -> tuple[np.ndarray, float]:
    """The world landmarks of a :func:`generator_item` (the same for the same name)."""
    motion = generator_motion(item.path.name)
    rng = np.random.default_rng([int(item.path.name[len(motion):]), *motion.encode()])
    script = [("idle", rng.uniform(0.8, 2.0)), (motion, rng.uniform(2.0, 4.5)), ("idle", rng.uniform(0.5, 1.5))]
    _, world = perform(rng, script, GENERATOR_FPS)
    return world, GENERATOR_FPS


def read_manifest(root: Path = MOTION) -> list[MotionFile]:
    """Every motion file with its source and label."""
    items = []
    with open(root / "MANIFEST.tsv", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            items.append(MotionFile(root / row["local_path"], _source(row), row["our_label"], row["description"],
                                    float(row["fps"] or 120.0)))
    return items
