"""``kinemo expressions``: teach Kinemo your own faces (built-in names or your own), list and remove them.

What is taught goes into the profile (``--profile me.json``, the same file ``--calibrate``
writes); every command given that profile then labels frames with the performer's own model
(:mod:`kinemo.face.personal`). Three ways to teach: guided from a camera, from a video with
labelled spans, or from labelled photos. Everything is checked before a model loads, and the
profile is written once, at the end, only when every example was found: a faceless photo or
an empty span saves nothing.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

from kinemo import argcheck
from kinemo.errors import KinemoError
from kinemo.protocol import EMOTIONS

EPILOG = f"""\
examples:
  kinemo expressions teach --profile me.json                      guided, from camera 0: each built-in
                                                                  expression, held 2 s, twice
  kinemo expressions teach --profile me.json --labels smirk,pout,neutral --repeats 3
  kinemo expressions teach --profile me.json --images faces.csv   rows: file,label (header optional)
  kinemo expressions teach --profile me.json --video me.mp4 --spans spans.csv   rows: label,start,end (s)
  kinemo expressions list --profile me.json
  kinemo expressions remove smirk --profile me.json
  kinemo webcam --profile me.json                                 label live with your own expressions

Built-in names: {", ".join(EMOTIONS)}. Your own: letters, digits, '_' and '-' (e.g. smirk,
tongue_out). Teaching a name again replaces its examples (--add keeps them). Names you did not
teach keep the generic model's judgement. The profile also holds the neutral calibration of
'kinemo webcam --calibrate'; each keeps the other.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("expressions", help="teach Kinemo your own expressions; list or remove them",
                              description="Teach Kinemo your own faces, for built-in expression names or your own.",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="expressions_command", metavar="ACTION", required=True)
    t = sub.add_parser("teach", help="teach expressions from a camera, a video with spans, or photos",
                       description="Teach expressions into a profile.", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--profile", required=True, metavar="PROFILE.json", help="profile to add to (created if missing)")
    src = t.add_mutually_exclusive_group()
    src.add_argument("--camera", default="0", metavar="N|URL", help="camera for the guided teach (default 0)")
    src.add_argument("--images", metavar="CSV", help="labelled photos: rows file,label (paths relative to the CSV)")
    src.add_argument("--video", metavar="FILE", help="a video of you; --spans says which seconds show what")
    t.add_argument("--spans", metavar="CSV", help="with --video: rows label,start,end in seconds")
    t.add_argument("--labels", metavar="A,B,…", help=f"guided teach: which expressions (default: {','.join(EMOTIONS)})")
    t.add_argument("--seconds", type=argcheck.number(0.3, 30), default=2.0, metavar="S",
                   help="guided teach: hold each expression this long (default 2)")
    t.add_argument("--ready", type=argcheck.number(0, 30), default=2.0, metavar="S",
                   help="guided teach: time to get into each expression before it is recorded (default 2)")
    t.add_argument("--repeats", type=argcheck.integer(1, 10), default=2, metavar="N",
                   help="guided teach: go through the expressions this many times (default 2)")
    t.add_argument("--add", action="store_true", help="keep the examples taught before for the same names")
    t.add_argument("--model", metavar="PATH", help="face_landmarker.task to use instead of the model store")
    t.add_argument("-q", "--quiet", action="store_true", help="no prompts beyond what is needed")
    t.set_defaults(func=teach)
    ls = sub.add_parser("list", help="show what a profile was taught", description="Show the taught expressions.")
    ls.add_argument("--profile", required=True, metavar="PROFILE.json")
    ls.set_defaults(func=list_expressions)
    rm = sub.add_parser("remove", help="forget taught expressions", description="Forget taught expressions.")
    rm.add_argument("labels", nargs="+", metavar="NAME")
    rm.add_argument("--profile", required=True, metavar="PROFILE.json")
    rm.set_defaults(func=remove)


def _load_profile(path: str, *, must_exist: bool):
    from kinemo.face.calibration import Profile

    if Path(path).exists():
        return Profile.load(path)
    if must_exist:
        raise KinemoError(f"no such profile: {path}")
    return Profile()


def _read_rows(path: str, width: int, what: str) -> list[list[str]]:
    """CSV rows of exactly ``width`` columns; a header row (a non-number where a number goes) is skipped."""
    p = Path(path)
    if not p.is_file():
        raise KinemoError(f"no such {what} file: {p}")
    try:
        with open(p, newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise KinemoError(f"cannot read {p}: {e}") from None
    out = []
    for n, r in enumerate(rows, 1):
        r = [c.strip() for c in r]
        if len(r) != width:
            raise KinemoError(f"{p}, row {n}: {len(r)} columns, expected {width} "
                              f"({'file,label' if width == 2 else 'label,start,end'})")
        out.append(r)
    if out and _is_header(out[0], width):
        out = out[1:]
    if not out:
        raise KinemoError(f"{p} has no rows")
    return out


def _is_header(row: list[str], width: int) -> bool:
    if width == 2:
        return [c.lower() for c in row] in (["file", "label"], ["path", "label"], ["image", "label"])
    try:
        float(row[1])
        return False
    except ValueError:
        if [c.lower() for c in row] != ["label", "start", "end"]:
            raise KinemoError(f"unknown columns {','.join(row)}: expected label,start,end") from None
        return True


def _check_labels(labels) -> list[str]:
    from kinemo.face.personal import check_label

    return [check_label(lb) for lb in labels]


def teach(args: argparse.Namespace) -> int:
    argcheck.output_file(args.profile, (".json",), inputs=(args.images, args.video, args.spans), what="profile")
    profile = _load_profile(args.profile, must_exist=False)
    if args.video and not args.spans:
        raise KinemoError("--video needs --spans CSV (rows label,start,end in seconds)")
    if args.spans and not args.video:
        raise KinemoError("--spans goes with --video FILE")
    if args.images:
        plan = _images_plan(args.images)
        examples = _teach_images(plan, args)
    elif args.video:
        plan = _spans_plan(args.spans, args.video)
        examples = _teach_video(args.video, plan, args)
    else:
        labels = _check_labels(args.labels.split(",")) if args.labels else list(EMOTIONS)
        examples = _teach_camera(labels, args)
    t0 = time.perf_counter()
    for label, found in examples.items():  # the profile is written only if all of it fits
        profile.personal.add(label, found, replace=not args.add)
    classifier = profile.classifier()
    fitted = time.perf_counter() - t0
    profile.save(args.profile)
    taught = ", ".join(f"{lb} ({len(ex)})" for lb, ex in examples.items())
    print(f"taught {taught}; fitted in {fitted * 1000:.0f} ms; {args.profile} now labels: "
          f"{', '.join(classifier.labels)}", file=sys.stderr)
    return 0


def _images_plan(csv_path: str) -> list[tuple[Path, str]]:
    base = Path(csv_path).parent
    plan = []
    for file, label in _read_rows(csv_path, 2, "--images"):
        p = Path(file) if Path(file).is_absolute() else base / file
        if not p.is_file():
            raise KinemoError(f"{csv_path}: no such photo {p}")
        plan.append((p, _check_labels([label])[0]))
    return plan


def _spans_plan(csv_path: str, video: str) -> list[tuple[str, float, float]]:
    if not Path(video).is_file():
        raise KinemoError(f"no such video: {video}")
    plan = []
    for n, (label, start, end) in enumerate(_read_rows(csv_path, 3, "--spans"), 1):
        try:
            a, b = float(start), float(end)
        except ValueError:
            raise KinemoError(f"{csv_path}, span {n}: start and end must be seconds, not {start!r}, {end!r}") from None
        if not (0 <= a < b):
            raise KinemoError(f"{csv_path}, span {n} ({label} {start}-{end}): empty span (end must be after start)")
        plan.append((_check_labels([label])[0], a, b))
    return plan


def _tracker(args, video: bool):
    from kinemo.face.tracker import FaceTracker, FaceTrackerOptions

    return FaceTracker.create_from_options(FaceTrackerOptions(model_path=args.model, video=video))


def _teach_images(plan: list[tuple[Path, str]], args) -> dict[str, list]:
    from kinemo.cli.image import load_rgb
    from kinemo.face.personal import example_from_frame

    out: dict[str, list] = {}
    with _tracker(args, video=False) as tracker:
        for i, (path, label) in enumerate(plan):
            rgb = load_rgb(path)
            if rgb is None:
                raise KinemoError(f"{path}: not a readable image; nothing was saved")
            frame = tracker.process_image(rgb, seq=i)
            if not frame.present:
                raise KinemoError(f"{path}: no face found; nothing was saved (use a photo where the face is clear)")
            out.setdefault(label, []).append(example_from_frame(frame.blendshapes, frame.landmarks, frame.image_size))
    return out


def _teach_video(video: str, plan: list[tuple[str, float, float]], args) -> dict[str, list]:
    from kinemo.face.personal import example_from_frame, mean_example
    from kinemo.sources import VideoSource

    held: list[list] = [[] for _ in plan]
    source = VideoSource(video)
    try:
        with _tracker(args, video=True) as tracker:
            last = max(b for _, _, b in plan)
            for i, t, rgb in source:
                if t > last:
                    break
                inside = [k for k, (_, a, b) in enumerate(plan) if a <= t < b]
                if not inside:
                    continue
                f = tracker.process_video_frame(rgb, int(round(t * 1000)), seq=i, time_s=t)
                if f.present:
                    for k in inside:
                        held[k].append(example_from_frame(f.blendshapes, f.landmarks, f.image_size))
    finally:
        source.close()
    out: dict[str, list] = {}
    for (label, a, b), frames in zip(plan, held, strict=True):
        if not frames:
            raise KinemoError(f"span {label} {a:g}-{b:g} s: no face seen in it (or the video is shorter); "
                              "nothing was saved")
        out.setdefault(label, []).append(mean_example(frames))
    return out


def _teach_camera(labels: list[str], args) -> dict[str, list]:
    """Guided: for each expression (``repeats`` rounds), a prompt, ``ready`` seconds, then ``seconds`` held."""
    from kinemo.face.personal import example_from_frame, mean_example
    from kinemo.sources import CameraSource

    source = CameraSource(args.camera)
    steps = [(r, lb) for r in range(args.repeats) for lb in labels]
    out: dict[str, list] = {}
    say = (lambda *_: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    try:
        with _tracker(args, video=True) as tracker:
            frames = iter(source)
            for n, (_, label) in enumerate(steps, 1):
                say(f"[{n}/{len(steps)}] make your {label.upper()} face … ")
                held = _hold(frames, tracker, args.ready, args.seconds, say)
                if not held:
                    raise KinemoError(f"no face seen while {label} was held; nothing was saved: face the camera "
                                      "and try again")
                out.setdefault(label, []).append(mean_example([example_from_frame(*h) for h in held]))
                say(f"      got {label} ({len(held)} frames)")
    finally:
        source.close()
    return out


def _hold(frames, tracker, ready: float, seconds: float, say) -> list[tuple]:
    """Frames with a face from ``ready`` to ``ready + seconds`` after now (camera time)."""
    start, held, told = None, [], False
    for i, t, rgb in frames:
        start = t if start is None else start
        f = tracker.process_video_frame(rgb, int(round(t * 1000)), seq=i, time_s=t)
        if t - start < ready:
            continue
        if not told:
            say("      hold …")
            told = True
        if t - start >= ready + seconds:
            break
        if f.present:
            held.append((f.blendshapes, f.landmarks, f.image_size))
    return held


def list_expressions(args: argparse.Namespace) -> int:
    profile = _load_profile(args.profile, must_exist=True)
    examples = profile.personal.examples
    if not examples:
        print(f"{args.profile}: no taught expressions (teach some: kinemo expressions teach --profile "
              f"{args.profile})")
        return 0
    for label in sorted(examples, key=lambda lb: (lb not in EMOTIONS, EMOTIONS.index(lb) if lb in EMOTIONS else 0,
                                                  lb)):
        kind = "built-in" if label in EMOTIONS else "your own"
        print(f"{label:16s} {len(examples[label]):3d} example{'s' if len(examples[label]) != 1 else ''}  ({kind})")
    untaught = [e for e in EMOTIONS if e not in examples]
    if untaught:
        print(f"not taught (the generic model decides): {', '.join(untaught)}")
    return 0


def remove(args: argparse.Namespace) -> int:
    profile = _load_profile(args.profile, must_exist=True)
    for label in args.labels:
        profile.personal.remove(label)
    profile.save(args.profile)
    left = ", ".join(profile.personal.examples) or "none"
    print(f"removed {', '.join(args.labels)}; taught now: {left}", file=sys.stderr)
    return 0

