"""Choose the kinematic detectors' thresholds leave-one-source-out, and print how each source fares.

    python scripts/actions/actions_select.py              # LOSO table per source → build/actions/select.json
    python scripts/actions/actions_select.py --fixed      # also: the shipped thresholds on every source
    python scripts/actions/actions_select.py --renders build/actions/renders   # also MediaPipe on renders

Sources (each is left out in turn; thresholds are chosen on the others, then applied to it):

* real motion capture (``mocap.py`` beside this script), each file filmed by the generator's
  camera model from four angles (frontal, 35°, 65°, side; two of them mirrored) at 15-30 FPS:
  ``cmu_iclone``, ``cmu_expmap`` (CMU subjects), ``ad_5yr_old``, ``ad_8yr_old``, ``ad_cmu_1006``,
  ``ad_cmu_new``, ``ad_other`` (AnimatedDrawings subjects): walk, jump, wave and negatives;
* ``generator``: fresh takes of every action (idle → action → idle) and of idle and other motion, and
  horizontal arm waves (``sweep``: the wave's level-arm form, chosen apart from the raised hand);
* ``mlkit``: crafted clips of real ML Kit bodies (squat, hands_up, jump, idle; ``crafted.py``);
  ``mlkit_side``: squats of real ML Kit bodies photographed from the side;
* with ``--renders DIR``: the motion files again, carried by the MakeHuman body, rendered
  (``render_mocap.py``) and tracked by MediaPipe itself (``render_eval.py``), front and side —
  more views of each file, in its own source.

An item is found when an event of its label (a sweep: ``wave``) starts anywhere in it (the clip's edges count);
every event of another action is false (in negatives, every event) — except ``walk`` in the
three negatives whose description says the performer walks ("walk and point"…), and a walk or a
jump a motion file's 3-D capture shows the body doing when the event starts (``mocap.body_did``:
a dancing child walks across the room; ``--labels-only`` counts those as false too). ``unsure``
files are left out. UTKinect is never chosen on: ``actions_eval.py`` reports it.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import actions_eval
import crafted
import mocap
import numpy as np
import render_eval

from kinemo.body.classifier import ActionClassifier, ActionClassifierOptions
from kinemo.body.detectors import ACTIONS, Thresholds, distribute, scores
from kinemo.body.events import EventOptions
from kinemo.body.features import window_and_history
from kinemo.body.generator import TRAIN, VOCABULARY, PoseSequence, generate, random_script, with_config
from kinemo.body.kinematics import LONG, MEDIAPIPE_DEPTH, measure
from kinemo.body.posefile import PoseTrack, read_pose_file
from kinemo.progress import Progress

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "actions"
MLKIT = actions_eval.SHARED / "actions" / "mlkit_fitness_pose" / "fitness_pose_samples.csv"
#: (camera yaw, mirrored, frame rate) of each film of a motion file
VIEWS = ((0.0, False, 30.0), (35.0, True, 15.0), (65.0, False, 25.0), (90.0, True, 30.0))
DECIDE_HZ = 10.0  # decisions per second while choosing (the shipped path decides on every frame)
GENERATOR_TAKES = 12  # per label
#: the generator's takes, their depth as MediaPipe reports it (the network trained on TRAIN's)
SELECTION = with_config(TRAIN, depth_scale=MEDIAPIPE_DEPTH, more_motion=True)
#: the labels recall is reported for: the actions, and the wave's horizontal form apart (found by a `wave`)
FOUND = (*ACTIONS, "sweep")
#: the grid each threshold is chosen from (coordinate ascent, two passes)
GRID = {
    "wave": (0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4), "wave_raise": (0.0, 0.3, 0.6, 0.9, 1.2),
    "wave_flat": (0.8, 1.2, 1.6),
    "wave_forearm": (-9.0, -0.3, -0.1, 0.0, 0.1, 0.2), "wave_repeat": (-1.0, 0.06, 0.1, 0.15),
    "wave_sweep": (0.3, 0.4, 0.5, 0.6, 0.7, 9.0), "wave_straight": (0.0, 0.85, 0.9, 0.95),
    "sweep_flat": (0.8, 1.2, 1.6, 2.5), "sweep_raise": (0.3, 0.5, 0.7, 0.9), "sweep_turn": (0.4, 0.8, 1.2, 9.0),
    "wave_reach": (1.0, 1.5, 2.5, 9.0), "clap": (0.12, 0.16, 0.2, 0.25, 0.3), "clap_gap": (0.25, 0.35, 0.5),
    "clap_height": (0.0, 0.3, 0.5, 0.8), "clap_top": (1.3, 1.6, 2.0, 9.0),
    "lift": (0.15, 0.2, 0.3, 0.45, 9.0),
    "hands_up": (0.0, 0.15, 0.3), "jump": (0.3, 0.4, 0.5, 0.6, 0.8),
    "squat": (0.25, 0.3, 0.4, 0.5, 0.6), "bow": (0.25, 0.3, 0.4, 0.5, 0.6),
    "walk": (0.15, 0.2, 0.25, 0.3, 0.4), "walk_long": (0.0, 0.15, 0.2, 0.3, 0.4),
    "walk_rate": (2.2, 2.7, 3.5, 4.5, 7.0),
    "walk_regular": (0.0, 0.3, 0.5, 0.6, 0.7, 0.8), "walk_bounce": (0.1, 0.15, 0.2, 0.3, 9.0),
    "wave_walk": (0.15, 0.25, 0.4, 0.6, 9.0), "clap_walk": (0.15, 0.25, 0.4, 0.6, 9.0),
    "jump_walk": (0.15, 0.25, 0.4, 0.6, 9.0),
}
# per action: its mean recall − this × its false events per item. Tried: 1 × the share of items with a
# false event: LOSO macro recall 0.86 but 1.79 false events per item (2: 0.76 and 0.96; v2.2 0.61 and 1.06)
FALSE_WEIGHT = 2.0


@dataclass
class Stream:
    source: str
    name: str
    label: str  # an action, "sweep" (a horizontal arm wave: found by a `wave` event), or "negative"
    times: np.ndarray
    measures: np.ndarray  # (T, len(NAMES))
    baseline: np.ndarray  # (T, 9): v2.2's probabilities (the network with its wave gate), same decision times
    also: tuple[str, ...] = ()  # actions that happen in it besides its label: neither hit nor false
    #: per frame of the take (at ``did_fps``), per action: the body did it then, by the 3-D capture
    #: (``mocap.body_did``): an event of it starting then is neither a hit nor false
    did: dict[str, np.ndarray] = field(default_factory=dict)
    did_fps: float = 0.0

    def counts(self, event) -> bool:
        """Whether an event of another action than the stream's is false: not when the body really did it then."""
        return not mocap.did_then(self.did, self.did_fps, event.label, event.start)


@functools.cache
def _v22() -> ActionClassifier:
    """v2.2, the previous model as shipped: the network with its wave gate."""
    return ActionClassifier.create_from_options(ActionClassifierOptions(builtin="network"))


#: v2.2's event settings (on 0.7, wave 0.6, clap 0.4), for the baseline beside v3
V22_EVENTS = actions_eval.EVENTS["wave-clap"]


def track_measures(track: PoseTrack | PoseSequence, every: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Measures (and v2.2's probabilities) at each decision time, as the pipeline computes them (the past only;
    frames without a person leave the history, as the pipeline skips them)."""
    t, lm = track.time[track.present], track.landmarks[track.present]
    when = np.arange(len(t)) if every is None else np.unique(np.searchsorted(t, np.arange(t[0], t[-1], every)))
    out, windows = [], []
    for i in when:
        window, hist = window_and_history(t[:i + 1], lm[:i + 1], float(t[i]), track.aspect, LONG)
        out.append(measure(hist).as_array())
        windows.append(window)
    return t[when], np.array(out), _v22().probabilities(np.stack(windows))


def motion_files() -> list[mocap.MotionFile]:
    """The labelled motion files (``unsure`` ones left out)."""
    return [i for i in mocap.read_manifest() if i.label != "unsure"]


def mocap_streams(every: float | None, progress: Progress | None = None) -> list[Stream]:
    out = []
    for k, item in enumerate(motion_files()):
        world, fps = mocap.load_world(item)
        for v, (yaw, mirrored, rate) in enumerate(VIEWS):
            track = mocap.render(world, fps, yaw_deg=yaw, fps=rate, seed=1000 * k + v, mirrored=mirrored)
            times, m, b = track_measures(track, every)
            label = item.label if item.label in ACTIONS else "negative"
            out.append(Stream(item.source, f"{item.key}@{int(yaw)}", label, times, m, b, item.also))
        if progress:
            progress.update()
    return out


def rendered_streams(folder: Path, every: float | None) -> list[Stream]:
    """The pose tracks MediaPipe found in ``render_mocap.py``'s videos (``render_eval.py`` keeps them as
    ``*.pose.npz``): each is one more view of its motion file, in that file's source."""
    items = render_eval.index(motion_files())
    out = []
    for pose in sorted(folder.glob("*.pose.npz")):
        video = render_eval.parse(pose.with_name(pose.name.removesuffix(".pose.npz") + ".mp4"), items)
        track = read_pose_file(pose)
        if video is None or track.present.sum() < 2:
            continue
        times, m, b = track_measures(track, every)
        label = video.item.label if video.item.label in ACTIONS else "negative"
        out.append(Stream(video.item.source, f"{video.item.key}@r{video.yaw}", label, times, m, b, video.item.also))
    return out


def generator_streams(every: float | None, seed: int = 77) -> list[Stream]:
    rng = np.random.default_rng(seed)
    out = []
    for label in (*VOCABULARY, "sweep"):  # and horizontal arm waves, the wave's second form no other source holds
        for k in range(GENERATOR_TAKES):
            times, m, b = track_measures(generate(rng, random_script(rng, label), SELECTION), every)
            kind = label if label in FOUND else "negative"
            out.append(Stream("generator", f"{label}{k}", kind, times, m, b))
    return out


def mlkit_streams(every: float | None, seed: int = 5) -> list[Stream]:
    poses = crafted.read_mlkit(MLKIT)
    rng = np.random.default_rng(seed)
    out = []
    for kind in crafted.KINDS:
        for k in range(6):
            track, _ = crafted.crafted_clip(rng, kind, poses)
            times, m, b = track_measures(track, every)
            out.append(Stream("mlkit", f"{kind}{k}", kind if kind in ACTIONS else "negative", times, m, b))
    for k in range(8):  # real bodies squatting seen from the side (gym videos are filmed so)
        track, _ = crafted.crafted_clip(rng, "squat", poses, side=True)
        times, m, b = track_measures(track, every)
        out.append(Stream("mlkit_side", f"squat{k}", "squat", times, m, b))
    return out


def stream_events(stream: Stream, th: Thresholds | None, events: EventOptions) -> list:
    """The events that start in a stream (the end of the stream decides a pending one).

    ``th`` None: v2.2's probabilities instead of the detectors'.
    """
    if th is None:
        labels, probs = _v22().labels, stream.baseline
    else:
        labels = (*ACTIONS, "idle", "other")
        probs = distribute(scores(stream.measures, th), labels)
    return actions_eval.stream_events(labels, stream.times, probs, events, flush=True)


def score_rows(streams: list[Stream], th: Thresholds, events: EventOptions) -> list[tuple]:
    """(source, label, found, {false label: count}) per stream."""
    rows = []
    for s in streams:
        label = mocap.GENERATOR_EVENT.get(s.label, s.label)
        got = mocap.scored(stream_events(s, th, events), label, s.did, s.did_fps)
        hit, false = actions_eval.score_item(label, s.also, got)
        rows.append((s.source, s.label, hit, false))
    return rows


def evaluate(streams: list[Stream], th: Thresholds, events: EventOptions) -> dict:
    """Recall per action, false events per item (all, and per action)."""
    return summarise(score_rows(streams, th, events))


def summarise(rows) -> dict:
    out: dict = {"recall": {}, "n": {}, "false_by_label": {}}
    for a in FOUND:
        hits = [r[2] for r in rows if r[1] == a]
        if hits:
            out["recall"][a] = float(np.mean(hits))
            out["n"][a] = len(hits)
        if a in ACTIONS:
            out["false_by_label"][a] = float(np.mean([r[3].get(a, 0) for r in rows])) if rows else 0.0
    out["false_per_item"] = float(np.mean([sum(r[3].values()) for r in rows])) if rows else 0.0
    out["items"] = len(rows)
    return out


def action_objective(rows, action: str) -> float:
    """Mean recall of ``action`` over the sources that have it − FALSE_WEIGHT × its false events per item,
    every source weighted alike (a source with many files does not outvote one with few). ``sweep`` is the
    wave's horizontal form: its items, and false `wave` events."""
    sources = sorted({r[0] for r in rows})
    recalls, falses = [], []
    for src in sources:
        mine = [r for r in rows if r[0] == src]
        hits = [r[2] for r in mine if r[1] == action]
        if hits:
            recalls.append(float(np.mean(hits)))
        falses.append(float(np.mean([r[3].get(mocap.GENERATOR_EVENT.get(action, action), 0) for r in mine])))
    return (float(np.mean(recalls)) if recalls else 0.0) - FALSE_WEIGHT * float(np.mean(falses))


#: which thresholds belong to which action (chosen per action, in this order)
PARAMS = {
    "wave": ("wave", "wave_raise", "wave_flat", "wave_forearm", "wave_repeat", "wave_reach", "wave_walk"),
    "sweep": ("wave_sweep", "wave_straight", "sweep_flat", "sweep_raise", "sweep_turn"),
    "clap": ("clap", "clap_gap", "clap_height", "clap_top", "clap_walk"),
    "jump": ("jump", "jump_walk"),
    "squat": ("squat", "lift"),
    "bow": ("bow",),
    "walk": ("walk", "walk_long", "walk_rate", "walk_regular", "walk_bounce"),
    "hands_up": ("hands_up",),
}


#: where every choice starts (coordinate ascent ends near its start: a fixed start makes the choice repeatable)
START = Thresholds(wave=0.15, wave_raise=0.3, wave_flat=1.2, wave_forearm=0.1, wave_sweep=9.0, wave_straight=0.9,
                   sweep_flat=0.8, sweep_raise=0.3, sweep_turn=9.0, wave_repeat=-1.0, wave_reach=1.5,
                   clap=0.3, clap_gap=0.25, clap_height=0.3, clap_top=1.3, hands_up=0.0, jump=0.6, lift=0.15, squat=0.4,
                   bow=0.3, walk=0.25, walk_long=0.3, walk_rate=2.2, walk_regular=0.8, walk_bounce=9.0,
                   wave_walk=9.0, clap_walk=9.0, jump_walk=9.0)


def choose(streams: list[Stream], events: EventOptions, start: Thresholds | None = None, passes: int = 2
           ) -> Thresholds:
    """Per action, coordinate ascent over its thresholds in ``GRID`` on ``streams`` (never the held-out source)."""
    th = start or START
    present = {s.label for s in streams}
    for _ in range(passes):
        for action, names in PARAMS.items():
            if action not in present:
                continue  # nothing to find: only false events would speak, so the defaults stand
            best = action_objective(score_rows(streams, th, events), action)
            for name in names:
                for v in GRID[name]:
                    cand = dataclasses.replace(th, **{name: v})
                    score = action_objective(score_rows(streams, cand, events), action)
                    if score > best + 1e-9:
                        th, best = cand, score
    return th


def loso(streams: list[Stream], events: EventOptions) -> dict[str, dict]:
    out = {}
    for source in sorted({s.source for s in streams}):
        train = [s for s in streams if s.source != source]
        test = [s for s in streams if s.source == source]
        th = choose(train, events)
        out[source] = {"thresholds": asdict(th), "score": evaluate(test, th, events),
                       "v2.2": evaluate(test, None, V22_EVENTS)}
        print(f"  {source:12s} v3   {fmt(out[source]['score'])}\n  {'':12s} v2.2 {fmt(out[source]['v2.2'])}",
              flush=True)
    return out


def overall(results: dict[str, dict], key: str = "score") -> dict[str, float]:
    """The held-out sources together (``loso``'s results; ``key`` "score" for v3, "v2.2" for the baseline): macro
    recall, the mean over every (source, action) with items (sweeps apart: they are the wave's second form, and
    only the generator holds them), and false events per item, the mean over sources and pooled over items."""
    scores = [r[key] for r in results.values()]
    recalls = [v for sc in scores for a, v in sc["recall"].items() if a in ACTIONS]
    items = np.array([sc["items"] for sc in scores], np.float64)
    false = np.array([sc["false_per_item"] for sc in scores])
    return {"macro_recall": float(np.mean(recalls)) if recalls else 0.0, "false_per_item": float(false.mean()),
            "pooled_false_per_item": float(false @ items / max(items.sum(), 1.0)), "items": int(items.sum())}


def fmt(s: dict) -> str:
    rec = " ".join(f"{a} {s['recall'][a]:.2f} ({s['n'][a]})" for a in FOUND if a in s["recall"])
    worst = sorted(((v, a) for a, v in s["false_by_label"].items() if v >= 0.05), reverse=True)[:3]
    why = ", ".join(f"{a} {v:.2f}" for v, a in worst)
    why = f" ({why})" if why else ""
    return f"{rec or 'no positives'} · false/item {s['false_per_item']:.2f}{why} · {s['items']} items"


def load_streams(every: float | None, cache: Path | None) -> list[Stream]:
    if cache and cache.is_file():
        data = json.loads(cache.read_text())
        return [Stream(d["source"], d["name"], d["label"], np.array(d["times"]), np.array(d["measures"]),
                       np.array(d["baseline"]), tuple(d.get("also", ()))) for d in data]
    print("filming the motion capture…", file=sys.stderr)
    n = len(motion_files())
    progress = Progress("motion files", n)
    streams = mocap_streams(every, progress)
    progress.close()
    streams += generator_streams(every) + mlkit_streams(every)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps([{"source": s.source, "name": s.name, "label": s.label,
                                      "times": s.times.tolist(), "measures": s.measures.tolist(),
                                      "baseline": s.baseline.tolist(), "also": list(s.also)} for s in streams]))
    return streams


def with_truth(streams: list[Stream]) -> list[Stream]:
    """Each motion file's views with what its body did, moment by moment, by its 3-D capture (``mocap.body_did``)."""
    items = {i.key: i for i in motion_files()}
    done: dict[str, tuple[dict[str, np.ndarray], float]] = {}
    for s in streams:
        key = s.name.rsplit("@", 1)[0]
        if key not in items:  # the generator's takes, ML Kit's clips
            continue
        if key not in done:
            world, fps = mocap.load_world(items[key])
            done[key] = mocap.body_did(world, fps), fps
        s.did, s.did_fps = done[key]
    return streams


def audit(streams: list[Stream], th: Thresholds, events: EventOptions) -> None:
    """How many events in the motion-capture negatives the body really did, by the 3-D capture (``mocap.body_did``:
    walking, jumping), which selection neither counts as found nor as false."""
    total, did = 0, {}  # action → (events, real ones)
    for s in streams:
        if s.label != "negative" or not s.did:
            continue
        for a in s.did:  # in body_did's order
            did.setdefault(a, (0, 0))
        for e in stream_events(s, th, events):
            if e.label in s.also:
                continue
            total += 1
            if e.label in did:
                n, real = did[e.label]
                did[e.label] = n + 1, real + (not s.counts(e))
    print(f"{total} events in the motion-capture negatives; by the 3-D capture, the body did:")
    for label, (n, real) in did.items():
        print(f"  {label}: {real} of {n}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fixed", action="store_true", help="also score the shipped thresholds on every source")
    ap.add_argument("--no-loso", action="store_true", help="skip the leave-one-source-out choice (minutes)")
    ap.add_argument("--audit", action="store_true",
                    help="also check the shipped thresholds' false walks and jumps in the motion-capture negatives "
                         "against the 3-D motion (real steps and hops the per-file labels do not name)")
    ap.add_argument("--labels-only", action="store_true",
                    help="score by the files' labels alone: every event but the label's is false, also walks and "
                         "jumps the 3-D capture shows the body doing")
    ap.add_argument("--cache", type=Path, default=OUT / "select_measures.json",
                    help="measures of every stream (made once; delete it after changing the renderer)")
    ap.add_argument("--renders", type=Path,
                    help="also choose on MediaPipe's tracks of the MakeHuman body carrying the motion files "
                         "(render_mocap.py renders them into this folder, render_eval.py tracks them)")
    args = ap.parse_args(argv)
    streams = load_streams(1.0 / DECIDE_HZ, args.cache)
    if args.renders:
        rendered = rendered_streams(args.renders, 1.0 / DECIDE_HZ)
        if not rendered:
            sys.exit(f"no tracked renders in {args.renders}: run render_mocap.py, then render_eval.py")
        print(f"{len(rendered)} tracked renders of the motion files join their sources", file=sys.stderr)
        streams += rendered
    if not args.labels_only:
        with_truth(streams)
    events = EventOptions()
    report: dict = {"sources": sorted({s.source for s in streams})}
    if args.fixed:
        print("shipped thresholds:")
        report["fixed"] = {}
        for source in report["sources"]:
            part = [x for x in streams if x.source == source]
            s = evaluate(part, Thresholds(), events)
            report["fixed"][source] = s
            print(f"  {source:12s} v3   {fmt(s)}\n  {'':12s} v2.2 {fmt(evaluate(part, None, V22_EVENTS))}")
    if args.audit:
        audit(streams, Thresholds(), events)
    if args.no_loso:
        return 0
    print("leave one source out (v3: thresholds chosen without the source; v2.2: the previous model, as shipped):")
    report["loso"] = loso(streams, events)
    report["loso_overall"] = {}
    for key, name in (("score", "v3"), ("v2.2", "v2.2")):
        o = report["loso_overall"][name] = overall(report["loso"], key)
        print(f"  held out, all sources: {name} macro recall {o['macro_recall']:.3f} · false/item "
              f"{o['false_per_item']:.2f} (pooled over {o['items']} items {o['pooled_false_per_item']:.2f})")
    chosen = choose(streams, events)
    report["all_sources"] = asdict(chosen)
    print(f"chosen on every source: {asdict(chosen)}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "select.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
