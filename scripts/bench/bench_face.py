"""Face pipeline speed: our pipeline vs a plain single-thread MediaPipe loop, same frames, same run.

  python scripts/bench/bench_face.py [--seconds 60] [--workers 2]

Input: the GRID clips from ../shared/data/grid decoded in a loop until the clip
is ``--seconds`` long (25 fps). Both sides decode from the files.

* baseline: decode → ``FaceLandmarker.detect_for_video`` → nothing, one thread.
* kinemo: decode → trackers (``--workers``) → motion (One-Euro, expression,
  compact landmarks) → OSC packet sent to 127.0.0.1.

Printed: sustained frames/s, latency p50/p95 from "frame decoded" to "result
ready" (baseline) or "packet sent" (kinemo), their ratios, and the process's
resident memory at the start and end (run with --seconds 600 for the 10-minute
flatness check).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "inference"))
os.environ.setdefault("KINEMO_MODEL_DIR", str(ROOT.parent / "shared" / "models"))

from kinemo.face.motion import MotionOptions, MotionProcessor  # noqa: E402
from kinemo.face.tracker import FaceTracker, FaceTrackerOptions  # noqa: E402
from kinemo.osc_out import OscSender  # noqa: E402
from kinemo.pipeline import run_face  # noqa: E402
from kinemo.sources import VideoSource  # noqa: E402


class LoopedClips:
    """GRID clips back to back until ``seconds`` of 25 fps video; decoding happens while iterating."""

    realtime = False

    def __init__(self, clips: list[Path], seconds: float) -> None:
        self.clips, self.fps = clips, 25.0
        self.total = int(seconds * self.fps)
        self.name = f"{len(clips)} GRID clips looped to {seconds:g} s"

    def __iter__(self):
        i = 0
        while True:
            for clip in self.clips:
                src = VideoSource(clip)
                for _, _, rgb in src:
                    if i >= self.total:
                        src.close()
                        return
                    yield i, i / self.fps, rgb
                    i += 1
                src.close()

    def close(self) -> None:
        pass


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def baseline(source: LoopedClips) -> tuple[float, np.ndarray]:
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from kinemo import models

    opts = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(models.resolve(models.FACE_LANDMARKER))),
        running_mode=vision.RunningMode.VIDEO, output_face_blendshapes=True,
        output_facial_transformation_matrixes=True, num_faces=1)
    lat = []
    with vision.FaceLandmarker.create_from_options(opts) as lm:
        t0 = time.perf_counter()
        n = 0
        for _, t, rgb in source:
            decoded = time.perf_counter()
            lm.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), int(t * 1000))
            lat.append((time.perf_counter() - decoded) * 1000)
            n += 1
        return n / (time.perf_counter() - t0), np.array(lat)


def ours(source: LoopedClips, workers: int) -> tuple[float, np.ndarray]:
    trackers = [FaceTracker.create_from_options(FaceTrackerOptions()) for _ in range(workers)]
    sender = OscSender("127.0.0.1", 9, landmarks="pca")  # discard port: nothing listens, nothing breaks
    stats = run_face(source, trackers, [lambda s, _f: sender.send(s)],
                     motion=MotionProcessor(MotionOptions(smoothing="live")), progress=False)
    for t in trackers:
        t.close()
    sender.close()
    return stats.fps, np.array(stats.latencies_ms)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the looped input (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="kinemo's parallel trackers (default 2)")
    parser.add_argument("--grid", type=Path, default=ROOT.parent / "shared" / "data" / "grid")
    args = parser.parse_args(argv)
    clips = sorted(args.grid.glob("*.mpg"))
    if not clips:
        print(f"bench_face: no clips in {args.grid}", file=sys.stderr)
        return 2
    source = LoopedClips(clips, args.seconds)
    print(f"input: {source.name} = {source.total} frames at 360x288; {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.2f}")
    rss0 = rss_mb()
    b_fps, b_lat = baseline(source)
    k_fps, k_lat = ours(source, args.workers)
    k1_fps, k1_lat = ours(source, 1) if args.workers != 1 else (k_fps, k_lat)
    rss1 = rss_mb()
    print(f"{'':<34}{'frames/s':>10}{'p50 ms':>9}{'p95 ms':>9}")
    rows = [("plain detect_for_video loop", b_fps, b_lat),
            (f"kinemo pipeline, {args.workers} workers", k_fps, k_lat),
            ("kinemo pipeline, 1 worker", k1_fps, k1_lat)]
    for name, fps, lat in rows:
        print(f"{name:<34}{fps:>10.1f}{np.percentile(lat, 50):>9.1f}{np.percentile(lat, 95):>9.1f}")
    print(f"ratio kinemo/plain: {k_fps / b_fps:.2f}x frames/s, p95 latency {np.percentile(k_lat, 95):.1f} ms "
          f"vs {np.percentile(b_lat, 95):.1f} ms (targets: >= 60 frames/s, p95 <= 25 ms)")
    print(f"resident memory: {rss0:.0f} MB at start, {rss1:.0f} MB at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
