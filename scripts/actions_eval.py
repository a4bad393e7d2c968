"""Evaluate the shipped action classifier (ONNX, onnxruntime) on fresh generated data.

    python scripts/actions_eval.py                      # → build/actions/confusion.png

Prints, side by side with the paper's CNN-LSTM (81.2%, Mushtaq & Irtaza):
  * window accuracy on a held-out split (training ranges, new seed) and on a SHIFTED
    split (other tempo, size, camera, noise and frame-rate ranges, new seed); "steady"
    windows lie ≥ 0.6 s inside one segment, "all" also has onsets and transitions;
  * event metrics on idle → action → idle takes: the share of actions whose first event
    has the right label, false events in idle-only takes, and the event latency after
    the motion starts (target ≤ 300 ms);
  * classifier time per window next to the pose tracker's time per frame (same run).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from kinemo.body.classifier import ActionClassifier, ActionClassifierOptions
from kinemo.body.dataset import make_windows
from kinemo.body.events import EVENT_START
from kinemo.body.generator import SHIFTED, TRAIN, VOCABULARY, GeneratorConfig, generate
from kinemo.body.pipeline import ActionPipeline, ActionPipelineOptions
from kinemo.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
PAPER_ACCURACY = 0.812


def predict(clf: ActionClassifier, x: np.ndarray) -> np.ndarray:
    return np.concatenate([clf.probabilities(x[i:i + 1024]).argmax(1) for i in range(0, len(x), 1024)])


def confusion(y: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (y, pred), 1)
    return m


def window_eval(clf, name: str, cfg: GeneratorConfig, seed: int, per_class: int) -> tuple[np.ndarray, dict]:
    bar = Progress(f"generating {name}", per_class * len(VOCABULARY))
    w = make_windows(np.random.default_rng(seed), VOCABULARY, per_class, 10, cfg, progress=bar, onset_share=0.0)
    bar.close()
    keep = w.y >= 0
    pred = predict(clf, w.x[keep])
    y, steady = w.y[keep], w.steady[keep]
    acc_all = float((pred == y).mean())
    acc_steady = float((pred[steady] == y[steady]).mean())
    return confusion(y[steady], pred[steady], len(VOCABULARY)), {
        "steady": acc_steady, "all": acc_all, "n_steady": int(steady.sum()), "n_all": int(keep.sum())}


def event_eval(clf, cfg: GeneratorConfig, seed: int, per_class: int) -> dict:
    """Run the real pipeline (hysteresis included) frame by frame over generated takes."""
    rng = np.random.default_rng(seed)
    latencies: dict[str, list[float]] = {c: [] for c in VOCABULARY[1:]}
    correct = total = false_idle = idle_takes = 0
    bar = Progress("event takes", per_class * len(VOCABULARY))
    for _ in range(per_class):
        for label in VOCABULARY:
            script = [("idle", rng.uniform(1.5, 3.0)), (label, rng.uniform(2.5, 4.0)), ("idle", 2.0)]
            seq = generate(rng, script, cfg)
            pipe = ActionPipeline(clf, None, ActionPipelineOptions())
            starts = []
            for i, t in enumerate(seq.time):
                starts += [e for e in pipe.process_pose(seq.landmarks[i], float(t), aspect=seq.aspect).events
                           if e.phase == EVENT_START]
            onset = seq.segments[1][1]
            if label == "idle":
                idle_takes += 1
                false_idle += len(starts)
            else:
                total += 1
                during = [e for e in starts if e.time >= onset - 0.2]
                if during and during[0].label == label:
                    correct += 1
                    latencies[label].append(during[0].time - onset)
            bar.update()
    bar.close()
    lat = np.concatenate([np.array(v) for v in latencies.values()])
    return {"event_accuracy": correct / max(total, 1), "false_events_per_idle_take": false_idle / max(idle_takes, 1),
            "latency_median": float(np.median(lat)), "latency_p90": float(np.percentile(lat, 90)),
            "per_class_latency": {k: float(np.median(v)) if v else float("nan") for k, v in latencies.items()}}


def timing(clf: ActionClassifier, video: Path | None) -> tuple[float, float | None]:
    x = np.random.default_rng(0).normal(size=(1, 32, clf.meta["features"])).astype(np.float32)
    for _ in range(50):
        clf.process_window(x[0])
    runs = []
    for _ in range(1000):
        t = time.perf_counter()
        clf.process_window(x[0])
        runs.append(time.perf_counter() - t)
    pose_ms = None
    if video and video.is_file():
        from kinemo.body.tracker import PoseTracker
        from kinemo.sources import VideoSource

        src = VideoSource(video)
        frames = [(t, rgb) for _, t, rgb in src]
        src.close()
        with PoseTracker.create_from_options() as tracker:
            t0 = time.perf_counter()
            for t, rgb in frames:
                tracker.process_video_frame(rgb, int(t * 1000))
            pose_ms = (time.perf_counter() - t0) / len(frames) * 1000
    return float(np.median(runs) * 1000), pose_ms


def plot(mats: dict[str, np.ndarray], accs: dict[str, float], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(mats), figsize=(6.5 * len(mats), 6))
    for ax, (name, m) in zip(np.atleast_1d(axes), mats.items(), strict=True):
        norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(m)):
            for j in range(len(m)):
                if m[i, j]:
                    ax.text(j, i, f"{norm[i, j]:.2f}".lstrip("0") if norm[i, j] < 1 else "1",
                            ha="center", va="center", fontsize=8, color="white" if norm[i, j] > 0.5 else "black")
        ax.set_xticks(range(len(VOCABULARY)), VOCABULARY, rotation=45, ha="right")
        ax.set_yticks(range(len(VOCABULARY)), VOCABULARY)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{name}: steady windows, accuracy {accs[name]:.1%}")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="actions.onnx to evaluate (default: the shipped one)")
    ap.add_argument("--seqs-per-class", type=int, default=60)
    ap.add_argument("--event-takes-per-class", type=int, default=15)
    ap.add_argument("--png", type=Path, default=ROOT / "build" / "actions" / "confusion.png")
    ap.add_argument("--video", type=Path, default=ROOT.parent / "shared" / "data" / "pose" / "dance.mp4",
                    help="clip for the pose-tracker timing baseline")
    args = ap.parse_args(argv)
    clf = ActionClassifier.create_from_options(ActionClassifierOptions(model_path=args.model))
    mats, accs = {}, {}
    print(f"{'split':<10} {'steady acc':>10} {'all acc':>8} {'windows':>8}   paper CNN-LSTM")
    for name, cfg, seed in (("held-out", TRAIN, 1002), ("shifted", SHIFTED, 1003)):
        m, r = window_eval(clf, name, cfg, seed, args.seqs_per_class)
        mats[name], accs[name] = m, r["steady"]
        print(f"{name:<10} {r['steady']:>10.1%} {r['all']:>8.1%} {r['n_steady']:>8}   {PAPER_ACCURACY:.1%} "
              f"(ratio {r['steady'] / PAPER_ACCURACY:.2f}x)", flush=True)
    for name, cfg, seed in (("held-out", TRAIN, 2002), ("shifted", SHIFTED, 2003)):
        e = event_eval(clf, cfg, seed, args.event_takes_per_class)
        per = " ".join(f"{k}={v * 1000:.0f}" for k, v in e["per_class_latency"].items())
        print(f"events {name}: first event right {e['event_accuracy']:.1%}, false events per idle take "
              f"{e['false_events_per_idle_take']:.2f}, latency median {e['latency_median'] * 1000:.0f} ms, "
              f"p90 {e['latency_p90'] * 1000:.0f} ms (target <= 300 ms); per class ms: {per}", flush=True)
    cls_ms, pose_ms = timing(clf, args.video)
    line = f"classifier {cls_ms:.3f} ms/window (target <= 1 ms)"
    if pose_ms:
        line += f" vs pose tracker {pose_ms:.1f} ms/frame: classifier = {cls_ms / pose_ms:.1%} of pose time"
    print(line)
    plot(mats, accs, args.png)
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
