"""``kinemo actions``: recognise body actions (wave, clap, jump, …) and stream them as events."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from kinemo import argcheck, protocol
from kinemo.cli.stopping import exit_status
from kinemo.errors import KinemoError
from kinemo.files import atomic_write

EPILOG = f"""\
examples:
  kinemo actions --camera 0                         stream action events to Blender (port {protocol.DEFAULT_PORT})
  kinemo actions --video take.mp4 -o events.json --no-osc
  kinemo actions --video take.mp4 --record-pose take_pose.npz   also keep the pose track
  kinemo actions --pose-file take_pose.npz -o events.json       re-run on a recorded pose track
  kinemo actions train punch --examples p1.npz p2.npz p3.mp4    teach your own action
  kinemo actions list                                           the vocabulary, yours included

Built-in vocabulary: idle (no action), wave, clap, hands_up, jump, squat, walk, bow.
Events go out as /kinemo/body/event (label, start|end, confidence, start, end times) and
every frame as /kinemo/body/present + /kinemo/body/probs; see docs/actions.md.
Several people in view: MediaPipe follows the first person it finds; with --people 2 the
largest (closest) of two is the performer.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "actions", help="recognise body actions from a camera, video or pose file",
        description="Track the body (MediaPipe pose), classify the last 1.6 s of motion, and send "
                    "action events with hysteresis over OSC and/or to a JSON file.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=argcheck.integer(0), metavar="N", help="camera index")
    src.add_argument("--video", metavar="PATH", help="video file")
    src.add_argument("--pose-file", metavar="NPZ", help="recorded pose track (.npz, see --record-pose)")
    p.add_argument("-o", "--output", metavar="EVENTS.json", help="write the events (and a summary) as JSON")
    p.add_argument("--osc", metavar="HOST:PORT", default=f"{protocol.DEFAULT_HOST}:{protocol.DEFAULT_PORT}",
                   help="where to stream (default %(default)s)")
    p.add_argument("--no-osc", action="store_true", help="do not stream")
    p.add_argument("--record-pose", metavar="OUT.npz", help="also save the tracked pose track")
    p.add_argument("--realtime", action="store_true", help="pace a video or pose file to its own clock")
    p.add_argument("--max-frames", type=argcheck.count, metavar="N", help="stop after N frames")
    p.add_argument("--people", type=argcheck.count, default=1, metavar="N",
                   help="look for up to N people and take the largest (closest) as the performer; "
                        "default 1 = follow the first person found (N > 1 costs up to twice the pose time)")
    _add_shared(p, sub=False)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line, events or summary")
    p.set_defaults(func=run, actions_command=None)

    sub = p.add_subparsers(dest="actions_command", metavar="SUBCOMMAND")
    t = sub.add_parser("train", help="teach a new action from a few examples",
                       description="Teach a new action from 2-10 example recordings of it (pose files "
                                   "from --record-pose, or videos). Each example should show only the "
                                   "action, for at least 1.6 s. Stored in the actions folder; no retraining.")
    t.add_argument("name", help="the new action's name (lower case, digits, _)")
    t.add_argument("--examples", nargs="+", required=True, metavar="FILE", help="pose .npz files or videos")
    t.add_argument("--force", action="store_true", help="replace an existing action of that name")
    _add_shared(t)
    t.set_defaults(func=train)
    ls = sub.add_parser("list", help="show the vocabulary", description="Show built-in and user actions.")
    _add_shared(ls)
    ls.set_defaults(func=list_actions)
    rm = sub.add_parser("remove", help="delete a user action", description="Delete one of your actions.")
    rm.add_argument("name")
    _add_shared(rm)
    rm.set_defaults(func=remove)


def _add_shared(p: argparse.ArgumentParser, sub: bool = True) -> None:
    # On subcommands the default is SUPPRESS, so `kinemo actions --actions-dir D train …` keeps D.
    default = argparse.SUPPRESS if sub else None
    p.add_argument("--actions-dir", metavar="DIR", default=default,
                   help="where user actions live (default $KINEMO_ACTIONS_DIR or ~/.local/share/kinemo/actions)")
    p.add_argument("--pose-model", metavar="PATH", default=default,
                   help="pose_landmarker*.task for the Tasks API (default: $KINEMO_MODEL_DIR or the cache, "
                        "else the legacy model bundled with mediapipe)")


def _pipeline(args, *, track: bool):
    from kinemo.body.pipeline import ActionPipeline

    return ActionPipeline.create_for_user(actions_dir=args.actions_dir, pose_model=args.pose_model, track=track,
                                          people=getattr(args, "people", 1))


def _check_outputs(args: argparse.Namespace) -> Path | None:
    """Both files ``run`` may write, checked before any tracking (the inputs are never overwritten)."""
    inputs = (args.video, args.pose_file, args.pose_model)
    if args.record_pose and args.pose_file:
        raise KinemoError("--record-pose needs a camera or video (the pose file is already a recording)")
    if args.record_pose:
        argcheck.output_file(args.record_pose, (".npz",), inputs=inputs, what="pose file")
    return argcheck.output_file(args.output, (".json",), inputs=inputs, what="events output") if args.output \
        else None


def _frames(args):
    """(source name, fps, total, iterator of (index, time, rgb or None, landmarks or None, aspect), close)."""
    if args.pose_file:
        from kinemo.body.posefile import read_pose_file

        track = read_pose_file(args.pose_file)

        def it():
            for i in range(len(track)):
                yield i, float(track.time[i]), None, (track.landmarks[i] if track.present[i] else None), track.aspect
        return Path(args.pose_file).name, track.fps, len(track), it(), lambda: None, False
    from kinemo.sources import CameraSource, VideoSource

    source = CameraSource(args.camera) if args.camera is not None else VideoSource(args.video)

    def it():
        for i, t, rgb in source:
            yield i, t, rgb, None, rgb.shape[1] / rgb.shape[0]
    return source.name, source.fps, source.total, it(), source.close, source.realtime


def run(args: argparse.Namespace) -> int:
    if args.camera is None and args.video is None and args.pose_file is None:
        raise KinemoError("say where the motion comes from: --camera N, --video PATH or --pose-file NPZ "
                          "(see 'kinemo actions --help')")
    from kinemo.body.osc import BodySender
    from kinemo.body.posefile import write_pose_file
    from kinemo.body.recording import PoseRecorder
    from kinemo.osc_out import parse_target
    from kinemo.progress import Progress

    out = _check_outputs(args)
    sender = None if args.no_osc else BodySender(*parse_target(args.osc))
    name, fps, total, frames, close, live = _frames(args)
    pipeline = _pipeline(args, track=args.pose_file is None)
    recorder = PoseRecorder(fps) if args.record_pose else None
    events: list[dict] = []
    stats = {"frames": 0, "person_frames": 0, "people_max": 0}
    bar = Progress(f"actions in {name}", total, enabled=not args.quiet)
    start = time.perf_counter()
    last_t = 0.0
    interrupted: KeyboardInterrupt | None = None

    def emit(result, extra=()) -> None:
        if sender is not None:
            sender.send(pipeline.messages(result, stats["frames"], extra_events=list(extra)))
        for e in [*result.events, *extra]:
            if e.phase == protocol.EVENT_END:
                events.append({"label": e.label, "start": round(e.start, 4), "end": round(e.end, 4),
                               "confidence": round(e.confidence, 4)})
            if not args.quiet and sys.stderr.isatty():
                print(f"\r{e.time:8.2f} s  {e.phase:5s} {e.label} ({e.confidence:.2f})", file=sys.stderr)

    try:
        for index, t, rgb, landmarks, aspect in frames:
            if args.max_frames is not None and index >= args.max_frames:
                break
            if args.realtime and not live:
                delay = start + t - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            if rgb is not None:
                result = pipeline.process_frame(rgb, t)
                if result.pose is not None:
                    stats["people_max"] = max(stats["people_max"], result.pose.people)
                if recorder:
                    recorder.add(t, result.pose)
            else:
                result = pipeline.process_pose(landmarks, t, aspect=aspect)
            emit(result)
            stats["frames"] += 1
            stats["person_frames"] += int(result.present)
            last_t = t
            bar.update()
    except KeyboardInterrupt as e:
        interrupted = e
    finally:
        bar.close()
        close()
        pipeline.close()
    from kinemo.body.pipeline import ActionResult

    emit(ActionResult(last_t, False, None, []), pipeline.finish(last_t))
    if sender:
        sender.close()
    if recorder:
        write_pose_file(args.record_pose, recorder.track())
    if out:
        _write_json(out, {"format": "kinemo-actions", "version": 1, "source": name, "fps": fps,
                          "labels": list(pipeline.labels), **stats, "events": events})
    if not args.quiet:
        seconds = time.perf_counter() - start
        msg = (f"{stats['frames']} frames ({stats['person_frames']} with a person) in {seconds:.1f} s, "
               f"{len(events)} events")
        if sender:
            msg += f"; streamed to {args.osc}"
        for path in (args.record_pose, out):
            if path:
                msg += f"; wrote {path}"
        print(msg, file=sys.stderr)
    return exit_status(interrupted, stopped_normally=live)


def _write_json(path: Path, doc: dict) -> None:
    with atomic_write(path, "w") as f:
        json.dump(doc, f, indent=1)


def train(args: argparse.Namespace) -> int:
    from kinemo.body import user_actions
    from kinemo.body.classifier import ActionClassifier
    from kinemo.body.posefile import read_pose_file

    classifier = ActionClassifier.create_from_options()
    name = user_actions.check_name(args.name, classifier.builtin)
    folder = user_actions.actions_dir(args.actions_dir)
    if (folder / f"{name}.npz").exists() and not args.force:
        raise KinemoError(f"action '{name}' already exists in {folder}; use --force to replace it")
    argcheck.creatable_folder(folder, what="actions folder")  # saved after the examples are tracked: check now
    tracker = None
    examples = []
    try:
        for path in args.examples:
            if path.lower().endswith(".npz"):
                track = read_pose_file(path)
            else:
                from kinemo.body.recording import track_source
                from kinemo.body.tracker import PoseTracker, PoseTrackerOptions
                from kinemo.sources import VideoSource

                source = VideoSource(path)
                tracker = tracker or PoseTracker.create_from_options(PoseTrackerOptions(model_path=args.pose_model))
                try:
                    track = track_source(source, tracker, progress=True)
                finally:
                    source.close()
            examples.append(user_actions.check_example(track, path))
    finally:
        if tracker:
            tracker.close()
    seconds = sum(float(e.time[-1] - e.time[0]) for e in examples)
    print(f"fitting '{name}' against the built-in actions …", file=sys.stderr)
    saved = user_actions.save_action(folder, name, classifier, examples, [str(p) for p in args.examples])
    print(f"learned '{name}' from {len(examples)} examples ({seconds:.1f} s of motion); saved {saved}",
          file=sys.stderr)
    return 0


def list_actions(args: argparse.Namespace) -> int:
    from kinemo.body import user_actions
    from kinemo.body.classifier import ActionClassifier

    classifier = ActionClassifier.create_from_options()
    folder = user_actions.actions_dir(args.actions_dir)
    print("built-in: " + " ".join(classifier.builtin))
    mine = [a.name for a in user_actions.load_actions(folder, classifier)]
    print(f"yours ({folder}): " + (" ".join(mine) if mine else "none"))
    return 0


def remove(args: argparse.Namespace) -> int:
    from kinemo.body import user_actions

    path = user_actions.remove_action(user_actions.actions_dir(args.actions_dir), args.name)
    print(f"removed {path}", file=sys.stderr)
    return 0
