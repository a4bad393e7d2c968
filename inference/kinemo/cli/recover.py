"""``kinemo recover``: rebuild a take from the journal that a killed capture left beside it."""

from __future__ import annotations

import argparse
import sys

EPILOG = """\
examples:
  kinemo recover take.csv       after 'kinemo webcam -o take.csv' was killed (crash, kill -9, out of memory)

While a take records, its frames stream into TAKE.journal beside the output, flushed every
second. Ctrl-C, SIGTERM and SIGHUP write the take normally and remove the journal; anything
harder leaves it, and this command writes the take a normal stop would have written (all but
the last second or so) and removes the journal. A new capture refuses to start over a journal
that was not recovered.
"""


def register(sub) -> None:
    p = sub.add_parser("recover", help="rebuild a take from the journal a killed capture left",
                       description="Rebuild a take file (.csv, .json, .npz) from its journal (OUT.journal).",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("outputs", nargs="+", metavar="OUT", help="the take file(s) the capture was writing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kinemo.errors import KinemoError
    from kinemo.takes import recover

    failed = 0
    for out in args.outputs:
        try:
            path, frames, torn = recover(out)
        except KinemoError as e:
            if len(args.outputs) == 1:
                raise
            print(f"kinemo: error: {e}", file=sys.stderr)
            failed += 1
            continue
        note = " (a damaged last record was skipped)" if torn else ""
        print(f"recovered {frames} frames into {path}{note}", file=sys.stderr)
    return 1 if failed else 0
