"""Argument checks shared by every command (``kinemo …`` and ``scripts/bake_audio.py``).

A bad argument must cost nothing: it is caught before any tracking or baking starts, it
is reported in one line that names the argument and the fix, the exit status is non-zero,
and no file is created or replaced. Numbers are checked by argparse ``type=`` callables
(so ``--help`` and every command reject them the same way); paths by the functions below,
which raise ``KinemoError``. Standard library only: Blender's own Python imports it too.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NoReturn

from kinemo.errors import KinemoError


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``PROG: error: --fps must be … (see 'PROG CMD --help')``.

    argparse prints the whole usage block first, which for our commands is a screen of
    text hiding the one line that matters. Subparsers inherit this class.
    """

    def error(self, message: str) -> NoReturn:
        m = re.match(r"argument ([^:]+): (.*)", message, re.S)
        if m:
            name = m[1].split("/")[-1]
            message = f"{name} {m[2]}" if m[2].startswith("must ") else f"{name}: {m[2]}"
        root = self.prog.split()[0]
        self.exit(2, f"{root}: error: {message} (see '{self.prog} --help')\n")


def integer(minimum: int | None = None, maximum: int | None = None, *, hint: str = "") -> Callable[[str], int]:
    """argparse ``type=``: a whole number in [minimum, maximum]."""

    def check(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number (got '{text}')") from None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"must be {_range(minimum, maximum)}{hint} (got {value})")
        return value

    return check


def number(minimum: float | None = None, maximum: float | None = None, *, above: bool = False,
           hint: str = "") -> Callable[[str], float]:
    """argparse ``type=``: a finite number ≥ minimum (> minimum when ``above``) and ≤ maximum."""

    def check(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number (got '{text}')") from None
        low_bad = minimum is not None and (value <= minimum if above else value < minimum)
        if not math.isfinite(value) or low_bad or (maximum is not None and value > maximum):
            want = (f"more than {minimum:g}" if above else _range(minimum, maximum)) if minimum is not None \
                else _range(None, maximum)
            if above and maximum is not None:
                want += f" and at most {maximum:g}"
            raise argparse.ArgumentTypeError(f"must be {want}{hint} (got {text})")
        return value

    return check


def _range(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{minimum:g}-{maximum:g}"
    if minimum is not None:
        return f"{minimum:g} or more"
    if maximum is not None:
        return f"at most {maximum:g}"
    return "a number"


#: ``--osc``-style UDP ports, and ``--control-port`` where 0 turns the listener off.
port = integer(1, 65535)
port_or_off = integer(0, 65535, hint=" (0 = off)")
#: Frame and item counts: ``--max-frames``, ``--people`` …
count = integer(1)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file (also through links, ``..`` or a different spelling)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def writable_folder(folder: str | os.PathLike, *, what: str = "output", file: Path | None = None) -> Path:
    """An existing folder we can create files in (a real probe: ``os.access`` is wrong for root and read-only mounts).

    ``file``, when given, is the path named in the message (the user typed the file, not its folder).
    """
    d = Path(folder) if str(folder) else Path(".")
    if not d.is_dir():
        raise KinemoError(f"{what} folder does not exist: {d}")
    try:
        with tempfile.TemporaryFile(dir=d):
            pass
    except OSError as e:
        raise KinemoError(f"cannot write {what}: {file or d} ({e.strerror or e})") from None
    return d


def creatable_folder(folder: str | os.PathLike, *, what: str = "output") -> Path:
    """A folder that exists and is writable, or can be made: its nearest existing ancestor is writable."""
    d = Path(folder)
    probe = d
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise KinemoError(f"{what} folder {d}: {probe} is a file")
    writable_folder(probe, what=what, file=d)
    return d


def output_file(path: str | os.PathLike, suffixes: Iterable[str] = (), *, inputs: Iterable[str | os.PathLike] = (),
                force: bool = True, what: str = "output") -> Path:
    """Check an output file before any work: right type, not a folder, not one of the inputs, writable folder,
    and not an existing file unless ``force`` (the caller's ``--force``/``--replace``)."""
    p = Path(path)
    suffixes = tuple(suffixes)
    if p.is_dir():
        raise KinemoError(f"{what} path is a directory: {p}")
    if suffixes and p.suffix.lower() not in suffixes:
        raise KinemoError(f"unsupported {what} type '{p.suffix or p.name}': use {_alternatives(suffixes)}")
    for source in inputs:
        if source and p.exists() and same_file(p, source):
            raise KinemoError(f"{what} {p} is also an input; it is never overwritten: choose another name")
    writable_folder(p.parent, what=what, file=p)
    if p.exists():
        if not force:
            raise KinemoError(f"{what} exists: {p} (pass --force to replace it)")
        if not os.access(p, os.W_OK):
            raise KinemoError(f"cannot write {what}: {p} (Permission denied)")
    return p


def _alternatives(suffixes: tuple[str, ...]) -> str:
    return suffixes[0] if len(suffixes) == 1 else ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}"


def fail(prog: str, message: str, code: int = 2) -> NoReturn:
    """Print ``PROG: error: MESSAGE`` (one line) and exit: for scripts outside the ``kinemo`` command."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    raise SystemExit(code)
