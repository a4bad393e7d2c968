"""The user's own actions: taught from a few recorded examples, stored as files, no code change.

``kinemo actions train NAME --examples a.npz b.mp4 …`` tracks each example (pose file or
video) and fits a few-shot detector for it (``fewshot``). Each action is one ``NAME.npz``
in the actions folder: the detector, the example pose tracks (so a newer shipped network
can refit it), and the sha256 of the network it was fitted with.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from kinemo.body import fewshot
from kinemo.body.classifier import ActionClassifier, UserAction
from kinemo.body.posefile import PoseTrack
from kinemo.errors import KinemoError
from kinemo.files import atomic_write

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


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


def check_example(track: PoseTrack, source: str) -> PoseTrack:
    if len(fewshot.track_windows(track)) == 0:
        raise KinemoError(f"example {source} has no usable motion: it needs a person in view for at "
                          f"least 2 frames (1.6 s or more is best)")
    return track


def save_action(folder: Path, name: str, classifier: ActionClassifier, examples: list[PoseTrack],
                sources: list[str]) -> Path:
    detector = fewshot.fit(classifier, examples)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.npz"
    meta = {"format": "kinemo-user-action", "version": 1, "name": name, "examples": sources,
            "model_sha256": classifier.sha256}
    with atomic_write(path) as f:
        np.savez_compressed(
            f, meta=np.array(json.dumps(meta)), weights=detector.weights, bias=np.float64(detector.bias),
            mean=detector.mean, scale=detector.scale,
            time=np.concatenate([e.time[e.present] for e in examples]),
            landmarks=np.concatenate([e.landmarks[e.present] for e in examples]),
            counts=np.array([int(e.present.sum()) for e in examples], np.int64),
            sizes=np.array([e.size for e in examples], np.int64))
    return path


def load_actions(folder: Path, classifier: ActionClassifier) -> list[UserAction]:
    """Every stored action; a detector fitted with another network is refitted from its examples."""
    out = []
    for path in sorted(folder.glob("*.npz")) if folder.is_dir() else []:
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                detector = fewshot.Detector(z["weights"], float(z["bias"]), z["mean"], z["scale"])
                times, lms, counts, sizes = z["time"], z["landmarks"], z["counts"], z["sizes"]
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
            raise KinemoError(f"damaged user action {path} ({type(e).__name__}): retrain it or delete the file") \
                from None
        if meta.get("model_sha256") != classifier.sha256:
            cuts = np.cumsum(counts)[:-1]
            examples = [PoseTrack(t, lm, np.ones(len(t), bool), 30.0, (int(s[0]), int(s[1])))
                        for t, lm, s in zip(np.split(times, cuts), np.split(lms, cuts), sizes, strict=True)]
            detector = fewshot.fit(classifier, examples)
        out.append(UserAction(path.stem, detector))  # the file name is the label: rename the file to rename it
    return out


def remove_action(folder: Path, name: str) -> Path:
    path = folder / f"{name}.npz"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.npz"))) if folder.is_dir() else ""
        raise KinemoError(f"unknown action '{name}' in {folder}" + (f" (have: {known})" if known else
                                                                     " (no user actions yet)"))
    path.unlink()
    return path
