"""Take files: Live Link Face CSV, and our JSON/NPZ (same columns plus timestamps and landmarks).

While a take records, its frames stream into a journal beside the output
(:mod:`kinemo.journal`), flushed every second; the take file is written from the journal
at the end (to a temporary name, then renamed) and the journal removed. So an ending of
any kind loses at most the last second: Ctrl-C, SIGTERM and SIGHUP finish the file, and
after a hard kill ``kinemo recover OUT`` (:func:`recover`) rebuilds it from the journal.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from kinemo import argcheck, protocol
from kinemo.errors import KinemoError
from kinemo.face.calibration import Profile
from kinemo.face.expression import classify
from kinemo.face.headpose import matrix_from_head, quaternion_from_matrix
from kinemo.face.landmarks import MESH_TO_IBUG68
from kinemo.face.smoothing import zero_phase
from kinemo.files import atomic_write
from kinemo.frame import NUM_LANDMARKS, Frame
from kinemo.journal import JournalWriter, journal_path, read_journal

TAKE_FORMAT = protocol.TAKE_FORMAT
TAKE_VERSION = 1
SUFFIXES = (".csv", ".json", ".npz")

#: Live Link Face CSV: 52 blendshapes (PascalCase) then head and eye rotations (radians).
LLF_ROTATIONS = protocol.LLF_ROTATIONS
LLF_HEADER = ("Timecode", "BlendshapeCount",
              *(protocol.pascal_case(n) for n in protocol.ARKIT_NAMES), *LLF_ROTATIONS)
LLF_COUNT = protocol.NUM_BLENDSHAPES + len(LLF_ROTATIONS)  # 61


def timecode(t: float, fps: float) -> str:
    """``HH:MM:SS:FF.fff``: whole frames within the second, then the sub-frame fraction."""
    frames_total = t * fps
    whole_seconds = math.floor(t + 1e-9)
    frame_in_second = frames_total - whole_seconds * fps
    if frame_in_second < 0:
        frame_in_second = 0.0
    ff = math.floor(frame_in_second + 1e-6)
    sub = max(0.0, frame_in_second - ff)
    h, rem = divmod(whole_seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{ff:02d}.{int(round(sub * 1000)) % 1000:03d}"


def llf_rows(cols: dict[str, np.ndarray], fps: float) -> list[str]:
    """CSV lines: blendshapes as they are, head and eye angles in radians (eye roll is 0)."""
    head = np.radians(cols["head"][:, :3].astype(np.float64))
    eyes = np.radians(cols["eyes"].astype(np.float64))
    zero = np.zeros((len(head), 1))
    values = np.hstack([cols["blendshapes"].astype(np.float64), head, eyes[:, :2], zero, eyes[:, 2:], zero])
    row_format = ",".join(["%.9g"] * values.shape[1])
    return [f"{timecode(float(t), fps)},{LLF_COUNT}," + row_format % tuple(row)
            for t, row in zip(cols["time"], values.tolist(), strict=True)]


def check_output_path(path: str | os.PathLike) -> Path:
    """Fail before any work is done if the output cannot be written (the checks every command shares)."""
    out = argcheck.output_file(path, SUFFIXES)
    if journal_path(out).exists():
        raise KinemoError(f"{journal_path(out)} holds a take that was not recovered: run 'kinemo recover {out}' "
                          "or delete it")
    return out


class TakeWriter:
    """Streams frames into the take's journal; ``close`` writes the file for its suffix from it.

    ``journal=False`` keeps the frames in memory instead, for a take that is sent on (:meth:`finish`) and
    never becomes a file to recover: a farm worker's.
    """

    def __init__(self, path: str | os.PathLike, *, fps: float, source: str = "", zero_phase: bool = False,
                 profile: Profile | None = None, profile_path: str | os.PathLike | None = None,
                 journal: bool = True) -> None:
        self.path = check_output_path(path)
        self.fps, self.source = float(fps), source
        self.zero_phase = zero_phase  # smooth the whole take without lag before writing (file input)
        self.profile = profile  # labels frames that are labelled again (zero-phase) with the performer's expressions
        self.profile_path = str(profile_path) if profile_path else ""  # so that recover() labels them the same way
        self.labels: tuple[str, ...] = protocol.EMOTIONS  # what the emotion scores are of; set by columns()
        self.frames: list[Frame] = []  # filled from the journal by close()/recover(), not while recording
        self._journal: JournalWriter | None = None  # opened by the first frame: a run that fails first leaves none
        self._journaled = journal

    @property
    def count(self) -> int:
        """Frames recorded so far."""
        return self._journal.count if self._journal else len(self.frames)

    def add(self, frame: Frame) -> None:
        if not self._journaled:
            self.frames.append(frame)
            return
        if self._journal is None:
            self._journal = JournalWriter(journal_path(self.path), {**self._meta(), "zero_phase": self.zero_phase,
                                                                  "profile": self.profile_path})
        self._journal.add(frame)

    def close(self) -> Path:
        """Write the complete take file, then remove the journal (kept if the file cannot be written)."""
        self._read_back()
        self._write()
        self._done()
        return self.path

    def finish(self) -> dict[str, np.ndarray]:
        """The complete take as :meth:`arrays`, for a caller that sends it on instead of writing its file (a
        farm worker); the journal is removed."""
        self._read_back()
        arrays = self.arrays()
        self._done()
        return arrays

    def _read_back(self) -> None:
        if self._journal is not None:
            self._journal.close()
            _meta, self.frames, _torn = read_journal(self._journal.path)

    def _done(self) -> None:
        if self._journal is not None:
            self._journal.remove()
        self.frames = []

    def _write(self) -> None:
        suffix = self.path.suffix.lower()
        with atomic_write(self.path, "wb" if suffix == ".npz" else "w", what="output ") as f:
            if suffix == ".csv":
                self._write_csv(f)
            elif suffix == ".json":
                self._write_json(f)
            else:
                self._write_npz(f)

    def columns(self) -> dict[str, np.ndarray]:
        frames = self.frames
        n = len(frames)

        def stack(attr: str, width: int) -> np.ndarray:
            return np.stack([getattr(f, attr) for f in frames]) if n else np.zeros((0, width), np.float32)

        # Only takes that have landmarks pay for them (a 2-hour audio take would need gigabytes).
        has_landmarks = any(f.landmarks is not None for f in frames)
        landmarks = np.full((n if has_landmarks else 0, NUM_LANDMARKS, 3), np.nan, np.float32)
        for i, f in enumerate(frames):
            if f.landmarks is not None:
                landmarks[i] = f.landmarks
        cols = {
            "seq": np.array([f.seq for f in frames], np.int64),
            "time": np.array([f.time for f in frames], np.float64),
            "stamp": np.array([f.stamp for f in frames], np.float64),
            "present": np.array([f.present for f in frames], bool),
            "blendshapes": stack("blendshapes", protocol.NUM_BLENDSHAPES),
            "head": stack("head", len(protocol.HEAD_FIELDS)),
            "eyes": stack("eyes", len(protocol.EYE_FIELDS)),
            "landmarks": landmarks,
            "landmarks68": landmarks[:, MESH_TO_IBUG68, :2],
        }
        if self.zero_phase and n:
            self._smooth(cols)
        # The motion stage's label (mesh geometry, calibration profile, hysteresis) where the frame has
        # one; otherwise the label of what is written (zero-phase smoothed, or e.g. a voice take), by the
        # performer's own taught expressions when the profile has them.
        expressions = [f.expression if f.expression is not None and not self.zero_phase
                       else classify(b, profile=self.profile)
                       for f, b in zip(frames, cols["blendshapes"], strict=True)]
        self.labels = label_set(expressions)
        cols["emotion"] = np.array([self.labels.index(e.label) for e in expressions], np.int64)
        cols["emotion_scores"] = (np.stack([_scores_over(e, self.labels) for e in expressions]) if n
                                  else np.zeros((0, len(self.labels)), np.float32))
        cols["action_units"] = (np.stack([e.action_units for e in expressions]) if n
                                else np.zeros((0, len(protocol.ACTION_UNITS)), np.float32))
        return cols

    def _smooth(self, cols: dict[str, np.ndarray]) -> None:
        cols["blendshapes"] = np.clip(zero_phase(cols["blendshapes"], self.fps), 0, 1).astype(np.float32)
        head = zero_phase(cols["head"], self.fps)
        for i in range(len(head)):
            head[i, 6:] = quaternion_from_matrix(matrix_from_head(*head[i, :3])[:3, :3])
        cols["head"] = head.astype(np.float32)
        cols["eyes"] = zero_phase(cols["eyes"], self.fps).astype(np.float32)

    def _meta(self) -> dict:
        return {"format": TAKE_FORMAT, "version": TAKE_VERSION, "source": self.source, "fps": self.fps,
                "channels": list(protocol.ARKIT_NAMES), "head_fields": list(protocol.HEAD_FIELDS),
                "eye_fields": list(protocol.EYE_FIELDS), "emotions": list(self.labels),
                "action_units": list(protocol.ACTION_UNITS)}

    def _write_csv(self, f) -> None:
        lines = llf_rows(self.columns(), self.fps)
        f.write(",".join(LLF_HEADER) + "\n")
        f.writelines(line + "\n" for line in lines)

    def _write_json(self, f) -> None:
        cols = self.columns()
        doc = self._meta()
        for key in ("seq", "time", "stamp", "present", "blendshapes", "head", "eyes", "emotion_scores",
                    "action_units"):
            doc[key] = cols[key].tolist()
        doc["emotion"] = [self.labels[i] for i in cols["emotion"]]
        present = cols["present"]
        if len(cols["landmarks"]):
            doc["landmarks"] = [np.round(lm.astype(np.float64), 6).tolist() if ok and np.isfinite(lm).all()
                                else None for lm, ok in zip(cols["landmarks"], present, strict=True)]
            doc["landmarks68"] = [np.round(lm.astype(np.float64), 6).tolist() if ok and np.isfinite(lm).all()
                                  else None for lm, ok in zip(cols["landmarks68"], present, strict=True)]
        else:
            doc["landmarks"] = doc["landmarks68"] = [None] * len(present)
        json.dump(doc, f, separators=(",", ":"))

    def arrays(self) -> dict[str, np.ndarray]:
        """What an NPZ take holds: ``meta`` (the metadata as JSON) and the columns, landmarks only if any."""
        cols = {k: v for k, v in self.columns().items() if not (k.startswith("landmarks") and not len(v))}
        return {"meta": np.array(json.dumps(self._meta())), **cols}

    def _write_npz(self, f) -> None:
        np.savez_compressed(f, **self.arrays())


def recover(output: str | os.PathLike) -> tuple[Path, int, bool]:
    """Rebuild the take ``output`` from the journal a killed capture left: (path, frames, torn tail).

    The file is what a normal stop would have written from those frames; the journal is removed
    once the file is in place.
    """
    out = Path(output)
    journal = journal_path(out)
    if out.suffix.lower() not in SUFFIXES:
        raise KinemoError(f"{out}: a take is .csv, .json or .npz")
    if not journal.is_file():
        raise KinemoError(f"no journal to recover: {journal} does not exist (only a capture that was killed "
                          "leaves one)")
    meta, frames, torn = read_journal(journal)
    try:
        writer = TakeWriter.__new__(TakeWriter)
        writer.path, writer.fps, writer.source = out, float(meta["fps"]), str(meta.get("source", ""))
        writer.zero_phase, writer.frames = bool(meta.get("zero_phase", False)), frames
        writer.labels, writer.profile_path = protocol.EMOTIONS, str(meta.get("profile", ""))
        writer.profile = _profile_for_recovery(writer.profile_path)
    except (KeyError, TypeError, ValueError) as e:
        raise KinemoError(f"{journal}: damaged journal header ({e})") from None
    writer._write()
    journal.unlink()
    return out, len(frames), torn


def _profile_for_recovery(path: str):
    """The capture's profile, when it is still there: recovered labels then match a normal stop's."""
    if not path or not Path(path).is_file():
        return None
    try:
        return Profile.load(path)
    except KinemoError:
        return None


def label_set(expressions) -> tuple[str, ...]:
    """The labels a take's scores are over: the built-in emotions, then any of the user's own names."""
    extra = []
    for e in expressions:
        for name in getattr(e, "labels", protocol.EMOTIONS):
            if name not in protocol.EMOTIONS and name not in extra:
                extra.append(name)
    return protocol.EMOTIONS + tuple(extra)


def _scores_over(expr, labels: tuple[str, ...]) -> np.ndarray:
    own = getattr(expr, "labels", protocol.EMOTIONS)
    if own == labels:
        return np.asarray(expr.scores, np.float32)
    pos = {name: i for i, name in enumerate(own)}
    return np.array([expr.scores[pos[n]] if n in pos else 0.0 for n in labels], np.float32)


def read_take(path: str | os.PathLike) -> dict:
    """Read a JSON or NPZ take back into columns (numpy arrays) plus metadata."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        doc = json.loads(p.read_text())
        if doc.get("format") != TAKE_FORMAT:
            raise KinemoError(f"{p} is not a Kinemo take")
        out = {k: np.asarray(doc[k]) for k in ("seq", "time", "stamp", "present", "blendshapes", "head", "eyes")}
        out["meta"] = {k: doc[k] for k in ("format", "version", "source", "fps", "channels")}
        out["meta"]["emotions"] = doc.get("emotions", list(protocol.EMOTIONS))
        return out
    with np.load(p, allow_pickle=False) as z:
        out = {k: z[k] for k in z.files if k != "meta"}
        out["meta"] = json.loads(str(z["meta"]))
    return out
