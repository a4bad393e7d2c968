"""Evaluate the voice model on the GRID development clips, side by side with two baselines.

  python scripts/voice_eval.py [--model inference/kinemo/assets/voice_net.onnx] [--plot build/voice/eval.png]

Labels: MediaPipe Face Landmarker (our FaceTracker, raw, no smoothing) on every video
frame, 25 fps — the paper's labelling method. Prediction: ``VoiceAnimator`` on the
clip's sound track at 25 fps (offline smoothing, no blinks). The clips are never used
for training. Baselines, computed leave-one-clip-out (from the other four speakers'
labels, like the model they never see the clip):

* mean pose — the other clips' mean of every channel;
* mean pose + jawOpen linearly regressed on frame RMS energy (fitted on the other clips).

Also shown, for scale only: the clip's *own* mean pose (an oracle: it knows the
speaker's resting face), and two *ceilings* that need the sentence's text (known from
the GRID file name, aligned to the real audio by pocketsphinx — ``grid_align.py``):

* rule on aligned phones — the labelling rule the network was trained to reproduce
  (``kinemo.voice.visemes``) applied to the real phone timing: what the network would
  score if it heard a real voice perfectly;
* fitted rule, other 4 — per-phone targets least-squares fitted to the *other four*
  speakers' MediaPipe curves on their aligned phones: the best any phone-driven label
  of this form reaches on a speaker it was not fitted to. A diagnostic of the bars, not
  a model: the shipped network never sees these clips.

Finally "transfer": how closely the network follows its own rule on real speech
(Pearson r of jawOpen against the aligned-phone rule, whole clip and inside speech).

Metrics per clip and mean: MAE (%) per face area (the paper's Table 4 areas), Pearson r
of jawOpen, mean r over the mouth/jaw channels that move (label std > 0.02), and
skill = 1 − MAE(mouth+jaw) / MAE(mouth+jaw of the mean pose).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "inference"))

from kinemo.protocol import ARKIT_NAMES  # noqa: E402

SHARED = ROOT.parent / "shared"
GRID = SHARED / "data" / "grid"
AREAS = {
    "mouth": [i for i, n in enumerate(ARKIT_NAMES) if n.startswith("mouth")],
    "jaw": [i for i, n in enumerate(ARKIT_NAMES) if n.startswith("jaw")],
    "cheeks": [i for i, n in enumerate(ARKIT_NAMES) if n.startswith("cheek")],
    "eyes": [i for i, n in enumerate(ARKIT_NAMES) if n.startswith("eye")],
    "brows": [i for i, n in enumerate(ARKIT_NAMES) if n.startswith("brow")],
    "all": list(range(len(ARKIT_NAMES))),
}
MOUTH_JAW = AREAS["mouth"] + AREAS["jaw"]
JAW_OPEN = ARKIT_NAMES.index("jawOpen")


def video_labels(clip: Path, cache: Path) -> np.ndarray:
    """(frames, 52) raw MediaPipe blendshapes of the clip's video, cached."""
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


def frame_rms(clip: Path, n: int, fps: float) -> np.ndarray:
    """RMS energy of the audio in a 40 ms window around each video frame (for the energy baseline)."""
    from kinemo.voice.audio_io import AudioFileSource

    audio = np.concatenate(list(AudioFileSource(clip).blocks()))
    sr = 16000
    half = int(0.02 * sr)
    out = np.zeros(n)
    for k in range(n):
        c = int(k / fps * sr)
        seg = audio[max(0, c - half): c + half]
        out[k] = np.sqrt(np.mean(seg ** 2)) if len(seg) else 0.0
    return out


def predict(clip: Path, model: str | None, fps: float) -> np.ndarray:
    from kinemo.voice.audio_io import AudioFileSource
    from kinemo.voice.engine import VoiceAnimator, VoiceAnimatorOptions

    animator = VoiceAnimator.create_from_options(VoiceAnimatorOptions(model_path=model, fps=fps))
    return np.stack([f.blendshapes for f in animator.process_file(AudioFileSource(clip))])


def ceilings(clips: list[Path], labels: dict[str, np.ndarray], fps: float) -> dict[str, dict[str, np.ndarray]]:
    """Curves of the two phone-timing ceilings per clip (empty without pocketsphinx)."""
    import grid_align

    from kinemo.voice.visemes import SPEECH_INDEX, TARGET_TABLE, full_pose, phone_weights, smooth_curves

    try:
        phones = {c.stem: grid_align.align_clip(c) for c in clips}
    except ImportError:
        print("(pocketsphinx not installed: no ceiling rows; pip install pocketsphinx==5.1.1)")
        return {}
    weights = {}
    for c in clips:
        t = np.arange(len(labels[c.stem])) / fps
        weights[c.stem] = smooth_curves(phone_weights(phones[c.stem], t), t)
    rule = {k: full_pose(w @ TARGET_TABLE) for k, w in weights.items()}
    fitted = {}
    for c in clips:
        others = [o.stem for o in clips if o.stem != c.stem]
        x = np.concatenate([weights[o] for o in others])
        y = np.concatenate([labels[o] for o in others])
        table = np.linalg.solve(x.T @ x + 1e-2 * np.eye(x.shape[1]), x.T @ y)  # ridge: unseen phones → ~0
        pred = np.repeat(y.mean(axis=0)[None], len(labels[c.stem]), axis=0)
        pred[:, SPEECH_INDEX] = np.clip(weights[c.stem] @ table[:, SPEECH_INDEX], 0, 1)
        fitted[c.stem] = pred
    speech = {}
    for c in clips:
        spoken = [p for p in phones[c.stem] if p[2] != "sil"]
        t = np.arange(len(labels[c.stem])) / fps
        speech[c.stem] = (t >= spoken[0][0]) & (t <= spoken[-1][1]) if spoken else np.zeros(len(t), bool)
    return {"rule": rule, "fitted": fitted, "speech": speech}


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() < 1e-6 or b.std() < 1e-6:
        return 0.0  # a constant prediction carries no timing information
    return float(np.corrcoef(a, b)[0, 1])


def metrics(pred: np.ndarray, label: np.ndarray, mean_pose: np.ndarray) -> dict:
    err = np.abs(pred - label)
    out = {f"mae_{area}": float(err[:, idx].mean() * 100) for area, idx in AREAS.items()}
    out["r_jawOpen"] = pearson(pred[:, JAW_OPEN], label[:, JAW_OPEN])
    moving = [i for i in MOUTH_JAW if label[:, i].std() > 0.02]
    out["r_mouth"] = float(np.mean([pearson(pred[:, i], label[:, i]) for i in moving])) if moving else 0.0
    base = np.abs(mean_pose[None] - label)[:, MOUTH_JAW].mean()
    out["skill"] = float(1.0 - err[:, MOUTH_JAW].mean() / base) * 100
    out["moving_channels"] = len(moving)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="voice_net.onnx (default: the shipped one)")
    ap.add_argument("--plot", default=str(ROOT / "build/voice/eval.png"))
    ap.add_argument("--json", default=str(ROOT / "build/voice/eval.json"))
    ap.add_argument("--cache", default=str(ROOT / "build/voice/grid"))
    args = ap.parse_args(argv)

    clips = sorted(GRID.glob("*.mpg"))
    if not clips:
        print(f"no GRID clips in {GRID}", file=sys.stderr)
        return 1
    fps = 25.0
    labels = {c.stem: video_labels(c, Path(args.cache)) for c in clips}
    preds, rms = {}, {}
    for c in clips:
        p = predict(c, args.model, fps)
        n = min(len(p), len(labels[c.stem]))
        preds[c.stem], labels[c.stem] = p[:n], labels[c.stem][:n]
        rms[c.stem] = frame_rms(c, n, fps)

    ceiling = ceilings(clips, labels, fps)
    methods = ("model", "mean pose", "mean + RMS jaw", "own mean (oracle)")
    if ceiling:
        methods += ("rule, aligned phones", "fitted rule, other 4")
    results: dict[str, dict[str, dict]] = {m: {} for m in methods}
    curves: dict[str, dict[str, np.ndarray]] = {m: {} for m in methods}
    for c in clips:
        k = c.stem
        others = [o.stem for o in clips if o.stem != k]
        mean_pose = np.concatenate([labels[o] for o in others]).mean(axis=0)
        x = np.concatenate([rms[o] for o in others])
        y = np.concatenate([labels[o][:, JAW_OPEN] for o in others])
        slope, intercept = np.polyfit(x, y, 1)
        rms_pred = np.repeat(mean_pose[None], len(labels[k]), axis=0)
        rms_pred[:, JAW_OPEN] = np.clip(intercept + slope * rms[k], 0, 1)
        curves["model"][k] = preds[k]
        curves["mean pose"][k] = np.repeat(mean_pose[None], len(labels[k]), axis=0)
        curves["mean + RMS jaw"][k] = rms_pred
        curves["own mean (oracle)"][k] = np.repeat(labels[k].mean(axis=0)[None], len(labels[k]), axis=0)
        if ceiling:
            curves["rule, aligned phones"][k] = ceiling["rule"][k]
            curves["fitted rule, other 4"][k] = ceiling["fitted"][k]
        for m in methods:
            results[m][k] = metrics(curves[m][k], labels[k], mean_pose)
    for m in methods:
        keys = [k for k in results[m][clips[0].stem] if k != "moving_channels"]
        results[m]["mean"] = {key: float(np.mean([results[m][c.stem][key] for c in clips])) for key in keys}

    cols = ["mae_mouth", "mae_jaw", "mae_cheeks", "mae_eyes", "mae_brows", "mae_all", "r_jawOpen", "r_mouth", "skill"]
    head = "".join(f"{c:>11s}" for c in ["MAE mouth", "jaw", "cheeks", "eyes", "brows", "all", "r jawOpen",
                                          "r mouth", "skill %"])
    for row in [c.stem for c in clips] + ["mean"]:
        print(f"\n{row}" + ("" if row == "mean" else f"  ({results['model'][row]['moving_channels']} moving "
                                                     "mouth/jaw channels)"))
        print(f"  {'':20s}{head}")
        for m in methods:
            r = results[m][row]
            print(f"  {m:20s}" + "".join(f"{r[c]:11.3f}" if c.startswith("r_") else f"{r[c]:11.2f}" for c in cols))
    if ceiling:
        print("\ntransfer: r of the model's jawOpen against its own rule on the aligned phones "
              "(whole clip / inside speech)")
        for c in clips:
            k, m = c.stem, ceiling["speech"][c.stem]
            whole = pearson(preds[k][:, JAW_OPEN], ceiling["rule"][k][:, JAW_OPEN])
            inside = pearson(preds[k][m, JAW_OPEN], ceiling["rule"][k][m, JAW_OPEN])
            results.setdefault("transfer", {})[k] = {"r_jawOpen": whole, "r_jawOpen_speech": inside}
            print(f"  {k}: {whole:.3f} / {inside:.3f}")
        t = results["transfer"]
        t["mean"] = {key: float(np.mean([t[c.stem][key] for c in clips])) for key in ("r_jawOpen", "r_jawOpen_speech")}
        print(f"  mean: {t['mean']['r_jawOpen']:.3f} / {t['mean']['r_jawOpen_speech']:.3f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1))
    _plot(clips[0].stem, labels[clips[0].stem], curves, fps, Path(args.plot))
    print(f"\nwrote {args.json} and {args.plot}")
    return 0


def _plot(clip: str, label: np.ndarray, curves: dict, fps: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["jawOpen", "mouthPucker", "mouthFunnel", "mouthClose", "mouthPressLeft", "mouthRollUpper"]
    t = np.arange(len(label)) / fps
    fig, axes = plt.subplots(len(names), 1, figsize=(10, 2.0 * len(names)), sharex=True)
    for ax, name in zip(axes, names, strict=True):
        i = ARKIT_NAMES.index(name)
        ax.plot(t, label[:, i], "k-", lw=2, label="MediaPipe on video (label)")
        ax.plot(t, curves["model"][clip][:, i], "C0-", lw=1.5, label="voice model")
        ax.plot(t, curves["mean + RMS jaw"][clip][:, i], "C1--", lw=1, label="mean pose + RMS jaw")
        ax.set_ylabel(name)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("seconds")
    fig.suptitle(f"GRID {clip}: predicted vs labelled (speaker never trained on)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)


if __name__ == "__main__":
    raise SystemExit(main())
