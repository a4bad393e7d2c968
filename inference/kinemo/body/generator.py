"""Motion generator: labelled 33-landmark pose sequences, as MediaPipe would report them.

No public labelled pose data set is reachable here, so the classifier learns from this
generator. It animates a parametric skeleton (random height and proportions) through
scripted motions with random tempo, amplitude, handedness and style, blends between
them, films it with a random pinhole camera (angle, height, distance, field of view,
framing, aspect ratio), optionally mirrors it, and degrades it like a real tracker
(correlated jitter, noisy depth, occluded and out-of-frame joints with low visibility,
dropped frames, uneven frame times). Everything a run draws comes from one
``numpy.random.Generator``, so a seed reproduces a data set exactly.

World frame: metres in units of body height ``H``; y up; the performer stands at the
origin facing +z; +x is the performer's left.

Why it ships in the runtime package: ``kinemo actions train`` (the few-shot trainer,
:mod:`kinemo.body.fewshot`) draws its negative windows from it on the user's machine.
The rest of the training (data sets, the network) lives in ``scripts/actions/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from kinemo.body.skeleton import INDEX, NUM_LANDMARKS, mirror

#: The default vocabulary. ``idle`` is the background class (standing, sitting, fidgeting) and
#: ``other`` is motion that is none of the actions (throws, punches, pushes, sitting down,
#: carrying, kicks…); neither ever becomes an event.
VOCABULARY: tuple[str, ...] = ("idle", "wave", "clap", "hands_up", "jump", "squat", "walk", "bow", "other")
#: Labels that are never events.
QUIET: tuple[str, ...] = ("idle", "other")
#: Motions the generator can make that the shipped model never saw (to test user-trained actions).
EXTRA_MOTIONS: tuple[str, ...] = ("punch", "kick")


@dataclass(frozen=True)
class GeneratorConfig:
    """Ranges every sequence draws from. ``SHIFTED`` widens them to test generalisation."""

    fps: tuple[float, float] = (8.0, 32.0)  # real skeleton streams run as slow as 8 FPS (UTKinect)
    height_m: tuple[float, float] = (1.45, 1.95)
    proportion_jitter: float = 0.07  # each bone length × U(1 ± this)
    tempo: tuple[float, float] = (0.8, 1.25)  # × every motion's natural speed
    amplitude: tuple[float, float] = (0.75, 1.2)  # × every motion's natural size
    camera_yaw_deg: tuple[float, float] = (-60.0, 60.0)
    camera_pitch_deg: tuple[float, float] = (-10.0, 25.0)  # + looks down at the person
    camera_roll_deg: tuple[float, float] = (-5.0, 5.0)
    fov_deg: tuple[float, float] = (50.0, 80.0)  # horizontal
    fill: tuple[float, float] = (0.45, 0.92)  # share of the image height the framed body takes
    upper_body_prob: float = 0.25  # webcam framing: legs out of the frame
    offset: float = 0.15  # how far off-centre the person may stand (image fraction)
    mirror_prob: float = 0.5
    noise: tuple[float, float] = (0.002, 0.012)  # landmark jitter, × body height
    occlusion_prob: tuple[float, float] = (0.0, 0.06)  # per joint and second
    drop_frame_prob: tuple[float, float] = (0.0, 0.05)
    depth_scale: tuple[float, float] = (0.6, 1.4)  # × the true depth MediaPipe reports as z (x's scale)
    aspects: tuple[tuple[int, int], ...] = ((640, 480), (1280, 720), (600, 600), (720, 1280))
    # waves include a straight arm swept level (a horizontal arm wave): motion the shipped network never trained
    # on, filmed to choose the detectors
    more_motion: bool = False


#: TRAIN keeps the depth scale the shipped network learned on; what is filmed to judge the detectors uses
#: ``kinemo.body.kinematics.MEDIAPIPE_DEPTH``, the scale MediaPipe reports.
TRAIN = GeneratorConfig()
#: Different ranges (faster/slower, bigger/smaller, steeper angles, more noise, other
#: frame rates) than training: accuracy here shows the model generalises.
SHIFTED = GeneratorConfig(
    fps=(10.0, 60.0), height_m=(1.2, 2.05), proportion_jitter=0.1, tempo=(0.65, 1.45),
    amplitude=(0.6, 1.35), camera_yaw_deg=(-80.0, 80.0), camera_pitch_deg=(-20.0, 35.0),
    camera_roll_deg=(-10.0, 10.0), fov_deg=(40.0, 95.0), fill=(0.3, 1.0), upper_body_prob=0.3,
    offset=0.25, noise=(0.006, 0.02), occlusion_prob=(0.03, 0.12), drop_frame_prob=(0.03, 0.12),
    aspects=((640, 480), (1920, 1080), (480, 640), (1080, 1080), (800, 600)),
)


@dataclass
class PoseSequence:
    """One generated take: landmarks as MediaPipe normalises them, with ground-truth segments."""

    time: np.ndarray  # (T,) seconds
    landmarks: np.ndarray  # (T, 33, 4) x, y, z, visibility
    size: tuple[int, int]  # image width, height in pixels
    segments: list[tuple[str, float, float]]  # (label, start, end) seconds

    @property
    def fps(self) -> float:
        return float((len(self.time) - 1) / max(self.time[-1] - self.time[0], 1e-9))

    @property
    def present(self) -> np.ndarray:
        """A generated person is in every frame (as ``PoseTrack.present``)."""
        return np.ones(len(self.time), bool)

    @property
    def aspect(self) -> float:
        return self.size[0] / self.size[1]

    def label_at(self, t: float) -> str:
        for label, start, end in self.segments:
            if start <= t < end:
                return label
        return self.segments[-1][0]


# --- body ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Body:
    """Bone lengths in units of height, from anthropometric ratios with random jitter."""

    torso: float = 0.29  # hip centre → shoulder centre
    shoulder: float = 0.11  # half shoulder width
    hip: float = 0.06  # half hip width
    upper_arm: float = 0.186
    forearm: float = 0.16
    thigh: float = 0.245
    shin: float = 0.25
    ankle: float = 0.045  # ankle height above the ground
    head: float = 1.0  # head size factor

    @classmethod
    def sample(cls, rng: np.random.Generator, jitter: float) -> Body:
        base = cls()
        return cls(**{k: getattr(base, k) * rng.uniform(1 - jitter, 1 + jitter) for k in base.__dataclass_fields__})

    @property
    def arm(self) -> float:
        return self.upper_arm + self.forearm

    @property
    def pelvis(self) -> float:
        return self.ankle + 0.985 * (self.thigh + self.shin)


# Face points around the head centre, head frame, units of height (x = performer's left).
FACE_POINTS = {
    "nose": (0.0, -0.005, 0.058),
    "left_eye_inner": (0.012, 0.014, 0.05), "left_eye": (0.024, 0.016, 0.047), "left_eye_outer": (0.036, 0.015, 0.04),
    "right_eye_inner": (-0.012, 0.014, 0.05), "right_eye": (-0.024, 0.016, 0.047),
    "right_eye_outer": (-0.036, 0.015, 0.04),
    "left_ear": (0.046, 0.005, -0.002), "right_ear": (-0.046, 0.005, -0.002),
    "mouth_left": (0.02, -0.03, 0.048), "mouth_right": (-0.02, -0.03, 0.048),
}


# --- motion parameters -----------------------------------------------------------------------
# A motion is a function (t, duration, rng, style) → Params: per-frame arrays.
#   root (n,3): pelvis offset (H units, world); yaw (n,1): facing; torso (n,3): forward bend,
#   lean to the left, twist (rad); head (n,3): nod down, turn, tilt (rad);
#   hand_l/hand_r (n,3): wrist target from the shoulder, facing frame, arm-length units;
#   foot_l/foot_r (n,3): ankle from the pelvis' ground point, facing frame (y = lift), H units.

Params = dict[str, np.ndarray]
KEYS = ("root", "yaw", "torso", "head", "hand_l", "hand_r", "foot_l", "foot_r")


@dataclass
class Style:
    tempo: float
    amp: float
    side: int  # +1 left, -1 right: the hand or foot a one-sided motion uses
    variant: float  # U(0,1), picks a motion's variant
    more: bool = False  # ``GeneratorConfig.more_motion``


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _rest(n: int) -> Params:
    p = {k: np.zeros((n, 1 if k == "yaw" else 3)) for k in KEYS}
    p["hand_l"][:] = (0.09, -0.96, 0.06)
    p["hand_r"][:] = (-0.09, -0.96, 0.06)
    p["foot_l"][:] = (0.065, 0.0, 0.0)
    p["foot_r"][:] = (-0.065, 0.0, 0.0)
    return p


def _hand(side: int) -> str:
    return "hand_l" if side > 0 else "hand_r"


def _foot(side: int) -> str:
    return "foot_l" if side > 0 else "foot_r"


def _lowpass_noise(rng: np.random.Generator, t: np.ndarray, dims: int, hz: float) -> np.ndarray:
    """Smooth random motion: a few random sinusoids below ``hz``, unit-ish amplitude."""
    out = np.zeros((len(t), dims))
    for _ in range(3):
        f = rng.uniform(0.2, 1.0, dims) * hz
        out += np.sin(2 * np.pi * f * t[:, None] + rng.uniform(0, 2 * np.pi, dims)) / 3
    return out


def _set(p: Params, key: str, value, w: np.ndarray) -> None:
    """Blend ``p[key]`` towards ``value`` by weight ``w`` (per frame)."""
    p[key] = p[key] * (1 - w[:, None]) + np.asarray(value, float) * w[:, None]


def idle(t: np.ndarray, dur: float, rng: np.random.Generator, s: Style) -> Params:
    n = len(t)
    p = _rest(n)
    p["torso"][:, 0] = 0.015 * np.sin(2 * np.pi * 0.25 * t) + rng.uniform(-0.05, 0.12)
    p["torso"][:, 1] = 0.04 * _lowpass_noise(rng, t, 1, 0.3)[:, 0]
    p["root"][:, 0] = 0.012 * _lowpass_noise(rng, t, 1, 0.4)[:, 0]
    p["root"][:, 2] = 0.008 * _lowpass_noise(rng, t, 1, 0.4)[:, 0]
    p["head"] += _lowpass_noise(rng, t, 3, 0.5) * (0.15, rng.uniform(0.1, 0.6), 0.08)
    arms = rng.choice(["hang", "crossed", "hips", "fidget", "face", "phone", "gesture"])
    ones = np.ones(n)
    if arms == "crossed":
        _set(p, "hand_l", (-0.32, -0.5, 0.32), ones)
        _set(p, "hand_r", (0.32, -0.52, 0.3), ones)
    elif arms == "hips":
        _set(p, "hand_l", (0.3, -0.72, -0.02), ones)
        _set(p, "hand_r", (-0.3, -0.72, -0.02), ones)
    elif arms == "phone":
        _set(p, "hand_l", (-0.15, -0.55, 0.5), ones)
        _set(p, "hand_r", (0.15, -0.55, 0.5), ones)
        p["head"][:, 0] += 0.35
    elif arms == "face":  # a hand rests at the chin for a while, then goes back
        a, b = sorted(rng.uniform(0, dur, 2))
        w = smoothstep((t - a) / 0.6) * (1 - smoothstep((t - b) / 0.6))
        _set(p, _hand(s.side), (-s.side * 0.3, 0.05, 0.42), w)
    elif arms == "gesture":  # talking with the hands: slow, small, in front of the body
        for side in (1, -1):
            base = np.array([-side * 0.05, -0.6, 0.45])
            _set(p, _hand(side), base + _lowpass_noise(rng, t, 3, 0.8) * 0.15, ones)
    jitter = 0.03 if arms != "fidget" else 0.08
    for key in ("hand_l", "hand_r"):
        p[key] += _lowpass_noise(rng, t, 3, 0.7) * jitter
    if rng.random() < 0.3:  # shift weight onto one foot
        p["root"][:, 0] += rng.uniform(-0.03, 0.03)
    return p


def wave(t: np.ndarray, dur: float, rng: np.random.Generator, s: Style) -> Params:
    """One hand high or beside the head, one hand swept sideways in front, a straight arm swept
    level, or both hands overhead.

    Real data (UTKinect ``waveHands``, and one-hand waves filmed elsewhere) shows two-handed
    overhead waves and flat side-to-side waves in front of the face as often as the classic
    raised hand, so all are waves; MSR Action3D's "horizontal arm wave" sweeps the whole arm.
    """
    p = _rest(len(t))
    raise_ = smoothstep(t / (rng.uniform(0.25, 0.45) / s.tempo))
    f = rng.uniform(1.3, 3.0) * s.tempo
    phase0 = rng.uniform(0, 2 * np.pi)
    swing = s.amp * rng.uniform(0.13, 0.24) * np.sin(2 * np.pi * f * t + phase0)
    kind = s.variant
    if kind < 0.3:  # both hands overhead, swaying together (or mirrored)
        together = rng.random() < 0.6
        y, spread = rng.uniform(0.6, 0.95), rng.uniform(0.1, 0.45)
        amp2 = s.amp * rng.uniform(0.15, 0.3) * np.sin(2 * np.pi * f * 0.8 * t + phase0)
        for side in (1, -1):
            key = _hand(side)
            _set(p, key, (side * spread, y, rng.uniform(0.0, 0.3)), raise_)
            p[key][:, 0] += (amp2 if together else side * amp2) * raise_
            p[key][:, 1] -= np.abs(amp2) * 0.3 * raise_
        p["head"][:, 0] = -rng.uniform(0, 0.15) * raise_
        return p
    if s.more and 0.45 <= kind < 0.6:
        return _level_sweep(t, rng, s, raise_, phase0)
    if kind < 0.5:  # flat, side to side in front of the face or chest
        up = np.array([s.side * rng.uniform(0.0, 0.3), rng.uniform(-0.05, 0.45), rng.uniform(0.35, 0.7)])
    elif kind < 0.8:  # hand high
        up = np.array([s.side * rng.uniform(0.15, 0.35), rng.uniform(0.65, 0.85), rng.uniform(0.1, 0.3)])
    else:  # beside the head
        up = np.array([s.side * rng.uniform(0.35, 0.5), rng.uniform(0.25, 0.45), rng.uniform(0.15, 0.35)])
    _set(p, _hand(s.side), up, raise_)
    p[_hand(s.side)][:, 0] += swing * raise_
    p[_hand(s.side)][:, 1] -= np.abs(swing) * 0.25 * raise_  # the hand moves on an arc
    p["head"][:, 2] = s.side * rng.uniform(0, 0.1)
    p["torso"][:, 1] = s.side * rng.uniform(0, 0.06) * raise_
    return p


def sweep(t: np.ndarray, dur: float, rng: np.random.Generator, s: Style) -> Params:
    """A horizontal arm wave on its own (``wave`` makes one among its variants with ``more_motion``)."""
    raise_ = smoothstep(t / (rng.uniform(0.25, 0.45) / s.tempo))
    return _level_sweep(t, rng, s, raise_, rng.uniform(0, 2 * np.pi))


def _level_sweep(t: np.ndarray, rng: np.random.Generator, s: Style, raise_: np.ndarray, phase0: float) -> Params:
    """A straight arm at shoulder height swept side to side (MSR Action3D's horizontal arm wave)."""
    p = _rest(len(t))
    f_arm = rng.uniform(0.6, 1.3) * s.tempo  # a whole arm sweeps slower than a hand
    centre, half = rng.uniform(0.3, 0.9), s.amp * rng.uniform(0.35, 0.7)  # radians from straight ahead
    angle = centre + half * np.sin(2 * np.pi * f_arm * t + phase0)
    reach, y = rng.uniform(0.98, 1.0), rng.uniform(-0.2, 0.1)  # straight (the elbow on the line), about level
    level = np.stack([s.side * reach * np.sin(angle), np.full_like(t, y), reach * np.cos(angle)], axis=-1)
    key = _hand(s.side)
    p[key] = p[key] * (1 - raise_[:, None]) + level * raise_[:, None]
    p["torso"][:, 2] = s.side * 0.08 * np.sin(angle - centre) * raise_  # the shoulders follow a little
    return p


def clap(t: np.ndarray, dur: float, rng: np.random.Generator, s: Style) -> Params:
    """Small quick claps at the chest or overhead, or big slow ones with the arms opening wide.

    UTKinect's ``clapHands`` are mostly the big kind: about 1 Hz, the hands up to two arm
    lengths apart between claps, at chest height and not far in front.
    """
    p = _rest(len(t))
    raise_ = smoothstep(t / (0.3 / s.tempo))
    big = s.variant < 0.5
    y = rng.uniform(-0.5, 0.15) if s.variant < 0.88 else rng.uniform(0.5, 0.8)  # chest … above the head
    z = (rng.uniform(0.15, 0.6) if big else rng.uniform(0.35, 0.6)) if y < 0.4 else rng.uniform(0.1, 0.3)
    f = (rng.uniform(0.8, 1.6) if big else rng.uniform(1.5, 3.2)) * s.tempo
    width = rng.uniform(0.45, 1.0) if big else rng.uniform(0.22, 0.4)
    gap = s.amp * width * (0.5 + 0.5 * np.cos(2 * np.pi * f * t))
    mid = 0.11 / 0.346  # half shoulder width in arm lengths: where the hands meet
    for side in (1, -1):
        key = _hand(side)
        _set(p, key, (-side * mid, y, z), raise_)
        p[key][:, 0] += side * (gap + 0.04) * raise_
        if big:  # opening wide swings the hands back a little too
            p[key][:, 2] -= 0.3 * gap * raise_
    return p


def hands_up(t: np.ndarray, dur: float, rng: np.random.Generator, s: Style) -> Params:
    p = _rest(len(t))
    raise_ = smoothstep(t / (0.45 / s.tempo))
    kind = s.variant
    if kind < 0.45:
        up = (rng.uniform(0.05, 0.25), rng.uniform(0.9, 0.99), rng.uniform(0.0, 0.15))  # straight up
    elif kind < 0.8:
        up = (rng.uniform(0.35, 0.6), rng.uniform(0.7, 0.85), rng.uniform(0.0, 0.2))  # a V
    else:
        up = (rng.uniform(0.45, 0.6), rng.uniform(0.4, 0.55), rng.uniform(-0.05, 0.1))  # "surrender"
    for side in (1, -1):
        key = _hand(side)
        _set(p, key, (side * up[0], up[1], up[2]), raise_)
        p[key] += _lowpass_noise(rng, t, 3, 0.6) * 0.04 * raise_[:, None]
    p["torso"][:, 0] = -rng.uniform(0, 0.08) * raise_
    p["head"][:, 0] = -rng.uniform(0, 0.2) * raise_
    return p


def jump(t: np.ndarray, dur: float, rng: np.random.Generator, s: Style) -> Params:
    p = _rest(len(t))
    f = rng.uniform(0.9, 1.5) * s.tempo
    ph = (t * f) % 1.0
    h = s.amp * rng.uniform(0.07, 0.18)
    c = rng.uniform(0.03, 0.07)
    y = np.where(ph < 0.35, -c * np.sin(np.pi * ph / 0.35), 0.0)
    air = (ph >= 0.35) & (ph < 0.75)
    sa = (ph - 0.35) / 0.4
    y = np.where(air, h * 4 * sa * (1 - sa), y)
    land = ph >= 0.75
    y = np.where(land, -0.7 * c * np.sin(np.pi * (ph - 0.75) / 0.25), y)
    p["root"][:, 1] = y
    for side in (1, -1):
        p[_foot(side)][:, 1] = np.maximum(y, 0.0) * 0.95
        lift = np.clip(y / h, -0.5, 1.0)
        arm = rng.uniform(0.3, 1.0)
        p[_hand(side)][:, 1] += arm * 0.6 * np.maximum(lift, 0) - 0.1 * np.minimum(lift, 0)
        p[_hand(side)][:, 2] += arm * 0.35 * np.maximum(lift, 0)
        p[_hand(side)][:, 0] += side * 0.15 * np.maximum(lift, 0)
    p["torso"][:, 0] = 3.0 * np.maximum(-y, 0)
    return p


def squat(t: np.ndarray, dur: float, rng: np.random.Generator, s: Style) -> Params:
    p = _rest(len(t))
    f = rng.uniform(0.35, 0.7) * s.tempo
    down = 0.5 - 0.5 * np.cos(2 * np.pi * f * t)
    depth = s.amp * rng.uniform(0.12, 0.21)
    p["root"][:, 1] = -depth * down
    p["root"][:, 2] = -0.05 * down
    p["torso"][:, 0] = rng.uniform(0.2, 0.6) * down
    for side in (1, -1):
        p[_foot(side)][:, 0] = side * rng.uniform(0.07, 0.12)
    arms = s.variant
    for side in (1, -1):
        key = _hand(side)
        if arms < 0.4:
            _set(p, key, (side * 0.1, rng.uniform(-0.15, 0.05), 0.85), down)  # arms forward
        elif arms < 0.6:
            _set(p, key, (side * 0.3, -0.72, -0.02), np.ones(len(t)))  # hands on hips
        elif arms < 0.75:
            _set(p, key, (-side * 0.32, -0.3, 0.3), np.ones(len(t)))  # crossed on the chest
    return p


def walk(t: np.ndarray, dur: float, rng: np.random.Generator, s: Style) -> Params:
    p = _rest(len(t))
    f = rng.uniform(0.8, 1.1) * s.tempo
    phase = 2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)
    stride = s.amp * rng.uniform(0.1, 0.17)
    lift = rng.uniform(0.03, 0.07)
    for side in (1, -1):
        key = _foot(side)
        p[key][:, 2] = side * stride * np.sin(phase)
        p[key][:, 1] = lift * np.maximum(0.0, side * np.cos(phase))
        p[_hand(side)][:, 2] += -side * s.amp * rng.uniform(0.15, 0.35) * np.sin(phase)
        p[_hand(side)][:, 0] += side * 0.05
    p["root"][:, 1] = 0.008 * np.cos(2 * phase)
    p["torso"][:, 2] = 0.08 * np.sin(phase)
    p["torso"][:, 0] = rng.uniform(0.0, 0.08)
    mode = s.variant
    if mode < 0.4:
        return p  # on the spot (treadmill, or a game's "walk" gesture)
    speed = 4 * stride * f * rng.uniform(0.7, 1.0)
    if mode < 0.75:
        heading = s.side * rng.uniform(1.1, 1.7)  # across the frame
    else:
        heading = rng.uniform(-0.5, 0.5) + (np.pi if rng.random() < 0.25 else 0.0)  # towards / away
    p["yaw"][:, 0] = heading
    travel = np.minimum(np.maximum(t, 0.0) * speed, 0.8)  # stays in the frame
    p["root"][:, 0] += np.sin(heading) * travel
    p["root"][:, 2] += np.cos(heading) * travel
    return p


def bow(t: np.ndarray, dur: float, rng: np.random.Generator, s: Style) -> Params:
    p = _rest(len(t))
    down_t = rng.uniform(0.3, 0.4) * dur
    hold = rng.uniform(0.1, 0.3) * dur
    x = smoothstep(t / down_t) * (1 - smoothstep((t - down_t - hold) / down_t))
    angle = s.amp * rng.uniform(0.55, 1.2)
    p["torso"][:, 0] = angle * x
    p["head"][:, 0] = rng.uniform(0.0, 0.4) * x
    p["root"][:, 2] = -0.07 * np.sin(angle * x)
    if s.variant < 0.3:  # hands together in front / on the chest
        for side in (1, -1):
            _set(p, _hand(side), (-side * 0.28, -0.45, 0.35), np.ones(len(t)))
    elif s.variant < 0.45:  # one hand on the chest, a courtly bow
        _set(p, _hand(s.side), (-s.side * 0.3, -0.25, 0.3), np.ones(len(t)))
    return p


def punch(t: np.ndarray, dur: float, rng: np.random.Generator, s: Style) -> Params:
    p = _rest(len(t))
    guard = smoothstep(t / 0.25)
    f = rng.uniform(1.0, 1.6) * s.tempo
    for side in (1, -1):
        key = _hand(side)
        _set(p, key, (-side * 0.1, -0.4, 0.35), guard)
        phase = 2 * np.pi * f * t + (0 if side == s.side else np.pi)
        hit = np.maximum(0.0, np.sin(phase)) ** 2 * guard
        _set(p, key, (-side * 0.25, -0.05, 0.95), hit)
    p["torso"][:, 2] = 0.15 * np.sin(2 * np.pi * f * t)
    return p


def kick(t: np.ndarray, dur: float, rng: np.random.Generator, s: Style) -> Params:
    p = _rest(len(t))
    f = rng.uniform(0.6, 0.9) * s.tempo
    up = np.maximum(0.0, np.sin(2 * np.pi * f * t)) ** 1.5
    key = _foot(s.side)
    p[key][:, 2] = s.amp * 0.3 * up
    p[key][:, 1] = s.amp * 0.25 * up
    p["torso"][:, 0] = -0.15 * up
    for side in (1, -1):
        p[_hand(side)][:, 0] += side * 0.25 * up
    return p


# --- other: motion that is none of the actions (the explicit background class) -----------------
# What real people do between actions and what the real negatives (UTKinect) show firing
# false events: one-arm gestures (throw, punch, tennis swing, push, pull, reaching, drawing
# in the air), sitting down / standing up, picking something up, carrying a box, kicks.


def _once(t: np.ndarray, start: float, length: float) -> np.ndarray:
    """0 → 1 → 0 bump over [start, start + length] (a single stroke)."""
    x = np.clip((t - start) / max(length, 1e-3), 0.0, 1.0)
    return np.sin(np.pi * x) ** 2


def _strokes(t: np.ndarray, dur: float, rng: np.random.Generator, s: Style, length: tuple[float, float]
             ) -> np.ndarray:
    """One to three separate strokes at random times: real gestures are rarely rhythmic."""
    out = np.zeros(len(t))
    n = int(rng.integers(1, 4))
    for _ in range(n):
        ln = rng.uniform(*length) / s.tempo
        out = np.maximum(out, _once(t, rng.uniform(0.0, max(dur - ln, 0.05)), ln))
    return out


def _one_arm(t, dur, rng, s) -> Params:
    p = _rest(len(t))
    key = _hand(s.side)
    kind = rng.choice(["throw", "throw", "punch", "tennis", "push1", "reach", "reach", "draw", "point"])
    if kind == "throw":  # wind up overhead behind, then fling forward
        for _ in range(int(rng.integers(1, 3))):
            a = rng.uniform(0, max(dur - 1.0, 0.05))
            back = _once(t, a, 0.6 / s.tempo)
            fling = _once(t, a + 0.45 / s.tempo, 0.35 / s.tempo)
            _set(p, key, (s.side * 0.3, rng.uniform(0.4, 0.8), -0.4), back)
            _set(p, key, (-s.side * 0.1, rng.uniform(-0.2, 0.3), 0.9), fling)
            p["torso"][:, 2] += s.side * 0.3 * (back - fling)
    elif kind == "punch":
        guard = smoothstep(t / 0.3)
        _set(p, key, (-s.side * 0.05, -0.35, 0.4), guard)
        _set(p, key, (-s.side * rng.uniform(0.0, 0.25), rng.uniform(-0.2, 0.15), 0.95),
             _strokes(t, dur, rng, s, (0.25, 0.45)))
    elif kind == "tennis":  # a swing across the body at waist height, torso turning
        sw = _strokes(t, dur, rng, s, (0.5, 0.9))
        _set(p, key, (s.side * 0.7, rng.uniform(-0.5, 0.0), -0.2), smoothstep(t / 0.4) * (1 - sw))
        _set(p, key, (-s.side * 0.5, rng.uniform(-0.3, 0.3), 0.6), sw)
        p["torso"][:, 2] += -s.side * 0.4 * sw
    elif kind == "push1":  # a door: one hand forward and back
        _set(p, key, (-s.side * 0.05, rng.uniform(-0.4, 0.0), 0.9), _strokes(t, dur, rng, s, (0.6, 1.2)))
    elif kind == "reach":  # take something from a shelf / point somewhere, slowly
        target = (s.side * rng.uniform(0.0, 0.8), rng.uniform(-0.3, 0.9), rng.uniform(0.3, 0.9))
        _set(p, key, target, _strokes(t, dur, rng, s, (1.0, 2.2)))
    elif kind == "draw":  # drawing a shape in the air: slow, irregular, in front
        c = np.array([s.side * rng.uniform(0.0, 0.3), rng.uniform(-0.3, 0.3), rng.uniform(0.5, 0.8)])
        path = _lowpass_noise(rng, t, 3, rng.uniform(0.4, 0.9)) * (0.3, 0.3, 0.05)
        _set(p, key, c, smoothstep(t / 0.5))
        p[key] += path * smoothstep(t / 0.5)[:, None]
    else:  # point and hold
        _set(p, key, (s.side * rng.uniform(0.2, 0.6), rng.uniform(-0.1, 0.5), rng.uniform(0.5, 0.9)),
             smoothstep((t - rng.uniform(0, 0.5)) / 0.4))
    if rng.random() < 0.3:  # the other hand does a little too
        p[_hand(-s.side)] += _lowpass_noise(rng, t, 3, 0.7) * 0.08
    return p


def _two_arm(t, dur, rng, s) -> Params:
    p = _rest(len(t))
    kind = rng.choice(["push", "pull", "pull_high", "lift", "stretch"])
    stroke = _strokes(t, dur, rng, s, (0.8, 1.6))
    for side in (1, -1):
        key = _hand(side)
        if kind == "push":
            _set(p, key, (-side * 0.15, -0.45, 0.35), smoothstep(t / 0.4))
            _set(p, key, (side * 0.05, rng.uniform(-0.3, 0.0), 0.95), stroke)
        elif kind == "pull":
            _set(p, key, (-side * 0.1, rng.uniform(-0.3, 0.0), 0.9), smoothstep(t / 0.4) * (1 - stroke))
            _set(p, key, (-side * 0.2, -0.5, 0.3), stroke)
        elif kind == "pull_high":  # a rope or a lever: reach up and forward, pull down to the chest
            _set(p, key, (side * 0.1, rng.uniform(0.3, 0.8), 0.6), smoothstep(t / 0.4) * (1 - stroke))
            _set(p, key, (-side * 0.15, -0.5, 0.3), stroke)
        elif kind == "lift":  # raise an object to the chest and put it down
            _set(p, key, (-side * 0.2, -0.2, 0.5), stroke)
        else:  # a stretch: arms out to the sides, held, back
            _set(p, key, (side * 0.95, rng.uniform(-0.1, 0.2), 0.1), stroke)
    if kind in ("push", "pull"):
        p["torso"][:, 0] += 0.12 * stroke
    return p


def _sit(t, dur, rng, s) -> Params:
    """Sit down on a chair, stay seated a while, stand up (or only one of them)."""
    p = _rest(len(t))
    down_len, up_len = rng.uniform(0.8, 1.5) / s.tempo, rng.uniform(0.8, 1.5) / s.tempo
    mode = rng.choice(["down", "up", "both"])
    if mode == "down":
        seated = smoothstep((t - rng.uniform(0, 0.5)) / down_len)
    elif mode == "up":
        seated = 1 - smoothstep((t - rng.uniform(0.2, max(dur - up_len, 0.3))) / up_len)
    else:
        a = rng.uniform(0, 0.5)
        b = rng.uniform(a + down_len + 0.5, max(dur - up_len, a + down_len + 0.6))
        seated = smoothstep((t - a) / down_len) * (1 - smoothstep((t - b) / up_len))
    transit = 4 * seated * (1 - seated)  # bending forward on the way
    drop, back = rng.uniform(0.2, 0.28), rng.uniform(0.1, 0.2)
    p["root"][:, 1] = -drop * seated
    p["root"][:, 2] = -back * seated
    for side in (1, -1):
        p[_foot(side)][:, 2] = back * seated * rng.uniform(0.8, 1.1)
        p[_foot(side)][:, 0] = side * rng.uniform(0.07, 0.13)
    p["torso"][:, 0] = rng.uniform(0.4, 0.8) * transit + rng.uniform(0.0, 0.15) * seated
    arms = rng.random()
    for side in (1, -1):
        if arms < 0.4:  # hands on the thighs when seated
            _set(p, _hand(side), (side * 0.05, -0.55, 0.5), seated)
        elif arms < 0.6:  # pushing off the armrests / knees on the way
            _set(p, _hand(side), (side * 0.25, -0.7, 0.35), transit)
    return p


def _pick_up(t, dur, rng, s) -> Params:
    p = _rest(len(t))
    ln = rng.uniform(1.2, 2.2) / s.tempo
    bend = _once(t, rng.uniform(0, max(dur - ln, 0.05)), ln)
    p["torso"][:, 0] = rng.uniform(0.7, 1.3) * bend
    p["root"][:, 1] = -rng.uniform(0.03, 0.12) * bend
    p["root"][:, 2] = -0.06 * bend
    both = rng.random() < 0.5
    for side in (1, -1):
        if both or side == s.side:
            _set(p, _hand(side), (side * 0.1, -0.85, 0.45), bend)
    return p


def _carry(t, dur, rng, s) -> Params:
    """Walking with a box held in front in both hands."""
    p = walk(t, dur, rng, s)
    y, z, w = rng.uniform(-0.65, -0.2), rng.uniform(0.35, 0.65), rng.uniform(0.1, 0.3)
    for side in (1, -1):
        key = _hand(side)
        p[key][:] = (side * w, y, z)
        p[key] += _lowpass_noise(rng, t, 3, 1.0) * 0.02
    p["torso"][:, 0] -= rng.uniform(0.0, 0.1)
    return p


def _kick(t, dur, rng, s) -> Params:
    p = _rest(len(t))
    up = _strokes(t, dur, rng, s, (0.5, 0.9))
    key = _foot(s.side)
    p[key][:, 2] = s.amp * rng.uniform(0.2, 0.4) * up
    p[key][:, 1] = s.amp * rng.uniform(0.15, 0.3) * up
    p["torso"][:, 0] = -0.15 * up
    for side in (1, -1):
        p[_hand(side)][:, 0] += side * 0.25 * up
    return p


def other(t: np.ndarray, dur: float, rng: np.random.Generator, s: Style) -> Params:
    """None of the actions: one of the motions above, picked by ``style.variant``."""
    v = s.variant
    if v < 0.42:
        p = _one_arm(t, dur, rng, s)
    elif v < 0.54:
        p = _two_arm(t, dur, rng, s)
    elif v < 0.68:
        p = _sit(t, dur, rng, s)
    elif v < 0.77:
        p = _pick_up(t, dur, rng, s)
    elif v < 0.9:
        p = _carry(t, dur, rng, s)
    else:
        p = _kick(t, dur, rng, s)
    p["head"] += _lowpass_noise(rng, t, 3, 0.5) * (0.1, 0.3, 0.05)
    return p


MOTIONS: dict[str, Callable[..., Params]] = {
    "idle": idle, "wave": wave, "clap": clap, "hands_up": hands_up, "jump": jump, "squat": squat,
    "walk": walk, "bow": bow, "other": other, "punch": punch, "kick": kick, "sweep": sweep,
}


# --- kinematics ------------------------------------------------------------------------------

def _rot(axis: int, a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    m = np.zeros((len(a), 3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m[:, axis, axis] = 1
    m[:, i, i], m[:, i, j], m[:, j, i], m[:, j, j] = c, -s, s, c
    return m


def _apply(r: np.ndarray, v) -> np.ndarray:
    return np.einsum("nij,nj->ni", r, np.broadcast_to(np.asarray(v, float), (len(r), 3)))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def two_bone(root: np.ndarray, target: np.ndarray, a: float, b: float, pole: np.ndarray):
    """Middle and end joint of a two-bone chain reaching for ``target``, bending towards ``pole``."""
    d = target - root
    dist = np.linalg.norm(d, axis=-1, keepdims=True)
    u = d / np.maximum(dist, 1e-9)
    dist = np.clip(dist, abs(a - b) + 1e-4, (a + b) * 0.999)
    cos_a = (a * a + dist * dist - b * b) / (2 * a * dist)
    sin_a = np.sqrt(np.maximum(0.0, 1 - cos_a * cos_a))
    v = _unit(pole - np.sum(pole * u, axis=-1, keepdims=True) * u)
    return root + a * (cos_a * u + sin_a * v), root + dist * u


def forward_kinematics(p: Params, body: Body) -> np.ndarray:
    """Params → (n, 33, 3) world positions in units of height."""
    n = len(p["root"])
    out = np.zeros((n, NUM_LANDMARKS, 3))
    ry = _rot(1, p["yaw"][:, 0])
    pelvis = np.array([0.0, body.pelvis, 0.0]) + p["root"]
    torso = ry @ _rot(1, p["torso"][:, 2]) @ _rot(0, p["torso"][:, 0]) @ _rot(2, -p["torso"][:, 1])
    sh_c = pelvis + _apply(torso, (0, body.torso, 0))
    head = torso @ _rot(1, p["head"][:, 1]) @ _rot(0, p["head"][:, 0]) @ _rot(2, -p["head"][:, 2])
    head_c = sh_c + _apply(torso, (0, 0.035, 0)) + _apply(head, (0, 0.085 * body.head, 0))
    for name, off in FACE_POINTS.items():
        out[:, INDEX[name]] = head_c + _apply(head, np.array(off) * body.head)
    ground = pelvis * np.array([1.0, 0.0, 1.0])
    forward = _apply(ry, (0, 0, 1))
    for side, s in (("left", 1), ("right", -1)):
        shoulder = sh_c + _apply(torso, (s * body.shoulder, 0, 0))
        wrist_target = shoulder + _apply(ry, p[f"hand_{side[0]}"] * body.arm)
        pole = _apply(ry, (s * 0.6, -1.0, -0.4))
        elbow, wrist = two_bone(shoulder, wrist_target, body.upper_arm, body.forearm, pole)
        f = _unit(wrist - elbow)
        g = _unit(forward - np.sum(forward * f, axis=-1, keepdims=True) * f)
        hip = pelvis + _apply(ry, (s * body.hip, 0, 0))
        foot = p[f"foot_{side[0]}"]
        ankle_target = ground + _apply(ry, foot * (1, 0, 1)) + np.array([0, body.ankle, 0]) + foot * (0, 1, 0)
        knee, ankle = two_bone(hip, ankle_target, body.thigh, body.shin, _apply(ry, (s * 0.2, 0, 1)))
        for joint, pos in (("shoulder", shoulder), ("elbow", elbow), ("wrist", wrist), ("hip", hip),
                           ("knee", knee), ("ankle", ankle)):
            out[:, INDEX[f"{side}_{joint}"]] = pos
        out[:, INDEX[f"{side}_index"]] = wrist + 0.075 * f + 0.012 * g
        out[:, INDEX[f"{side}_pinky"]] = wrist + 0.065 * f - 0.02 * g
        out[:, INDEX[f"{side}_thumb"]] = wrist + 0.035 * f + 0.03 * g
        out[:, INDEX[f"{side}_heel"]] = ankle + _apply(ry, (0, -0.03, -0.035))
        out[:, INDEX[f"{side}_foot_index"]] = ankle + _apply(ry, (s * 0.02, -0.04, 0.12))
    return out


# --- camera and tracker degradation ------------------------------------------------------------

@dataclass
class Camera:
    position: np.ndarray  # (3,) world
    rotation: np.ndarray  # (3, 3) rows: right, up, forward
    fx: float  # focal length / image width
    size: tuple[int, int]
    offset: tuple[float, float]

    def project(self, pts: np.ndarray, hip_depth: np.ndarray) -> np.ndarray:
        """World points (n, k, 3) → MediaPipe-normalised x, y, z."""
        c = np.einsum("ij,nkj->nki", self.rotation, pts - self.position)
        depth = np.maximum(c[..., 2], 1e-3)
        fy = self.fx * self.size[0] / self.size[1]
        x = 0.5 + self.offset[0] + self.fx * c[..., 0] / depth
        y = 0.5 + self.offset[1] - fy * c[..., 1] / depth
        z = self.fx * (depth - hip_depth[:, None]) / hip_depth[:, None]
        return np.stack([x, y, z], axis=-1)

    def depth(self, pts: np.ndarray) -> np.ndarray:
        return np.einsum("j,n...j->n...", self.rotation[2], pts - self.position)


def _camera(rng: np.random.Generator, cfg: GeneratorConfig, body: Body, height_m: float,
            yaw_deg: float | None = None) -> Camera:
    size = cfg.aspects[rng.integers(len(cfg.aspects))]
    fovx = np.radians(rng.uniform(*cfg.fov_deg))
    fx = 0.5 / np.tan(fovx / 2)
    tan_half_y = np.tan(fovx / 2) * size[1] / size[0]
    fill = rng.uniform(*cfg.fill)
    if rng.random() < cfg.upper_body_prob:
        target = np.array([0.0, body.pelvis + 0.7 * body.torso, 0.0])
        extent = 0.5
    else:
        target = np.array([0.0, 0.52, 0.0])
        extent = 1.08
    dist = max(extent / (fill * 2 * tan_half_y), 0.6 / height_m)
    yaw = np.radians(rng.uniform(*cfg.camera_yaw_deg) if yaw_deg is None else yaw_deg)
    pitch = np.radians(rng.uniform(*cfg.camera_pitch_deg))
    roll = np.radians(rng.uniform(*cfg.camera_roll_deg))
    d = np.array([np.sin(yaw) * np.cos(pitch), np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
    pos = target + dist * d
    fwd = -d
    right = _unit(np.cross(fwd, (0.0, 1.0, 0.0)))
    up = np.cross(right, fwd)
    cr, sr = np.cos(roll), np.sin(roll)
    right, up = cr * right + sr * up, -sr * right + cr * up
    off = (rng.uniform(-cfg.offset, cfg.offset), rng.uniform(-cfg.offset, cfg.offset) * 0.5)
    return Camera(pos, np.stack([right, up, fwd]), fx, size, off)


def _timeline(rng: np.random.Generator, cfg: GeneratorConfig, total: float) -> np.ndarray:
    fps = rng.uniform(*cfg.fps)
    t = np.arange(0.0, total, 1.0 / fps)
    t = t + rng.uniform(-0.15, 0.15, len(t)) / fps * (rng.random() < 0.5)
    t[0] = 0.0
    t[-1] = min(t[-1], total - 1e-3)  # jitter never pushes the last frame past the script's end
    keep = rng.random(len(t)) >= rng.uniform(*cfg.drop_frame_prob)
    keep[0] = keep[-1] = True
    return np.sort(t[keep])


def _blend(t: np.ndarray, segments: list[tuple[str, float, float]], rng: np.random.Generator,
           cfg: GeneratorConfig) -> Params:
    ramp = 0.3
    total = np.zeros((len(t), 1))
    acc = {k: np.zeros((len(t), 1 if k == "yaw" else 3)) for k in KEYS}
    for i, (label, start, end) in enumerate(segments):
        style = Style(tempo=rng.uniform(*cfg.tempo), amp=rng.uniform(*cfg.amplitude),
                      side=int(rng.choice((-1, 1))), variant=float(rng.random()), more=cfg.more_motion)
        motion = MOTIONS[label](t - start, end - start, rng, style)
        w = np.ones(len(t))
        if i > 0:
            w *= smoothstep((t - start + ramp / 2) / ramp)
        if i < len(segments) - 1:
            w *= 1 - smoothstep((t - end + ramp / 2) / ramp)
        for k in KEYS:
            acc[k] += motion[k] * w[:, None]
        total += w[:, None]
    return {k: v / np.maximum(total, 1e-9) for k, v in acc.items()}


def _segments(script: list[tuple[str, float]]) -> tuple[list[tuple[str, float, float]], float]:
    segments, start = [], 0.0
    for label, dur in script:
        if label not in MOTIONS:
            raise ValueError(f"unknown motion {label!r}")
        segments.append((label, start, start + dur))
        start += dur
    return segments, start


def perform(rng: np.random.Generator, script: list[tuple[str, float]], fps: float,
            cfg: GeneratorConfig = TRAIN) -> tuple[np.ndarray, np.ndarray]:
    """A random body performs a script, sampled at a steady ``fps``: (times, (T, 33, 3) world landmarks), for
    a renderer that films the motion itself (``scripts/actions/render_mocap.py``)."""
    segments, total = _segments(script)
    t = np.arange(0.0, total, 1.0 / fps)
    body = Body.sample(rng, cfg.proportion_jitter)
    return t, forward_kinematics(_blend(t, segments, rng, cfg), body)


def generate(rng: np.random.Generator, script: list[tuple[str, float]],
             cfg: GeneratorConfig = TRAIN) -> PoseSequence:
    """Render a script of (label, duration) segments into one pose sequence."""
    segments, start = _segments(script)
    t = _timeline(rng, cfg, start)
    body = Body.sample(rng, cfg.proportion_jitter)
    height_m = rng.uniform(*cfg.height_m)
    world = forward_kinematics(_blend(t, segments, rng, cfg), body)
    landmarks, size = film(rng, t, world, cfg, body, height_m=height_m)
    return PoseSequence(time=t, landmarks=landmarks, size=size, segments=segments)


def film(rng: np.random.Generator, t: np.ndarray, world: np.ndarray, cfg: GeneratorConfig = TRAIN,
         body: Body | None = None, *, yaw_deg: float | None = None,
         height_m: float | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """Film (T, 33, 3) world landmarks (height units, y up, facing +z) as MediaPipe would report them.

    A random pinhole camera (``yaw_deg`` fixes its angle: 0 frontal, 90 the performer's left
    side), tracker-like jitter, noisy depth, occlusions; mirrored with ``cfg.mirror_prob``.
    Shared by the generator and the motion-capture renderer of the evaluation.
    """
    body = body or Body()
    height_m = rng.uniform(*cfg.height_m) if height_m is None else height_m
    noise_sd = rng.uniform(*cfg.noise)
    alpha = rng.uniform(0.3, 1.0)  # temporal correlation of the jitter
    jitter = rng.normal(0, noise_sd, world.shape)
    for i in range(1, len(t)):
        jitter[i] = alpha * jitter[i] + (1 - alpha) * jitter[i - 1]
    cam = _camera(rng, cfg, body, height_m, yaw_deg)
    hips = 0.5 * (world[:, INDEX["left_hip"]] + world[:, INDEX["right_hip"]])
    hip_depth = cam.depth(hips)
    xyz = cam.project(world + jitter, hip_depth)
    xyz[..., 2] = xyz[..., 2] * rng.uniform(*cfg.depth_scale) + rng.normal(0, 3 * noise_sd, xyz[..., 2].shape)
    vis = _visibility(rng, cfg, t, world, xyz, cam)
    occluded = vis < 0.3
    xyz[..., :2] += occluded[..., None] * rng.normal(0, 0.02, xyz[..., :2].shape)
    lm = np.concatenate([xyz, vis[..., None]], axis=-1).astype(np.float32)
    if rng.random() < cfg.mirror_prob:
        lm = mirror(lm)
    return lm, cam.size


def _visibility(rng: np.random.Generator, cfg: GeneratorConfig, t: np.ndarray, world: np.ndarray,
                xyz: np.ndarray, cam: Camera) -> np.ndarray:
    n = len(t)
    vis = rng.uniform(0.88, 1.0, (n, NUM_LANDMARKS))
    x, y = xyz[..., 0], xyz[..., 1]
    outside = (x < -0.02) | (x > 1.02) | (y < -0.02) | (y > 1.02)
    vis = np.where(outside, rng.uniform(0.0, 0.35, vis.shape), vis)
    # Joints behind the torso (side views) are less certain.
    depth = cam.depth(world)
    centre = depth[:, [INDEX["left_hip"], INDEX["right_hip"], INDEX["left_shoulder"], INDEX["right_shoulder"]]]
    behind = depth - centre.mean(axis=1, keepdims=True) > 0.1
    vis = np.where(behind, vis * rng.uniform(0.3, 0.9, vis.shape), vis)
    # Occlusions: a joint vanishes for 0.2-1 s.
    rate = rng.uniform(*cfg.occlusion_prob)
    duration = t[-1] - t[0] + 1e-9
    for j in range(NUM_LANDMARKS):
        for _ in range(rng.poisson(rate * duration)):
            a = rng.uniform(t[0], t[-1])
            sel = (t >= a) & (t < a + rng.uniform(0.2, 1.0))
            vis[sel, j] = rng.uniform(0.0, 0.3)
    return vis


# --- scripts for data sets ----------------------------------------------------------------------

def random_script(rng: np.random.Generator, label: str, vocabulary: tuple[str, ...] = VOCABULARY
                  ) -> list[tuple[str, float]]:
    """A take centred on ``label``: usually idle → action → idle, sometimes straight in or chained."""
    dur = (lambda: rng.uniform(1.6, 3.5)) if label == "bow" else (lambda: rng.uniform(2.0, 5.0))
    if label == "idle":
        return [("idle", rng.uniform(2.0, 4.0)), ("idle", rng.uniform(2.0, 4.0))]
    others = [v for v in vocabulary if v not in ("idle", label)]
    r = rng.random()
    if r < 0.65 or (r >= 0.8 and not others):
        return [("idle", rng.uniform(0.8, 2.5)), (label, dur()), ("idle", rng.uniform(0.3, 1.5))]
    if r < 0.8:
        return [(label, dur()), ("idle", rng.uniform(0.5, 1.5))]
    other = str(rng.choice(others))
    first = [(other, rng.uniform(1.5, 3.0)), (label, dur())]
    return first if rng.random() < 0.5 else [("idle", rng.uniform(0.8, 2.0)), *first]


def with_config(cfg: GeneratorConfig, **changes) -> GeneratorConfig:
    return replace(cfg, **changes)


__all__ = ["VOCABULARY", "QUIET", "EXTRA_MOTIONS", "GeneratorConfig", "TRAIN", "SHIFTED", "PoseSequence", "generate",
           "film", "random_script", "with_config"]
