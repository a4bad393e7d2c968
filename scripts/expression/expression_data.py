"""Expression data: our FaceTracker's outputs for the shared photos and MEAD clips, cached.

  python scripts/expression/expression_data.py            # fills build/expression/ (idempotent)

What is cached (``build/expression/``), so training and evaluation never run MediaPipe twice:

- ``photos.npz``: every row of ``../shared/data/expressions/labels.csv`` through
  ``FaceTracker`` in IMAGE mode (the still path ``kinemo image`` uses): ``path``, ``label``,
  ``set``, ``use``, ``person``, ``present``, ``blendshapes`` (N, 52), ``landmarks`` (N, 478, 3),
  ``head`` (N, 10), ``size`` (N, 2: width, height).
- ``photos_aug.npz``: only by ``scripts/expression/expression_experiments.py --aug`` (augmentation that was
  tried and not kept; the code lives there).
- ``mead.npz`` + ``mead_frames/CLIP/NNNN.jpg``: the MEAD clips of ``../shared/data/talking/wild``
  (evaluation only) through ``FaceTracker`` in VIDEO mode, every ``MEAD_STEP``-th frame, with
  that frame saved as JPEG so the peers see exactly the frames we classify.

Splits: rows whose ``use`` column is ``train`` (muxspace, Apache-2.0; the London Set, CC BY 4.0) are
the only rows any shipped weight learns from; ``eval`` rows (Yale, stock) are the source hold-out.
``person_of`` names the person from the file name (``muxspace_George_W_Bush_0012.jpg`` →
``George_W_Bush``; ``london_017_03.jpg`` and ``london_017_08.jpg`` → ``london_017``), and
``grouped_folds`` keeps each person's photos in one fold, so folds never put one person on both sides.
"""

from __future__ import annotations

import csv
import os
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "inference"))
SHARED = Path(os.environ.get("KINEMO_SHARED", ROOT.parent / "shared"))
EXPR = SHARED / "data" / "expressions"
WILD = SHARED / "data" / "talking" / "wild"
CACHE = ROOT / "build" / "expression"
MEAD_STEP = 2
CLASSES = ("neutral", "happy", "sad", "surprise", "anger", "fear", "disgust")
#: MEAD's emotion words → our class names.
MEAD_LABELS = {"neutral": "neutral", "happy": "happy", "sad": "sad", "surprised": "surprise",
               "angry": "anger", "fear": "fear", "disgusted": "disgust", "contempt": None}

os.environ.setdefault("KINEMO_MODEL_DIR", str(SHARED / "models"))
os.environ.setdefault("KINEMO_OFFLINE", "1")


def person_of(file: str) -> str:
    """The person a photo shows, so folds keep a person's photos together:
    muxspace_George_W_Bush_0012.jpg → George_W_Bush; london_017_03.jpg and london_017_08.jpg (the
    London Set's neutral and smiling photo of one adult) → london_017; yale_subject01.happy.jpeg → yale_subject01."""
    name = Path(file).name
    if name.startswith("muxspace_"):
        return re.sub(r"_?\d*\.(jpe?g|png)$", "", name[len("muxspace_"):])
    london = re.fullmatch(r"(london_\d+)_\d+\.(jpe?g|png)", name)
    if london:
        return london.group(1)
    return name.split(".")[0]


def read_labels() -> list[dict]:
    with open(EXPR / "labels.csv", newline="") as f:
        return list(csv.DictReader(f))


def load_rgb(path: Path) -> np.ndarray | None:
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def extract_photos(force: bool = False) -> Path:
    out = CACHE / "photos.npz"
    if out.exists() and not force:
        return out
    from kinemo.face import FaceTracker, FaceTrackerOptions

    rows = read_labels()
    n = len(rows)
    bs = np.zeros((n, 52), np.float32)
    lm = np.zeros((n, 478, 3), np.float32)
    head = np.zeros((n, 10), np.float32)
    size = np.zeros((n, 2), np.int32)
    present = np.zeros(n, bool)
    with FaceTracker.create_from_options(FaceTrackerOptions(video=False)) as tracker:
        for i, r in enumerate(rows):
            rgb = load_rgb(EXPR / r["file"])
            if rgb is None:
                continue
            f = tracker.process_image(rgb)
            size[i] = f.image_size
            if f.present:
                present[i] = True
                bs[i], lm[i], head[i] = f.blendshapes, f.landmarks, f.head
            if i % 200 == 0:
                print(f"photos {i}/{n}", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, path=np.array([r["file"] for r in rows]), label=np.array([r["label"] for r in rows]),
                        set=np.array([r["set"] for r in rows]), use=np.array([r["use"] for r in rows]),
                        person=np.array([person_of(r["file"]) for r in rows]), present=present,
                        blendshapes=bs, landmarks=lm, head=head, size=size)
    print(f"photos: {present.sum()}/{n} with a face → {out}")
    return out


def mead_clips() -> list[tuple[Path, str]]:
    out = []
    for p in sorted(WILD.glob("mead_*.mp4")):
        label = MEAD_LABELS.get(p.stem.split("_")[2])
        if label is not None:
            out.append((p, label))
    return out


def majority(labels) -> str | None:
    """A clip's majority label; ties go to the label seen first in the clip (None when empty)."""
    labels = list(labels)
    return Counter(labels).most_common(1)[0][0] if labels else None


def tracked_frames(path: Path):
    """Every frame of a video through our FaceTracker in VIDEO mode: (index, fps, BGR image, Frame)."""
    import cv2

    from kinemo.face import FaceTracker, FaceTrackerOptions

    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    try:
        with FaceTracker.create_from_options(FaceTrackerOptions(video=True)) as tracker:
            k = 0
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                yield k, fps, bgr, tracker.process_video_frame(rgb, int(round(k * 1000 / fps)))
                k += 1
    finally:
        cap.release()


def extract_mead(force: bool = False) -> Path:
    out = CACHE / "mead.npz"
    if out.exists() and not force:
        return out
    import cv2

    clip, label, index, times, frames, bs, lm, head, size, present = ([] for _ in range(10))
    for path, lab in mead_clips():
        folder = CACHE / "mead_frames" / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        n = 0
        for k, fps, bgr, f in tracked_frames(path):
            n = k + 1
            if k % MEAD_STEP == 0:
                name = folder / f"{k:04d}.jpg"
                cv2.imwrite(str(name), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
                clip.append(path.stem)
                label.append(lab)
                index.append(k)
                times.append(k / fps)
                frames.append(str(name.relative_to(CACHE)))
                bs.append(f.blendshapes)
                lm.append(f.landmarks if f.present else np.zeros((478, 3), np.float32))
                head.append(f.head)
                size.append(f.image_size)
                present.append(f.present)
        print(f"mead {path.stem}: {n} frames", flush=True)
    np.savez_compressed(out, clip=np.array(clip), label=np.array(label), index=np.array(index),
                        time=np.array(times), frame=np.array(frames), blendshapes=np.array(bs, np.float32),
                        landmarks=np.array(lm, np.float32), head=np.array(head, np.float32),
                        size=np.array(size, np.int32), present=np.array(present))
    return out


def load_photos() -> dict[str, np.ndarray]:
    with np.load(extract_photos(), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_mead() -> dict[str, np.ndarray]:
    with np.load(extract_mead(), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def grouped_folds(persons: np.ndarray, labels: np.ndarray, k: int = 5, seed: int = 0) -> np.ndarray:
    """Fold id per row; a person's rows share a fold. Greedy by size so class counts stay even."""
    rng = np.random.default_rng(seed)
    uniq = np.unique(persons)
    rng.shuffle(uniq)
    sizes = {p: int((persons == p).sum()) for p in uniq}
    order = sorted(uniq, key=lambda p: -sizes[p])
    fold_of: dict[str, int] = {}
    counts = np.zeros((k, len(CLASSES)))
    cls = np.array([CLASSES.index(x) for x in labels])
    for p in order:
        hist = np.bincount(cls[persons == p], minlength=len(CLASSES))
        # the fold where this person's classes are rarest so far
        f = int(np.argmin((counts + hist) @ np.where(hist > 0, 1.0, 0.0) + 1e-3 * counts.sum(1)))
        fold_of[p] = f
        counts[f] += hist
    return np.array([fold_of[p] for p in persons])


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--force", action="store_true", help="re-run MediaPipe even if the cache exists")
    a = ap.parse_args()
    extract_photos(a.force)
    extract_mead(a.force)
