"""Face + body from one video stream at the same time on this machine: face FPS and pose FPS.

    python scripts/bench/bench_face_pose.py [--video CLIP] [--seconds 15] [--size 640x480]

The default clip is a GRID talking head (face, head and shoulders: what a webcam at a
desk sees), scaled to 640x480 like a webcam frame; --video ../shared/data/pose/dance.mp4
gives a full body with a face too small for the face model.

Baseline first (same run): each tracker alone, flat out. Then together, as
`kinemo webcam --actions` runs them: the face tracker takes every frame on the main
thread while a PoseWorker (pose tracker + action classifier) takes the newest frame
on a second thread — once flat out, once with frames arriving at a camera's 30 FPS
(what a webcam does; the face must keep up with every frame). The clip loops until
--seconds have passed. Targets: face >= 30 FPS and pose >= 15 FPS together.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from kinemo.body.pipeline import ActionPipeline, ActionPipelineOptions
from kinemo.body.tracker import PoseTracker, PoseTrackerOptions
from kinemo.body.worker import PoseWorker
from kinemo.face.tracker import FaceTracker, FaceTrackerOptions
from kinemo.sources import VideoSource

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"


def frames_of(path: Path, size: tuple[int, int] | None) -> list:
    import cv2

    src = VideoSource(path)
    try:
        return [cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR) if size else rgb for _, _, rgb in src]
    finally:
        src.close()


def alone_face(frames: list, seconds: float) -> tuple[float, int]:
    with FaceTracker.create_from_options(FaceTrackerOptions()) as face:
        n, found, t0 = 0, 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            found += face.process_video_frame(frames[n % len(frames)], n * 33).present
            n += 1
        return n / (time.perf_counter() - t0), found


def alone_pose(frames: list, seconds: float, opts: PoseTrackerOptions) -> float:
    with PoseTracker.create_from_options(opts) as pose:
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            pose.process_video_frame(frames[n % len(frames)], n * 33)
            n += 1
        return n / (time.perf_counter() - t0)


def together(frames: list, seconds: float, opts: PoseTrackerOptions, fps: float) -> tuple[float, float, int]:
    """Frames arrive at ``fps`` like a camera (0: as fast as the face tracker takes them)."""
    face = FaceTracker.create_from_options(FaceTrackerOptions())
    pipeline = ActionPipeline.create_from_options(ActionPipelineOptions(tracker=opts))
    worker = PoseWorker(pipeline)
    n, t0 = 0, time.perf_counter()
    try:
        while time.perf_counter() - t0 < seconds:
            if fps:
                wait = t0 + n / fps - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            rgb = frames[n % len(frames)]
            worker.submit(rgb, n / 30.0, n)
            face.process_video_frame(rgb, n * 33)
            n += 1
        elapsed = time.perf_counter() - t0
        poses = worker.processed
    finally:
        worker.close()
        face.close()
        pipeline.close()
    return n / elapsed, poses / elapsed, worker.dropped


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", type=Path, default=SHARED / "data" / "grid" / "bbaf2n.mpg")
    ap.add_argument("--size", default="640x480", help="resize frames to WxH first ('none' keeps them)")
    ap.add_argument("--seconds", type=float, default=15.0, help="per measurement")
    ap.add_argument("--legacy", action="store_true", help="use the bundled legacy pose model, not the .task")
    ap.add_argument("--camera-fps", type=float, default=30.0, help="pace of the simulated camera (default 30)")
    ap.add_argument("--num-poses", type=int, default=1, help="people the Tasks model looks for (default 1, as kinemo)")
    args = ap.parse_args(argv)
    os.environ.setdefault("KINEMO_MODEL_DIR", str(SHARED / "models"))
    size = None if args.size == "none" else tuple(int(v) for v in args.size.lower().split("x"))
    frames = frames_of(args.video, size)
    opts = PoseTrackerOptions(legacy=args.legacy, num_poses=args.num_poses)
    kind = PoseTracker.create_from_options(opts).kind
    print(f"{args.video.name}: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]}, "
          f"pose model: {kind}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    face_fps, found = alone_face(frames, args.seconds)
    pose_fps = alone_pose(frames, args.seconds, opts)
    print(f"{'':<28}{'face FPS':>10}{'pose FPS':>10}")
    print(f"{'alone, flat out (baseline)':<28}{face_fps:>10.1f}{pose_fps:>10.1f}")
    for label, fps in (("together, flat out", 0.0), (f"together, {args.camera_fps:g}-FPS camera", args.camera_fps)):
        both_face, both_pose, dropped = together(frames, args.seconds, opts, fps)
        print(f"{label:<28}{both_face:>10.1f}{both_pose:>10.1f}   (ratio to alone: face {both_face / face_fps:.2f}, "
              f"pose {both_pose / pose_fps:.2f}; {dropped} frames skipped by pose)", flush=True)
    ok = both_face >= 0.98 * args.camera_fps >= 29.4 and both_pose >= 15
    print(f"targets face >= 30 (keeps up with the camera), pose >= 15, together: {'met' if ok else 'NOT met'}"
          f" (face found in {found} frames of the face-alone run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
