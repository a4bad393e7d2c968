"""``kinemo audio`` and ``kinemo mic``: speech → ARKit blendshapes, from files or a live microphone."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from kinemo import argcheck, protocol
from kinemo.cli.outputs import OVERWRITE_RULE, unreadable_inputs
from kinemo.cli.outputs import per_input as outputs_per_input
from kinemo.cli.stopping import exit_status
from kinemo.errors import KinemoError
from kinemo.protocol import EMOTIONS

FPS_CHOICES = (24, 25, 30, 50, 60)
FORMATS = ("csv", "json", "npz")
#: The same names as ``kinemo video --smooth``; ``offline`` is the file engine's Savitzky-Golay filter.
SMOOTH_CHOICES = ("offline", "live", "none")

AUDIO_EPILOG = f"""\
examples:
  kinemo audio line.wav -o line.csv            Live Link Face CSV at 60 fps (no streaming)
  kinemo audio line.wav --osc --realtime       stream to Blender (127.0.0.1:{protocol.DEFAULT_PORT}) at speaking speed
  kinemo audio take.mp4 -o take.json --fps 30  the sound track of a video; JSON with landmarks
  kinemo audio a.wav b.flac c.mp3 -o takes/    several files into a folder (--format csv|json|npz)
  kinemo audio line.wav -o line.npz --blinks   add natural blinks and idle eye/brow motion
  kinemo audio line.wav -o line.csv --plot line.png   also draw the curves over the waveform

Reads WAV, FLAC, OGG and MP3 at any sample rate and channel count (and anything
ffmpeg reads, e.g. the audio of .mp4/.mkv/.mpg). Files go through the file engine
(default): Whisper tiny.en's encoder (trained on many thousands of voices) hears the speech, and
Kinemo's own head, trained on real talking faces, turns it into the face; it looks
1 s ahead and back. --engine live uses the microphone's causal network instead (100 ms
look-ahead), e.g. to preview exactly what `kinemo mic` would do. docs/voice-model.md
has both models' numbers.
Given several files, a bad one is reported and the rest are still processed; the exit
status is then 1. {OVERWRITE_RULE}
"""

MIC_EPILOG = f"""\
examples:
  kinemo mic                                   stream to Blender (127.0.0.1:{protocol.DEFAULT_PORT})
  kinemo mic --device 2 -o take.csv            a chosen input; Ctrl-C stops and saves the take
  kinemo mic --list-devices                    show the inputs and their numbers

Latency: the network waits for 90 ms of future audio (+10 ms to interpolate to the
output rate), plus one sound-card block (--block, 256 samples at 16 kHz = 16 ms) and
well under 1 ms of compute per frame: about 120 ms from a sound to its frame.
"""


def register(subparsers) -> None:
    a = subparsers.add_parser("audio", help="animate a face from speech in audio or video files",
                              description="Speech → 52 ARKit blendshapes (and landmarks), offline.",
                              epilog=AUDIO_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("paths", nargs="+", metavar="PATH", help="audio files (or video files with a sound track)")
    a.add_argument("-o", "--output", metavar="OUT",
                   help="take file (.csv Live Link Face, .json, .npz), or a folder when given several files")
    a.add_argument("--format", choices=FORMATS, default="csv", help="file type when OUT is a folder (default csv)")
    a.add_argument("--realtime", action="store_true", help="pace frames at the audio's own speed")
    a.add_argument("--smooth", choices=SMOOTH_CHOICES, default="offline",
                   help="offline: zero-lag Savitzky-Golay over the whole file (default); live: the mic's causal "
                        "filter; none")
    a.add_argument("--smoothing", dest="smooth", choices=(*SMOOTH_CHOICES, "savgol"), help=argparse.SUPPRESS)
    a.add_argument("--no-landmarks", action="store_true", help="skip the 478-point landmarks in .json/.npz takes")
    a.add_argument("--engine", choices=("file", "live"), default="file",
                   help="file: Whisper encoder + head, best quality (default); live: the mic's causal network")
    a.add_argument("--plot", metavar="OUT.png",
                   help="also draw jawOpen and the most active curves over the waveform (a PNG; a folder "
                        "when given several files)")
    a.add_argument("--emotions", metavar="CSV",
                   help="per-file emotions for a batch: rows file,emotion,intensity (header optional; files not "
                        "listed take --emotion)")
    _add_emotion(a)
    _add_common(a)
    a.set_defaults(func=run_audio)

    m = subparsers.add_parser("mic", help="animate a face live from a microphone (Ctrl-C stops)",
                              description="Live speech → ARKit blendshapes over OSC.",
                              epilog=MIC_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    m.add_argument("--device", metavar="D", help="input device number or name (default: the system's)")
    m.add_argument("--list-devices", action="store_true", help="list input devices and exit")
    m.add_argument("--block", type=argcheck.integer(16, 16000), default=256, metavar="N",
                   help="samples per sound-card block (16 kHz)")
    m.add_argument("-o", "--output", metavar="OUT", help="also save the take (.csv, .json, .npz) when stopped")
    m.add_argument("--control-port", type=argcheck.port_or_off, default=protocol.VOICE_CONTROL_PORT, metavar="PORT",
                   help=f"listen on 127.0.0.1:PORT for {protocol.ADDR_EMOTION} (name, intensity) to change the "
                        f"emotion live (default {protocol.VOICE_CONTROL_PORT}; 0 = off)")
    _add_emotion(m)
    _add_common(m)
    m.set_defaults(func=run_mic)


def _add_emotion(p: argparse.ArgumentParser) -> None:
    p.add_argument("--emotion", metavar="NAME[:I]",
                   help="the line's emotion at intensity I (0-1, default 1): " + ", ".join(EMOTIONS[1:])
                        + ", or one of your own taught expressions with --profile; brows, eyes, cheeks and nose "
                          "show it, the mouth blends it with speech")
    p.add_argument("--profile", metavar="PROFILE.json",
                   help="a profile whose taught expressions (kinemo expressions teach) can be --emotion names")


def _emotion_layer_options(args) -> dict:
    """VoiceAnimatorOptions fields for --emotion/--profile, checked before any model loads."""
    from kinemo.voice.emotion import EmotionLayer, parse_emotion, poses_from_profile

    profile = None
    if args.profile:
        from kinemo.face.calibration import Profile

        profile = Profile.load(args.profile)
    name, intensity = parse_emotion(args.emotion) if args.emotion else ("neutral", 1.0)
    EmotionLayer(args.fps, poses_from_profile(profile)).check(name)
    return {"emotion": name, "emotion_intensity": intensity, "profile": profile}


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fps", type=int, choices=FPS_CHOICES, default=60, help="output frame rate (default 60)")
    p.add_argument("--osc", nargs="?", metavar="HOST:PORT", const=f"{protocol.DEFAULT_HOST}:{protocol.DEFAULT_PORT}",
                   help=f"stream frames over OSC (default target {protocol.DEFAULT_HOST}:{protocol.DEFAULT_PORT}; "
                        "on by default when no --output is given)")
    p.add_argument("--no-osc", action="store_true", help="never stream")
    p.add_argument("--blinks", action="store_true", help="add blinks and idle eye/brow motion")
    p.add_argument("--seed", type=argcheck.integer(0), default=0, help="random seed for --blinks (default 0)")
    p.add_argument("--model", metavar="PATH", help="a voice model (.onnx with its .json) instead of the shipped one")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line or summary")


def _osc_target(args) -> str | None:
    if args.no_osc:
        return None
    if args.osc:
        return args.osc
    return None if args.output else f"{protocol.DEFAULT_HOST}:{protocol.DEFAULT_PORT}"


class _CsvStream:
    """Live Link Face CSV written in chunks (constant memory), renamed into place when complete."""

    CHUNK = 2000

    def __init__(self, path: Path, fps: float) -> None:
        from kinemo.files import create_temporary
        from kinemo.takes import LLF_HEADER, check_output_path

        self.path, self.fps = check_output_path(path), fps
        fd, self._tmp = create_temporary(self.path)
        self._f = os.fdopen(fd, "w", newline="")
        self._f.write(",".join(LLF_HEADER) + "\n")
        self._pending: list = []
        self.count = 0

    def add(self, frame) -> None:
        self._pending.append(frame)
        self.count += 1
        if len(self._pending) >= self.CHUNK:
            self._drain()

    def _drain(self) -> None:
        import numpy as np

        from kinemo.takes import llf_rows

        if not self._pending:
            return
        cols = {"time": np.array([f.time for f in self._pending]),
                "blendshapes": np.stack([f.blendshapes for f in self._pending]),
                "head": np.stack([f.head for f in self._pending]),
                "eyes": np.stack([f.eyes for f in self._pending])}
        self._f.writelines(line + "\n" for line in llf_rows(cols, self.fps))
        self._pending = []

    def close(self) -> Path:
        try:
            self._drain()
            self._f.close()
            os.replace(self._tmp, self.path)
        except OSError as e:
            self.discard()
            raise KinemoError(f"cannot write output {self.path}: {e.strerror or e}") from None
        return self.path

    def discard(self) -> None:
        self._f.close()
        if os.path.exists(self._tmp):
            os.unlink(self._tmp)


def _writer(path: Path, fps: float, source: str):
    from kinemo.takes import TakeWriter

    if path.suffix.lower() == ".csv":
        return _CsvStream(path, fps)
    return TakeWriter(path, fps=fps, source=source)


def run_audio(args) -> int:
    from kinemo.takes import SUFFIXES
    from kinemo.voice.audio_io import AudioFileSource
    from kinemo.voice.engine import VoiceAnimator, VoiceAnimatorOptions

    outputs = outputs_per_input(args.paths, args.output, SUFFIXES, f".{args.format}")
    plots = outputs_per_input(args.paths, args.plot, (".png",), ".png", option="--plot", what="plot")
    unreadable = unreadable_inputs(args.paths)
    emotion = _emotion_layer_options(args)
    per_file = read_emotions(args.emotions, args.paths, emotion) if args.emotions else {}
    target = _osc_target(args)
    sender = None
    if target:
        from kinemo.osc_out import OscSender, parse_target

        sender = OscSender(*parse_target(target))
    wants_landmarks = any(p is not None and p.suffix.lower() in (".json", ".npz") for p in outputs)
    from kinemo.voice.net import FILE_MODEL

    model = args.model or (str(FILE_MODEL) if args.engine == "file" else None)
    animator = VoiceAnimator.create_from_options(VoiceAnimatorOptions(
        model_path=model, fps=args.fps,
        smoothing="savgol" if args.smooth in ("offline", "savgol") else args.smooth, blinks=args.blinks, seed=args.seed,
        landmarks=wants_landmarks and not args.no_landmarks, **emotion))
    failed = 0
    try:
        for path, out, plot in zip(args.paths, outputs, plots, strict=True):
            if path in unreadable:
                failed += 1
                print(f"kinemo: error: {path}: {unreadable[path]}; skipped", file=sys.stderr)
                continue
            try:
                animator.emotion.set(*per_file.get(path, (emotion["emotion"], emotion["emotion_intensity"])),
                                     immediately=True)
                _animate_file(animator, AudioFileSource(path), out, sender, args, plot=plot)
            except KinemoError as e:
                if len(args.paths) == 1:
                    raise
                failed += 1
                print(f"kinemo: error: {e}", file=sys.stderr)
    finally:
        if sender:
            sender.close()
    if failed and not args.quiet:
        print(f"{failed} of {len(args.paths)} files failed", file=sys.stderr)
    return 1 if failed else 0


def _animate_file(animator, source, out: Path | None, sender, args, plot: Path | None = None,
                  writer=None) -> None:
    """One audio file through the animator: to ``out`` (its take file), to ``sender`` (OSC), or into ``writer``
    (a :class:`~kinemo.takes.TakeWriter` the caller finishes itself)."""
    from kinemo.progress import Progress

    animator.reset()
    own = writer is None
    if own:
        writer = _writer(out, args.fps, source.name) if out else None
    total = int(source.duration * args.fps) if source.duration else None
    bar = Progress(f"animating {source.name}", total, enabled=not args.quiet)
    start = time.perf_counter()
    count = 0
    curves: list[tuple[float, object]] = []
    try:
        for frame in animator.process_file(source):
            if plot is not None:
                curves.append((frame.time, frame.blendshapes.copy()))
            if args.realtime:
                delay = start + frame.time - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            if sender is not None:
                sender.send(frame)
            if writer is not None:
                writer.add(frame)
            count += 1
            bar.update()
    except BaseException:
        if isinstance(writer, _CsvStream):
            writer.discard()
        raise
    finally:
        bar.close()
        source.close()
    written = writer.close() if writer is not None and own else None
    if plot is not None:
        from kinemo.plot_audio import plot_file

        plot_file(plot, source.path, [t for t, _ in curves], [b for _, b in curves])
    if not args.quiet:
        seconds = time.perf_counter() - start
        msg = f"{source.name}: {count} frames at {args.fps} fps in {seconds:.1f} s"
        if sender is not None:
            msg += f"; streamed to {sender.address[0]}:{sender.address[1]}"
        if written:
            msg += f"; wrote {written}"
        if plot is not None:
            msg += f"; plot {plot}"
        print(msg, file=sys.stderr)


def read_emotions(csv_path: str, paths: list[str], emotion: dict) -> dict[str, tuple[str, float]]:
    """``--emotions``: rows file,emotion,intensity → {input as given: (name, intensity)}, all checked up front."""
    import csv

    from kinemo.voice.emotion import EmotionLayer, poses_from_profile

    layer = EmotionLayer(60.0, poses_from_profile(emotion["profile"]))
    by_name = {Path(p).name: p for p in paths}
    by_path = {str(Path(p).resolve()): p for p in paths}
    try:
        with open(csv_path, newline="", encoding="utf-8") as f:
            rows = [[c.strip() for c in r] for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise KinemoError(f"cannot read --emotions {csv_path}: {e}") from None
    if rows and [c.lower() for c in rows[0]] == ["file", "emotion", "intensity"]:
        rows = rows[1:]
    out: dict[str, tuple[str, float]] = {}
    for n, row in enumerate(rows, 1):
        if len(row) != 3:
            raise KinemoError(f"{csv_path}, row {n}: {len(row)} columns, expected file,emotion,intensity")
        file, name, value = row
        try:
            intensity = float(value)
        except ValueError:
            raise KinemoError(f"{csv_path}, row {n}: intensity {value!r} is not a number 0-1") from None
        if not 0 <= intensity <= 1:
            raise KinemoError(f"{csv_path}, row {n}: intensity {value} is not 0-1")
        layer.check(name)
        key = by_path.get(str((Path(csv_path).parent / file).resolve())) or by_path.get(str(Path(file).resolve())) \
            or by_name.get(Path(file).name)
        if key is None:
            raise KinemoError(f"{csv_path}, row {n}: {file} is not among the inputs")
        out[key] = (name, intensity)
    return out


def run_mic(args) -> int:
    from kinemo.voice import mic
    from kinemo.voice.engine import VoiceAnimator, VoiceAnimatorOptions

    if args.list_devices:
        print(mic.list_devices())
        return 0
    out = Path(args.output) if args.output else None
    if out is not None:
        from kinemo.takes import check_output_path

        check_output_path(out)
    emotion = _emotion_layer_options(args)
    source = mic.MicSource(args.device, block=args.block)
    target = None if args.no_osc else (args.osc or f"{protocol.DEFAULT_HOST}:{protocol.DEFAULT_PORT}")
    sender = None
    if target:
        from kinemo.osc_out import OscSender, parse_target

        sender = OscSender(*parse_target(target))
    animator = VoiceAnimator.create_from_options(VoiceAnimatorOptions(
        model_path=args.model, fps=args.fps, smoothing="live", blinks=args.blinks, seed=args.seed,
        landmarks=out is not None and out.suffix.lower() in (".json", ".npz"), **emotion))
    control = None
    if args.control_port:
        from kinemo.control import ControlListener

        control = ControlListener(port=args.control_port, on_emotion=animator.emotion.set)
    from kinemo.takes import TakeWriter

    writer = TakeWriter(out, fps=args.fps, source=source.name) if out else None  # journaled: a kill loses ≤ 1 s
    if not args.quiet:
        print(f"listening on {source.name}; streaming to {target or 'nowhere'}; Ctrl-C stops", file=sys.stderr)
    count = 0
    interrupted: KeyboardInterrupt | None = None
    try:
        for block in source.blocks():
            for frame in animator.process_audio_block(block):
                if sender is not None:
                    sender.send(frame)
                if writer is not None:
                    writer.add(frame)
                count += 1
    except KeyboardInterrupt as e:
        interrupted = e
    finally:
        source.close()
        if sender:
            sender.close()
        if control is not None:
            control.close()
    written = writer.close() if writer is not None else None
    if not args.quiet:
        print(f"stopped after {count} frames" + (f"; wrote {written}" if written else ""), file=sys.stderr)
    return exit_status(interrupted, stopped_normally=True)
