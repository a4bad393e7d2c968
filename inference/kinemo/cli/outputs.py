"""Where each input's results go, and which inputs can be read: the rules every file command shares.

One input writes to the file named by ``-o``; several inputs write ``STEM.FORMAT`` each into the
folder ``-o`` names (``kinemo video``, ``kinemo audio``), and likewise for ``--preview`` and
``--plot``. Everything is checked before a model loads: a bad argument costs nothing.

The overwrite rule, the same for every command: an output you name is replaced, and only by a
complete new file when the command produced something for it; an input is never written over.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from kinemo import argcheck
from kinemo.errors import KinemoError

OVERWRITE_RULE = ("An output you name is replaced, only by a complete new file and only when something was produced "
                  "for it; inputs are never written over.")


def per_input(paths: Sequence[str], output: str | None, suffixes: Sequence[str], folder_suffix: str, *,
              option: str = "--output", what: str = "output", others: Sequence[str | None] = ()) -> list[Path | None]:
    """One output path (or None) per input: the file itself for one input, ``FOLDER/STEM.folder_suffix`` for several.

    ``others`` are further files the command reads (a model, a profile): never an output either.
    """
    if not output:
        return [None] * len(paths)
    out = Path(output)
    if out.is_dir() or len(paths) > 1:
        if not out.is_dir():
            raise KinemoError(f"with several inputs, {option} must be an existing folder: {out}")
        targets = [out / f"{Path(p).stem}{folder_suffix}" for p in paths]
        if len(set(targets)) < len(targets):
            raise KinemoError("two inputs have the same name; give them separate output folders")
    else:
        targets = [out]
    for t in targets:
        argcheck.output_file(t, suffixes, inputs=(*paths, *others), what=what)
    return targets


def unreadable_inputs(paths: Sequence[str]) -> dict[str, str]:
    """{input: why} for inputs that are not readable files, found before any model loads.

    One input that cannot be read, or none readable of several, is an error; otherwise the
    caller reports each bad one when its turn comes, goes on with the rest and exits 1.
    """
    bad = {p: why for p in paths if (why := _why_unreadable(p))}
    if len(paths) == 1 and bad:
        raise KinemoError(f"{paths[0]}: {bad[paths[0]]}")
    if bad and len(bad) == len(paths):
        raise KinemoError("no readable input: " + "; ".join(f"{p} ({why})" for p, why in bad.items()))
    return bad


def _why_unreadable(path: str) -> str:
    p = Path(path)
    if not p.exists():
        return "no such file"
    if p.is_dir():
        return "is a directory, not a file"
    if not os.access(p, os.R_OK):
        return "cannot be read (permission denied)"
    return ""
