"""Batch-bake speech onto an avatar: one Action per audio file, the sound beside it in the sequencer.

  blender -b avatar.blend -P scripts/bake_audio.py -- AUDIO... [options]
  python scripts/bake_audio.py --blend avatar.blend AUDIO... [options]     (the bpy module)

Under Blender the open file is the input (--blend may name another one); the bpy module has
no open file, so there --blend is required. AUDIO may be files (wav, flac, ogg, mp3, or
videos with a sound track) or folders. The Kinemo companion runs out of process (``kinemo
audio``) on the whole batch, then each take is baked with the add-on's own Import Take into
a new Action named after the file; a name already in use gets a unique suffix unless
--replace. Each file's sound goes into the sequencer once: if the scene already has a sound
strip of that same file (from an earlier bake, or the demo's), that strip is reused -- moved
to the new take's first frame -- rather than a second one added, so the line never plays
twice; any further strips of that file are muted.

A bad file is reported and skipped: its progress line says FAILED and, at the end, one line
on stderr gives its reason; the exit status is 1 if any file failed. Bad arguments (no
--blend for the bpy module, an unreadable .blend, an output that exists or cannot be written,
two inputs with the same name, a missing --kinemo) are found before any work, in one line,
with exit status 2. The output is written to a temporary name and renamed into place, so it
appears complete or not at all; Blender's own messages (its "Read blend", "Saved copy as" of
that temporary name, its report on a damaged file) are held back: you see our lines only.

Options:
  --blend IN.blend     the .blend to open (required with the bpy module; under Blender,
                       the file Blender opened is used when it is not given)
  --output OUT.blend   where to save (default: <blend>_baked.blend beside the input;
                       the input .blend is never overwritten)
  --force              replace OUT.blend if it already exists (default: refuse)
  --target OBJECT      mesh to drive (default: the mesh with the most ARKit shape keys)
  --fps N              scene frame rate to bake at (default: the scene's)
  --nla                lay the actions one after another on an NLA track (default: each
                       starts at the scene's first frame, the last one stays assigned)
  --replace            replace actions of the same name instead of adding .001 copies
  --kinemo CMD         the companion command (default: $KINEMO_COMMAND, `kinemo` on PATH,
                       or this checkout's .venv/bin/kinemo)
  --split N            one output .blend per N files (OUT_001.blend, OUT_002.blend, ...), each
                       baked onto a fresh copy of the input: for very large batches
  --no-sound           no sound strips, only the actions: for lines whose audio plays elsewhere
                       (a game engine); strips the scene has already are left as they are. A
                       strip is most of the bake's time per file (Blender reads the file twice
                       to make it); without them a farm's bake keeps up with more workers

Studio scale (docs/farm.md; needs `pip install 'kinemo[farm]'`, the bpy module, not Blender):
the speech → curves work runs on a Dask cluster, a few files a task; the bake stays here,
file by file as the takes come back.
  --workers N          a local cluster of N workers (one encoder thread each), listening on
                       127.0.0.1 only, over TLS with a certificate made for this run
  --scheduler ADDRESS  an existing cluster: tls://HOST:PORT (or tcp:// on a trusted network:
                       whoever reaches a Dask scheduler can run any code on its workers)
  --security FILE      the TLS credentials for --scheduler: a YAML file with tls: ca-file,
                       cert, key (default: Dask's own configuration, distributed.comm.tls)
  --emotion NAME[:I]   the lines' emotion (kinemo audio --emotion): happy:0.8, anger, sad:0.5, …
  --emotions CSV       per-file emotions: rows file,emotion,intensity (files not listed take --emotion)
  --upload             send each file's bytes to the workers (when they do not see this
                       machine's files at the same path)
A worker lost mid-batch costs time only: its files run again on another worker. A file that
cannot be read is reported like above; one that kills every worker it runs on too. Exit
status: 0 all baked, 1 some file failed (each named on stderr), 2 nothing done (bad
arguments, or the cluster cannot be started or reached).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "inference"))  # Blender's Python has no kinemo installed: use this checkout's

from kinemo import argcheck  # noqa: E402  (standard library only)
from kinemo.errors import KinemoError  # noqa: E402

PROG = "bake_audio"
AUDIO_EXT = {".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".opus", ".mp4", ".mov", ".mpg", ".mkv", ".avi",
             ".webm"}
ADDON_MODULES = ("bl_ext.user_default.kinemo", "blender_addon")


def parse(argv: list[str]) -> argparse.Namespace:
    p = argcheck.Parser(prog=PROG, description=__doc__.split("\n")[0],
                        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("audio", nargs="+", help="audio files or folders")
    p.add_argument("--blend", type=Path,
                   help="the .blend to open (required with the bpy module; blender -b opens its own)")
    p.add_argument("--output", type=Path)
    p.add_argument("--force", action="store_true")
    p.add_argument("--target")
    p.add_argument("--fps", type=argcheck.integer(1, 1000))
    p.add_argument("--nla", action="store_true")
    p.add_argument("--replace", action="store_true")
    p.add_argument("--kinemo")
    p.add_argument("--split", type=argcheck.integer(1), metavar="N")
    p.add_argument("--no-sound", action="store_true")
    p.add_argument("--workers", type=argcheck.integer(1, 512), metavar="N")
    p.add_argument("--scheduler", metavar="ADDRESS")
    p.add_argument("--security", type=Path, metavar="FILE")
    p.add_argument("--upload", action="store_true")
    p.add_argument("--emotion", metavar="NAME[:I]")
    p.add_argument("--emotions", type=Path, metavar="CSV")
    return p.parse_args(argv)


def collect(paths: list[str]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files to bake, and paths rejected up front with the reason."""
    files, bad = [], []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in AUDIO_EXT)
            if not found:
                bad.append((p, "folder has no audio files"))
            files += found
        elif p.is_file():
            files.append(p)
        else:
            bad.append((p, "no such file"))
    return files, bad


def check_batch(files: list[Path], bad: list[tuple[Path, str]]) -> None:
    """Refuse a batch that cannot succeed before anything is tracked or baked.

    Two inputs with one name would share one take file and one action name, so the
    companion rejects the batch; finding that out after the bake wasted it.
    """
    if not files:
        raise KinemoError("nothing to bake: " + "; ".join(f"{p} ({why})" for p, why in bad))
    seen: dict[str, Path] = {}
    for f in files:
        other = seen.setdefault(f.stem, f)
        if other is not f:
            raise KinemoError(f"two inputs are both named '{f.stem}' ({other} and {f}); "
                              "each becomes an action of that name: rename one or bake them separately")


def companion(explicit: str | None) -> list[str]:
    """The kinemo command; one the user named (--kinemo, $KINEMO_COMMAND) must exist, never a silent fallback."""
    for what, cmd in (("--kinemo", explicit), ("KINEMO_COMMAND", os.environ.get("KINEMO_COMMAND"))):
        if cmd:
            if shutil.which(cmd) is None:
                raise KinemoError(f"{what} {cmd}: no such command (or not executable)")
            return [cmd]
    for cmd in (shutil.which("kinemo"), str(ROOT / ".venv" / "bin" / "kinemo")):
        if cmd and shutil.which(cmd):
            return [cmd]
    raise KinemoError("cannot find the kinemo command: pass --kinemo PATH or set KINEMO_COMMAND")


def inside_blender() -> bool:
    """True when Blender runs this script (``blender -b avatar.blend -P``): the open file is then the input.

    Run by a plain Python (the bpy module), bpy is not imported yet when this runs; if some
    caller imported it, ``bpy.app.module`` (``binary_path`` is empty in the module) says which.
    """
    bpy = sys.modules.get("bpy")
    if bpy is None:
        return False
    return not getattr(bpy.app, "module", not bpy.app.binary_path)


_fflush = None  # the C library's fflush, looked up once
_logs: list = []  # held_back's files, made once and reused (the bake holds back around every file's sound strip)


def _flush_c_stdio() -> None:
    """Flush C-level stdout buffers, so what Blender printed lands where fd 1 points now (best effort)."""
    global _fflush
    try:
        if _fflush is None:
            import ctypes

            # PyDLL: keep the GIL over a call this short (handing it over and back costs the bake more)
            _fflush = (ctypes.PyDLL(None) if os.name != "nt" else ctypes.PyDLL("ucrtbase")).fflush
        _fflush(None)
    except (OSError, AttributeError, TypeError):
        pass


@contextlib.contextmanager
def held_back():
    """Hold back what Blender prints inside the block; yields a list that gets its lines when the block ends.

    Blender writes its reports ("Read blend: …", "Info: Saved copy as …", "Error: …") to the
    process's stdout itself, past ``sys.stdout``, so only moving file descriptors 1 and 2
    catches them. The caller decides what is worth showing: it says the same in our words.
    """
    said: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        saved = os.dup(1), os.dup(2)
    except OSError:  # no stdout/stderr to hide anything from (a Blender without a console)
        yield said
        return
    log = _logs.pop() if _logs else tempfile.TemporaryFile()  # a block inside a block gets a file of its own
    log.seek(0)
    log.truncate()
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    try:
        yield said
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        _flush_c_stdio()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        log.seek(0)
        said += log.read().decode(errors="replace").splitlines()
        _logs.append(log)


def pass_on(said: list[str], *chatter: str) -> None:
    """Show held-back lines except Blender's routine ones (``chatter``: text such a line contains)."""
    for line in said:
        if line.strip() and not any(c in line for c in chatter):
            print(line, file=sys.stderr)


def check_output(args: argparse.Namespace, source: Path | None) -> Path:
    """Where to save: never the input, an existing file only with --force, in a folder we can write."""
    if args.output is None and source is None:
        raise KinemoError("pass --output OUT.blend (the scene was never saved)")
    out = args.output or source.with_name(f"{source.stem}_baked.blend")
    return argcheck.output_file(out, (".blend",), inputs=[source] if source else [], force=args.force).resolve()


def open_blend(bpy, blend: Path) -> None:
    """Open the input; a damaged file is our one line, not Blender's traceback nor its own report beside it."""
    if blend.stat().st_size == 0:
        raise KinemoError(f"{blend} is empty, not a .blend file")
    try:
        with held_back() as said:
            bpy.ops.wm.open_mainfile(filepath=str(blend))
    except RuntimeError as e:
        detail = (str(e).strip().splitlines() or ["unknown error"])[0].removeprefix("Error: ")
        # Blender quotes the file's full path in its message; ours names it once already.
        detail = re.sub(r"""(\s+in file)?\s*(["'])[^"']*\2""",
                        lambda m: "" if blend.name in m[0] else m[0], detail).strip() or "unknown error"
        raise KinemoError(f"cannot open {blend}: not a readable .blend file ({detail})") from None
    pass_on(said, "Read blend:")


def save_blend(bpy, out: Path) -> None:
    """Save beside ``out`` under a temporary name, then rename: a failed save leaves no half file.

    Same folder, so Blender's relative-path remapping is right for the final name. Blender's
    "Saved copy as" names the temporary file: held back, the caller's summary names ``out``.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".blend", dir=out.parent)
    os.close(fd)
    os.unlink(tmp)  # Blender would otherwise keep the empty placeholder as a .blend1 backup
    try:
        with held_back() as said:
            bpy.ops.wm.save_as_mainfile(filepath=tmp, copy=True)
        pass_on(said, "Saved copy as", "Info: Saved")
        os.replace(tmp, out)
    except (RuntimeError, OSError) as e:
        detail = getattr(e, "strerror", None) or (str(e).strip().splitlines() or ["unknown error"])[0]
        detail = detail.removeprefix("Error: ").replace(tmp, str(out))  # the temporary name means nothing to you
        raise KinemoError(f"cannot write {out}: {detail}") from None
    finally:
        for leftover in (tmp, tmp + "1", tmp + "@"):
            if os.path.exists(leftover):
                os.unlink(leftover)


def take_rate(fps: float) -> int:
    """The companion's frame rate nearest the scene's (the bake resamples the take to the scene's own)."""
    return min((24, 25, 30, 50, 60), key=lambda r: abs(r - fps))


def check_emotions(args: argparse.Namespace, files: list[Path]) -> dict[Path, tuple[str, float]]:
    """``--emotion`` / ``--emotions``: every file's (emotion, intensity), checked before any work."""
    if not args.emotion and not args.emotions:
        return {}
    from kinemo.cli.voice import read_emotions
    from kinemo.voice.emotion import EmotionLayer, parse_emotion

    default = parse_emotion(args.emotion) if args.emotion else ("neutral", 1.0)
    EmotionLayer(60.0).check(default[0])
    listed = read_emotions(str(args.emotions), [str(f) for f in files], {"profile": None}) if args.emotions else {}
    return {f: listed.get(str(f), default) for f in files}


def emotion_args(args: argparse.Namespace) -> tuple[str, ...]:
    """The companion's own options for the same emotions."""
    return ((("--emotion", args.emotion) if args.emotion else ())
            + (("--emotions", str(args.emotions)) if args.emotions else ()))


def run_companion(cmd: list[str], files: list[Path], out_dir: Path, fps: float,
                  extra: tuple[str, ...] = ()) -> dict[Path, str]:
    """Track every file in one companion process; returns {file: why} for those that failed.

    ``why`` is the companion's own one-line reason, which already names the file; the name
    it repeats inside (ffmpeg's ``NAME: Invalid data …``) is dropped, so it is said once.
    """
    fps_arg = take_rate(fps)
    proc = subprocess.run([*cmd, "audio", "-o", str(out_dir), "--format", "json", "--no-osc", "--fps", str(fps_arg),
                           "--no-landmarks", "-q", *extra, "--", *map(str, files)],  # '--': a file may be named -x.wav
                          capture_output=True, text=True)
    said = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
    errors = {}
    for f in files:
        if not (out_dir / f"{f.stem}.json").is_file():
            named = re.compile(rf"(?<![^\s/\\('\"]){re.escape(f.name)}(?![\w.-])")  # this file, not x{f.name}
            line = next((ln for ln in said if named.search(ln)), said[-1] if said else "no output")
            errors[f] = said_once(f, re.sub(r"^\S+: error: ", "", line))  # "kinemo: error: "
    return errors


def said_once(f: Path, why: str) -> str:
    """A reason with the file's name in it once (ffmpeg's ``NAME: Invalid data …`` repeats it inside)."""
    head, sep, tail = why.partition(f"{f}: ")
    return head + sep + tail.replace(f"{f}: ", "") if sep else why


def failure(f: Path, why: str) -> str:
    """One failed file, named once: the reason when it names the file already, else ``FILE (reason)``."""
    return why if str(f) in why else f"{f} ({why})"


def ensure_addon(bpy) -> None:
    """Use the installed add-on if enabled; else register this checkout's copy for this session only."""
    if hasattr(bpy.ops.kinemo, "import_take") and hasattr(bpy.types.Scene, "kinemo"):
        return
    sys.path.insert(0, str(ROOT))
    for wheel in (ROOT / "blender_addon" / "wheels").glob("*.whl"):
        sys.path.insert(0, str(wheel))  # pure-Python wheels import straight from the zip
    import blender_addon

    blender_addon.register()


def find_target(bpy, name: str | None):
    from kinemo.protocol import ARKIT_NAMES

    if name:
        obj = bpy.data.objects.get(name)
        if obj is None or obj.type != "MESH" or obj.data.shape_keys is None:
            raise KinemoError(f"no mesh with shape keys named '{name}'")
        return obj
    wanted = {n.casefold() for n in ARKIT_NAMES}
    best, score = None, 0
    for obj in bpy.data.objects:
        if obj.type == "MESH" and obj.data.shape_keys is not None:
            s = sum(kb.name.casefold() in wanted for kb in obj.data.shape_keys.key_blocks)
            if s > score:
                best, score = obj, s
    if best is None:
        raise KinemoError("no mesh with ARKit-named shape keys in this file; pass --target")
    return best


def _strips(se, every: bool = False):
    """The sequencer's strips (5.0: ``strips``; 4.2: ``sequences``); ``every`` includes those inside meta strips."""
    name = "strips_all" if every else "strips"
    found = getattr(se, name, None)
    return getattr(se, name.replace("strips", "sequences")) if found is None else found


def _plays(strip, path: Path) -> bool:
    """Whether a sequencer strip is a sound strip of this very file (however its path is spelled)."""
    sound = getattr(strip, "sound", None)
    if strip.type != "SOUND" or sound is None or not sound.filepath:
        return False
    import bpy

    return argcheck.same_file(bpy.path.abspath(sound.filepath, library=sound.library), path)


def add_sound(scene, path: Path, frame: int, channel: int, mute: bool, same: list | None = None):
    """The file's sound strip at ``frame``: the scene's existing strip of that file if it has one, else a new one.

    A second strip of the same file would play the line twice (a re-bake of the demo's
    line did), so the existing one is moved instead (its volume and other settings kept) and
    any further copies of the file are muted. ``same``: the scene's strips of this file, when
    the caller knows them (:class:`SoundStrips`), else they are looked up.
    """
    se = scene.sequence_editor or scene.sequence_editor_create()
    if same is None:
        same = [s for s in _strips(se, every=True) if _plays(s, path)]
    top_level = list(_strips(se)) if same else []
    top = [s for s in same if s in top_level]  # a strip inside a meta strip cannot be moved on its own
    if top:
        strip = top[0]
        strip.frame_start = frame
        if strip.channel != channel:
            strip.channel = channel
    else:  # absolute path: valid from any folder
        strip = _strips(se).new_sound(path.stem, str(path.resolve()), channel, frame)
    for other in same:
        if other != strip:
            other.mute = True
    strip.mute = mute
    return strip


def check_farm(args: argparse.Namespace):
    """The Dask cluster the options name (a :class:`kinemo.farm.Farm`, not started yet), or None: no farm."""
    if args.workers and args.scheduler:
        raise KinemoError("--workers starts a local cluster, --scheduler names an existing one: pass one of them")
    if not (args.workers or args.scheduler):
        for option, given in (("--upload", args.upload), ("--security", args.security)):
            if given:
                raise KinemoError(f"{option} is for a Dask cluster: pass --workers N or --scheduler ADDRESS too")
        return None
    if args.security and not args.scheduler:
        raise KinemoError("--security is for --scheduler; the local cluster of --workers makes its own TLS "
                          "certificate for the run")
    if args.kinemo:
        raise KinemoError("--kinemo names the companion of a run without a cluster; with --workers/--scheduler "
                          "each worker runs its own installed Kinemo")
    if args.workers and inside_blender():
        raise KinemoError("--workers starts Python processes: run bake_audio with the bpy module "
                          "(python scripts/bake_audio.py --blend avatar.blend ...), not inside Blender")
    from kinemo.farm import Farm

    farm = Farm(workers=args.workers, scheduler=args.scheduler, security=args.security, upload=args.upload)
    farm.check()
    return farm


def split_outputs(args: argparse.Namespace, source: Path | None, count: int) -> list[Path]:
    """With --split, the .blend files to write, one per N files: OUT_001.blend, OUT_002.blend, ... (each
    checked like OUT itself would be; OUT itself is not written)."""
    if source is None:
        raise KinemoError("--split starts each part from the input .blend again: save the scene first")
    out = args.output or source.with_name(f"{source.stem}_baked.blend")
    if out.suffix.lower() != ".blend":
        argcheck.output_file(out, (".blend",), inputs=[source], force=args.force)  # its one-line refusal
    parts = -(-count // args.split)
    width = max(3, len(str(parts)))
    return [argcheck.output_file(out.with_name(f"{out.stem}_{k:0{width}d}.blend"), (".blend",), inputs=[source],
                                 force=args.force).resolve() for k in range(1, parts + 1)]


def addon_modules(bpy):
    """The add-on's take reader and bake (``takes_io``, ``bake_write``): whichever copy registered Import Take."""
    import importlib

    package = bpy.types.KINEMO_OT_import_take.__module__.rpartition(".")[0]
    return importlib.import_module(f"{package}.takes_io"), importlib.import_module(f"{package}.bake_write")


class SoundStrips:
    """The scene's sound strips by the file they play, looked up once: ``add_sound``'s search without its
    cost per file (that search, over every strip for every file, grows with the square of the batch)."""

    def __init__(self, scene) -> None:
        import bpy

        self._by_file: dict[tuple[int, int], list] = {}
        se = scene.sequence_editor
        for strip in (_strips(se, every=True) if se else []):
            sound = getattr(strip, "sound", None)
            if strip.type == "SOUND" and sound is not None and sound.filepath:
                self.add(bpy.path.abspath(sound.filepath, library=sound.library), strip)

    @staticmethod
    def _id(path) -> tuple[int, int] | None:
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            return None
        return st.st_dev, st.st_ino

    def of(self, path: Path) -> list:
        return list(self._by_file.get(self._id(path), []))

    def add(self, path, strip) -> None:
        key = self._id(path)
        if key is not None:
            self._by_file.setdefault(key, []).append(strip)


class CompanionTakes:
    """The takes of a run without a farm (the companion tracks the whole batch first), as a farm batch offers them."""

    def __init__(self, cmd: list[str], files: list[Path], out_dir: Path, fps: float,
                 extra: tuple[str, ...] = ()) -> None:
        self.files, self.out_dir = files, out_dir
        self.errors = run_companion(cmd, files, out_dir, fps, extra)

    def result(self, i: int, timeout: float) -> tuple[bool, str | None]:
        return True, self.errors.get(self.files[i])

    def take(self, i: int) -> Path:
        return self.out_dir / f"{self.files[i].stem}.json"

    def cancel(self) -> None:
        pass


PROGRESS_S = 10.0  # a farm progress line at most this often while the bake waits for a file


def wait_for(batch, i: int, total: int, clock: list[float]) -> str | None:
    """File ``i``'s take (None) or why it failed; says what the farm does while the bake waits."""
    notes = getattr(batch, "notes", None)
    while True:
        finished, why = batch.result(i, timeout=1.0)
        while notes is not None and not notes.empty():
            print(f"{PROG}: {notes.get()}", flush=True)
        if finished:
            return why
        if time.monotonic() - clock[0] >= PROGRESS_S:
            clock[0] = time.monotonic()
            print(f"{PROG}: farm: {batch.done} of {total} files done, {batch.failed} failed", flush=True)


def place_line(scene, key, action, f: Path, start: float, nla: bool, *, channel: int, mute: bool,
               same: list | None = None, sound: bool = True):
    """A baked line's sound strip beside its action (unless not ``sound``), and the action onto the NLA when
    asked; the strip, or None when there is none (e.g. the bpy 4.2 module has no audio: the action is kept)."""
    strip = None
    if sound:
        try:
            with held_back() as said:
                strip = add_sound(scene, f, int(start), channel=channel, mute=mute, same=same)
            pass_on(said)
        except RuntimeError as e:
            detail = (str(e).strip().splitlines() or ["unknown error"])[0].removeprefix("Error: ")
            print(f"{PROG}: warning: {f.name}: baked, but no sound strip ({detail})", file=sys.stderr)
    if nla:
        lay_on_nla(key, action, start)
    return strip


def lay_on_nla(key, action, start: float) -> None:
    """Move the just-baked action from the shape keys onto the "Kinemo speech" NLA track at ``start``."""
    track = key.animation_data.nla_tracks.get("Kinemo speech")
    if track is None:
        track = key.animation_data.nla_tracks.new()
        track.name = "Kinemo speech"
    strip = track.strips.new(action.name, int(start), action)
    if hasattr(strip, "action_slot") and key.animation_data.action_slot is not None:
        strip.action_slot = key.animation_data.action_slot
    key.animation_data.action = None


def bake_scene(bpy, args: argparse.Namespace):
    """The scene to bake onto, at ``--fps`` when given."""
    scene = bpy.context.scene
    if args.fps:
        scene.render.fps, scene.render.fps_base = args.fps, 1.0
    return scene


def last_key(action, key) -> float:
    """The frame of the action's last key (keys are written in order, so each curve's last is its latest)."""
    return max(fc.keyframe_points[-1].co[0] for fc in _fcurves(action, key) if len(fc.keyframe_points))


def finish_line(args, scene, key, action, why: str, f: Path, start: float, fps: float,
                failed: list[tuple[Path, str]], counter: str, *, channel: int, mute: bool,
                sounds: SoundStrips | None = None) -> float | None:
    """A baked line's end, the same in both bakes: ``why`` (or no action) fails it (FAILED printed, the
    reason kept for the end); else the action takes the file's name, its sound strip is placed and its
    line printed. Returns the line's length in frames, or None when it failed."""
    if why or action is None:
        failed.append((f, f"bake failed: {why or 'no action made'}"))
        print(f"{counter} {f.name}: FAILED", flush=True)
        return None
    # The action was named after the take file; make that the audio file's own name.
    if args.replace or action.name.split(".")[0] != f.stem:
        action.name = f.stem
    length = last_key(action, key) - start
    strip = place_line(scene, key, action, f, start, args.nla, channel=channel, mute=mute,
                       same=sounds.of(f) if sounds is not None else None, sound=not args.no_sound)
    if strip is not None and sounds is not None:
        sounds.add(f, strip)
    scene.frame_end = max(scene.frame_end, int(start + length))
    print(f"{counter} {f.name}: {length / fps:.1f} s → action '{action.name}' from frame {start}", flush=True)
    return length


def bake_parts(bpy, args, cmd, farm, files: list[Path], failed: list[tuple[Path, str]], target,
               source: Path | None, outs: list[Path], emotions: dict[Path, tuple[str, float]] | None = None) -> int:
    """Bake the batch with the add-on's bulk f-curve writes, file by file as the takes arrive; one .blend per part.

    The same result as the Import Take loop of a plain run (same actions, strips and sounds), without
    the operator's depsgraph update around every file, which grows with the scene and would take most
    of a large batch's time.
    """
    takes_io, bake_write = addon_modules(bpy)
    size = args.split or len(files)
    t0 = time.perf_counter()
    speech_s = 0.0
    baked: list[str] = []
    written: list[Path] = []
    errors = 0
    clock = [time.monotonic()]
    with tempfile.TemporaryDirectory(prefix="kinemo-bake-") as tmp:
        scene = bake_scene(bpy, args)
        fps = scene.render.fps / scene.render.fps_base
        batch = (farm.submit(files, take_rate(fps), Path(tmp), emotions=emotions) if farm is not None
                 else CompanionTakes(cmd, files, Path(tmp), fps, emotion_args(args)))
        try:
            for k, out in enumerate(outs):
                part = range(k * size, min(len(files), (k + 1) * size))
                if k:  # each part starts from the input again
                    open_blend(bpy, source)
                    target = find_target(bpy, args.target)
                    scene = bake_scene(bpy, args)
                sounds = None if args.no_sound else SoundStrips(scene)
                frame = scene.frame_start
                key = target.data.shape_keys
                part_baked = 0
                for j, i in enumerate(part, 1):
                    f = files[i]
                    why = wait_for(batch, i, len(files), clock)
                    if farm is not None and i == len(files) - 1:  # every take is in: let the cluster go
                        batch.cancel()
                        farm.close(wait=False)
                    if why is not None:  # the reason is said once, at the end
                        failed.append((f, said_once(f, why)))
                        print(f"[{i + 1}/{len(files)}] {f.name}: FAILED", flush=True)
                        continue
                    if args.replace and f.stem in bpy.data.actions:
                        bpy.data.actions.remove(bpy.data.actions[f.stem])
                    start = frame if args.nla else scene.frame_start
                    action, why = None, ""
                    got = batch.take(i)  # a farm's arrays, or a take file
                    try:
                        take = (takes_io.take_from_arrays(f.stem, got) if isinstance(got, dict)
                                else takes_io.read_take(str(got)))
                        result = bake_write.bake_take(bpy.context, take, frame_start=float(start), replace=False,
                                                      targets=[target])
                        action = result.actions[0] if result.actions else None
                    except (takes_io.TakeError, RuntimeError) as e:
                        why = (str(e).strip().splitlines() or ["unknown error"])[0].removeprefix("Error: ")
                    finally:
                        if isinstance(got, Path):
                            with contextlib.suppress(OSError):
                                got.unlink()
                    length = finish_line(args, scene, key, action, why, f, start, fps, failed,
                                         f"[{i + 1}/{len(files)}]", channel=1 if args.nla else min(j, 32),
                                         mute=not args.nla and j != len(part), sounds=sounds)
                    if length is None:
                        continue
                    speech_s += length / fps
                    frame = int(start + length) + int(fps // 2)  # half a second between clips
                    baked.append(action.name)
                    part_baked += 1
                if not part_baked:
                    if len(outs) > 1:
                        print(f"{PROG}: error: no file of part {k + 1} (files {part.start + 1}-{part.stop}) could "
                              f"be baked; {out} not written", file=sys.stderr)
                    continue
                try:
                    save_blend(bpy, out)
                    written.append(out)
                except KinemoError as e:
                    print(f"{PROG}: error: {e}", file=sys.stderr)
                    errors += 1
        finally:
            batch.cancel()
    for f, why in failed:
        print(f"{PROG}: failed: {failure(f, why)}", file=sys.stderr)
    if not baked:  # nothing new to save: leave no output that looks like a result
        where = f"{outs[0]} not written" if len(outs) == 1 else "no .blend written"
        print(f"{PROG}: error: no file could be baked; {where}", file=sys.stderr)
        return 1
    if not written:
        return 1
    wall = time.perf_counter() - t0
    rate = (speech_s / 60) / (wall / 60) if wall > 0 else 0.0
    wrote = str(written[0]) if len(written) == 1 else f"{written[0]} … {written[-1].name} ({len(written)} files)"
    print(f"bake_audio: baked {len(baked)} of {len(baked) + len(failed)} files onto '{target.name}': "
          f"{speech_s:.1f} s of speech in {wall:.1f} s ({rate:.1f} min of speech per minute); wrote {wrote}")
    return 1 if failed or errors else 0


def main(argv: list[str]) -> int:
    args = parse(argv)
    farm = None
    try:  # every check that can fail runs before the companion tracks anything
        if not args.blend and not inside_blender():  # the bpy module starts with an empty scene: nothing to bake onto
            raise KinemoError("no --blend given: name the avatar to bake onto, e.g. --blend avatar.blend "
                              "(or run it in Blender: blender -b avatar.blend -P scripts/bake_audio.py -- AUDIO...)")
        if args.blend and not args.blend.is_file():
            raise KinemoError(f"no such .blend: {args.blend}")
        farm = check_farm(args)
        cmd = companion(args.kinemo) if farm is None else []
        files, failed = collect(args.audio)
        check_batch(files, failed)
        emotions = check_emotions(args, files)
        if args.blend:
            source_blend: Path | None = args.blend.resolve()
        else:  # blender -b avatar.blend -P bake_audio.py: Blender opened it
            import bpy

            source_blend = Path(bpy.data.filepath) if bpy.data.filepath else None
        out = check_output(args, source_blend) if not args.split else None
        outs = split_outputs(args, source_blend, len(files)) if args.split else [out]
        if farm is not None:
            farm.prepare()  # a local cluster's workers begin their imports, in a process of their own, as bpy loads
        import bpy

        if farm is not None:
            for warning in farm.warnings:
                print(f"{PROG}: warning: {warning}", file=sys.stderr)
            farm.start()  # in the background, while the .blend opens (after bpy's import: two threads
            # loading extension modules at once can deadlock)

        if args.blend:
            open_blend(bpy, args.blend)
        ensure_addon(bpy)
        target = find_target(bpy, args.target)
        if farm is not None:
            where = farm.ready()
            print(f"{PROG}: {len(files)} file{'s' * (len(files) > 1)} on {where}", flush=True)
    except KinemoError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        if farm is not None:
            farm.close()
        return 2
    if farm is not None or args.split:
        try:
            return bake_parts(bpy, args, cmd, farm, files, failed, target, source_blend, outs, emotions)
        finally:
            if farm is not None:
                farm.join()
    scene = bake_scene(bpy, args)
    fps = scene.render.fps / scene.render.fps_base
    t0 = time.perf_counter()
    speech_s = 0.0
    baked: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kinemo-bake-") as tmp:
        errors = run_companion(cmd, files, Path(tmp), fps, emotion_args(args))
        frame = scene.frame_start
        key = target.data.shape_keys
        for i, f in enumerate(files, 1):
            if f in errors:  # the reason is said once, at the end
                failed.append((f, errors[f]))
                print(f"[{i}/{len(files)}] {f.name}: FAILED", flush=True)
                continue
            if args.replace and f.stem in bpy.data.actions:
                bpy.data.actions.remove(bpy.data.actions[f.stem])
            take = Path(tmp) / f"{f.stem}.json"
            start = frame if args.nla else scene.frame_start
            why = ""
            try:  # the operator's own "Info: Baked NAME.json …" names the temporary take: our line says it
                with held_back() as said:
                    result = bpy.ops.kinemo.import_take(filepath=str(take), target=target.name,
                                                        frame_start=float(start), replace="KEEP")
                if result != {"FINISHED"}:
                    why = "Import Take did not finish"
            except RuntimeError as e:  # the operator reported an error
                why = (str(e).strip().splitlines() or ["unknown error"])[0].removeprefix("Error: ")
            pass_on(said, "Info: Baked ")
            action = key.animation_data.action if key.animation_data else None
            length = finish_line(args, scene, key, action, why, f, start, fps, failed, f"[{i}/{len(files)}]",
                                 channel=1 if args.nla else min(i, 32), mute=not args.nla and i != len(files))
            if length is None:
                continue
            speech_s += length / fps
            frame = int(start + length) + int(fps // 2)  # half a second between clips
            baked.append(action.name)
    for f, why in failed:
        print(f"{PROG}: failed: {failure(f, why)}", file=sys.stderr)
    if not baked:  # nothing new to save: leave no output that looks like a result
        print(f"{PROG}: error: no file could be baked; {out} not written", file=sys.stderr)
        return 1
    try:
        save_blend(bpy, out)
    except KinemoError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    wall = time.perf_counter() - t0
    rate = (speech_s / 60) / (wall / 60) if wall > 0 else 0.0
    print(f"bake_audio: baked {len(baked)} of {len(baked) + len(failed)} files onto '{target.name}': "
          f"{speech_s:.1f} s of speech in {wall:.1f} s ({rate:.1f} min of speech per minute); wrote {out}")
    return 1 if failed else 0


def _fcurves(action, key):
    if hasattr(action, "layers") and action.layers:
        slot = key.animation_data.action_slot
        return list(action.layers[0].strips[0].channelbag(slot).fcurves)
    return list(action.fcurves)


def leave(code: int) -> None:
    """End the bpy module's process now that everything is written, without Blender's own teardown.

    At exit the bpy module frees the open file one data-block at a time, which after a large batch
    (every action, strip and sound) takes about as long as saving it did. Nothing of ours waits on that:
    the output is saved and renamed, the cluster closed, the temporary takes removed. So flush what
    was printed, remove Blender's session folder (the one thing its exit does besides freeing
    memory, in the background) and exit. Under Blender (``blender -b -P``) Blender ends as usual.
    """
    bpy = sys.modules.get("bpy")
    if bpy is None or inside_blender():
        sys.exit(code)
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say anyway
            stream.flush()
    _flush_c_stdio()
    tmp = bpy.app.tempdir
    if tmp and os.path.basename(os.path.normpath(tmp)).startswith("blender_"):
        shutil.rmtree(tmp, ignore_errors=True)
    os._exit(code)


if __name__ == "__main__":
    # Blender hands the script what follows its own "--"; a plain Python all of it (argparse knows "--" itself).
    argv = sys.argv[sys.argv.index("--") + 1:] if inside_blender() and "--" in sys.argv else sys.argv[1:]
    leave(main(argv))
