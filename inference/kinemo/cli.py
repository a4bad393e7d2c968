"""``kinemo`` command line: track faces in a video or a camera and stream/save ARKit curves."""

from __future__ import annotations

import argparse
import importlib
import sys

from kinemo import __version__, models, protocol
from kinemo.errors import KinemoError

EPILOG = f"""\
examples:
  kinemo video clip.mp4                       stream to the Blender add-on (port {protocol.DEFAULT_PORT})
  kinemo video clip.mp4 -o take.csv --no-osc  write a Live Link Face CSV only
  kinemo video clip.mp4 --realtime            stream at the clip's own speed (for live preview)
  kinemo webcam --camera 1 -o take.json       track a camera, stream, and save when you press Ctrl-C
  kinemo models where                         show which model file would be used

The face model (face_landmarker.task) is looked up via --model, $KINEMO_MODEL_DIR and the
user cache ({models.cache_dir()}); if missing it is downloaded once and verified.
Wire protocol: docs/protocol.md.
"""


#: Modules that add their own subcommands: each has ``register(subparsers)``, which adds a
#: parser and sets ``func=handler(args) -> int`` on it. Keeps each feature's CLI beside it.
COMMAND_MODULES: tuple[str, ...] = ()


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", metavar="OUT",
                   help="also write the take: .csv (Live Link Face), .json or .npz (with timestamps and landmarks)")
    p.add_argument("--osc", metavar="HOST:PORT", default=f"{protocol.DEFAULT_HOST}:{protocol.DEFAULT_PORT}",
                   help="where to stream frames (default %(default)s)")
    p.add_argument("--no-osc", action="store_true", help="do not stream; only write --output")
    p.add_argument("--model", metavar="PATH", help="face_landmarker.task to use instead of the model store")
    p.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line or summary")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kinemo", description="Kinemo performance capture: face → ARKit blendshapes over OSC and to files.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"kinemo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    v = sub.add_parser("video", help="track the face in every frame of a video file",
                       description="Track the face in every frame of a video file.")
    v.add_argument("path", help="video file (.mp4, .mov, .mpg, .avi, …)")
    v.add_argument("--realtime", action="store_true",
                   help="pace frames to the video's clock (default: as fast as possible)")
    _add_common(v)

    w = sub.add_parser("webcam", help="track the face from a camera until Ctrl-C",
                       description="Track the face from a camera; Ctrl-C stops and saves --output.")
    w.add_argument("--camera", type=int, default=0, metavar="N", help="camera index (default 0)")
    _add_common(w)

    m = sub.add_parser("models", help="show or fetch the model files",
                       description="Show where each model resolves, or download it into the cache.")
    m.add_argument("action", choices=("where", "fetch"), help="where: print the path; fetch: download if missing")
    m.add_argument("--model", metavar="PATH", help=argparse.SUPPRESS)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _track(args: argparse.Namespace, source) -> int:
    from kinemo.face import FaceTracker, FaceTrackerOptions
    from kinemo.osc_out import OscSender, parse_target
    from kinemo.pipeline import run_face
    from kinemo.takes import TakeWriter, check_output_path

    if args.output:
        check_output_path(args.output)
    sender = None if args.no_osc else OscSender(*parse_target(args.osc))
    writer = TakeWriter(args.output, fps=source.fps, source=source.name) if args.output else None
    tracker = FaceTracker.create_from_options(FaceTrackerOptions(model_path=args.model))
    interrupted = False
    try:
        stats = run_face(source, tracker, sender=sender, writer=writer,
                         realtime=getattr(args, "realtime", False), max_frames=args.max_frames,
                         progress=not args.quiet)
    except KeyboardInterrupt:
        interrupted, stats = True, None
    finally:
        tracker.close()
        source.close()
        if sender:
            sender.close()
    out = writer.close() if writer else None
    if not args.quiet:
        if stats:
            msg = (f"{stats.frames} frames ({stats.faces} with a face) in {stats.seconds:.1f} s, "
                   f"{stats.fps:.1f} frames/s")
        else:
            msg = f"stopped after {len(writer.frames) if writer else 0} frames"
        if sender:
            msg += f"; streamed to {args.osc}"
        if out:
            msg += f"; wrote {out}"
        print(msg, file=sys.stderr)
    return 130 if interrupted and not source.realtime else 0


def _models(args: argparse.Namespace) -> int:
    spec = models.FACE_LANDMARKER
    if args.action == "where":
        try:
            print(models.resolve(spec, args.model, allow_download=False))
        except models.ModelError as e:
            print(f"{spec.filename}: not found ({e})")
            return 1
        return 0
    print(models.resolve(spec, args.model))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        if getattr(args, "func", None) is not None:
            return args.func(args)
        if args.command == "video":
            from kinemo.sources import VideoSource

            return _track(args, VideoSource(args.path))
        if args.command == "webcam":
            from kinemo.sources import CameraSource

            return _track(args, CameraSource(args.camera))
        return _models(args)
    except KinemoError as e:
        print(f"kinemo: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("kinemo: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

