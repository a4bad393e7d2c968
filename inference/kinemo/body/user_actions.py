"""The user's own actions: taught from a few recorded examples, stored as files, no code change.

``kinemo actions train NAME --examples a.npz b.mp4 …`` tracks each example (pose file or
video), cuts every window that lies inside it, embeds the windows with the shipped network
and keeps one prototype per example: the normalised mean embedding. The classifier then
scores the new action by its closest prototype (see ``classifier``). Each action is one
``NAME.npz`` in the actions folder: prototypes, the example windows (so a newer network can
re-embed them), and the sha256 of the network that made the prototypes.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from kinemo.body.classifier import ActionClassifier, UserAction
from kinemo.body.features import RATE, WINDOW_SECONDS, window_at
from kinemo.body.posefile import PoseTrack
from kinemo.errors import KinemoError

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
STRIDE = 1.0 / RATE * 2  # s between example windows


def actions_dir(explicit: str | os.PathLike | None = None) -> Path:
    """``--actions-dir``, else ``$KINEMO_ACTIONS_DIR``, else ``$XDG_DATA_HOME/kinemo/actions``."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("KINEMO_ACTIONS_DIR"):
        return Path(os.environ["KINEMO_ACTIONS_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "kinemo" / "actions"


def check_name(name: str, builtin: tuple[str, ...]) -> str:
    if not NAME_RE.match(name):
        raise KinemoError(f"bad action name '{name}': use lower-case letters, digits and _, "
                          f"starting with a letter (e.g. 'punch', 'thumbs_up')")
    if name in builtin:
        raise KinemoError(f"'{name}' is a built-in action; choose another name")
    return name


def example_windows(track: PoseTrack) -> np.ndarray:
    """Every window (stride 0.1 s) lying inside the person-present part of an example."""
    t = track.time[track.present]
    lm = track.landmarks[track.present]
    if len(t) < 2:
        return np.zeros((0,), np.float32)
    first = t[0] + min(WINDOW_SECONDS, max(t[-1] - t[0], 0.0))
    ends = np.arange(first, t[-1] + 1e-9, STRIDE)
    return np.stack([window_at(t, lm, e, track.aspect) for e in ends])


def prototypes(classifier: ActionClassifier, examples: list[np.ndarray]) -> np.ndarray:
    protos = []
    for windows in examples:
        emb = classifier.embed(windows).mean(axis=0)
        protos.append(emb / max(float(np.linalg.norm(emb)), 1e-9))
    return np.stack(protos).astype(np.float32)


def save_action(folder: Path, name: str, classifier: ActionClassifier, examples: list[np.ndarray],
                sources: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.npz"
    meta = {"format": "kinemo-user-action", "version": 1, "name": name, "examples": sources,
            "model_sha256": classifier.sha256}
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, meta=np.array(json.dumps(meta)), prototypes=prototypes(classifier, examples),
                                windows=np.concatenate(examples).astype(np.float16),
                                counts=np.array([len(e) for e in examples], np.int64))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_actions(folder: Path, classifier: ActionClassifier) -> list[UserAction]:
    """Every stored action; prototypes are re-made when the network changed since training."""
    out = []
    for path in sorted(folder.glob("*.npz")) if folder.is_dir() else []:
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                protos, windows, counts = z["prototypes"], z["windows"], z["counts"]
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
            raise KinemoError(f"damaged user action {path}: {type(e).__name__}; retrain it or delete the file") \
                from None
        name = meta.get("name", path.stem)
        if meta.get("model_sha256") != classifier.sha256:
            parts = np.split(windows.astype(np.float32), np.cumsum(counts)[:-1])
            protos = prototypes(classifier, parts)
        out.append(UserAction(name, protos))
    return out


def remove_action(folder: Path, name: str) -> Path:
    path = folder / f"{name}.npz"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.npz"))) if folder.is_dir() else ""
        raise KinemoError(f"unknown action '{name}' in {folder}" + (f" (have: {known})" if known else
                                                                     " (no user actions yet)"))
    path.unlink()
    return path
