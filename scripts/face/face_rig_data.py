"""Tracking data for the data-made face rig: MediaPipe on trainable talking faces and photos, cached.

  python scripts/face/face_rig_data.py [--grid 240] [--step 2]     # fills build/face_rig/ (idempotent)

Reads only what the shared data lets shipped assets learn from: clips whose
``../shared/data/talking/manifest.csv`` ``use`` is ``train`` (a sorted subset of GRID
speaker s1, every ``--step``-th frame, and all CC BY VoxCeleb2 clips; plus the held-out clips
of ``held_out_clips``, which the fit never reads), and the expression
photos whose ``labels.csv`` ``use`` is ``train`` (muxspace). Per clip
``build/face_rig/clips/NAME.npz`` holds ``blendshapes`` (T, 52), ``landmarks`` (T, 478, 3,
MediaPipe-normalised image coordinates), ``size`` (width, height); frames without a face are
dropped. Photos: ``build/face_rig/photos.npz`` (same keys plus ``files``), through
``FaceTracker`` in IMAGE mode (taken from scripts/expression/expression_data.py's cache when it exists).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "inference"))
SHARED = Path(os.environ.get("KINEMO_SHARED", ROOT.parent / "shared"))
TALKING = SHARED / "data" / "talking"
EXPR = SHARED / "data" / "expressions"
CACHE = ROOT / "build" / "face_rig"

os.environ.setdefault("KINEMO_MODEL_DIR", str(SHARED / "models"))
os.environ.setdefault("KINEMO_OFFLINE", "1")


def trainable_clips(grid: int) -> list[Path]:
    """The GRID s1 subset (every k-th of the sorted list, ``grid`` of them) and every vox2 clip marked train."""
    rows = list(csv.DictReader((TALKING / "manifest.csv").open(newline="")))
    train = [r for r in rows if r["use"].strip() == "train"]
    gridc = sorted(TALKING / r["clip"] for r in train if r["clip"].startswith("grid_s1/"))
    vox = sorted(TALKING / r["clip"] for r in train if Path(r["clip"]).name.startswith("vox2_"))
    stride = max(1, len(gridc) // max(grid, 1))
    return gridc[::stride][:grid] + vox


#: Clips kept out of the fit for the reconstruction check: GRID s1 sentences outside the training subset
#: and two VoxCeleb2 speakers (the voice model's hold-out pair too).
HELD_OUT_VOX = ("vox2_00015", "vox2_00473")


def held_out_clips() -> list[Path]:
    rows = list(csv.DictReader((TALKING / "manifest.csv").open(newline="")))
    gridc = sorted(TALKING / r["clip"] for r in rows if r["clip"].startswith("grid_s1/") and r["use"] == "train")
    return gridc[2::100] + [TALKING / "wild" / f"{v}.mp4" for v in HELD_OUT_VOX]


def track_clip(path: Path, step: int, out: Path) -> int:
    from kinemo.face import FaceTracker, FaceTrackerOptions
    from kinemo.sources import VideoSource

    src = VideoSource(path)
    bs, lm = [], []
    size = (0, 0)
    with FaceTracker.create_from_options(FaceTrackerOptions()) as tracker:
        for i, t, rgb in src:
            if i % step:
                continue
            f = tracker.process_video_frame(rgb, int(round(t * 1000)))
            if f.present:
                bs.append(f.blendshapes)
                lm.append(f.landmarks)
                size = f.image_size
    src.close()
    np.savez_compressed(out, blendshapes=np.array(bs, np.float32).reshape(-1, 52),
                        landmarks=np.array(lm, np.float32).reshape(-1, 478, 3), size=np.array(size))
    return len(bs)


def track_photos(out: Path) -> int:
    import cv2

    from kinemo.face import FaceTracker, FaceTrackerOptions

    shared = ROOT / "build" / "expression" / "photos.npz"  # expression_data.py: same tracker, mode
    if shared.exists():
        with np.load(shared, allow_pickle=False) as z:
            keep = z["present"] & (z["use"] == "train")
            np.savez_compressed(out, blendshapes=z["blendshapes"][keep], landmarks=z["landmarks"][keep],
                                size=z["size"][keep], files=z["path"][keep])
        return int(keep.sum())
    rows = [r for r in csv.DictReader((EXPR / "labels.csv").open(newline="")) if r["use"].strip() == "train"]
    bs, lm, size, files = [], [], [], []
    with FaceTracker.create_from_options(FaceTrackerOptions(video=False)) as tracker:
        for r in rows:
            bgr = cv2.imread(str(EXPR / r["file"]), cv2.IMREAD_COLOR)
            if bgr is None:
                continue
            f = tracker.process_image(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            if f.present:
                bs.append(f.blendshapes)
                lm.append(f.landmarks)
                size.append(f.image_size)
                files.append(r["file"])
    np.savez_compressed(out, blendshapes=np.array(bs, np.float32), landmarks=np.array(lm, np.float32),
                        size=np.array(size), files=np.array(files))
    return len(bs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--grid", type=int, default=240, help="GRID s1 clips to use (default %(default)s)")
    p.add_argument("--step", type=int, default=2, help="track every N-th GRID frame (default %(default)s)")
    args = p.parse_args(argv)
    (CACHE / "clips").mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    photos = CACHE / "photos.npz"
    if not photos.exists():
        print(f"photos: {track_photos(photos)} faces", flush=True)
    for k, clip in enumerate(trainable_clips(args.grid) + held_out_clips()):
        out = CACHE / "clips" / f"{clip.stem}.npz"
        if out.exists():
            continue
        n = track_clip(clip, args.step if clip.parent.name == "grid_s1" else 1, out)
        print(f"[{k + 1}] {clip.name}: {n} frames ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
