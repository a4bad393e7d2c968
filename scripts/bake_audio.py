"""Batch-bake speech onto an avatar: one Action per audio file, the sound beside it in the sequencer.

  blender -b avatar.blend -P scripts/bake_audio.py -- AUDIO... [options]
  python scripts/bake_audio.py --blend avatar.blend AUDIO... [options]     (the bpy module)

AUDIO may be files (wav, flac, ogg, mp3, or videos with a sound track) or folders. The
Kinemo companion runs out of process (``kinemo audio``) on the whole batch, then each take
is baked with the add-on's own Import Take into a new Action named after the file; a
name already in use gets a unique suffix unless --replace. A bad file is reported and
skipped; the exit status is 1 if any file failed. Bad arguments (an unreadable .blend, an
output that exists or cannot be written, two inputs with the same name, a missing --kinemo)
are found before any work, in one line, with exit status 2; the output is written to a
temporary name and renamed into place, so it appears complete or not at all.

Options:
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
import os
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
    p.add_argument("--blend", type=Path, help="the .blend to open (bpy-module use; blender -b opens its own)")
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


def check_output(args: argparse.Namespace, source: Path | None) -> Path:
    """Where to save: never the input, an existing file only with --force, in a folder we can write."""
    if args.output is None and source is None:
        raise KinemoError("pass --output OUT.blend (the scene was never saved)")
    out = args.output or source.with_name(f"{source.stem}_baked.blend")
    return argcheck.output_file(out, (".blend",), inputs=[source] if source else [], force=args.force).resolve()


def open_blend(bpy, blend: Path) -> None:
    """Open the input; a damaged file is one line, not Blender's traceback (its own report goes to stdout)."""
    if blend.stat().st_size == 0:
        raise KinemoError(f"{blend} is empty, not a .blend file")
    try:
        bpy.ops.wm.open_mainfile(filepath=str(blend))
    except RuntimeError as e:
        detail = (str(e).strip().splitlines() or ["unknown error"])[0].removeprefix("Error: ")
        raise KinemoError(f"cannot open {blend}: not a readable .blend file ({detail})") from None


def save_blend(bpy, out: Path) -> None:
    """Save beside ``out`` under a temporary name, then rename: a failed save leaves no half file.

    Same folder, so Blender's relative-path remapping is right for the final name.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".blend", dir=out.parent)
    os.close(fd)
    os.unlink(tmp)  # Blender would otherwise keep the empty placeholder as a .blend1 backup
    try:
        bpy.ops.wm.save_as_mainfile(filepath=tmp, copy=True)
        os.replace(tmp, out)
    except (RuntimeError, OSError) as e:
        detail = getattr(e, "strerror", None) or str(e).strip().removeprefix("Error: ")
        raise KinemoError(f"cannot write {out}: {detail}") from None
    finally:
        for leftover in (tmp, tmp + "1", tmp + "@"):
            if os.path.exists(leftover):
                os.unlink(leftover)


def run_companion(cmd: list[str], files: list[Path], out_dir: Path, fps: float) -> dict[Path, str]:
    """Track every file in one companion process; returns {file: error} for those that failed."""
    fps_arg = min((24, 25, 30, 50, 60), key=lambda r: abs(r - fps))
    proc = subprocess.run([*cmd, "audio", "-o", str(out_dir), "--format", "json", "--no-osc", "--fps", str(fps_arg),
                           "--no-landmarks", "-q", "--", *map(str, files)],  # '--': a file may be named -x.wav
                          capture_output=True, text=True)
    errors = {}
    for f in files:
        if not (out_dir / f"{f.stem}.json").is_file():
            reason = next((ln.split(":", 2)[-1].strip() for ln in proc.stderr.splitlines() if f.name in ln),
                          proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no output")
            errors[f] = reason
    return errors


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


def add_sound(scene, path: Path, frame: int, channel: int, mute: bool):
    se = scene.sequence_editor or scene.sequence_editor_create()
    strips = getattr(se, "strips", None)
    if strips is None:
        strips = se.sequences
    strip = strips.new_sound(path.stem, str(path.resolve()), channel, frame)  # absolute: valid from any folder
    strip.mute = mute
    return strip


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:  # every check that can fail runs before the companion tracks anything
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
            if f in errors:
                failed.append((f, errors[f]))
                print(f"[{i}/{len(files)}] {f.name}: FAILED ({errors[f]})", flush=True)
                continue
            if args.replace and f.stem in bpy.data.actions:
                bpy.data.actions.remove(bpy.data.actions[f.stem])
            take = Path(tmp) / f"{f.stem}.json"
            start = frame if args.nla else scene.frame_start
            result = bpy.ops.kinemo.import_take(filepath=str(take), target=target.name, frame_start=float(start),
                                                replace="KEEP")
            action = key.animation_data.action if key.animation_data else None
            if result != {"FINISHED"} or action is None:
                failed.append((f, "bake failed"))
                print(f"[{i}/{len(files)}] {f.name}: FAILED (bake)", flush=True)
                continue
            # The action was named after the take file; make that the audio file's own name.
            if args.replace or action.name.split(".")[0] != f.stem:
                action.name = f.stem
            length = max(kp.co[0] for fc in _fcurves(action, key) for kp in fc.keyframe_points) - start
            speech_s += length / fps
            add_sound(scene, f, int(start), channel=1 if args.nla else min(i, 32),
                      mute=not args.nla and i != len(files))
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
        print(f"{PROG}: failed: {f} ({why})", file=sys.stderr)
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
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    sys.exit(main(argv))
