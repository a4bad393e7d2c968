"""Read take files (Kinemo JSON/NPZ, Live Link Face CSV) into arrays. No ``bpy``.

CSV columns are found by header name, not position: real Live Link Face files
order some pairs differently (JawRight before JawLeft).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass

import numpy as np

from .protocol import ARKIT_NAMES, NUM_BLENDSHAPES, TAKE_FORMAT

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
                cols = {k: z[k] for k in z.files}
            cols["meta"] = json.loads(str(cols["meta"])) if "meta" in cols else {}
            return _from_columns(name, cols)
        if ext == ".csv":
            return _read_llf_csv(name, path)
    except TakeError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise TakeError(f"cannot read take {os.path.basename(path)}: {e}") from None
    raise TakeError(f"unsupported take type '{ext}': use .csv, .json or .npz")


def _load_json(path: str) -> dict:
    with open(path) as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or doc.get("format") != TAKE_FORMAT:
        raise TakeError(f"{os.path.basename(path)} is not a Kinemo take (format '{TAKE_FORMAT}')")
    doc["meta"] = {"fps": doc.get("fps"), "channels": doc.get("channels")}
    return doc


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
    return _checked(Take(name, times - (times[0] if len(times) else 0.0), bs, present, fps))


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
    return _checked(Take(name, times - (times[0] if len(times) else 0.0), bs, np.ones(len(body), bool), fps))


def _checked(take: Take) -> Take:
    if len(take.times) == 0:
        raise TakeError(f"take '{take.name}' has no frames")
    if not np.all(np.isfinite(take.blendshapes)) or not np.all(np.isfinite(take.times)):
        raise TakeError(f"take '{take.name}' contains non-numeric values")
    if np.any(np.diff(take.times) < 0):
        raise TakeError(f"take '{take.name}' has timestamps that go backwards")
    return take
