"""Evaluate action classifiers side by side: generator, UTKinect (real Kinect skeletons), real video.

    python scripts/actions/actions_eval.py                      # old (v1) vs shipped → build/actions/eval.json + PNGs
    python scripts/actions/actions_eval.py --models new=build/actions/v2/actions.onnx
    python scripts/actions/actions_eval.py --models shipped= --events v2 default   # old and new event settings

Every model named (default: ``old`` = the v1 network from git, ``shipped`` = the one in
``inference/kinemo/assets``) runs on the same data in the same run:

* **generator** (fresh seeds, never used in training): window accuracy on steady windows of
  the model's own vocabulary (held-out and SHIFTED ranges), and events over idle → action →
  idle takes (first event right, false events per idle take, latency);
* **UTKinect** (dev data, 20 recordings, 10 people; converted by ``kinect.py`` beside this script):
  every recording is streamed through the classifier and the hysteresis, as ``kinemo
  actions --pose-file`` would. A positive segment (walk → ``walk``, waveHands → ``wave``,
  clapHands → ``clap``) is found when an event of its label is decided between its start
  (−0.3 s) and its end (+0.4 s); latency = decision time − segment start. Every other
  segment (sitDown, standUp, pickUp, carry, throw, push, pull) is a real negative: each
  action event decided in it is a false event; wrong-label events in positive segments are
  counted too. The event post-processing is also chosen **leave-one-subject-out**: for each
  person, the setting of a grid (``GRIDS``: on-thresholds, hold times, smoothing…) that scores
  best on the other nine, applied to them; one LOSO result per grid;
* **crafted** clips (real ML Kit BlazePose bodies animated: squat, hands_up, jump, idle;
  ``kinemo.body.crafted``): found / wrong events per clip;
* **real video**: ``dance.mp4`` tracked by our pipeline (continuous dancing, no labels: every
  event is counted as a false event on a real negative);
* per-window classifier cost (median of 1000 single-window calls, one thread).

Every row that runs the event detector with fixed settings is printed for each ``--events``
preset (``default`` = ``EventOptions()``, ``v2`` = the v2 defaults: on 0.7 for every label),
so old and new post-processing sit side by side in one run.

Confusion PNGs: ``build/actions/confusion.png`` (generator steady windows) and
``build/actions/confusion_utkinect.png`` (UTKinect segment kind × first event label).
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import time
from pathlib import Path

import crafted
import kinect
import numpy as np

from kinemo.body.classifier import ActionClassifier, ActionClassifierOptions
from kinemo.body.dataset import make_windows
from kinemo.body.events import EVENT_START, EventDetector, EventOptions
from kinemo.body.features import window_and_history
from kinemo.body.generator import SHIFTED, TRAIN, GeneratorConfig, generate
from kinemo.body.kinematics import LONG
from kinemo.body.posefile import PoseTrack, read_pose_file
from kinemo.progress import Progress

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
OLD_REV = "9a08367"  # last commit with the v1 network (trained on the v1 generator only)
POSITIVE = {"walk": "walk", "waveHands": "wave", "clapHands": "clap"}
QUIET = ("idle", "other")
HOLDS = (0.05, 0.1, 0.2)


def _per_label(**extra) -> list[EventOptions]:
    """Own on-thresholds for the labels UTKinect has positives of (walk, wave, clap) × hold; the other
    actions (no real positives here to weigh false events against) keep the default ``on``."""
    return [EventOptions(hold_on=h, on_for={"walk": wk, "wave": wv, "clap": cl}, **extra)
            for wk, wv, cl, h in itertools.product((0.6, 0.7, 0.8), (0.5, 0.6, 0.7), (0.4, 0.5, 0.6, 0.7), HOLDS)]


#: The event settings leave-one-subject-out chooses from, per grid (each a separate LOSO result).
#: "hysteresis" is v2's grid: one on-threshold for every label × hold; "clap" adds clap's own
#: on-threshold to it. The ones after "per-label" extend it.
ONS_HOLDS = tuple(itertools.product((0.5, 0.6, 0.7, 0.8), (0.05, 0.1, 0.2, 0.3)))
GRIDS: dict[str, list[EventOptions]] = {
    "hysteresis": [EventOptions(on=on, hold_on=h, on_for={}) for on, h in ONS_HOLDS],
    "clap": [EventOptions(on=on, hold_on=h, on_for={"clap": cl}) for (on, h), cl in
             itertools.product(ONS_HOLDS, (0.4, 0.5, 0.6, 0.7))],
    "per-label": _per_label(),
    "+smooth": _per_label() + [o for tau in (0.1, 0.2, 0.3) for o in _per_label(smooth=tau)],
    "+margin": _per_label() + [o for m in (0.2, 0.4) for o in _per_label(margin=m)],
    "+walk-hold": _per_label() + [o for wh in (0.3, 0.5) for o in _per_label(hold_on_for={"walk": wh})],
}
#: Named event settings for the fixed-setting rows (--events).
EVENTS = {"default": EventOptions(), "v2": EventOptions(on=0.7, hold_on=0.1, on_for={}),
          "wave-clap": EventOptions(on=0.7, hold_on=0.1, on_for={"wave": 0.6, "clap": 0.4})}


def options_key(o: EventOptions) -> tuple:
    return (o.on, o.off, o.hold_on, o.hold_off, tuple(sorted(o.on_for.items())),
            tuple(sorted(o.hold_on_for.items())), o.smooth, o.margin)


def describe(o: EventOptions) -> str:
    """Short text for a setting: what differs from the v2 defaults."""
    on = {**{k: o.on for k in ("walk", "wave", "clap")}, **o.on_for}
    out = f"on {o.on:g} (" + " ".join(f"{k} {v:g}" for k, v in on.items()) + f"), hold {o.hold_on:g}"
    out += "".join(f", hold {k} {v:g}" for k, v in o.hold_on_for.items())
    out += f", smooth {o.smooth:g}" if o.smooth else ""
    return out + (f", margin {o.margin:g}" if o.margin else "")


def model_options(spec: str) -> ActionClassifierOptions:
    """``PATH[:builtin=network,swings=N,excursion=E]`` (PATH empty: the shipped network) → classifier options.

    ``builtin=network``: the network scores the built-in actions (v2.2) instead of the kinematic
    detectors (v3); ``swings=0`` turns v2.2's wave gate off (``kinemo.body.swings``).
    """
    path, _, rest = spec.partition(":")
    kw: dict = {"model_path": path or None}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        if key == "builtin":
            kw["builtin"] = value
        elif key == "events":
            continue  # the model's own event preset (see main)
        elif key == "swings":
            kw["wave_swings"] = int(value)
        elif key == "excursion":
            kw["swing_excursion"] = float(value)
        else:
            raise ValueError(f"--models {spec!r}: unknown setting {key!r} (builtin=network, swings=N, excursion=E)")
    return ActionClassifierOptions(**kw)


def old_model(rev: str = OLD_REV) -> Path:
    """The v1 network, extracted from git into build/actions/old/ (cached)."""
    out = ROOT / "build" / "actions" / "old"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("actions.onnx", "actions.json"):
        if not (out / name).is_file():
            data = subprocess.run(["git", "show", f"{rev}:inference/kinemo/assets/{name}"], cwd=ROOT,
                                  check=True, capture_output=True).stdout
            (out / name).write_bytes(data)
    return out / "actions.onnx"


def stream_probs(clf: ActionClassifier, track: PoseTrack) -> np.ndarray:
    """Per-frame probabilities exactly as ActionPipeline.process_pose computes them."""
    pairs = [window_and_history(track.time[:i + 1], track.landmarks[:i + 1], float(t), track.aspect, LONG)
             for i, t in enumerate(track.time)]
    x, h = np.stack([w for w, _ in pairs]), np.stack([h for _, h in pairs])
    return np.concatenate([clf.probabilities(x[i:i + 512], h[i:i + 512]) for i in range(0, len(x), 512)])


def score_item(label: str, also: tuple[str, ...], got: list[str]) -> tuple[bool | None, dict[str, int]]:
    """One item's events scored: found (an event of its label started; None for a negative) and its false events
    per label (any other label, except those in ``also``: actions the item may hold besides its own)."""
    false: dict[str, int] = {}
    for g in got:
        if g != label and g not in also:
            false[g] = false.get(g, 0) + 1
    return (label in got if label != "negative" else None), false


def stream_events(labels, times, probs, options: EventOptions, flush: bool = False) -> list:
    """The start events of a probability stream; ``flush``: also what the end of the stream decides."""
    det = EventDetector(tuple(labels), options)
    starts = []
    for t, p in zip(times, probs, strict=True):
        starts += [e for e in det.update(float(t), p) if e.phase == EVENT_START]
    if flush and len(times):
        starts += [e for e in det.flush(float(times[-1])) if e.phase == EVENT_START]
    return starts


# --- generator ---------------------------------------------------------------------------------

def window_eval(clf, cfg: GeneratorConfig, seed: int, per_class: int) -> tuple[np.ndarray, dict]:
    labels = clf.builtin
    w = make_windows(np.random.default_rng(seed), labels, per_class, 10, cfg, onset_share=0.0)
    keep = w.y >= 0
    pred = np.concatenate([clf.probabilities(w.x[keep][i:i + 1024]).argmax(1) for i in range(0, int(keep.sum()), 1024)])
    y, steady = w.y[keep], w.steady[keep]
    m = np.zeros((len(labels), len(labels)), np.int64)
    np.add.at(m, (y[steady], pred[steady]), 1)
    # idle and other are both "no event": confusing them changes nothing downstream
    quiet = np.array([lab in QUIET for lab in labels])
    same = (pred == y) | (quiet[pred] & quiet[y])
    return m, {"steady": float((pred[steady] == y[steady]).mean()), "all": float((pred == y).mean()),
               "steady_quiet_merged": float(same[steady].mean()), "n_steady": int(steady.sum())}


def event_eval(clf, cfg: GeneratorConfig, seed: int, per_class: int, options: EventOptions) -> dict:
    rng = np.random.default_rng(seed)
    labels = clf.builtin
    lat: dict[str, list[float]] = {c: [] for c in labels if c not in QUIET}
    correct = total = false_quiet = quiet_takes = 0
    for _ in range(per_class):
        for label in labels:
            script = [("idle", rng.uniform(1.5, 3.0)), (label, rng.uniform(2.5, 4.0)), ("idle", 2.0)]
            seq = generate(rng, script, cfg)
            track = PoseTrack(seq.time, seq.landmarks, np.ones(len(seq.time), bool), seq.fps, seq.size)
            starts = stream_events(labels, seq.time, stream_probs(clf, track), options)
            onset = seq.segments[1][1]
            if label in QUIET:
                quiet_takes += 1
                false_quiet += len(starts)
            else:
                total += 1
                during = [e for e in starts if e.time >= onset - 0.2]
                if during and during[0].label == label:
                    correct += 1
                    lat[label].append(during[0].time - onset)
    all_lat = np.concatenate([np.array(v) for v in lat.values()]) if any(lat.values()) else np.array([np.nan])
    return {"first_event_right": correct / max(total, 1),
            "false_events_per_quiet_take": false_quiet / max(quiet_takes, 1),
            "latency_median": float(np.median(all_lat)), "latency_p90": float(np.percentile(all_lat, 90)),
            "per_label_latency": {k: float(np.median(v)) if v else None for k, v in lat.items()}}


# --- UTKinect --------------------------------------------------------------------------------------

def segment_of(t: float, segments) -> int | None:
    """Index of the segment an event decided at ``t`` belongs to (its span −0.3 s … +0.4 s)."""
    for k, (_, a, b) in enumerate(segments):
        if a <= t < b:
            return k
    for k, (_, a, b) in enumerate(segments):
        if a - 0.3 <= t < b + 0.4:
            return k
    return None


def score_recording(rec, starts) -> dict:
    """Per segment: the labels of the events decided in it (first first) and the first decision time."""
    segs = [[] for _ in rec.segments]
    for e in starts:
        k = segment_of(e.time, rec.segments)
        if k is not None:
            segs[k].append(e)
    out = []
    for (kind, a, b), events in zip(rec.segments, segs, strict=True):
        want = POSITIVE.get(kind)
        hit = [e for e in events if e.label == want]
        out.append({"kind": kind, "subject": rec.subject, "duration": b - a, "labels": [e.label for e in events],
                    "found": bool(hit) if want else None, "latency": (hit[0].time - a) if hit else None,
                    "false": len([e for e in events if e.label != want])})
    return out


def summarise(rows: list[dict]) -> dict:
    pos = [r for r in rows if r["found"] is not None]
    neg = [r for r in rows if r["found"] is None]
    lat = [r["latency"] for r in pos if r["latency"] is not None]
    recall = {POSITIVE[k]: float(np.mean([r["found"] for r in pos if r["kind"] == k])) for k in POSITIVE}
    per_neg = {}
    for r in neg:
        per_neg.setdefault(r["kind"], []).append(r["false"])
    short = [r["found"] for r in pos if r["duration"] < 1.6]
    return {"recall": recall, "recall_all": float(np.mean([r["found"] for r in pos])),
            "recall_shorter_than_window": float(np.mean(short)) if short else None, "short_positives": len(short),
            "false_per_negative": float(np.mean([r["false"] for r in neg])),
            "false_per_negative_kind": {k: float(np.mean(v)) for k, v in per_neg.items()},
            "wrong_in_positives": float(np.mean([r["false"] for r in pos])),
            "latency_median": float(np.median(lat)) if lat else None,
            "latency_p90": float(np.percentile(lat, 90)) if lat else None,
            "positives": len(pos), "negatives": len(neg)}


def objective(s: dict) -> float:
    """What leave-one-subject-out maximises: the worst label's recall, less the false-event rate."""
    return min(s["recall"].values()) + 0.5 * s["recall_all"] - s["false_per_negative"]


def utkinect_rows(labels, recs, probs_by_rec, options: EventOptions) -> dict[str, list[dict]]:
    return {r.name: score_recording(r, stream_events(labels, r.time, probs_by_rec[r.name], options)) for r in recs}


def utkinect_loso(clf, recs, probs_by_rec, grids: dict[str, list[EventOptions]],
                  rows_for: dict[tuple, dict]) -> dict[str, dict]:
    """Per grid: for each person the setting that scores best on the other nine, scored on them.

    ``rows_for`` caches each setting's scored rows (by ``options_key``) for ``utkinect_eval``.
    """
    bar = Progress("  event settings", len({options_key(o) for g in grids.values() for o in g}))
    for grid in grids.values():
        for o in grid:
            if options_key(o) not in rows_for:
                rows_for[options_key(o)] = utkinect_rows(clf.labels, recs, probs_by_rec, o)
                bar.update()
    bar.close()
    out = {}
    subjects = sorted({r.subject for r in recs})
    for name, grid in grids.items():
        loso_rows, chosen = [], {}
        for subject in subjects:
            train = [r for r in recs if r.subject != subject]
            best = max(grid, key=lambda o: objective(summarise(
                [row for r in train for row in rows_for[options_key(o)][r.name]])))
            chosen[subject] = describe(best)
            loso_rows += [row for r in recs if r.subject == subject for row in rows_for[options_key(best)][r.name]]
        out[name] = summarise(loso_rows)
        out[name]["chosen"] = {str(s): k for s, k in chosen.items()}
        out[name]["settings"] = len(grid)
    return out


def utkinect_eval(clf, recs, probs_by_rec, options: EventOptions,
                  rows_for: dict[tuple, dict]) -> tuple[dict, np.ndarray]:
    """Fixed settings on all 20 recordings: summary and the segment kind × first event matrix."""
    labels = clf.labels
    key = options_key(options)
    if key not in rows_for:  # a setting no grid scored already
        rows_for[key] = utkinect_rows(labels, recs, probs_by_rec, options)
    rows = rows_for[key]
    flat = [row for r in recs for row in rows[r.name]]
    fixed = summarise(flat)
    kinds = sorted({r["kind"] for r in flat}, key=lambda k: (k not in POSITIVE, k))
    cols = [c for c in labels if c not in QUIET] + ["none"]
    m = np.zeros((len(kinds), len(cols)), np.int64)
    for r in flat:
        m[kinds.index(r["kind"]), cols.index(r["labels"][0] if r["labels"] else "none")] += 1
    fixed["confusion"] = {"rows": kinds, "cols": cols, "counts": m.tolist()}
    return fixed, m


# --- crafted clips and real video -------------------------------------------------------------------

def crafted_eval(clf, clips, options: EventOptions) -> dict:
    out: dict[str, dict] = {}
    for kind, track, (a, b) in clips:
        starts = stream_events(clf.labels, track.time, stream_probs(clf, track), options)
        inside = [e for e in starts if a - 0.3 <= e.time < b + 0.4]
        d = out.setdefault(kind, {"clips": 0, "found": 0, "wrong": 0, "labels": {}})
        d["clips"] += 1
        want = None if kind == "idle" else kind
        d["found"] += bool(want and any(e.label == want for e in inside))
        d["wrong"] += len([e for e in starts if e.label != want])
        for e in starts:
            d["labels"][e.label] = d["labels"].get(e.label, 0) + 1
    return out


def video_eval(clf, track: PoseTrack, options: EventOptions) -> dict:
    starts = stream_events(clf.labels, track.time[track.present], stream_probs(clf, PoseTrack(
        track.time[track.present], track.landmarks[track.present], track.present[track.present], track.fps,
        track.size)), options)
    return {"seconds": float(track.time[-1] - track.time[0]), "events": len(starts),
            "labels": [e.label for e in starts]}


def timing(clf: ActionClassifier) -> float:
    x = np.random.default_rng(0).normal(size=(1, 32, clf.meta["features"])).astype(np.float32)
    for _ in range(50):
        clf.process_window(x[0])
    runs = []
    for _ in range(1000):
        t = time.perf_counter()
        clf.process_window(x[0])
        runs.append(time.perf_counter() - t)
    return float(np.median(runs) * 1000)


def plot_matrix(ax, m, rows, cols, title):
    norm = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(rows)):
        for j in range(len(cols)):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("predicted / first event")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)


def save_plots(panels: list[tuple], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 6))
    for ax, (m, rows, cols, title) in zip(np.atleast_1d(axes), panels, strict=True):
        plot_matrix(ax, m, rows, cols, title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def fmt(v, pct=False, ms=False) -> str:
    if v is None:
        return "-"
    return f"{v:.0%}" if pct else f"{v * 1000:.0f} ms" if ms else f"{v:.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="*", help="NAME=PATH.onnx[:builtin=network,events=PRESET,swings=N] ... "
                    "(default: v2.2 = the network with its wave gate and event settings, v3 = the kinematic "
                    "detectors; PATH empty: the shipped network; swings=0: without the wave gate)")
    ap.add_argument("--events", nargs="+", choices=list(EVENTS), default=["default"],
                    help="event settings for the fixed-setting rows, one column each per model "
                         "(default: EventOptions(); v2: on 0.7 for every label; wave-clap: what the "
                         "per-label grid chose, wave 0.6, clap 0.4)")
    ap.add_argument("--grids", nargs="*", choices=list(GRIDS), default=[],
                    help="event-setting grids to choose from leave-one-subject-out on UTKinect (one LOSO result "
                         "each; v2 was tuned so — v3 is never tuned on UTKinect, so none by default)")
    ap.add_argument("--seqs-per-class", type=int, default=30, help="generator takes per label for window accuracy")
    ap.add_argument("--event-takes-per-class", type=int, default=8)
    ap.add_argument("--crafted-per-kind", type=int, default=8)
    ap.add_argument("--utkinect", type=Path, default=SHARED / "actions" / "utkinect")
    ap.add_argument("--mlkit", type=Path,
                    default=SHARED / "actions" / "mlkit_fitness_pose" / "fitness_pose_samples.csv")
    ap.add_argument("--video-pose", type=Path, nargs="*",
                    default=[ROOT / "build" / "actions" / "real" / "dance_pose.npz"],
                    help="real videos tracked by our pipeline (kinemo actions --video V --record-pose P.npz)")
    ap.add_argument("--skip-generator", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "actions")
    args = ap.parse_args(argv)
    models = dict(m.split("=", 1) for m in args.models) if args.models else \
        {"v2.2": ":builtin=network,events=wave-clap", "v3": ""}
    try:
        clfs = {name: ActionClassifier.create_from_options(model_options(spec)) for name, spec in models.items()}
    except ValueError as e:
        ap.error(str(e))
    grids = {g: GRIDS[g] for g in args.grids}
    # one column per model × event preset
    own = {name: spec.split("events=", 1)[1].split(",")[0] for name, spec in models.items() if "events=" in spec}
    columns = {(f"{name}/{ev}" if len(args.events) > 1 and name not in own else name): (name, ev)
               for name in clfs for ev in ([own[name]] if name in own else args.events)}
    report: dict[str, dict] = {col: {"model": name, "events": ev, "event_options": describe(EVENTS[ev]),
                                     "labels": list(clfs[name].labels)} for col, (name, ev) in columns.items()}
    recs = kinect.read_utkinect(args.utkinect)
    tracks = {r.name: r.track() for r in recs}
    poses = crafted.read_mlkit(args.mlkit)
    crng = np.random.default_rng(4242)
    clips = [(k, *crafted.crafted_clip(crng, k, poses)) for k in crafted.KINDS for _ in range(args.crafted_per_kind)]
    videos = {p.stem: read_pose_file(p) for p in args.video_pose if p.is_file()}
    gen_panels, utk_panels = [], []
    for name, clf in clfs.items():
        bar = Progress(f"{name}: UTKinect", len(recs))
        probs = {}
        for rec in recs:
            probs[rec.name] = stream_probs(clf, tracks[rec.name])
            bar.update()
        bar.close()
        scored: dict[tuple, dict] = {}  # event setting → scored rows, for this model
        loso = utkinect_loso(clf, recs, probs, grids, scored)
        ms = timing(clf)
        shared: dict[str, dict] = {}
        if not args.skip_generator:
            for split, cfg, seed in (("held-out", TRAIN, 1002), ("shifted", SHIFTED, 1003)):
                m, acc = window_eval(clf, cfg, seed, args.seqs_per_class)
                shared[f"generator_{split}"] = acc
                if split == "held-out":
                    gen_panels.append((m, list(clf.labels), list(clf.labels),
                                       f"{name}: generator steady windows {acc['steady']:.1%}"))
        for col, (cname, ev) in columns.items():
            if cname != name:
                continue
            r, options = report[col], EVENTS[ev]
            r.update(shared)
            r["utkinect_loso"], r["ms_per_window"] = loso, ms
            r["utkinect"], m = utkinect_eval(clf, recs, probs, options, scored)
            utk_panels.append((m, r["utkinect"]["confusion"]["rows"], r["utkinect"]["confusion"]["cols"],
                               f"{col}: UTKinect segments (first event)"))
            r["crafted"] = crafted_eval(clf, clips, options)
            r["video"] = {k: video_eval(clf, v, options) for k, v in videos.items()}
            if not args.skip_generator:
                r["generator_events"] = event_eval(clf, TRAIN, 2002, args.event_takes_per_class, options)
        print(f"[{name}] done", flush=True)
    # --- report ---
    names = list(columns)
    w = max(16, *(len(n) + 2 for n in names))
    print("\n" + f"{'':<44}" + "".join(f"{n:>{w}}" for n in names))

    def row(title, get):
        print(f"{title:<44}" + "".join(f"{get(report[n]):>{w}}" for n in names))

    for lab in POSITIVE.values():
        row(f"UTKinect recall {lab} (fixed settings)",
            lambda r, lab=lab: fmt(r["utkinect"]["recall"][lab], pct=True))
    row("UTKinect recall, segments < 1.6 s", lambda r: fmt(r["utkinect"]["recall_shorter_than_window"], pct=True))
    row("UTKinect false events / real negative", lambda r: fmt(r["utkinect"]["false_per_negative"]))
    row("UTKinect wrong events / positive", lambda r: fmt(r["utkinect"]["wrong_in_positives"]))
    row("UTKinect latency median", lambda r: fmt(r["utkinect"]["latency_median"], ms=True))
    kinds = sorted(report[names[0]]["utkinect"]["false_per_negative_kind"])
    for k in kinds:
        row(f"  false events / {k}", lambda r, k=k: fmt(r["utkinect"]["false_per_negative_kind"][k]))
    for g in grids:
        row(f"UTKinect LOSO [{g}, {len(grids[g])}] w/w/c, false",
            lambda r, g=g: "{}/{}/{}% {:.2f}".format(
                *(round(100 * r["utkinect_loso"][g]["recall"][lab]) for lab in POSITIVE.values()),
                r["utkinect_loso"][g]["false_per_negative"]))
        row("  LOSO latency median", lambda r, g=g: fmt(r["utkinect_loso"][g]["latency_median"], ms=True))
    for k in crafted.KINDS:
        row(f"crafted {k}: found / wrong events per clip",
            lambda r, k=k: f"{r['crafted'][k]['found']}/{r['crafted'][k]['clips']} "
                           f"{r['crafted'][k]['wrong'] / r['crafted'][k]['clips']:.2f}")
    for v in videos:
        row(f"video {v}: false events ({videos[v].time[-1]:.0f} s)", lambda r, v=v: str(r["video"][v]["events"]))
    if not args.skip_generator:
        for split in ("held-out", "shifted"):
            row(f"generator {split} steady accuracy", lambda r, k=split: fmt(r[f"generator_{k}"]["steady"], pct=True))
            row("  same, idle = other (both no event)",
                lambda r, k=split: fmt(r[f"generator_{k}"]["steady_quiet_merged"], pct=True))
        row("generator first event right", lambda r: fmt(r["generator_events"]["first_event_right"], pct=True))
        row("generator false events / quiet take",
            lambda r: fmt(r["generator_events"]["false_events_per_quiet_take"]))
        row("generator event latency median", lambda r: fmt(r["generator_events"]["latency_median"], ms=True))
    row("classifier ms / window", lambda r: f"{r['ms_per_window']:.3f}")
    for name in clfs:
        col = next(c for c, (n, _) in columns.items() if n == name)
        for g in grids:
            chosen = report[col]["utkinect_loso"][g]["chosen"]
            counts: dict[str, int] = {}
            for k in chosen.values():
                counts[k] = counts.get(k, 0) + 1
            print(f"{name} LOSO [{g}] chose: " + "; ".join(f"{k} ×{n}" for k, n in
                                                           sorted(counts.items(), key=lambda x: -x[1])))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "eval.json").write_text(json.dumps(report, indent=1, default=float) + "\n")
    save_plots(utk_panels, args.out / "confusion_utkinect.png")
    if gen_panels:
        save_plots(gen_panels, args.out / "confusion.png")
    print(f"wrote {args.out / 'eval.json'}, {args.out / 'confusion_utkinect.png'}"
          + (f", {args.out / 'confusion.png'}" if gen_panels else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
