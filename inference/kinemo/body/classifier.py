"""ActionClassifier: kinematic detectors for the built-in actions, the ONNX network for the rest.

Built-in actions are scored by the kinematic detectors (``kinemo.body.detectors``) on the
pose history: invariant measures of what the body does, thresholds chosen on data they
were not tuned on. The shipped network (onnxruntime) splits what is left between ``idle``
and ``other`` and gives the embedding that user actions are learned on; with
``builtin="network"`` its softmax scores the built-in actions as before v3 (for comparison).
Each user action is a one-vs-rest detector (``fewshot``) giving u_k in 0-1 from the
network's embedding plus pose statistics; the final distribution is [built-in × (1 − Σu), u]
(u rescaled to sum to 1 when Σu > 1), so every label — built-in or the user's — is one
probability in one vector.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from kinemo.body import detectors, swings
from kinemo.body.features import FEATURES, STEPS
from kinemo.body.fewshot import Detector, descriptor
from kinemo.body.kinematics import measure
from kinemo.errors import KinemoError
from kinemo.ort_session import cpu_session


def default_model_path() -> Path:
    return Path(str(resources.files("kinemo") / "assets" / "actions.onnx"))


@dataclass
class UserAction:
    name: str
    detector: Detector


@dataclass
class ActionClassifierOptions:
    model_path: str | os.PathLike | None = None  # None: the shipped assets/actions.onnx
    user_actions: list[UserAction] = field(default_factory=list)
    threads: int = 1  # the pose tracker needs the other core
    # who scores the built-in actions: "detectors" (kinematic, v3) or "network" (v2.2, with the wave gate)
    builtin: str = "detectors"
    thresholds: detectors.Thresholds = field(default_factory=detectors.Thresholds)
    # builtin="network" only: a `wave` needs its wrist to turn round this often in the window
    # (kinemo.body.swings; 0: off)
    wave_swings: int = swings.MIN_SWINGS
    swing_excursion: float = swings.EXCURSION  # body sizes a swing must travel


class ActionClassifier:
    def __init__(self, session, meta: dict, options: ActionClassifierOptions) -> None:
        self._session = session
        self.meta = meta
        self.options = options
        self.builtin: tuple[str, ...] = tuple(meta["labels"])
        self.scale = float(meta["scale"])
        self.sha256 = str(meta.get("sha256", ""))
        if options.builtin not in ("detectors", "network"):
            raise KinemoError(f"unknown built-in scorer {options.builtin!r} (detectors or network)")
        self._user: list[UserAction] = []
        for action in options.user_actions:
            self.add_action(action)

    @classmethod
    def create_from_options(cls, options: ActionClassifierOptions | None = None) -> ActionClassifier:
        options = options or ActionClassifierOptions()
        path = Path(options.model_path) if options.model_path else default_model_path()
        meta_path = path.with_suffix(".json")
        if not path.is_file() or not meta_path.is_file():
            raise KinemoError(f"action model not found: {path} (and {meta_path.name} beside it)")
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("steps") != STEPS or meta.get("features") != FEATURES:
                raise ValueError("window shape differs from this version of kinemo")
        except (ValueError, OSError) as e:
            raise KinemoError(f"bad action model description {meta_path}: {e}") from None
        session = cpu_session(path, options.threads, what="action model", inter_threads=options.threads)
        return cls(session, meta, options)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.builtin + tuple(a.name for a in self._user)

    def add_action(self, action: UserAction) -> None:
        if action.name in self.labels:
            raise KinemoError(f"action '{action.name}' is already in the vocabulary")
        self._user.append(action)

    def run(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, STEPS, FEATURES) → (built-in logits, unit embeddings), straight from the network."""
        x = np.ascontiguousarray(windows, np.float32).reshape(-1, STEPS, FEATURES)
        logits, emb = self._session.run(None, {"window": x})
        return logits, emb

    def embed(self, windows: np.ndarray) -> np.ndarray:
        return self.run(windows)[1]

    def descriptor(self, windows: np.ndarray) -> np.ndarray:
        """What user-action detectors look at: the embedding plus pose statistics."""
        return np.concatenate([self.embed(windows), descriptor(windows)], axis=1)

    def builtin_probabilities(self, windows: np.ndarray, history: np.ndarray | None = None) -> np.ndarray:
        """Probabilities over the built-in labels only."""
        windows = np.ascontiguousarray(windows, np.float32).reshape(-1, STEPS, FEATURES)
        return self._builtin(windows, self.run(windows)[0], history)

    def _builtin(self, windows: np.ndarray, logits: np.ndarray, history: np.ndarray | None) -> np.ndarray:
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        net = z / z.sum(axis=1, keepdims=True)
        if self.options.builtin == "network":
            return swings.gate_wave(net, windows, self.builtin, self.options.wave_swings,
                                    self.options.swing_excursion)
        if history is None:  # no longer history: the window itself (normalised, so the same geometry)
            history = windows.reshape(len(windows), STEPS, -1, 4)[..., :2]
        m = np.stack([measure(h).as_array() for h in history])
        share = 0.5
        if "idle" in self.builtin and "other" in self.builtin:
            idle, other = net[:, self.builtin.index("idle")], net[:, self.builtin.index("other")]
            share = other / np.maximum(idle + other, 1e-6)
        return detectors.distribute(detectors.scores(m, self.options.thresholds), self.builtin, share)

    def probabilities(self, windows: np.ndarray, history: np.ndarray | None = None) -> np.ndarray:
        """Probabilities over ``labels``; one row per window.

        ``history``: (N, T, 33, 2) the longer pose history the detectors measure
        (``kinemo.body.features.history_at``); without it they measure the window alone.
        """
        windows = np.ascontiguousarray(windows, np.float32).reshape(-1, STEPS, FEATURES)
        logits, emb = self.run(windows)
        probs = self._builtin(windows, logits, history)
        if not self._user:
            return probs
        phi = np.concatenate([emb, descriptor(windows)], axis=1)
        u = np.stack([a.detector.score(phi) for a in self._user], axis=1)
        u = u / np.maximum(u.sum(axis=1, keepdims=True), 1.0)
        return np.concatenate([probs * (1.0 - u.sum(axis=1, keepdims=True)), u], axis=1)

    def process_window(self, window: np.ndarray, history: np.ndarray | None = None) -> np.ndarray:
        """One (STEPS, FEATURES) window (and its (T, 33, 2) history) → probabilities over ``labels``."""
        return self.probabilities(window[None], None if history is None else history[None])[0]
