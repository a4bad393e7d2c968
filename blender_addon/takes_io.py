"""Read take files (Kinemo JSON/NPZ, Live Link Face CSV) into arrays, write LLF CSV back. No ``bpy``.

CSV columns are found by header name, not position: real Live Link Face files
order some pairs differently (JawRight before JawLeft). Head and eye rotations in
LLF CSV are radians; in a :class:`Take` they are degrees, as on the wire.

Expression labels: a Kinemo take's ``emotions`` meta lists what its ``emotion`` column
(names in JSON, indices in NPZ) and ``emotion_scores`` columns are of — the built-in
:data:`~protocol.EMOTIONS`, then the performer's own taught names. Takes from before
those (no ``emotions``) are of the 7 built-ins.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field

import numpy as np

from .protocol import (
    ARKIT_NAMES,
    EMOTIONS,
    EYE_FIELDS,
    HEAD_FIELDS,
    LLF_ROTATIONS,
    NUM_BLENDSHAPES,
    TAKE_FORMAT,
    pascal_case,
)

STANDARD_RATES = (24.0, 25.0, 30.0, 48.0, 50.0, 60.0, 120.0)


class TakeError(ValueError):
    """A take file we cannot read; the message is shown to the user as is."""


@dataclass
class Take:
    name: str
    times: np.ndarray  # (T,) seconds from the take's start
    blendshapes: np.ndarray  # (T, 52) ARKit order
    present: np.ndarray  # (T,) bool
    fps: float  # the rate it was captured at
    head: np.ndarray | None = None  # (T, 6) yaw, pitch, roll (degrees), x, y, z (cm)
    eyes: np.ndarray | None = None  # (T, 4) left yaw, left pitch, right yaw, right pitch (degrees)
    events: list = field(default_factory=list)  # (label, start s, end s, confidence) action events
    emotion: np.ndarray | None = None  # (T,) expression label as an index into ``labels``, −1 none; None: no labels
    emotion_scores: np.ndarray | None = None  # (T, len(labels)) the labels' scores
    labels: tuple[str, ...] = EMOTIONS  # what the label indices and scores are of: built-ins, then the user's own

    def __post_init__(self) -> None:
        n = len(self.times)
        self.labels = tuple(self.labels)
        if self.emotion is not None and (len(self.emotion) != n or self.emotion_scores is None
                                         or np.shape(self.emotion_scores) != (n, len(self.labels))):
            self.emotion = self.emotion_scores = None
        if self.head is None:
            self.head = np.zeros((n, len(HEAD_FIELDS)))
        if self.eyes is None:
            self.eyes = np.zeros((n, len(EYE_FIELDS)))


def read_take(path: str) -> Take:
    if not os.path.isfile(path):
        raise TakeError(f"no such file: {path}")
    name = os.path.splitext(os.path.basename(path))[0]
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".json":
            return _from_columns(name, _load_json(path))
        if ext == ".npz":
            with np.load(path, allow_pickle=False) as z:
                return _from_arrays(name, {k: z[k] for k in z.files})
        if ext == ".csv":
            return _read_llf_csv(name, path)
    except TakeError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise TakeError(f"cannot read take {os.path.basename(path)}: {e}") from None
    raise TakeError(f"unsupported take type '{ext}': use .csv, .json or .npz")


def take_from_arrays(name: str, arrays: dict) -> Take:
    """A take from the arrays an NPZ take holds (``meta`` as JSON, the columns), e.g. sent by a farm worker."""
    try:
        return _from_arrays(name, arrays)
    except TakeError:
        raise
    except (ValueError, KeyError, TypeError) as e:
        raise TakeError(f"cannot read take {name}: {e}") from None


def _from_arrays(name: str, arrays: dict) -> Take:
    cols = dict(arrays)
    cols["meta"] = json.loads(str(cols["meta"])) if "meta" in cols else {}
    return _from_columns(name, cols)


def _load_json(path: str) -> dict:
    with open(path) as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or doc.get("format") != TAKE_FORMAT:
        raise TakeError(f"{os.path.basename(path)} is not a Kinemo take (format '{TAKE_FORMAT}')")
    labels = label_set(doc.get("emotions"))
    doc["meta"] = {"fps": doc.get("fps"), "channels": doc.get("channels"), "emotions": list(labels)}
    if isinstance(doc.get("emotion"), list):  # labels as names in JSON, indices in NPZ
        index = {e: i for i, e in enumerate(labels)}
        doc["emotion"] = [index.get(e, -1) if isinstance(e, str) else -1 for e in doc["emotion"]]
    return doc


def label_set(value: object) -> tuple[str, ...]:
    """A take's ``emotions`` meta → its label set; the built-in 7 when absent (older takes) or not a list
    of distinct names (then indices past the 7 read as no label rather than as the wrong one)."""
    if (isinstance(value, list) and value and all(isinstance(v, str) and v for v in value)
            and len(set(value)) == len(value)):
        return tuple(value)
    return EMOTIONS


def _from_columns(name: str, cols: dict) -> Take:
    meta = cols.get("meta") or {}
    channels = list(meta.get("channels") or ARKIT_NAMES)
    raw = np.asarray(cols["blendshapes"], dtype=np.float64).reshape(len(cols["time"]), -1)
    bs = np.zeros((raw.shape[0], NUM_BLENDSHAPES))
    for j, ch in enumerate(channels[: raw.shape[1]]):
        if ch in ARKIT_NAMES:
            bs[:, ARKIT_NAMES.index(ch)] = raw[:, j]
    times = np.asarray(cols["time"], dtype=np.float64)
    present = np.asarray(cols.get("present", np.ones(len(times), bool)), dtype=bool)
    fps = float(meta.get("fps") or _rate_from_times(times))
    head = _optional(cols, "head", len(times), len(HEAD_FIELDS))
    eyes = _optional(cols, "eyes", len(times), len(EYE_FIELDS))
    labels = label_set(meta.get("emotions"))
    emotion = scores = None
    if "emotion" in cols and "emotion_scores" in cols:
        emotion = np.asarray(cols["emotion"], dtype=np.int64).reshape(-1)
        scores = _optional(cols, "emotion_scores", len(times), len(labels))
        if scores is not None and np.isfinite(scores).all():
            emotion = np.where((emotion >= 0) & (emotion < len(labels)), emotion, -1)
        else:
            emotion = scores = None
    return _checked(Take(name, times - (times[0] if len(times) else 0.0), bs, present, fps, head, eyes,
                         emotion=emotion, emotion_scores=scores, labels=labels))


def _optional(cols: dict, key: str, n: int, width: int) -> np.ndarray | None:
    if key not in cols:
        return None
    a = np.asarray(cols[key], dtype=np.float64)
    if n == 0 or a.size % n:
        return None
    a = a.reshape(n, -1)[:, :width]  # older takes have fewer head fields (no quaternion)
    return np.pad(a, ((0, 0), (0, width - a.shape[1])))


def _rate_from_times(times: np.ndarray) -> float:
    if len(times) < 2:
        return 30.0
    return float(1.0 / np.median(np.diff(times)))


def parse_timecode(tc: str) -> tuple[int, float]:
    """``HH:MM:SS:FF.fff`` → (whole seconds, frame number with its fraction)."""
    h, m, s, ff = tc.strip().split(":")
    return int(h) * 3600 + int(m) * 60 + int(s), float(ff)


def _read_llf_csv(name: str, path: str) -> Take:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        raise TakeError(f"{os.path.basename(path)} is empty")
    header = [h.strip() for h in rows[0]]
    index = {h.casefold(): i for i, h in enumerate(header)}
    if "timecode" not in index:
        raise TakeError(f"{os.path.basename(path)} is not a Live Link Face CSV (no Timecode column)")
    body = [r for r in rows[1:] if r and any(c.strip() for c in r)]
    seconds, frames = zip(*(parse_timecode(r[index["timecode"]]) for r in body), strict=True) if body else ((), ())
    fps = next((r for r in STANDARD_RATES if r >= int(max(frames, default=0.0)) + 1), 60.0)
    times = np.array(seconds, float) + np.array(frames, float) / fps
    bs = np.zeros((len(body), NUM_BLENDSHAPES))
    for j, ch in enumerate(ARKIT_NAMES):
        col = index.get(ch.casefold())
        if col is not None:
            bs[:, j] = [float(r[col]) for r in body]
    rot = np.zeros((len(body), len(LLF_ROTATIONS)))
    for j, ch in enumerate(LLF_ROTATIONS):
        col = index.get(ch.casefold())
        if col is not None:
            rot[:, j] = np.degrees([float(r[col]) for r in body])
    head = np.zeros((len(body), len(HEAD_FIELDS)))
    head[:, :3] = rot[:, :3]
    eyes = rot[:, [3, 4, 6, 7]]
    return _checked(Take(name, times - (times[0] if len(times) else 0.0), bs, np.ones(len(body), bool), fps,
                         head, eyes))


def timecode(t: float, fps: float) -> str:
    """``HH:MM:SS:FF.fff`` as Live Link Face writes it: whole frames in the second, then the fraction."""
    whole = math.floor(t + 1e-9)
    in_second = max(0.0, (t - whole) * fps)
    ff = math.floor(in_second + 1e-6)
    sub = max(0.0, in_second - ff)
    h, rem = divmod(whole, 3600)
    m, sec = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{sec:02d}:{ff:02d}.{int(round(sub * 1000)) % 1000:03d}"


LLF_HEADER = ("Timecode", "BlendshapeCount", *(pascal_case(n) for n in ARKIT_NAMES), *LLF_ROTATIONS)


def write_llf_csv(path: str, times: np.ndarray, blendshapes: np.ndarray, fps: float,
                  head: np.ndarray | None = None, eyes: np.ndarray | None = None) -> None:
    """Write a Live Link Face CSV (52 blendshapes, then head/eye rotations in radians); atomic."""
    n = len(times)
    rot = np.zeros((n, len(LLF_ROTATIONS)))
    if head is not None:
        rot[:, :3] = np.radians(np.asarray(head, float)[:, :3])
    if eyes is not None:
        e = np.radians(np.asarray(eyes, float))
        rot[:, [3, 4, 6, 7]] = e[:, :4]
    tmp = f"{path}.part"
    with open(tmp, "w", newline="") as f:
        f.write(",".join(LLF_HEADER) + "\n")
        count = str(NUM_BLENDSHAPES + len(LLF_ROTATIONS))
        for t, bs, r in zip(times, np.asarray(blendshapes, float), rot, strict=True):
            f.write(",".join([timecode(float(t), fps), count, *(f"{v:.9g}" for v in bs), *(f"{v:.9g}" for v in r)]))
            f.write("\n")
    os.replace(tmp, path)


def _checked(take: Take) -> Take:
    if len(take.times) == 0:
        raise TakeError(f"take '{take.name}' has no frames")
    if not np.all(np.isfinite(take.blendshapes)) or not np.all(np.isfinite(take.times)):
        raise TakeError(f"take '{take.name}' contains non-numeric values")
    if np.any(np.diff(take.times) < 0):
        raise TakeError(f"take '{take.name}' has timestamps that go backwards")
    return take
