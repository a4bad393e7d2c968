"""``kinemo video`` and ``kinemo webcam``: track the face in a file or a camera, stream and save ARKit curves."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kinemo import argcheck, protocol
from kinemo.cli.outputs import per_input, unreadable_inputs
from kinemo.cli.stopping import exit_status
from kinemo.control import DEFAULT_CONTROL_PORT
from kinemo.errors import KinemoError
from kinemo.face.motion import DEFAULT_EASE_S, SMOOTHING_MODES
from kinemo.face.smoothing import DEFAULT_BETA, DEFAULT_MIN_CUTOFF
from kinemo.frame import LANDMARK_MODES
from kinemo.models import ModelError


def _add_common(p: argparse.ArgumentParser, smooth_default: str) -> None:
    out = p.add_argument_group("output")
    out.add_argument("-o", "--output", metavar="OUT",
                     help="also write the take: .csv (Live Link Face), .json or .npz (with timestamps and landmarks); "
                          "a folder for several videos")
    out.add_argument("--osc", metavar="HOST:PORT", default=f"{protocol.DEFAULT_HOST}:{protocol.DEFAULT_PORT}",
                     help="where to stream frames (default %(default)s)")
    out.add_argument("--no-osc", action="store_true", help="do not stream; only write --output")
    out.add_argument("--preview", metavar="OUT.mp4",
                     help="also write the input video with the tracked mesh, head axes and the strongest "
                          "blendshapes drawn on it (one video frame per processed frame; a folder for several "
                          "videos)")
    out.add_argument("--vmc", metavar="HOST:PORT", nargs="?", const=f"{protocol.DEFAULT_HOST}:{protocol.VMC_PORT}",
                     help="stream the VMC protocol instead, for VSeeFace-style receivers "
                          f"(default port {protocol.VMC_PORT})")
    out.add_argument("--landmarks", choices=LANDMARK_MODES, default="pca",
                     help="landmark stream: pca = compact 28 numbers (default), 68 = iBUG 2D points, "
                          "478 = full mesh (exceeds one network frame), none")
    mo = p.add_argument_group("motion")
    mo.add_argument("--smooth", choices=SMOOTHING_MODES, default=smooth_default,
                    help="none; live = One-Euro filter (causal); offline = live for the stream, lag-free "
                         "zero-phase smoothing for --output (default %(default)s)")
    mo.add_argument("--min-cutoff", type=argcheck.number(0, above=True), default=DEFAULT_MIN_CUTOFF, metavar="HZ",
                    help="One-Euro cut-off for still channels: lower = less jitter, more lag (default %(default)s)")
    mo.add_argument("--beta", type=argcheck.number(0), default=DEFAULT_BETA,
                    help="One-Euro speed coefficient: higher = less lag on fast moves (default %(default)s)")
    mo.add_argument("--ease", type=argcheck.number(0), default=DEFAULT_EASE_S, metavar="SECONDS",
                    help="when the face is lost, ease to neutral over this long (default %(default)s)")
    mo.add_argument("--profile", metavar="PROFILE.json",
                    help="calibration profile to apply (written there by --calibrate)")
    mo.add_argument("--calibrate", type=argcheck.number(0, 60, above=True), metavar="SECONDS",
                    help="first hold a neutral face this long; the profile is applied and saved to --profile")
    ru = p.add_argument_group("running")
    ru.add_argument("--workers", type=argcheck.integer(1, 8), metavar="N",
                    help="parallel trackers: 1 = lowest latency and exactly MediaPipe's single-stream tracking "
                         "(default for cameras and --realtime), 2 = most frames/s (default for files)")
    ru.add_argument("--actions", action="store_true",
                    help="also recognise body actions (wave, clap, …) from the same frames and stream them "
                         "(see 'kinemo actions --help'; uses the second core)")
    ru.add_argument("--faces", type=argcheck.integer(1, 8), default=1, metavar="N",
                    help="1 (default): track the first face found, steadiest; 2+: search for up to N faces every "
                         "frame and follow the largest, most central one (for busy scenes; a little more jitter)")
    ru.add_argument("--control-port", type=argcheck.port_or_off, metavar="PORT",
                    help=f"listen on 127.0.0.1:PORT for commands such as {protocol.ADDR_CALIBRATE} "
                         f"(webcam default {DEFAULT_CONTROL_PORT}; 0 = off)")
    ru.add_argument("--model", metavar="PATH", help="face_landmarker.task to use instead of the model store")
    ru.add_argument("--max-frames", type=argcheck.count, metavar="N", help="stop after N frames")
    ru.add_argument("-q", "--quiet", action="store_true", help="no progress line or summary")


def register(sub) -> None:
    v = sub.add_parser("video", help="track the face in every frame of a video file",
                       description="Track the face in every frame of a video file.")
    v.add_argument("paths", nargs="+", metavar="PATH",
                   help="video files (.mp4, .mov, .mpg, .avi, …): one take per file")
    v.add_argument("--format", choices=("csv", "json", "npz"), default="csv",
                   help="take type when --output is a folder (several videos; default csv)")
    v.add_argument("--realtime", action="store_true",
                   help="pace frames to the video's clock (default: as fast as possible)")
    _add_common(v, "offline")
    v.set_defaults(func=run_video)

    w = sub.add_parser("webcam", help="track the face from a camera until Ctrl-C",
                       description="Track the face from a camera; Ctrl-C stops and saves --output.")
    w.add_argument("--camera", default="0", metavar="N|URL",
                   help="camera index, device path or stream URL (default 0)")
    w.add_argument("--retry", type=argcheck.number(0), default=10.0, metavar="SECONDS",
                   help="if the camera stops delivering frames, keep trying to reopen it this long (default 10)")
    _add_common(w, "live")
    w.set_defaults(func=run_webcam)


def run_video(args: argparse.Namespace) -> int:
    from kinemo.preview import SUFFIXES as VIDEO_SUFFIXES
    from kinemo.sources import VideoSource
    from kinemo.takes import SUFFIXES

    if args.calibrate is not None and len(args.paths) > 1:
        raise KinemoError("--calibrate holds a neutral face at the start of one video: give one video")
    _check_profile(args, args.paths)
    others = (args.model, args.profile)
    outputs = per_input(args.paths, args.output, SUFFIXES, f".{args.format}", others=others)
    previews = per_input(args.paths, args.preview, VIDEO_SUFFIXES, ".mp4", option="--preview", what="preview",
                         others=others)
    unreadable = unreadable_inputs(args.paths)
    failed = 0
    for path, out, preview in zip(args.paths, outputs, previews, strict=True):
        if path in unreadable:
            print(f"kinemo: error: {path}: {unreadable[path]}; skipped", file=sys.stderr)
            failed += 1
            continue
        try:
            status = _track(args, VideoSource(path), out, preview)
        except KinemoError as e:
            if len(args.paths) == 1 or isinstance(e, ModelError):  # no model: no file of the batch can work
                raise
            print(f"kinemo: error: {e}", file=sys.stderr)
            failed += 1
            continue
        if status:  # interrupted: the rest of the batch is not started
            return status
    if failed and not args.quiet:
        print(f"{failed} of {len(args.paths)} files failed", file=sys.stderr)
    return 1 if failed else 0


def run_webcam(args: argparse.Namespace) -> int:
    from kinemo.preview import SUFFIXES as VIDEO_SUFFIXES
    from kinemo.sources import CameraSource
    from kinemo.takes import SUFFIXES

    _check_profile(args, ())
    others = (args.model, args.profile)
    out = argcheck.output_file(args.output, SUFFIXES, inputs=others) if args.output else None
    preview = (argcheck.output_file(args.preview, VIDEO_SUFFIXES, inputs=others, what="preview")
               if args.preview else None)
    if out is not None:
        from kinemo.takes import check_output_path

        check_output_path(out)
    return _track(args, CameraSource(args.camera, retry_seconds=args.retry), out, preview)


def _check_profile(args: argparse.Namespace, inputs) -> None:
    """The calibration profile: needed by --calibrate, and writable before the source is even opened."""
    if args.calibrate is not None and not args.profile:
        raise KinemoError("--calibrate needs --profile PATH to save the profile to")
    if args.calibrate is not None:  # the profile is written at the end: make sure it can be
        argcheck.output_file(args.profile, inputs=(*inputs, args.model), what="profile")


def _track(args: argparse.Namespace, source, output: Path | None, preview_path: Path | None) -> int:
    from kinemo.face.calibration import Profile
    from kinemo.face.motion import MotionOptions, MotionProcessor
    from kinemo.face.smoothing import OneEuroOptions
    from kinemo.face.tracker import FaceTracker, FaceTrackerOptions
    from kinemo.osc_out import OscSender, parse_target
    from kinemo.pipeline import run_face
    from kinemo.takes import TakeWriter

    if args.workers is None:
        args.workers = 1 if source.realtime or getattr(args, "realtime", False) else 2
    profile = Profile.load(args.profile) if args.profile and args.calibrate is None else None
    sinks, closers = [], []
    if args.vmc:
        from kinemo.vmc import VmcSender

        vmc = VmcSender(*parse_target(args.vmc, protocol.VMC_PORT))
        sinks.append(lambda stream, _file: vmc.send(stream))
        closers.append(vmc.close)
    elif not args.no_osc:
        sender = OscSender(*parse_target(args.osc), landmarks=args.landmarks)
        sinks.append(lambda stream, _file: sender.send(stream))
        closers.append(sender.close)
    writer = None
    if output is not None:
        taught = profile if profile is not None and profile.personal.examples else None
        writer = TakeWriter(output, fps=source.fps, source=source.name, zero_phase=args.smooth == "offline",
                            profile=taught, profile_path=args.profile if taught else None)
        sinks.append(lambda _stream, file: writer.add(file))
    preview = None
    if preview_path is not None:
        from kinemo.preview import PreviewWriter

        preview = PreviewWriter(preview_path, source.fps)
        sinks.append(lambda _stream, file: preview.add(file))
    motion = MotionProcessor(MotionOptions(
        smoothing=args.smooth, one_euro=OneEuroOptions(min_cutoff=args.min_cutoff, beta=args.beta),
        ease_seconds=args.ease, profile=profile))

    def save_profile(p: Profile) -> None:
        if args.profile:
            if Path(args.profile).is_file():  # a new neutral face keeps the expressions taught before
                p.personal = Profile.load(args.profile).personal
            p.save(args.profile)
            print(f"kinemo: calibrated; profile saved to {args.profile}", file=sys.stderr)

    if args.calibrate:
        motion.start_calibration(args.calibrate, save_profile)
    control = None
    control_port = args.control_port if args.control_port is not None else (
        DEFAULT_CONTROL_PORT if source.realtime else 0)
    if control_port:
        from kinemo.control import ControlListener

        control = ControlListener(lambda seconds: motion.start_calibration(seconds, save_profile), port=control_port)
    trackers = [FaceTracker.create_from_options(FaceTrackerOptions(model_path=args.model, num_faces=args.faces))
                for _ in range(args.workers)]
    body = _BodyActions(*parse_target(args.osc)) if args.actions else None
    hooks = [h for h in (body.submit if body else None, preview.picture if preview else None) if h is not None]
    interrupted: KeyboardInterrupt | None = None
    stats = None
    try:
        stats = run_face(source, trackers, sinks, motion=motion, realtime=getattr(args, "realtime", False),
                         max_frames=args.max_frames, progress=not args.quiet,
                         on_frame=(lambda rgb, t, seq: [h(rgb, t, seq) for h in hooks]) if hooks else None)
    except KeyboardInterrupt as e:
        interrupted = e
    finally:
        if body:
            body.close()
        for t in trackers:
            t.close()
        source.close()
        for close in closers:
            close()
        if control:
            control.close()
    out = writer.close() if writer else None
    previewed = preview.close() if preview else None
    if motion.calibrating:
        print("kinemo: warning: calibration did not finish (no face seen long enough); profile not saved",
              file=sys.stderr)
    if getattr(source, "ended_early", False):
        print(f"kinemo: warning: {source.name} ended after {source.decoded} of {source.total} frames "
              f"(truncated or damaged file); wrote what was readable", file=sys.stderr)
    if not args.quiet:
        if stats:
            msg = (f"{stats.frames} frames ({stats.faces} with a face) in {stats.seconds:.1f} s, "
                   f"{stats.fps:.1f} frames/s, latency p50 {stats.latency(50):.1f} ms p95 {stats.latency(95):.1f} ms")
            if stats.dropped:
                msg += f", {stats.dropped} camera frames dropped"
        else:
            msg = f"stopped after {writer.count if writer else 0} frames"
        if args.vmc:
            msg += f"; streamed VMC to {args.vmc}"
        elif not args.no_osc:
            msg += f"; streamed to {args.osc}"
        if out:
            msg += f"; wrote {out}"
        if previewed:
            msg += f"; preview {previewed} ({preview.count} frames)"
        print(msg, file=sys.stderr)
    return exit_status(interrupted, stopped_normally=source.realtime)


class _BodyActions:
    """Body actions beside the face, from the same frames, on their own thread (``--actions``)."""

    def __init__(self, host: str, port: int) -> None:
        from kinemo.body.osc import BodySender
        from kinemo.body.pipeline import ActionPipeline
        from kinemo.body.worker import PoseWorker

        self.pipeline = ActionPipeline.create_for_user()
        self.sender = BodySender(host, port)
        self.worker = PoseWorker(self.pipeline,
                                 on_result=lambda r, seq: self.sender.send(self.pipeline.messages(r, seq)))
        self.last = (0.0, 0)

    def submit(self, rgb, t: float, seq: int) -> None:
        self.last = (t, seq)
        self.worker.submit(rgb, t, seq)

    def close(self) -> None:
        from kinemo.body.pipeline import ActionResult

        self.worker.close()
        t, seq = self.last
        self.sender.send(self.pipeline.messages(ActionResult(t, False, None, []), seq,
                                                extra_events=self.pipeline.finish(t)))
        self.pipeline.close()
