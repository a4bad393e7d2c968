"""What a body does, in numbers that do not change with the person, the camera angle or the frame rate.

Every built-in action is a kinematic pattern a person would name: a wave swings a raised
hand (or a straight, level arm) from side to side again and again, a clap closes the hands again and again, a jump
lifts both feet and the hips and comes down, a squat lowers the hips towards the feet and
rises, a bow tips the torso forward and back up, a walk trades the feet's places, hands up
holds both wrists above the head. This module measures those patterns on a stretch of pose
history resampled at ``RATE`` Hz (``kinemo.body.features``):

* lengths are in **torso lengths** (hip centre → shoulder centre, the stretch's 90th
  percentile): a child and an adult, near or far, give the same numbers, and the torso stays
  visible and keeps its length from the front and from the side;
* vertical is the image's vertical (cameras stand upright); sideways is the body's own
  left-right axis, in the image's horizontal and MediaPipe's depth (z), so a wave or a clap
  seen from the side, which moves towards and away from the camera, still counts; all are
  measured relative to the body (shoulders, hips, ankles), so walking across the frame or a
  panning camera does not count as motion;
* repetition is counted as **turns** (direction changes of at least a given size; the size at
  which two turns still happen is a swing's amplitude), so tempo and frame rate do not matter.

``measure`` returns one ``Measures`` per stretch; ``kinemo.body.detectors`` turns them into
per-action scores. The numbers are plain floats so that thresholds can be chosen on data the
detectors never saw (``scripts/actions/actions_select.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from kinemo.body.skeleton import INDEX, L_HIP, L_SHOULDER, L_WRIST, R_HIP, R_SHOULDER, R_WRIST
from kinemo.body.swings import turns as count_turns

RATE = 20.0  # Hz, as the classifier's windows
SHORT = 32  # steps (1.6 s): repetitive actions (wave, clap, walk) must repeat within this
LONG = 64  # steps (3.15 s): one-off actions (jump, squat, bow) must go and come back within this
LIMIT = 20.0  # no measure goes beyond ± this
RECENT = 40  # steps (2 s): a one-off action's turning point must be this recent
#: MediaPipe's depth (z) per unit of true depth, in the picture's units: its wrists' depth differences are
#: 1.72 (front) to 2.30 (side) times the true ones on the rendered bodies (``scripts/actions/render_eval.py --depth``)
MEDIAPIPE_DEPTH = (1.7, 2.3)
DEPTH = 0.5 * (MEDIAPIPE_DEPTH[0] + MEDIAPIPE_DEPTH[1])  # what the measures divide z by
L_ANKLE, R_ANKLE = INDEX["left_ankle"], INDEX["right_ankle"]
NOSE = INDEX["nose"]
L_ELBOW, R_ELBOW = INDEX["left_elbow"], INDEX["right_elbow"]
HAND_L = [L_WRIST, INDEX["left_index"], INDEX["left_pinky"]]
HAND_R = [R_WRIST, INDEX["right_index"], INDEX["right_pinky"]]
_LEVELS = np.geomspace(0.04, 2.5, 40)  # swing sizes tried, torso lengths


@dataclass
class Measures:
    wave: float  # amplitude (torso lengths) at which the busier hand still turns sideways (the body's left-right
    # axis, depth included) twice in SHORT
    wave_raise: float  # that wrist's median height above the hip centre, torso lengths
    wave_flat: float  # its sideways swing ÷ its up-and-down swing (a wave sweeps; drawing and hammering do not)
    wave_reach: float  # its swing towards and away from its shoulder ÷ its sideways swing (punches reach out)
    wave_forearm: float  # how far that hand stays above its elbow (median): a waving forearm points up
    wave_straight: float  # how straight that arm is (median shoulder → wrist ÷ upper arm + forearm, in the picture):
    # a level arm swept side to side (a horizontal arm wave) is straight, its forearm not up
    wave_repeat: float  # amplitude at which that hand turns sideways three times in LONG (a throw turns twice;
    # a slow wave, under one back-and-forth a second, turns only twice in SHORT)
    wave_level: float  # that sideways swing ÷ the hand's up-and-down swing, both over LONG (a level sweep: large;
    # drawing a circle: about 1)
    body_turn: float  # how far the body's left-right axis turns from its median (radians, 80th percentile over
    # LONG): a twirl with the arms out sweeps them across the picture, but the arms never move on the body
    clap: float  # amplitude at which the palms' distance (depth included) turns twice in SHORT
    clap_gap: float  # the palms' closest distance in SHORT
    clap_height: float  # the hands' height above the hip centre when closest
    hands_up: float  # the lower wrist's height above the nose, 20th percentile over the last 0.6 s
    jump: float  # the lower foot's rise and fall around its recent peak (min of both), hips agreeing
    lift: float  # the lower foot's highest point above its median within LONG (feet on the ground: small)
    squat: float  # the hips' drop towards the lower foot and back (min of down and up) within LONG
    bow: float  # the torso's vertical extent lost and regained, within LONG
    walk: float  # amplitude at which the feet's relative position turns twice in SHORT
    walk_long: float  # amplitude at which it turns four times in LONG (two strides)
    walk_rate: float  # turns per second of the feet at half that amplitude
    walk_regular: float  # how well the feet's motion repeats itself one stride later (autocorrelation, LONG)
    walk_bounce: float  # the hips' up-and-down swing in SHORT (running and skipping leave the ground: large)

    def as_array(self) -> np.ndarray:
        # ratios and heights of a torso seen end-on can blow up: keep every measure in a sane range
        return np.clip(np.array([getattr(self, f.name) for f in fields(self)], np.float64), -LIMIT, LIMIT)


NAMES: tuple[str, ...] = tuple(f.name for f in fields(Measures))


def swing(x: np.ndarray, turns: int = 2) -> float:
    """The largest size of move at which ``x`` still changes direction ``turns`` times.

    Turns only get fewer as the size grows, so a bisection over ``_LEVELS`` finds it in six
    counts (≈ 50 µs for 32 samples).
    """
    xs = np.asarray(x, np.float64).tolist()
    lo, hi = -1, len(_LEVELS)  # _LEVELS[lo] passes (−1: none), _LEVELS[hi] fails
    span = max(xs) - min(xs)
    hi = min(hi, int(np.searchsorted(_LEVELS, span, side="right")))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if count_turns(xs, float(_LEVELS[mid])) >= turns:
            lo = mid
        else:
            hi = mid
    return float(_LEVELS[lo]) if lo >= 0 else 0.0


def _dip(v: np.ndarray, recent: int) -> float:
    """How far ``v`` went down and came back up around its lowest point in the last ``recent`` steps."""
    n = len(v)
    lo = max(0, n - recent)
    i = lo + int(np.argmin(v[lo:]))
    before = float(np.max(v[: i + 1]) - v[i])
    after = float(np.max(v[i:]) - v[i])
    return min(before, after)


def _detrend(v: np.ndarray) -> np.ndarray:
    """``v`` minus its least-squares line (closed form: polyfit's overhead is most of its cost here)."""
    t = np.arange(len(v), dtype=np.float64) - 0.5 * (len(v) - 1)
    slope = float(t @ (v - v.mean())) / max(float(t @ t), 1e-12)
    return v - v.mean() - slope * t


def _pct(v: np.ndarray, q: float) -> float:
    """The ``q``-th percentile (linear interpolation, as numpy's default) without numpy's per-call overhead."""
    x = np.sort(np.asarray(v, np.float64).ravel())
    pos = (len(x) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(x) - 1)
    return float(x[lo] + (x[hi] - x[lo]) * (pos - lo))


def measure(xy: np.ndarray) -> Measures:
    """(T, 33, 2 or 3) landmarks in square image units (y down; MediaPipe's depth third, if known), oldest
    first, at ``RATE`` Hz."""
    a = np.asarray(xy, np.float64)
    p = a[..., :2]
    shoulders = 0.5 * (p[:, L_SHOULDER] + p[:, R_SHOULDER])
    hips = 0.5 * (p[:, L_HIP] + p[:, R_HIP])
    torso = _pct(np.linalg.norm(shoulders - hips, axis=-1), 90)
    unit = max(torso, 1e-4)
    centre = hips.mean(axis=0)
    q = (p - centre) / unit  # torso lengths, centred on the mean hip centre
    sh, hp = (shoulders - centre) / unit, (hips - centre) / unit  # in q's frame
    s = slice(max(0, len(q) - SHORT), None)
    up = -1.0  # image y grows downwards

    # depth as MediaPipe reports it (z, in x's scale) ÷ DEPTH: torso lengths towards the camera, roughly
    z = a[..., 2] / (unit * DEPTH) if a.shape[-1] > 2 else np.zeros(p.shape[:2])
    # the body's left-right axis in the ground plane (picture x, depth): seen from the side it points at the camera
    across = np.stack([q[:, L_SHOULDER, 0] - q[:, R_SHOULDER, 0], z[:, L_SHOULDER] - z[:, R_SHOULDER]], axis=-1)
    across /= np.maximum(np.linalg.norm(across, axis=-1, keepdims=True), 1e-6)
    # how far that axis turns from its usual direction (a twirl spins it round; MediaPipe's shoulder depth
    # jitters it by 5-15°): the 80th percentile of the angle, radians
    usual = np.median(across, axis=0)
    turn = float(np.arccos(np.clip(_pct(across @ usual / max(float(np.linalg.norm(usual)), 1e-6), 20), -1.0, 1.0)))
    sh_z = 0.5 * (z[:, L_SHOULDER] + z[:, R_SHOULDER])

    # palms (wrist and knuckles; x, y and depth): a wave from the wrist moves the knuckles, and clapping palms meet
    # while the wrists stay a hand's width apart
    palms = [np.concatenate([q[:, pts].mean(axis=1), z[:, pts].mean(axis=1)[:, None]], axis=-1)
             for pts in (HAND_L, HAND_R)]

    # wave: the busier hand, sideways (along the body's left-right axis) relative to the shoulders' centre
    sideways = [(palm[:, 0] - sh[:, 0]) * across[:, 0] + (palm[:, 2] - sh_z) * across[:, 1] for palm in palms]
    amps = [swing(side[s]) for side in sideways]
    k = int(amps[1] >= amps[0])  # the busier hand (the right on a tie); its other measures only
    palm, side, amp = palms[k], sideways[k], amps[k]
    shoulder, elbow, wrist = (L_SHOULDER, L_ELBOW, L_WRIST) if k == 0 else (R_SHOULDER, R_ELBOW, R_WRIST)
    hand = palm[s, :2]
    repeat = swing(side, 3)

    # clap: the palms' distance closes again and again — in depth too (MediaPipe's z, ÷ DEPTH): from the side a
    # clap closes along the camera's axis, and hands that overlap in the picture may be a body's depth apart
    gap = np.linalg.norm(palms[0][s] - palms[1][s], axis=-1)
    closest = int(np.argmin(gap))
    hands_mid = 0.5 * (q[s, L_WRIST, 1] + q[s, R_WRIST, 1])
    clap_height = float(up * (hands_mid[closest] - hp[s, 1][closest]))
    # hands up: both wrists above the nose, held
    held = slice(max(0, len(q) - 12), None)
    lower_wrist = np.maximum(q[held, L_WRIST, 1], q[held, R_WRIST, 1])
    hands_up = _pct(up * (lower_wrist - q[held, NOSE, 1]), 20)
    # jump: the lower foot (the larger image y) rises and falls, the hips with it
    foot = up * _detrend(np.maximum(q[:, L_ANKLE, 1], q[:, R_ANKLE, 1]))
    hip_y = up * _detrend(hp[:, 1])
    jump = min(_peak(foot, RECENT), _peak(hip_y, RECENT))
    lift = float(foot.max()) - _pct(foot, 50)
    # squat: the hips come down towards the ground (the lower foot: a raised knee brings the other foot up
    # towards the hips, not the hips down) and go back up
    ground = np.maximum(q[:, L_ANKLE, 1], q[:, R_ANKLE, 1])
    squat = _dip(ground - hp[:, 1], RECENT)
    # bow: the torso's vertical extent shrinks and comes back
    bow = _dip(hp[:, 1] - sh[:, 1], RECENT)
    # walk: the feet trade places (side view: along x; towards the camera: along y)
    feet = q[:, L_ANKLE] - q[:, R_ANKLE]
    centred = feet - feet.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    along_long = centred @ vt[0]
    along = along_long[s]
    walk = swing(along)
    rate = count_turns(along.tolist(), max(0.5 * walk, 0.04)) * RATE / max(len(along) - 1, 1)
    regular = _periodicity(along_long, int(0.7 * RATE), int(1.6 * RATE))
    return Measures(wave=amp, wave_raise=_pct(up * (hand[:, 1] - hp[s, 1]), 50),
                    wave_flat=amp / max(swing(hand[:, 1]), 0.02),
                    wave_reach=swing(np.linalg.norm(hand - q[s, shoulder], axis=-1)) / max(amp, 0.02),
                    wave_forearm=_pct(up * (hand[:, 1] - q[s, elbow, 1]), 50), wave_repeat=repeat,
                    wave_straight=_straightness(q[s, shoulder], q[s, elbow], q[s, wrist]),
                    wave_level=repeat / max(swing(palm[:, 1], 3), 0.02), body_turn=turn,
                    clap=swing(gap), clap_gap=float(gap.min()), clap_height=clap_height,
                    hands_up=hands_up, jump=jump, lift=lift, squat=squat, bow=bow, walk=walk,
                    walk_long=swing(along_long, 4), walk_rate=float(rate), walk_regular=regular,
                    walk_bounce=swing(_detrend(hp[s, 1])))


def _straightness(shoulder: np.ndarray, elbow: np.ndarray, wrist: np.ndarray) -> float:
    """Median over time of shoulder → wrist ÷ (shoulder → elbow + elbow → wrist): 1 for a straight arm.

    Measured in the picture alone: a straight arm stays straight in any projection (three points
    on a line stay on a line), so the camera angle and MediaPipe's noisy depth do not matter.
    """
    path = np.linalg.norm(elbow - shoulder, axis=-1) + np.linalg.norm(wrist - elbow, axis=-1)
    return _pct(np.linalg.norm(wrist - shoulder, axis=-1) / np.maximum(path, 1e-6), 50)


def _peak(v: np.ndarray, recent: int) -> float:
    """How far ``v`` rose to its highest point in the last ``recent`` steps and fell again."""
    return _dip(-v, recent)


def _periodicity(v: np.ndarray, lo: int, hi: int) -> float:
    """The best correlation of ``v`` with itself shifted by ``lo``-``hi`` steps (1: a perfect repeat)."""
    v = np.asarray(v, np.float64) - np.mean(v)
    n = len(v)
    hi = min(hi, n - 8)
    if hi < lo:
        return 0.0
    full = np.correlate(v, v, "full")[n - 1:]  # full[k] = Σ v[i] v[i + k]
    energy = np.concatenate([[0.0], np.cumsum(v * v)])
    lags = np.arange(lo, hi + 1)
    head = energy[n - lags]  # Σ v[:-k]²
    tail = energy[n] - energy[lags]  # Σ v[k:]²
    r = full[lags] / np.sqrt(np.maximum(head * tail, 1e-18))
    return float(max(r.max(), 0.0))
