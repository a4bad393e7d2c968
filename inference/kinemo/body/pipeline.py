"""ActionPipeline: pose per frame → sliding window → class probabilities → action events.

Feed it frames (``process_frame``) or already-tracked poses (``process_pose``) with their
media time; it keeps the last 1.6 s of pose, classifies the window ending now, and runs
the hysteresis. ``messages`` turns a result into the protocol's body-stream messages, so
any sender (``BodySender`` here, or the face pipeline's socket) can stream them.
"""

from __future__ import annotations

import time as _time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from kinemo import protocol
from kinemo.body.classifier import ActionClassifier, ActionClassifierOptions
from kinemo.body.events import ActionEvent, EventDetector, EventOptions
from kinemo.body.features import RATE, WINDOW_SECONDS, window_and_history
from kinemo.body.kinematics import LONG
from kinemo.body.tracker import Pose, PoseTracker, PoseTrackerOptions

#: Seconds of pose kept: the network's window and the detectors' longer history.
HISTORY_SECONDS = max(WINDOW_SECONDS, (LONG - 1) / RATE)


@dataclass
class ActionPipelineOptions:
    classifier: ActionClassifierOptions = field(default_factory=ActionClassifierOptions)
    tracker: PoseTrackerOptions = field(default_factory=PoseTrackerOptions)
    events: EventOptions = field(default_factory=EventOptions)
    max_gap: float = 0.5  # s without a person after which the motion history starts afresh


@dataclass
class ActionResult:
    time: float
    present: bool
    probs: dict[str, float] | None  # None when nobody is in view
    events: list[ActionEvent]
    pose: Pose | None = None


class ActionPipeline:
    def __init__(self, classifier: ActionClassifier, tracker: PoseTracker | None,
                 options: ActionPipelineOptions) -> None:
        self.classifier = classifier
        self.tracker = tracker
        self.options = options
        self.aspect = 1.0
        self.reset()

    def reset(self) -> None:
        """Forget the motion history and any running event: the next pose starts a new source."""
        self.detector = EventDetector(self.classifier.labels, self.options.events)
        self._times: deque[float] = deque()
        self._poses: deque[np.ndarray] = deque()
        self._last_seen = -np.inf

    @classmethod
    def create_from_options(cls, options: ActionPipelineOptions | None = None, *,
                            track: bool = True) -> ActionPipeline:
        """``track=False`` when poses come from a file (no MediaPipe is loaded)."""
        options = options or ActionPipelineOptions()
        classifier = ActionClassifier.create_from_options(options.classifier)
        tracker = PoseTracker.create_from_options(options.tracker) if track else None
        return cls(classifier, tracker, options)

    @classmethod
    def create_for_user(cls, *, actions_dir=None, pose_model=None, track: bool = True,
                        people: int = 1) -> ActionPipeline:
        """The shipped vocabulary plus the user's trained actions (what ``kinemo actions`` runs)."""
        from kinemo.body import user_actions

        options = ActionPipelineOptions(tracker=PoseTrackerOptions(model_path=pose_model, num_poses=people))
        classifier = ActionClassifier.create_from_options(options.classifier)
        for action in user_actions.load_actions(user_actions.actions_dir(actions_dir), classifier):
            classifier.add_action(action)
        tracker = PoseTracker.create_from_options(options.tracker) if track else None
        return cls(classifier, tracker, options)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.classifier.labels

    def process_frame(self, rgb: np.ndarray, time_s: float) -> ActionResult:
        """Track the performer in one RGB frame and classify; times must increase."""
        if self.tracker is None:
            raise RuntimeError("pipeline was created with track=False")
        pose = self.tracker.process_video_frame(rgb, int(round(time_s * 1000)))
        result = self.process_pose(None if pose is None else pose.landmarks, time_s,
                                   aspect=pose.size[0] / pose.size[1] if pose else self.aspect)
        result.pose = pose
        return result

    def process_pose(self, landmarks: np.ndarray | None, time_s: float, *, aspect: float = 1.0) -> ActionResult:
        """Classify with one more pose ((33, 4) MediaPipe-normalised, or None: nobody in view)."""
        if landmarks is None:
            if time_s - self._last_seen > self.options.max_gap:
                self._times.clear()
                self._poses.clear()
            return ActionResult(time_s, False, None, self.detector.update(time_s, None))
        self.aspect = aspect
        self._last_seen = time_s
        self._times.append(time_s)
        self._poses.append(np.asarray(landmarks, np.float32))
        while len(self._times) > 2 and self._times[1] < time_s - HISTORY_SECONDS - 0.1:
            self._times.popleft()
            self._poses.popleft()
        times, poses = np.fromiter(self._times, float), np.stack(self._poses)
        window, history = window_and_history(times, poses, time_s, aspect, LONG)
        probs = self.classifier.process_window(window, history)
        events = self.detector.update(time_s, probs)
        return ActionResult(time_s, True, dict(zip(self.labels, probs.tolist(), strict=True)), events)

    def finish(self, time_s: float) -> list[ActionEvent]:
        """End any running action (end of the source)."""
        return self.detector.flush(time_s)

    def replay(self, track) -> list[ActionEvent]:
        """Every event this pipeline starts on a recorded track (``.time``, ``.landmarks``, ``.present``,
        ``.aspect``: a ``PoseTrack`` or a generated sequence), the track's end included: what
        ``kinemo actions --pose-file`` sends. A frame without a person is nobody in view. Each replay starts
        afresh (``reset``): tracks replayed one after another do not share a history."""
        self.reset()
        started = []
        for t, lm, here in zip(track.time, track.landmarks, track.present, strict=True):
            result = self.process_pose(lm if here else None, float(t), aspect=track.aspect)
            started += [e for e in result.events if e.phase == protocol.EVENT_START]
        return started + [e for e in self.finish(float(track.time[-1])) if e.phase == protocol.EVENT_START]

    @staticmethod
    def messages(result: ActionResult, seq: int, stamp: float | None = None,
                 extra_events: list[ActionEvent] = ()) -> list[protocol.Message]:
        """The body-stream messages for one frame: present, probabilities, then its events."""
        stamp = _time.time() if stamp is None else stamp
        out = protocol.encode_body(seq, stamp, result.time, present=result.present, probs=result.probs)
        for e in [*result.events, *extra_events]:
            out.append(protocol.encode_event(seq, stamp, result.time, label=e.label, phase=e.phase,
                                             confidence=e.confidence, start=e.start, end=e.end))
        return out

    def close(self) -> None:
        if self.tracker is not None:
            self.tracker.close()

    def __enter__(self) -> ActionPipeline:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
