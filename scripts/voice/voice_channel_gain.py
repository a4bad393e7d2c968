"""Per-channel gains for a voice model: how much of each mouth channel's predicted motion to keep.

  nice .venv/bin/python scripts/voice/voice_channel_gain.py [--model M.onnx] --choose-on 'wild/vox2_00015.mp4' ... \
       [--report dev,wild]
  nice .venv/bin/python scripts/voice/voice_channel_gain.py --folds plain --agree grid_bbab8n --report dev,wild,heldout

Why: a network trained mostly on one speaker predicts *his* mouth habits (how much he
smiles, presses, dimples while talking) as confidently as the jaw. On another speaker such
a channel's predicted motion is partly noise, and the centred skill (mean |Δlabel − Δpred|,
an L1 error) pays for noise in full. Scaling a channel's motion about its rest value by a
gain g ∈ (0, 1] changes nothing in its correlation (r, mouth r) but trades amplitude for
error; g = 0 holds the channel still (it then earns 0, never less).

How the gains are chosen: on speakers **held out of training** (``--choose-on``, clips of the
trainable talking data the model never learned from), never on the dev GRID clips or the
wild eval set, which are only *reported* after the choice. For each channel the gain on a
grid (0, 0.1, …, 1; up to ``--max-gain``) that minimises the summed |Δlabel − g·Δpred| over the
chosen clips; jawOpen is kept at 1 (its amplitude is a bar of its own).

``--folds RECIPE`` chooses on all twelve speaker-held-out folds instead (``voice_folds.py``): each
of the twelve trainable speakers besides s1 is predicted by the fold head of RECIPE that never
heard it. ``--agree CLIP`` moves a channel's gain away from 1 only where that clip's own best
gain lies on the same side of 1 (``grid_bbab8n``: the one trainable GRID speaker besides s1, the closest thing to
the dev speakers that may be chosen on).

Result (docs/voice-model.md, "What was tried"): gains chosen on the three held-out
VoxCeleb2 speakers lower the dev GRID skill (11.6 % → 8.0 %): what another *TV* speaker's
face does with a channel says little about another *GRID* speaker's, and no GRID-like
speaker is held out of training to choose on. Chosen on the twelve folds, with the GRID
speaker's agreement, they lower it too; with gains up to 20 allowed
(``--max-gain 20``: the networks move most mouth channels far less than an unseen GRID
speaker's face, because s1 barely moves them) the folds enlarge only the smiles (×1.5, ×2.3)
and still lower dev. So the engine applies no gains; this script stays as the experiment
that showed it.

Reads predictions through ``voice_eval.py``'s engine cache (computed if missing).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "voice"))
import voice_eval as ve  # noqa: E402
import voice_folds as vf  # noqa: E402
import voice_metrics as vm  # noqa: E402

from kinemo.protocol import ARKIT_NAMES  # noqa: E402

GRID_G = np.round(np.linspace(0.0, 1.0, 11), 2)
KEEP = {"jawOpen"}  # never scaled


def clip_errors(clips: list, predictor, grid: np.ndarray = GRID_G) -> tuple[np.ndarray, np.ndarray]:
    """Per clip and channel: (Σ|Δlabel − g·Δpred| for every g in ``grid`` → (C, K, G), Σ|Δlabel| → (C, K))."""
    err, base = [], []
    for clip in clips:
        if clip.audio is None:
            clip.audio = ve.load_audio(clip.path)
        pt, py = predictor.predict(clip)
        clip.audio = None
        pred = vm.resample(pt, py, clip.t)[:, vm.MOUTH_JAW].astype(np.float64)
        lab = clip.label[:, vm.MOUTH_JAW].astype(np.float64)
        dl, dp = lab - lab.mean(0), pred - pred.mean(0)
        err.append(np.abs(dl[:, :, None] - grid[None, None, :] * dp[:, :, None]).sum(0))
        base.append(np.abs(dl).sum(0))
    return np.array(err), np.array(base)


def skill(err: np.ndarray, base: np.ndarray, gains: np.ndarray, grid: np.ndarray = GRID_G) -> np.ndarray:
    """Centred skill (%) of every clip with ``gains`` (K,) applied (nearest grid point)."""
    k = np.searchsorted(grid, np.round(gains, 2))
    e = err[:, np.arange(err.shape[1]), k].sum(1)
    return 100.0 * (1.0 - e / np.maximum(base.sum(1), 1e-9))


def choose(err: np.ndarray, base: np.ndarray, grid: np.ndarray = GRID_G) -> np.ndarray:
    """Per channel, the grid gain with the least error summed over clips (each clip weighted by
    1/Σ|Δlabel|, so the mean of per-clip skills is what is maximised)."""
    w = 1.0 / np.maximum(base.sum(1), 1e-9)
    total = (err * w[:, None, None]).sum(0)  # (K, G)
    gains = grid[np.argmin(total, axis=1)]
    for i, c in enumerate(vm.MOUTH_JAW):
        if ARKIT_NAMES[c] in KEEP:
            gains[i] = 1.0
    return gains


def agree(gains: np.ndarray, own: np.ndarray) -> np.ndarray:
    """``gains`` where ``own`` (one clip's best gains) points the same way from 1, else 1."""
    same = ((gains < 1.0) & (own < 1.0)) | ((gains > 1.0) & (own > 1.0))
    return np.where(same, gains, 1.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="file network ONNX (default: the shipped voice_file.onnx)")
    how = ap.add_mutually_exclusive_group(required=True)
    how.add_argument("--choose-on", nargs="+", help="held-out training-speaker clips (as --heldout)")
    how.add_argument("--folds", metavar="RECIPE",
                     help="choose on the twelve fold speakers, each predicted by RECIPE's head that never heard it")
    ap.add_argument("--max-gain", type=float, default=1.0,
                    help="largest gain tried (step 0.1); above 1 a channel's motion may also be enlarged")
    ap.add_argument("--agree", metavar="CLIP",
                    help="one of the clips chosen on: a gain moves away from 1 only where this clip's own does too")
    ap.add_argument("--report", default="dev,wild",
                    help="sets to report after the choice, with the --model: dev, wild, heldout (the three "
                         "VoxCeleb2 clips of the standard hold-out), or clip paths")
    ap.add_argument("--fps", type=float, default=25.0, help="engine output rate (as voice_eval.py: 25)")
    args = ap.parse_args(argv)
    if not 1.0 <= args.max_gain <= 50.0:
        ap.error("--max-gain must be between 1 and 50")
    grid = np.round(np.arange(0.0, args.max_gain + 0.05, 0.1), 2)
    one = int(np.argmin(np.abs(grid - 1.0)))
    model, _ = ve.offline_and_live_models(args.model, None)
    pred = ve.EnginePredictor("model", "model offline", "", model, "savgol", ve.SR * 10, args.fps)
    pred.prepare()

    if args.folds:
        chosen, parts = [], []
        for k, trio in enumerate(vf.FOLDS):
            head = vf.OUT / f"{args.folds}_f{k + 1}" / "voice_file.onnx"
            if not head.is_file():
                raise SystemExit(f"--folds: no {head}; train it with scripts/voice/voice_folds.py --name {args.folds}")
            fold_pred = ve.EnginePredictor("fold", "fold", "", head, "savgol", ve.SR * 10, args.fps)
            fold_pred.prepare()
            clips = ve.heldout_clips([f"wild/{c}.mp4" for c in trio])
            chosen += clips
            parts.append(clip_errors(clips, fold_pred, grid))
        err, base = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    else:
        chosen = ve.heldout_clips(args.choose_on)
        err, base = clip_errors(chosen, pred, grid)
    gains = choose(err, base, grid)
    if args.agree:
        names_chosen = [c.name for c in chosen]
        if args.agree not in names_chosen:
            raise SystemExit(f"--agree: {args.agree} is not one of the clips chosen on ({', '.join(names_chosen)})")
        k = names_chosen.index(args.agree)
        own = choose(err[k:k + 1], base[k:k + 1], grid)
        gains = agree(gains, own)
    names = [ARKIT_NAMES[c] for c in vm.MOUTH_JAW]
    print(f"chosen on {len(chosen)} held-out clips: " + ", ".join(c.name for c in chosen))
    share = base.sum(0) / base.sum()
    gain_1 = 1.0 - err[:, :, one].sum(0) / np.maximum(base.sum(0), 1e-9)
    print(f"{'channel':22s} {'share of motion':>15s} {'own skill at g=1':>16s} {'gain':>5s}")
    for i in np.argsort(-share):
        print(f"{names[i]:22s} {100 * share[i]:14.1f}% {100 * gain_1[i]:15.1f}% {gains[i]:5.1f}")

    sets = {"chosen": (chosen, err, base)}
    standard = [f"wild/{c}.mp4" for c in vf.FOLDS[0]]  # fold 1 is the standard hold-out
    for s in [s for s in args.report.split(",") if s]:
        clips = (ve.dev_clips(ve.GRID_CACHE) if s == "dev" else ve.wild_clips() if s == "wild"
                 else ve.heldout_clips(standard) if s == "heldout" else ve.heldout_clips([s]))
        if s == "dev":
            clips = [c for c in clips if "(s1)" not in c.name]
        sets[s] = (clips, *clip_errors(clips, pred, grid))
    print(f"\n{'set':8s} {'clips':>5s} {'skill, gains 1':>15s} {'skill, chosen':>14s}")
    for s, (clips, e, b) in sets.items():
        before, after = skill(e, b, np.ones(len(names)), grid), skill(e, b, gains, grid)
        print(f"{s:8s} {len(clips):5d} {before.mean():14.1f}% {after.mean():13.1f}%")
        if s == "dev":
            for c, x, y in zip(clips, before, after, strict=True):
                print(f"  {c.name:12s} {x:6.1f}% → {y:6.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
