"""Many linear-head recipes on the speaker-held-out folds from one pass over the data.

  nice .venv/bin/python scripts/voice/voice_ridge_sweep.py plain:lam=0.3 v24:share=0.1,labels=spread,full
  nice .venv/bin/python scripts/voice/voice_ridge_sweep.py --taps=-30,-20,-12,-5,0,5,12,20,30 wide:share=0.1,full

Why: ``voice_folds.py -- --ridge ...`` fits each fold from scratch (≈ 4 min a fold, 16 min
a recipe). The normal equations of a ridge fit are sums over frames, so this script sums them
once per speaker group (GRID s1, and each other trainable speaker: ``voice_folds.speaker_of``) and label
variant, and every fold × weighting × penalty is then a weighted sum and one linear solve
(seconds). Each fold's head is exported and scored exactly as ``voice_folds.py`` scores a
trained fold (same clips, same metrics, same folder layout), so ``voice_folds.py --report``
lists them beside the network recipes.

A recipe is ``NAME:key=value,...`` with
  lam=L         penalty per unit of frame weight (default 0.3, as ``voice_train.py --ridge``)
  share=S       the other speakers' share of the fit (``--ridge-other-share``; default 0 = as in the data)
  labels=KIND   raw (default) | spread (``--ridge-match-spread``: each recording's motion scaled to
                s1's spread, its resting pose kept) | standardised (the same without the resting
                pose) | centred (only each recording's mean removed)
  full          rescale to s1's full motion (``--ridge-full-motion``)
  speakers=K    learn from only K of each fold's other training speakers (a seeded draw per fold;
                default all): a learning curve in speakers, which says whether more of them would help
  draw=D        which draw of K speakers (default 0)
  extra         also learn from the recordings named by ``--extra`` (left out otherwise): whether new
                data helps, judged on the same folds and the same augmented copies of everything else
One pass takes ≈ 3 min on two cores (7 min with OMP_NUM_THREADS=1), then ≈ 20 s per fold
(the scoring). The features' standardisation is taken once over all training frames (``voice_train.py`` takes
it per fold, without the fold's three speakers, ≈ 1 % of the frames): the shipped v2.4 recipe's
fold-1 head agrees with ``voice_train.py``'s to r 0.999998 on random features.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import voice_folds  # noqa: E402
from voice_ridge import (  # noqa: E402
    aligned,
    full_motion,
    match_spread,
    normal_sums,
    other_share_weight,
    parse_lags,
    solve_ridge,
    standardiser,
)

ROOT = Path(__file__).resolve().parents[2]
LABELS = ("raw", "spread", "standardised", "centred")
TAPS = "-20,-15,-12,-8,-5,-3,-1,0,1,3,5,8,12,15,20"  # the shipped linear head's


class GroupSums(NamedTuple):
    """One speaker group's share of the normal equations."""

    gram: np.ndarray  # XᵀX
    xty: dict[str, np.ndarray]  # XᵀY per label variant
    frames: int  # labelled training frames
    label_sum: np.ndarray  # Σ raw labels: the resting pose centred variants give back


def parse_recipe(text: str) -> tuple[str, dict]:
    """``NAME:lam=0.3,share=0.1,labels=spread,full`` → (name, settings); raises ValueError with the reason."""
    name, _, rest = text.partition(":")
    if not name or "/" in name:
        raise ValueError(f"{text!r}: a recipe starts with a folder-safe NAME")
    out = {"lam": 0.3, "share": 0.0, "labels": "raw", "full": False, "extra": False}
    ints = ("speakers", "draw")
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        if key in ("full", "extra") and not value:
            out[key] = True
        elif key in ("lam", "share") and value:
            out[key] = float(value)
        elif key == "labels" and value in LABELS:
            out["labels"] = value
        elif key in ints and value.isdigit():
            out[key] = int(value)
        else:
            raise ValueError(f"{text!r}: cannot read {item!r} (keys: lam=, share=, labels={'|'.join(LABELS)}, "
                             f"full, speakers=, draw=, extra)")
    if not 0.0 <= out["share"] < 1.0 or out["lam"] <= 0:
        raise ValueError(f"{text!r}: share must be in [0, 1) and lam > 0")
    return name, out


def drawn_speakers(others: list[int], settings: dict, fold: int) -> list[int]:
    """The fold's other training speakers a recipe learns from: all, or ``speakers=K`` of them,
    drawn reproducibly per fold and ``draw``."""
    k = settings.get("speakers")
    if k is None or k >= len(others):
        return list(others)
    rng = np.random.default_rng(1000 * settings.get("draw", 0) + fold)
    return sorted(int(g) for g in rng.choice(others, size=k, replace=False))


def group_weights(counts: np.ndarray, train: list[int], share: float) -> np.ndarray:
    """Per-group frame weights: group 0 (s1) weighs 1; the other training groups together carry
    ``share`` of the total (1 each when share is 0); groups not in ``train`` weigh 0."""
    w = np.zeros(len(counts))
    w[0] = 1.0
    others = [g for g in train if g > 0]
    w[others] = other_share_weight(counts[0], counts[others].sum(), share)
    return w


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("recipes", nargs="+", metavar="NAME:SETTINGS")
    ap.add_argument("--data", type=Path, default=ROOT / "build/voice/realw_all",
                    help="Whisper features of every trainable clip "
                         "(voice_talking.py --front whisper --hold-out bbaf2n)")
    ap.add_argument("--taps", default=TAPS, help="the 20 ms frames the linear head reads")
    ap.add_argument("--extra", default="", metavar="CLIP,...",
                    help="recordings only recipes with the key 'extra' learn from (never the features' "
                         "standardisation); every fold still scores all its clips")
    ap.add_argument("--align", default="", metavar="CLIP:MS,...",
                    help="training recordings whose sound is late against their face by MS (as voice_eval.py's lag "
                         "reports it): their labels are moved into step before the fit")
    args = ap.parse_args(argv)
    try:
        recipes = [parse_recipe(r) for r in args.recipes]
        parse_lags(args.align)  # a typo fails here, before minutes of loading
    except ValueError as err:
        ap.error(str(err))
    if not any(args.data.glob("shard_*.npz")):
        raise SystemExit(f"no training data in {args.data}: run scripts/voice/voice_talking.py --front whisper "
                         f"--copies 4 --hold-out bbaf2n --out {args.data}")
    taps = tuple(int(t) for t in args.taps.split(","))
    # the training tools (torch) only now: the recipe parsing above is tested without them
    from voice_train import RidgeHead, data_blocks, export_head, load_stream, other_speakers, split_examples
    t0 = time.perf_counter()
    feats, labels, mask, lengths, sources = load_stream(args.data)
    blocks = data_blocks(args.data)
    if args.align:
        from kinemo.voice.whisper import RATE
        try:
            labels, mask, _ = aligned(labels, mask, lengths, sources, args.align, RATE)
        except ValueError as err:
            raise SystemExit(f"--align: {err} ({args.data})") from None
    is_val = split_examples(lengths, sources)  # the validation sentences stay out, as in voice_train.py
    other = other_speakers(sources)
    clips = {str(s) for s in sources[other]}
    speaker = voice_folds.speaker_of
    names = sorted({speaker(c) for c in clips})  # one group per speaker: its sums are one XᵀX (265 MB at 15 taps)
    index = {n: g for g, n in enumerate(names, start=1)}  # group 0 is s1
    group = np.repeat(np.array([index[speaker(str(s))] if o else 0 for s, o in zip(sources, other, strict=True)]),
                      lengths)
    extra_clips = {x.strip() for x in args.extra.split(",") if x.strip()}
    if unknown := sorted(extra_clips - clips):
        raise SystemExit(f"--extra: {', '.join(unknown)} not among the other speakers in {args.data}")
    extra = {speaker(c) for c in extra_clips}
    if mixed := sorted(c for c in clips - extra_clips if speaker(c) in extra):
        raise SystemExit(f"--extra names some of a speaker's clips but not {', '.join(mixed)}")
    is_extra = np.repeat(np.array([str(s) in extra_clips for s in sources]), lengths)
    used = mask & ~is_val
    mean, std = standardiser(feats, used & ~is_extra)
    needed = {r["labels"] for _, r in recipes}
    variants = {"raw": labels}
    for kind in needed - {"raw"}:
        variants[kind] = match_spread(labels, mask, lengths, ~other, limit=1.0 if kind == "centred" else 3.0,
                                      keep_rest=kind == "spread")
    kinds = sorted(variants)
    groups = []
    for g in range(len(names) + 1):
        rows = np.flatnonzero(used & (group == g))
        gram, xtys = normal_sums(feats, [variants[k] for k in kinds], rows, lengths, taps, mean, std,
                                 progress=False)
        groups.append(GroupSums(gram, dict(zip(kinds, xtys, strict=True)), len(rows),
                                labels[rows].astype(np.float64).sum(0)))
        print(f"sums: {'s1' if g == 0 else names[g - 1]} ({len(rows)} frames), "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    counts = np.array([gs.frames for gs in groups], float)
    s1_rows = np.flatnonzero(used & (group == 0))
    for name, r in recipes:
        for k, fold in enumerate(voice_folds.FOLDS):
            if missing := [c for c in fold if c not in clips]:
                raise SystemExit(f"fold {k + 1}: {', '.join(missing)} not in {args.data}")
            held = {speaker(c) for c in fold}
            learn = [i + 1 for i, n in enumerate(names) if n not in held and (r["extra"] or n not in extra)]
            train = [0] + drawn_speakers(learn, r, k)
            w = group_weights(counts, train, r["share"])
            gram = sum(w[g] * groups[g].gram for g in train)
            xty = sum(w[g] * groups[g].xty[r["labels"]] for g in train)
            total = float((w * counts).sum())
            wts, bias = solve_ridge(gram, xty, r["lam"], total)
            if r["labels"] in ("standardised", "centred"):  # the targets had no resting pose: give it back
                bias = bias + sum(w[g] * groups[g].label_sum for g in train) / total
            if r["full"]:
                wts, bias = full_motion(feats, labels, s1_rows, lengths, mean, std, wts, bias, taps)
            head = RidgeHead.from_fit(mean, std, wts, bias, taps)
            out = voice_folds.OUT / f"{name}_f{k + 1}"
            export_head(head, out, {"ridge": r["lam"], "taps": list(taps), "other_share": r["share"],
                                    "labels": r["labels"], "full_motion": r["full"], "cmvn": False,
                                    "whisper_blocks": blocks,
                                    "speakers": [names[g - 1] for g in train[1:]], "sweep": True}, "voice_file")
            voice_folds.score_fold(out, k)
            print(f"{name}: fold {k + 1} scored, {time.perf_counter() - t0:.0f} s", flush=True)
    voice_folds.report([name for name, _ in recipes])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
