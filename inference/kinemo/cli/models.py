"""``kinemo models``: show where each model file resolves, or fetch it into the cache."""

from __future__ import annotations

import argparse

from kinemo import models


def register(sub) -> None:
    m = sub.add_parser("models", help="show or fetch the model files",
                       description="Show where each model resolves, or download it into the cache.")
    m.add_argument("action", choices=("where", "fetch"), help="where: print the path; fetch: download if missing")
    m.add_argument("--model", metavar="PATH", help=argparse.SUPPRESS)
    m.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
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
