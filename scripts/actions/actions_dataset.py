"""Generate labelled classifier windows with the motion generator (training/evaluation data).

    python scripts/actions/actions_dataset.py --split train --seqs-per-class 700 --seed 11
    python scripts/actions/actions_dataset.py --split val --seqs-per-class 60 --seed 12
    python scripts/actions/actions_dataset.py --split shifted --seqs-per-class 60 --seed 13

Writes ``build/actions/<split>.npz`` (x float16 (N, 32, 132), y, steady, labels). ``shifted``
uses the generator's SHIFTED ranges (other tempo, size, camera, noise, frame rates).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from kinemo.body.dataset import make_windows
from kinemo.body.generator import SHIFTED, TRAIN, VOCABULARY
from kinemo.progress import Progress

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=("train", "val", "shifted"), required=True)
    ap.add_argument("--seqs-per-class", type=int, default=100)
    ap.add_argument("--windows-per-seq", type=int, default=10)
    ap.add_argument("--seed", type=int, required=True, help="different seeds give disjoint takes")
    ap.add_argument("--out", type=Path, help="default build/actions/<split>.npz")
    args = ap.parse_args(argv)
    cfg = SHIFTED if args.split == "shifted" else TRAIN
    out = args.out or ROOT / "build" / "actions" / f"{args.split}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    bar = Progress(f"generating {args.split}", args.seqs_per_class * len(VOCABULARY))
    w = make_windows(np.random.default_rng(args.seed), VOCABULARY, args.seqs_per_class,
                     args.windows_per_seq, cfg, progress=bar)
    bar.close()
    np.savez(out, x=w.x.astype(np.float16), y=w.y, steady=w.steady,
             labels=np.array(json.dumps(list(VOCABULARY))))
    print(f"{out}: {len(w)} windows ({int((w.y >= 0).sum())} labelled, {int(w.steady.sum())} steady)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
