"""Motion: what happens to a tracked frame before anyone sees it.

calibrate (profile) → smooth (One-Euro, live) → ease to neutral while the face is
lost → derive expression and action units. Runs on the frames in order, once
per frame, so its filters see a continuous signal.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from kinemo.face.calibration import Profile
from kinemo.face.expression import ExpressionSmoother, classify
from kinemo.face.headpose import matrix_from_head, quaternion_from_matrix
from kinemo.face.smoothing import OneEuroFilter, OneEuroOptions
from kinemo.frame import NEUTRAL_HEAD, Frame

SMOOTHING_MODES = ("none", "live", "offline")
DEFAULT_EASE_S = 0.5
#: Head angles move in degrees, far faster than 0-1 weights: their own One-Euro tuning.
HEAD_ONE_EURO = OneEuroOptions(min_cutoff=1.0, beta=0.02)


@dataclass
class MotionOptions:
    smoothing: str = "live"  # none | live | offline (files: zero-phase after the run; stream: live)
    one_euro: OneEuroOptions = field(default_factory=OneEuroOptions)
    ease_seconds: float = DEFAULT_EASE_S  # face lost → channels reach neutral after this long
    profile: Profile | None = None


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


class MotionProcessor:
    def __init__(self, options: MotionOptions | None = None) -> None:
        self.options = options or MotionOptions()
        if self.options.smoothing not in SMOOTHING_MODES:
            raise ValueError(f"smoothing must be one of {SMOOTHING_MODES}")
        self._bs_filter = OneEuroFilter(self.options.one_euro)
        self._head_filter = OneEuroFilter(HEAD_ONE_EURO)
        self._eye_filter = OneEuroFilter(self.options.one_euro)
        self._expression = ExpressionSmoother()  # hysteresis on the streamed label
        self._last: Frame | None = None  # last frame with a face, after processing
        self._lost_at: float | None = None
        self._calibration: tuple[float, list[Frame], Callable[[Profile], None] | None] | None = None

    def start_calibration(self, seconds: float, on_done: Callable[[Profile], None] | None = None) -> None:
        """Collect the next ``seconds`` of raw frames as the performer's neutral face."""
        self._calibration = (float(seconds), [], on_done)

    @property
    def calibrating(self) -> bool:
        return self._calibration is not None

    def _collect(self, frame: Frame) -> None:
        seconds, frames, on_done = self._calibration
        if frame.present:
            frames.append(frame)
        if frames and frame.time - frames[0].time >= seconds:
            self._calibration = None
            profile = Profile.from_neutral(np.stack([f.blendshapes for f in frames]),
                                           np.stack([f.head for f in frames]), np.stack([f.eyes for f in frames]))
            self.options.profile = profile
            if on_done is not None:
                on_done(profile)

    def calibrate(self, frame: Frame) -> None:
        profile = self.options.profile
        if profile is None or not frame.present:
            return
        frame.blendshapes = profile.apply_blendshapes(frame.blendshapes).astype(np.float32)
        head = frame.head.astype(np.float64)
        head[:3] -= profile.head_offsets
        head[6:] = quaternion_from_matrix(matrix_from_head(*head[:3])[:3, :3])
        frame.head = head.astype(np.float32)
        frame.eyes = (frame.eyes - profile.eye_offsets).astype(np.float32)

    def process(self, frame: Frame) -> tuple[Frame, Frame]:
        """(frame to stream, frame to write). They differ only in offline mode (unsmoothed file)."""
        if self._calibration is not None:
            self._collect(copy.copy(frame))
        self.calibrate(frame)
        unsmoothed = copy.copy(frame) if self.options.smoothing == "offline" else None
        if frame.present:
            self._lost_at = None
            if self.options.smoothing != "none":
                self._smooth(frame)
            self._last = copy.copy(frame)
        else:
            self._ease(frame)
            if unsmoothed is not None:
                self._ease(unsmoothed)
        profile = self.options.profile
        for f in (frame, unsmoothed):
            if f is not None:
                lm = f.landmarks if f.present else None
                f.expression = classify(f.blendshapes, lm, f.image_size, profile=profile)
        if self.options.smoothing != "none":
            if frame.present:
                frame.expression = self._expression.update(frame.expression, frame.time)
            else:
                self._expression.reset()
        return frame, unsmoothed if unsmoothed is not None else frame

    def _smooth(self, frame: Frame) -> None:
        t = frame.time
        frame.blendshapes = np.clip(self._bs_filter.filter(frame.blendshapes, t), 0, 1).astype(np.float32)
        head = frame.head.astype(np.float64)
        head[:6] = self._head_filter.filter(head[:6], t)
        head[6:] = quaternion_from_matrix(matrix_from_head(*head[:3])[:3, :3])
        frame.head = head.astype(np.float32)
        frame.eyes = self._eye_filter.filter(frame.eyes, t).astype(np.float32)

    def _ease(self, frame: Frame) -> None:
        """Blend from the last seen face to neutral instead of freezing or snapping."""
        last = self._last
        if last is None:
            return
        if self._lost_at is None:
            self._lost_at = frame.time
        ease = self.options.ease_seconds
        w = 1.0 if ease <= 0 else _smoothstep((frame.time - self._lost_at) / ease)
        keep = 1.0 - w
        frame.blendshapes = (last.blendshapes * keep).astype(np.float32)
        frame.eyes = (last.eyes * keep).astype(np.float32)
        head = last.head.astype(np.float64) * keep + NEUTRAL_HEAD * w
        head[3:6] = last.head[3:6]  # rotation relaxes; the head stays where it was last seen
        head[6:] = quaternion_from_matrix(matrix_from_head(*head[:3])[:3, :3])
        frame.head = head.astype(np.float32)
        if w >= 1.0:
            self._bs_filter.reset()
            self._head_filter.reset()
            self._eye_filter.reset()
