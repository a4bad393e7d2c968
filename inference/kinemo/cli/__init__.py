"""The ``kinemo`` command line: one module per command family, each adding its own subcommands.

Each module in :data:`COMMAND_MODULES` has ``register(subparsers)``, which adds its parsers
and sets ``func=handler(args) -> int`` on each, so a feature's options live beside its
handler. ``main`` turns :class:`~kinemo.errors.KinemoError` into one line and an exit status.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from kinemo import __version__, argcheck, models, protocol
from kinemo.cli import stopping
from kinemo.cli.outputs import OVERWRITE_RULE
from kinemo.errors import KinemoError
from kinemo.native import own_stderr

EPILOG = f"""\
examples:
  kinemo video clip.mp4                       stream to the Blender add-on (port {protocol.DEFAULT_PORT})
  kinemo video clip.mp4 -o take.csv --no-osc  write a Live Link Face CSV only
  kinemo video clip.mp4 --realtime            stream at the clip's own speed (for live preview)
  kinemo video clip.mp4 -o take.json --preview check.mp4   also draw the tracking onto the video
  kinemo webcam --camera 1 -o take.json       track a camera, stream, and save when you press Ctrl-C
  kinemo image photos/ -o faces.csv           blendshapes, head pose and expression of photos
  kinemo video a.mp4 b.mp4 -o takes/ --format json   one take per video into a folder
  kinemo recover take.csv                     rebuild a take whose capture was killed
  kinemo models where                         show which model file would be used

Takes stream into TAKE.journal while they record: Ctrl-C, SIGTERM and SIGHUP finish the file,
and after a crash 'kinemo recover TAKE' rebuilds it. {OVERWRITE_RULE}

The face model (face_landmarker.task) is looked up via --model, $KINEMO_MODEL_DIR and the
user cache ({models.cache_dir()}); if missing it is downloaded once and verified.
Wire protocol: docs/protocol.md.
"""

#: The command families, in the order ``kinemo --help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "kinemo.cli.face", "kinemo.cli.voice", "kinemo.cli.image", "kinemo.cli.expressions", "kinemo.cli.actions",
    "kinemo.cli.recover", "kinemo.cli.models")


def build_parser() -> argparse.ArgumentParser:
    parser = argcheck.Parser(
        prog="kinemo", description="Kinemo performance capture: face → ARKit blendshapes over OSC and to files.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"kinemo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    own_stderr()  # our messages must not vanish while a reader thread silences native logs
    stopping.install()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except KinemoError as e:
        print(f"kinemo: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt as e:
        print("kinemo: interrupted", file=sys.stderr)
        return stopping.exit_status(e)


if __name__ == "__main__":
    raise SystemExit(main())
