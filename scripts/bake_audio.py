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


def _flush_c_stdio() -> None:
    """Flush C-level stdout buffers, so what Blender printed lands where fd 1 points now (best effort)."""
    try:
        import ctypes

        (ctypes.CDLL(None) if os.name != "nt" else ctypes.CDLL("ucrtbase")).fflush(None)
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
    with tempfile.TemporaryFile() as log:
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


def run_companion(cmd: list[str], files: list[Path], out_dir: Path, fps: float) -> dict[Path, str]:
    """Track every file in one companion process; returns {file: why} for those that failed.

    ``why`` is the companion's own one-line reason, which already names the file; the name
    it repeats inside (ffmpeg's ``NAME: Invalid data …``) is dropped, so it is said once.
    """
    fps_arg = min((24, 25, 30, 50, 60), key=lambda r: abs(r - fps))
    proc = subprocess.run([*cmd, "audio", "-o", str(out_dir), "--format", "json", "--no-osc", "--fps", str(fps_arg),
                           "--no-landmarks", "-q", "--", *map(str, files)],  # '--': a file may be named -x.wav
                          capture_output=True, text=True)
    said = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
    errors = {}
    for f in files:
        if not (out_dir / f"{f.stem}.json").is_file():
            named = re.compile(rf"(?<![^\s/\\('\"]){re.escape(f.name)}(?![\w.-])")  # this file, not x{f.name}
            line = next((ln for ln in said if named.search(ln)), said[-1] if said else "no output")
            why = re.sub(r"^\S+: error: ", "", line)  # "kinemo: error: "
            head, sep, tail = why.partition(f"{f}: ")
            errors[f] = head + sep + tail.replace(f"{f}: ", "") if sep else why
    return errors


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


def add_sound(scene, path: Path, frame: int, channel: int, mute: bool):
    """The file's sound strip at ``frame``: the scene's existing strip of that file if it has one, else a new one.

    A second strip of the same file would play the line twice (a re-bake of the demo's
    line did), so the existing one is moved instead (its volume and other settings kept) and
    any further copies of the file are muted.
    """
    se = scene.sequence_editor or scene.sequence_editor_create()
    same = [s for s in _strips(se, every=True) if _plays(s, path)]
    top_level = list(_strips(se))
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


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:  # every check that can fail runs before the companion tracks anything
        if not args.blend and not inside_blender():  # the bpy module starts with an empty scene: nothing to bake onto
            raise KinemoError("no --blend given: name the avatar to bake onto, e.g. --blend avatar.blend "
                              "(or run it in Blender: blender -b avatar.blend -P scripts/bake_audio.py -- AUDIO...)")
        if args.blend and not args.blend.is_file():
            raise KinemoError(f"no such .blend: {args.blend}")
        cmd = companion(args.kinemo)
        files, failed = collect(args.audio)
        check_batch(files, failed)
        if args.blend:
            source_blend: Path | None = args.blend.resolve()
        else:  # blender -b avatar.blend -P bake_audio.py: Blender opened it
            import bpy

            source_blend = Path(bpy.data.filepath) if bpy.data.filepath else None
        out = check_output(args, source_blend)
        import bpy

        if args.blend:
            open_blend(bpy, args.blend)
        ensure_addon(bpy)
        target = find_target(bpy, args.target)
    except KinemoError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    scene = bpy.context.scene
    if args.fps:
        scene.render.fps, scene.render.fps_base = args.fps, 1.0
    fps = scene.render.fps / scene.render.fps_base
    t0 = time.perf_counter()
    speech_s = 0.0
    baked: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kinemo-bake-") as tmp:
        errors = run_companion(cmd, files, Path(tmp), fps)
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
            if why or action is None:
                failed.append((f, f"bake failed: {why or 'no action made'}"))
                print(f"[{i}/{len(files)}] {f.name}: FAILED", flush=True)
                continue
            # The action was named after the take file; make that the audio file's own name.
            if args.replace or action.name.split(".")[0] != f.stem:
                action.name = f.stem
            length = max(kp.co[0] for fc in _fcurves(action, key) for kp in fc.keyframe_points) - start
            speech_s += length / fps
            try:
                with held_back() as said:
                    add_sound(scene, f, int(start), channel=1 if args.nla else min(i, 32),
                              mute=not args.nla and i != len(files))
                pass_on(said)
            except RuntimeError as e:  # e.g. a Blender built without audio (the bpy 4.2 module): keep the action
                detail = (str(e).strip().splitlines() or ["unknown error"])[0].removeprefix("Error: ")
                print(f"{PROG}: warning: {f.name}: baked, but no sound strip ({detail})", file=sys.stderr)
            if args.nla:
                track = key.animation_data.nla_tracks.get("Kinemo speech") or key.animation_data.nla_tracks.new()
                track.name = "Kinemo speech"
                strip = track.strips.new(action.name, int(start), action)
                if hasattr(strip, "action_slot") and key.animation_data.action_slot is not None:
                    strip.action_slot = key.animation_data.action_slot
                key.animation_data.action = None
            frame = int(start + length) + int(fps // 2)  # half a second between clips
            scene.frame_end = max(scene.frame_end, int(start + length))
            baked.append(action.name)
            print(f"[{i}/{len(files)}] {f.name}: {length / fps:.1f} s → action '{action.name}' from frame {start}",
                  flush=True)
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


if __name__ == "__main__":
    # Blender hands the script what follows its own "--"; a plain Python all of it (argparse knows "--" itself).
    argv = sys.argv[sys.argv.index("--") + 1:] if inside_blender() and "--" in sys.argv else sys.argv[1:]
    sys.exit(main(argv))
