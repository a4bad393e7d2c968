"""Batch baking on a Dask cluster: 1 against 2 local workers, end to end, on real speech.

  python scripts/bench/bench_farm.py [--files 600] [--workers 1,2] [--plain | --speech-only] [--no-sound]

Builds a batch of N three-second lines of real speech (the sound tracks of the GRID talker's
clips in ../shared/data/talking/grid_s1, as 16 kHz mono WAV; more lines than clips repeat
them), builds the demo avatar, then times ``scripts/bake_audio.py --workers W`` on the whole
batch for each W, exactly as a user runs it (a new process: the bpy module, the local
cluster's start, the speech on the workers, the bake, the save), and checks from each
run's summary that every file was baked. --plain also times the run without a cluster;
--speech-only times only the workers' part instead (no Blender: submit → every take back).
Target: 2 workers >= 1.4x faster than 1 on 600 files (a 2-core machine).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import mean

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
CLIPS = SHARED / "talking" / "grid_s1"


def make_batch(folder: Path, n: int) -> None:
    clips = sorted(CLIPS.glob("*.mp4"))
    if not clips:
        sys.exit(f"no GRID clips in {CLIPS}")
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is needed to take the sound tracks out of the clips")

    def extract(i: int) -> None:
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(clips[i % len(clips)]), "-vn", "-ac", "1",
                        "-ar", "16000", "-t", "3", str(folder / f"line_{i:04d}.wav")], check=True)

    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(extract, range(n)))


def bake(tmp: Path, workers: int | None, extra: tuple[str, ...] = ()) -> tuple[float, str]:
    cmd = [sys.executable, str(ROOT / "scripts" / "bake_audio.py"), "--blend", str(tmp / "avatar.blend"),
           str(tmp / "lines"), "--nla", "--output", str(tmp / "baked.blend"), "--force", *extra]
    if workers:
        cmd += ["--workers", str(workers)]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:], file=sys.stderr)
        sys.exit(f"bake_audio {'--workers ' + str(workers) if workers else ''} failed (exit {r.returncode})")
    return wall, r.stdout


def speech_only(folder: Path, workers: int) -> float:
    """Seconds from submitting the batch to the last take back, on a started local cluster (no Blender)."""
    sys.path.insert(0, str(ROOT / "inference"))
    from kinemo.farm import Farm

    files = sorted(folder.iterdir())
    farm = Farm(workers=workers)
    farm.check()
    farm.start()
    farm.ready()
    try:
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            batch = farm.submit(files, 30, Path(out))
            for i in range(len(files)):
                while not batch.result(i, 1.0)[0]:
                    pass
            wall = time.perf_counter() - t0
            batch.cancel()
        if batch.done != len(files):
            sys.exit(f"only {batch.done} of {len(files)} takes came back")
        return wall
    finally:
        farm.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=600)
    parser.add_argument("--workers", default="1,2",
                        help="worker counts to time, in order (default 1,2; 1,2,1,2 alternates them and reports each "
                             "count's mean)")
    parser.add_argument("--plain", action="store_true", help="also time the run without a cluster")
    parser.add_argument("--no-sound", action="store_true", help="bake with --no-sound (no sound strips)")
    parser.add_argument("--speech-only", action="store_true",
                        help="time only the workers' part (batch submitted → every take back; no Blender)")
    args = parser.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    compared = list(dict.fromkeys(counts))[1:]  # against the first count, each once
    with tempfile.TemporaryDirectory(prefix="kinemo-bench-farm-") as tmp:
        tmp = Path(tmp)
        (tmp / "lines").mkdir()
        make_batch(tmp / "lines", args.files)
        subprocess.run([sys.executable, str(ROOT / "rigs" / "build_avatar.py"), str(tmp / "avatar.blend")],
                       check=True, capture_output=True)
        print(f"batch: {args.files} files of real speech (3 s each, {args.files * 3 / 60:.0f} min); "
              f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} before"
              + ("; --no-sound" if args.no_sound else ""), flush=True)
        times: dict[int | None, list[float]] = {}
        if args.speech_only:
            for workers in counts:
                wall = speech_only(tmp / "lines", workers)
                times.setdefault(workers, []).append(wall)
                print(f"{workers:>2} worker{'s' * (workers > 1)}: {wall:6.1f} s for every take "
                      f"({args.files / wall:.1f} files/s)", flush=True)
            for workers in compared:
                ratio = mean(times[counts[0]]) / mean(times[workers])
                print(f"speech only: {workers} workers {ratio:.2f}x faster than {counts[0]}")
            return 0
        for workers in ([None] if args.plain else []) + counts:
            wall, out = bake(tmp, workers, ("--no-sound",) if args.no_sound else ())
            m = re.search(r"baked (\d+) of (\d+) files", out)
            if not m or m.group(1) != m.group(2) or int(m.group(2)) != args.files:
                sys.exit(f"not every file was baked: {m.group(0) if m else out[-500:]}")
            label = f"{workers} worker{'s' * (workers > 1)}" if workers else "no cluster"
            times.setdefault(workers, []).append(wall)
            print(f"{label:>10}: {wall:6.1f} s end to end ({args.files / wall:.1f} files/s); {m.group(0)}; "
                  f"load average {os.getloadavg()[0]:.2f}", flush=True)
    base = mean(times[counts[0]])
    for workers in compared:
        print(f"speed-up of {workers} workers over {counts[0]}: {base / mean(times[workers]):.2f}x "
              f"(target >= 1.4x for 2 over 1); every file baked in every run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
