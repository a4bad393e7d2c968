"""Speaker-held-out folds for the file head: how a training recipe does on the speakers it never heard.

  nice .venv/bin/python scripts/voice/voice_folds.py --name plain --seed 0
  nice .venv/bin/python scripts/voice/voice_folds.py --name cmvn --seed 0 -- --cmvn  # after --: voice_train.py
  nice .venv/bin/python scripts/voice/voice_folds.py --report plain cmvn      # the table again, no training
  nice .venv/bin/python scripts/voice/voice_folds.py --name mix --combine plain plain1 ridge03 -- --jaw-weights 1,1,2
  nice .venv/bin/python scripts/voice/voice_folds.py --name old --without grid_s30_bwwy5n,...  # without new clips

Why: the model card's selection rule asks how a candidate does on speakers held out of
training, and the standard hold-out is three VoxCeleb2 clips: one head's jaw r on them
moves by 0.1–0.2 between training seeds. The trainable talking data has twenty-one speakers
besides GRID s1 (VoxCeleb, GRID, CREMA-D), so a recipe is trained four times, each time
without one fold of them (``voice_train.py --exclude``, a speaker's clips always together),
and each fold's head is scored on the clips it did not hear (``voice_eval.py --sets
heldout``, the same metrics as every other number; ``--keep-all``, so every recipe is scored
on the same clips). Every trainable speaker is held out once per recipe and seed instead of
three. Never the dev GRID or wild eval clips: those stay for reporting.

Needs the Whisper features of all trainable clips with only ``bbaf2n`` (a dev clip) held out:

  python scripts/voice/voice_talking.py --front whisper --copies 4 --hold-out bbaf2n --out build/voice/realw_all

Each fold trains one head as the model card's recipe does (2000 steps, 128 wide, 150-frame
crops; ≈ 3 min on one core of a fast machine, up to twice that on a slow one) and writes
``build/voice/folds/NAME_fK/`` with its log and the evaluation's JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "voice" / "folds"
_S30 = ("grid_s30_bwwy5n", "grid_s30_pbbm3n", "grid_s30_pgbb4s", "grid_s30_pgbb5p")
_S31 = ("grid_s31_bgiq6p", "grid_s31_bgix8n", "grid_s31_bgix9s", "grid_s31_lbig7s", "grid_s31_lbwo3s",
        "grid_s31_lgbj5a", "grid_s31_lrau5s", "grid_s31_lrbvzp", "grid_s31_lwiu7s", "grid_s31_prwa4n")
_S33 = ("grid_s33_bwwy3s", "grid_s33_lbaa7a", "grid_s33_lwbi5s")
_CREMAD_1001 = tuple(f"cremad_1001_{e}" for e in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD"))
#: The trainable speakers besides GRID s1, as clip names; a speaker's clips are always in one fold.
#: Fold 1 is the standard hold-out (three VoxCeleb2 speakers). The others mix corpora so that each
#: fold holds out GRID and non-GRID speakers alike.
FOLDS = (
    ("vox2_00015", "vox2_00473", "vox2_741400163"),
    ("grid_bbab8n", "vox2_00067", "vox2_681100216", *_S31),
    ("vox2_00086", "vox2_00104", "vox2_620900105", *_S30, *_S33, "grid_up_lrwq7p"),
    ("vox2_00098", "vox2_517600055", "vox2_796100172", *_CREMAD_1001, "grid_s34_lbwh5n", "grid_up_brby3p",
     "grid_up_bbax9s", "vox_lia_driving2"),
)


def speaker_of(clip: str) -> str:
    """The speaker a trainable clip shows: ``grid_s31_bgiq6p`` → ``grid_s31``, ``cremad_1001_ANG`` →
    ``cremad_1001``; other clips (VoxCeleb, the single GRID clips) are one speaker each."""
    m = re.match(r"(grid_s\d+|cremad_\d+)_", clip)
    return m.group(1) if m else clip


def run_fold(name: str, k: int, seed: int, data: Path, extra: list[str], without: tuple[str, ...] = ()) -> Path:
    """Train fold ``k``'s head without the fold's speakers (nor ``without``: whether data helps is
    that recipe with and without it, the fold's clips scored either way) and score it."""
    out = OUT / f"{name}_f{k + 1}"
    out.mkdir(parents=True, exist_ok=True)
    train = [sys.executable, str(Path(__file__).with_name("voice_train.py")), "--front", "whisper", "--data", str(data),
             "--exclude", ",".join(dict.fromkeys((*FOLDS[k], *without))), "--steps", "2000", "--channels", "128",
             "--length", "150",
             "--seed", str(seed), "--name", "voice_file", "--out", str(out), *extra]
    with open(out / "train.log", "w") as log:
        if subprocess.run(train, stdout=log, stderr=subprocess.STDOUT).returncode:
            raise SystemExit(f"training fold {k + 1} failed: see {out / 'train.log'}")
    return score_fold(out, k)


def score_fold(out: Path, k: int) -> Path:
    """Evaluate a fold's head on its three held-out clips, all of them: with only the candidate
    to judge sync by, the sync check would drop the clips *its own* curves disagree with."""
    evaluate = [sys.executable, str(ROOT / "scripts/voice/voice_eval.py"), "--model", str(out / "voice_file.onnx"),
                "--predictors", "model", "--plot", "", "--sets", "heldout", "--keep-all",
                "--json", str(out / "eval.json"), "--heldout", *(f"wild/{c}.mp4" for c in FOLDS[k])]
    with open(out / "eval.log", "w") as log:
        if subprocess.run(evaluate, stdout=log, stderr=subprocess.STDOUT,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}).returncode:
            raise SystemExit(f"evaluating fold {k + 1} failed: see {out / 'eval.log'}")
    return out


def scores(name: str) -> list[tuple[str, float, float, float]]:
    """(clip, jaw r, mouth r, centred skill) of every held-out clip, over the folds."""
    rows = []
    for k in range(len(FOLDS)):
        path = OUT / f"{name}_f{k + 1}" / "eval.json"
        if not path.is_file():
            continue
        held = json.loads(path.read_text())["sets"]["heldout"]
        for clip, v in held["clips"].items():
            m = v["model"]
            rows.append((clip, m["r_jaw"], m["r_mouth"], m["skill"]))
    return rows


def report(names: list[str]) -> None:
    print(f"{'recipe':14s} {'clips':>5s} {'jaw r':>6s} {'mouth r':>8s} {'skill %':>8s}  per clip (jaw r)")
    for name in names:
        rows = scores(name)
        if not rows:
            print(f"{name:14s} no folds evaluated under {OUT}")
            continue
        a = np.array([r[1:] for r in rows])
        clips = " ".join(f"{c}:{j:.2f}" for c, j, _, _ in rows)
        print(f"{name:14s} {len(rows):5d} {a[:, 0].mean():6.3f} {a[:, 1].mean():8.3f} {a[:, 2].mean():8.1f}  {clips}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", help="recipe name (folder prefix under build/voice/folds)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", type=Path, default=ROOT / "build/voice/realw_all")
    ap.add_argument("--folds", default="1,2,3,4", help="which folds to train (comma list)")
    ap.add_argument("--without", default="", metavar="CLIP,...",
                    help="also leave these recordings out of every fold's training (the same data with and "
                         "without them says whether they help)")
    ap.add_argument("--report", nargs="+", metavar="NAME", help="only print the table for these recipes")
    ap.add_argument("--rescore", nargs="+", metavar="NAME",
                    help="evaluate these recipes' trained folds again, then print")
    ap.add_argument("--combine", nargs="+", metavar="RECIPE",
                    help="with --name NEW: no training; each fold of NEW is the ensemble of these recipes' heads "
                         "for that fold (voice_train.py --ensemble; flags after -- go to it, e.g. "
                         "--jaw-weights), scored like a trained fold")
    args = ap.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    if args.rescore:
        for name in args.rescore:
            for k in range(len(FOLDS)):
                if (OUT / f"{name}_f{k + 1}" / "voice_file.onnx").is_file():
                    score_fold(OUT / f"{name}_f{k + 1}", k)
    if args.report or args.rescore:
        report(args.report or args.rescore)
        return 0
    if not args.name:
        ap.error("--name is needed to train (or --report NAME ... to print)")
    if args.combine:
        for k in (int(x) - 1 for x in args.folds.split(",")):
            out = OUT / f"{args.name}_f{k + 1}"
            members = [OUT / f"{m}_f{k + 1}" / "voice_file.onnx" for m in args.combine]
            if missing := [str(m) for m in members if not m.is_file()]:
                raise SystemExit(f"fold {k + 1}: not trained: {', '.join(missing)}")
            cmd = [sys.executable, str(Path(__file__).with_name("voice_train.py")), "--front", "whisper",
                   "--channels", "128", "--ensemble", *map(str, members),
                   "--name", "voice_file", "--out", str(out), *extra]
            if subprocess.run(cmd, capture_output=True).returncode:
                raise SystemExit(f"combining fold {k + 1} failed: {' '.join(cmd)}")
            score_fold(out, k)
        report([*args.combine, args.name])
        return 0
    if not any(args.data.glob("shard_*.npz")):
        raise SystemExit(f"no training data in {args.data}: run scripts/voice/voice_talking.py --front whisper "
                         f"--copies 4 --hold-out bbaf2n --out {args.data}")
    without = tuple(x.strip() for x in args.without.split(",") if x.strip())
    for k in (int(x) - 1 for x in args.folds.split(",")):
        out = run_fold(args.name, k, args.seed, args.data, extra, without)
        print(f"fold {k + 1}: {', '.join(FOLDS[k])} held out → {out.relative_to(ROOT)}", flush=True)
    report([args.name])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
