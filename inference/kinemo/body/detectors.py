"""Kinematic detectors: invariant body measures (``kinemo.body.kinematics``) → one score per built-in action.

Each action is a few conditions on the measures, each a threshold in torso lengths, turns
or ratios (``Thresholds``, what docs/actions.md's vocabulary says each action needs). A
condition's margin is how far the measure is past its threshold, in units of that
measure's ``SCALES``; an action's margin is its weakest condition's, and its score is a
logistic of that margin: 0.5 exactly at the threshold, so the event hysteresis
(``kinemo.body.events``) works on every action alike.

The thresholds are chosen leave-one-source-out on real motion capture filmed from many
angles, the motion generator and the ML Kit bodies (``scripts/actions/actions_select.py``);
UTKinect is reported, never chosen on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinemo.body.kinematics import NAMES

ACTIONS: tuple[str, ...] = ("wave", "clap", "hands_up", "jump", "squat", "walk", "bow")
SLOPE = 4.0  # logistic slope per unit of margin: 0.5 at the threshold, 0.88 one unit past it
_COL = {n: i for i, n in enumerate(NAMES)}


@dataclass(frozen=True)
class Thresholds:
    """What each action needs, in the measures' units. The defaults are what
    ``scripts/actions/actions_select.py`` chose on every source (UTKinect never among them)."""

    wave: float = 0.25  # ≥: the hand swings sideways twice by this much (torso lengths)
    wave_raise: float = 0.9  # ≥: a waving hand's height above the hip centre (1 = shoulder height)
    wave_flat: float = 0.8  # ≥: its sideways swing ÷ its up-and-down swing
    wave_forearm: float = 0.2  # ≥: the hand stays this far above its elbow (the forearm points up)
    wave_sweep: float = 0.7  # ≥: … or a straight arm sweeps sideways three times within LONG by this much (9: off)
    wave_straight: float = 0.85  # ≥: … that arm this straight (shoulder → wrist ÷ the arm's length)
    sweep_flat: float = 2.5  # ≥: … its sideways swing ÷ its up-and-down swing over 3.2 s (a sweep is level)
    sweep_raise: float = 0.5  # ≥: … that hand above the hip centre (a level arm: 0.6-1.1, a little under the shoulder)
    sweep_turn: float = 0.4  # ≤: … the body facing one way (radians its left-right axis turns: a twirl spins; 9: off)
    wave_repeat: float = 0.1  # ≥: … and three times within LONG by this much (a throw turns twice; −1: off)
    wave_reach: float = 1.5  # ≤: swing towards and away from the shoulder ÷ sideways swing (punches reach)
    wave_walk: float = 0.6  # ≤: the feet's swing (``walk``) meanwhile: a dance moves everything (9: off)
    clap: float = 0.3  # ≥: the hands close and open twice by this much
    clap_gap: float = 0.25  # ≤: how close the palms come
    clap_height: float = 0.3  # ≥: where they come closest, above the hip centre (1 = shoulder height)
    clap_top: float = 1.3  # ≤: … and not over the head (two-handed waves overhead also close the hands)
    clap_walk: float = 0.4  # ≤: the feet's swing meanwhile (9: off)
    hands_up: float = 0.0  # ≥: the lower wrist above the nose, held 0.6 s
    jump: float = 0.5  # ≥: the lower foot and the hips rise and fall by this much
    jump_walk: float = 0.25  # ≤: the feet's swing meanwhile: skipping and running trade feet (9: off)
    lift: float = 0.15  # ≤ for squat and bow: the feet stay on the ground
    squat: float = 0.4  # ≥: the hips drop towards the feet and rise by this much
    bow: float = 0.3  # ≥: the torso's height lost and regained
    walk: float = 0.25  # ≥: the feet trade places twice in 1.6 s by this much
    walk_long: float = 0.0  # ≥: … and four times in 3.2 s by this much (0: by any amount)
    walk_rate: float = 2.2  # ≤: turns of the feet per second (running turns faster)
    walk_regular: float = 0.8  # ≥: the feet's motion repeats one stride later (dancing steps do not)
    walk_bounce: float = 0.2  # ≤: the hips' up-and-down swing (running and skipping bounce; 9: off)


#: What one unit of margin is, per condition.
SCALES = Thresholds(wave=0.1, wave_raise=0.3, wave_flat=0.5, wave_forearm=0.1, wave_sweep=0.1, wave_straight=0.05,
                    sweep_flat=0.5, sweep_raise=0.3, sweep_turn=0.25, wave_repeat=0.1, wave_reach=0.3,
                    clap=0.08, clap_gap=0.15, clap_height=0.3, clap_top=0.3, hands_up=0.1, jump=0.15, lift=0.1,
                    squat=0.12, bow=0.12, walk=0.1, walk_long=0.1, walk_rate=1.0, walk_regular=0.15,
                    walk_bounce=0.05, wave_walk=0.1, clap_walk=0.1, jump_walk=0.1)


def margins(m: np.ndarray, th: Thresholds = Thresholds()) -> np.ndarray:
    """(N, len(NAMES)) measures → (N, len(ACTIONS)) margins (≥ 0: every condition met)."""
    m = np.atleast_2d(np.asarray(m, np.float64))

    def above(name: str, measure: str | None = None) -> np.ndarray:
        return (m[:, _COL[measure or name]] - getattr(th, name)) / getattr(SCALES, name)

    def below(name: str, measure: str | None = None) -> np.ndarray:
        return (getattr(th, name) - m[:, _COL[measure or name]]) / getattr(SCALES, name)

    grounded = below("lift")
    squat = np.minimum(above("squat"), grounded)
    # hands held out in front meet and part again as a squat goes down and up (in depth, seen from the side)
    clap = np.minimum.reduce([above("clap"), below("clap_gap"), above("clap_height"), below("clap_top", "clap_height"),
                              below("clap_walk", "walk"), -squat])
    # clapping hands also swing sideways: below the head, hands that meet are a clap, never a wave
    # a hand waved with the forearm up, quick enough to turn twice in 1.6 s, not reaching out and back (punches);
    # or a straight arm swept wide and level (a horizontal arm wave: slower, the forearm level; seen from the front
    # its length in the picture grows as it swings out, so the reach does not tell; a punch bends the arm).
    # Each form has its own height: a waving hand is raised beside the head, a level arm's hand is a little under
    # the shoulder (0.6-1.1 above the hips on the generator's sweeps: 0.9 missed three in four)
    hand = np.minimum.reduce([above("wave"), above("wave_forearm"), below("wave_reach"), above("wave_raise")])
    sweep = np.minimum.reduce([above("wave_sweep", "wave_repeat"), above("wave_straight"),
                               above("sweep_flat", "wave_level"),  # level: drawing a circle is not a wave
                               above("sweep_raise", "wave_raise"), below("sweep_turn", "body_turn")])
    wave = np.minimum.reduce([np.maximum(hand, sweep), above("wave_flat"), above("wave_repeat"),
                              below("wave_walk", "walk"), -clap])
    jump = np.minimum(above("jump"), below("jump_walk", "walk"))
    # a bow bends at the hips and keeps them up: hips that come down too make a squat (deep squats lean)
    bow = np.minimum.reduce([above("bow"), grounded, -squat])
    # held: not waving, clapping, jumping or squatting with the arms up
    hands_up = np.minimum.reduce([above("hands_up"), -above("wave"), -above("clap"), -jump, -squat])
    walk = np.minimum.reduce([above("walk"), above("walk_long"), below("walk_rate"), above("walk_regular"),
                              below("walk_bounce")])
    return np.stack([wave, clap, hands_up, jump, squat, walk, bow], axis=1)


def scores(m: np.ndarray, th: Thresholds = Thresholds()) -> np.ndarray:
    """(N, len(NAMES)) measures → (N, len(ACTIONS)) scores in 0-1 (0.5 at the thresholds)."""
    return 1.0 / (1.0 + np.exp(-SLOPE * np.clip(margins(m, th), -10, 10)))


def distribute(s: np.ndarray, labels: tuple[str, ...], other_share: np.ndarray | float = 0.5) -> np.ndarray:
    """Action scores → probabilities over ``labels`` (the built-in vocabulary): actions first, the rest to idle/other.

    Scores that sum past 1 are scaled down to sum to 1; what is left goes to ``other`` (share
    ``other_share``, e.g. from the network) and ``idle``.
    """
    s = np.atleast_2d(s)
    s = s / np.maximum(s.sum(axis=1, keepdims=True), 1.0)
    rest = 1.0 - s.sum(axis=1)
    out = np.zeros((len(s), len(labels)))
    for j, name in enumerate(ACTIONS):
        if name in labels:
            out[:, labels.index(name)] = s[:, j]
    share = np.broadcast_to(np.asarray(other_share, np.float64), rest.shape)
    if "other" in labels:
        out[:, labels.index("other")] = rest * share
    if "idle" in labels:
        out[:, labels.index("idle")] += rest * (1.0 - share if "other" in labels else 1.0)
    return out
