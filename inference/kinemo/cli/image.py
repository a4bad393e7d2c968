"""``kinemo image``: the still-image path as a command — one row per photo (blendshapes, head pose,
expression label and scores), for building expression presets from photos and for evaluation."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from kinemo import argcheck, protocol
from kinemo.errors import KinemoError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".pgm", ".ppm")
OUTPUT_SUFFIXES = (".json", ".csv")
#: Exit status when some inputs were skipped (unreadable or no face); the rows that worked are written.
EXIT_SKIPPED = 1


def register(sub) -> None:
    p = sub.add_parser(
        "image", help="blendshapes, head pose and expression for photos (files or folders)",
        description="Analyse still photos: one row per image with the face found (or not), the 52 ARKit "
                    "blendshapes, head pose and the expression label with its scores. Unreadable images and "
                    f"images without a face are reported and skipped; the exit status is then {EXIT_SKIPPED}.")
    p.add_argument("paths", nargs="+", metavar="FILE|DIR", help="images, or folders of images (not recursive)")
    p.add_argument("-o", "--output", metavar="OUT", help="write the rows: .json or .csv (default: a summary only)")
    p.add_argument("--profile", metavar="PROFILE.json",
                   help="the person's profile: neutral calibration, and taught expressions (kinemo expressions "
                        "teach) that then label the photos")
    p.add_argument("--model", metavar="PATH", help="face_landmarker.task to use instead of the model store")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-image lines")
    p.set_defaults(func=run)


def collect(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for s in paths:
        p = Path(s)
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES)
        elif p.exists():
            out.append(p)
        else:
            raise KinemoError(f"no such file or folder: {p}")
    if not out:
        raise KinemoError("no images found in " + ", ".join(paths))
    return out


def load_rgb(path: Path) -> np.ndarray | None:
    import cv2

    try:
        data = np.fromfile(path, np.uint8)
    except OSError:
        return None
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None and path.suffix.lower() == ".gif":  # OpenCV's imdecode has no GIF reader
        cap = cv2.VideoCapture(str(path))
        ok, bgr = cap.read()
        cap.release()
        if not ok:
            return None
    if bgr is None:
        return None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def row(path: Path, frame, expr) -> dict:
    doc = {"file": str(path), "face": bool(frame is not None and frame.present)}
    if doc["face"]:
        doc["blendshapes"] = dict(zip(protocol.ARKIT_NAMES, (round(float(v), 6) for v in frame.blendshapes),
                                      strict=True))
        doc["head"] = dict(zip(protocol.HEAD_FIELDS, (round(float(v), 5) for v in frame.head), strict=True))
        doc["expression"] = expr.label
        doc["scores"] = dict(zip(expr.labels, (round(float(v), 5) for v in expr.scores), strict=True))
    return doc


def write(path: Path, rows: list[dict], labels: tuple[str, ...] = protocol.EMOTIONS) -> None:
    """The rows as JSON or CSV; ``labels``: what the scores are of (the user's own names too, with a profile)."""
    from kinemo.files import atomic_write

    with atomic_write(path, "w", what="output ") as f:
        if path.suffix.lower() == ".json":
            json.dump({"format": "kinemo-images", "version": 1, "channels": list(protocol.ARKIT_NAMES),
                       "head_fields": list(protocol.HEAD_FIELDS), "emotions": list(labels),
                       "images": rows}, f, indent=1)
            f.write("\n")
            return
        header = ["file", "face", "expression", *(f"score_{e}" for e in labels),
                  *protocol.HEAD_FIELDS, *protocol.ARKIT_NAMES]
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            if not r["face"]:
                w.writerow([r["file"], 0] + [""] * (len(header) - 2))
                continue
            w.writerow([r["file"], 1, r["expression"], *r["scores"].values(), *r["head"].values(),
                        *r["blendshapes"].values()])


def run(args: argparse.Namespace) -> int:
    from kinemo.face.calibration import Profile
    from kinemo.face.expression import classify
    from kinemo.face.tracker import FaceTracker, FaceTrackerOptions

    out = argcheck.output_file(args.output, OUTPUT_SUFFIXES, inputs=args.paths) if args.output else None
    images = collect(args.paths)
    profile = Profile.load(args.profile) if args.profile else None
    rows, skipped = [], []
    with FaceTracker.create_from_options(FaceTrackerOptions(model_path=args.model, video=False)) as tracker:
        for i, path in enumerate(images):
            rgb = load_rgb(path)
            if rgb is None:
                skipped.append((path, "not a readable image"))
                continue
            frame = tracker.process_image(rgb, seq=i)
            if not frame.present:
                skipped.append((path, "no face found"))
                rows.append(row(path, frame, None))
                continue
            if profile is not None:
                frame.blendshapes = profile.apply_blendshapes(frame.blendshapes).astype(np.float32)
            expr = classify(frame.blendshapes, frame.landmarks, frame.image_size, profile=profile)
            rows.append(row(path, frame, expr))
            if not args.quiet:
                top = ", ".join(f"{e} {s:.2f}" for e, s in sorted(zip(protocol.EMOTIONS, expr.scores.tolist(),
                                                                        strict=True), key=lambda x: -x[1])[:2])
                print(f"{path}: {expr.label} ({top})")
    for path, why in skipped:
        print(f"kinemo: skipped {path}: {why}", file=sys.stderr)
    faces = sum(r["face"] for r in rows)
    written = out is not None and faces > 0  # nothing succeeded: an existing output is left as it was
    if written:
        classifier = profile.classifier() if profile is not None else None
        write(out, rows, classifier.labels if classifier is not None else protocol.EMOTIONS)
    print(f"{len(images)} images, {faces} with a face, {len(skipped)} skipped"
          + (f"; wrote {out}" if written else f"; nothing written, {out} left as it was" if out else ""),
          file=sys.stderr)
    return EXIT_SKIPPED if skipped else 0
