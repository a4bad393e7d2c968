"""Fit the data-made face rig's 52 shape keys, and check it on held-out clips.

  python scripts/face/face_rig_data.py        # track the data once (cached under build/face_rig/)
  python scripts/face/face_rig_fit.py         # fit → rigs/face_rig.npz, print the held-out error
  python scripts/face/face_rig_fit.py --check # only the held-out error of the committed rigs/face_rig.npz

Method (docs/face-rig.md): every tracked frame's 478 landmarks are put into the canonical face's
frame by a similarity fit on points expressions barely move (pose and scale removed); within each
clip, shapes and MediaPipe's blendshape scores are centred on the clip's mean (so the speaker's
own face cancels) and, with every frame's mirror image, give the normal equations of
shape = scores · offsets. Each vertex is solved by ridge regression over only the keys whose
region holds it; the offsets fade out at each region's edge and left/right twins are made exact
mirror images. Channels without data (tongueOut, cheekPuff) get hand-made offsets.

The check drives the rig with each held-out clip's own scores and compares its vertices with that
clip's own tracked landmarks (pose removed), as a mean error in % of the inter-ocular distance per
region; see ``face_rig.reconstruction_error`` for the three rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "rigs"), str(ROOT / "scripts" / "face"), str(ROOT / "inference")]

import face_rig as fr  # noqa: E402
from face_rig_data import CACHE, HELD_OUT_VOX, held_out_clips, track_clip  # noqa: E402

from kinemo.protocol import ARKIT_NAMES  # noqa: E402

PHOTO_WEIGHT = 0.5  # photos: many identities centred on one mean, noisier than a clip


def load(path: Path, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        bs = z["blendshapes"].astype(np.float64)
        lm = z["landmarks"]
        if "files" in z:  # photos: one size per row
            shapes = np.stack([fr.canonical_shapes(p, s, reference) for p, s in zip(lm, z["size"], strict=True)])
        else:
            shapes = fr.canonical_shapes(lm, z["size"], reference)
    return shapes, bs


def held_out(reference: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for clip in held_out_clips():
        path = CACHE / "clips" / f"{clip.stem}.npz"
        if not path.exists():  # a fresh checkout: track the few held-out clips now (seconds each)
            if not clip.exists():
                raise SystemExit(f"face_rig_fit: error: held-out clip {clip} missing (../shared beside the checkout?)")
            path.parent.mkdir(parents=True, exist_ok=True)
            track_clip(clip, 2 if clip.parent.name == "grid_s1" else 1, path)
        out[clip.stem] = load(path, reference)
    return out


def check(rig: fr.Rig, clips: dict) -> dict:
    per = {name: fr.reconstruction_error(rig, s, b) for name, (s, b) in clips.items() if len(s) > 1}
    grid = [v for k, v in per.items() if not k.startswith("vox2_")]
    vox = [v for k, v in per.items() if k.startswith("vox2_")]

    def mean(rows):
        return {lab: {r: float(np.mean([x[lab][r] for x in rows])) for r in rows[0][lab]} for lab in rows[0]}

    return {"clips": per, "grid_s1": mean(grid), "vox2": mean(vox), "all": mean(grid + vox)}


def print_table(summary: dict) -> None:
    regions = (*fr.EVAL_REGIONS, "all")
    print(f"{'held-out set':14s} {'row':8s} " + " ".join(f"{r:>7s}" for r in regions))
    for group in ("grid_s1", "vox2", "all"):
        for lab in ("rig", "neutral", "static"):
            vals = summary[group][lab]
            print(f"{group:14s} {lab:8s} " + " ".join(f"{vals[r]:7.2f}" for r in regions))
    print("(mean point error, % of inter-ocular distance; rig = shipped rig on MediaPipe's canonical face, "
          "neutral = its keys on the speaker's own neutral, static = that neutral without expression)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true", help="only evaluate the committed rig")
    p.add_argument("--ridge", type=float, default=0.02, help="ridge strength, relative (default %(default)s)")
    p.add_argument("--output", type=Path, default=fr.RIG, help="default: %(default)s")
    args = p.parse_args(argv)
    verts, faces = fr.load_obj()
    t0 = time.perf_counter()
    if args.check:
        rig = fr.Rig.load(args.output)
    else:
        acc = fr.Accumulator(ARKIT_NAMES, fr.mirror_map(verts))
        skip = {c.stem for c in held_out_clips()} | set(HELD_OUT_VOX)
        clips = sorted(p for p in (CACHE / "clips").glob("*.npz") if p.stem not in skip)
        if not clips:
            raise SystemExit("face_rig_fit: error: no cached clips: run scripts/face/face_rig_data.py first")
        for path in clips:
            acc.add(*load(path, verts))
        n_clips = acc.count
        photos = CACHE / "photos.npz"
        if photos.exists():
            acc.add(*load(photos, verts), weight=PHOTO_WEIGHT)
        print(f"fit data: {len(clips)} clips ({n_clips // 2} frames), "
              f"{(acc.count - n_clips) // 2} photos; ×2 mirrored ({time.perf_counter() - t0:.0f} s)")
        rig = fr.solve(acc, verts, faces, ridge=args.ridge)
        rig.save(args.output)
        made = [n for n, ok in zip(rig.names, rig.learned, strict=True) if not ok]
        print(f"wrote {args.output}: {int(rig.learned.sum())} keys learned, hand-made: {', '.join(made)}")
    summary = check(rig, held_out(verts))
    print_table(summary)
    out = CACHE / "eval.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1))
    print(f"per-clip numbers: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
