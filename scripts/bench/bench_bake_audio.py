"""Batch-bake throughput: minutes of speech baked per minute of wall time, end to end.

  python scripts/bench/bench_bake_audio.py [--files 60]

Builds a batch of short real-speech files (3 s each: the GRID clips' sound tracks and
slices of ../shared/data/speech/jfk.flac, as 16 kHz mono WAV), builds the demo avatar,
then times ``scripts/bake_audio.py`` on the whole batch exactly as a user runs it (a new
process: Blender start, companion, baking, saving). Target: >= 10 min of speech per minute.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def make_batch(folder: Path, n: int) -> float:
    sources = [librosa.load(p, sr=16000, mono=True)[0] for p in sorted((SHARED / "grid").glob("*.mpg"))]
    jfk, _ = librosa.load(SHARED / "speech" / "jfk.flac", sr=16000, mono=True)
    sources += [jfk[i:i + 48000] for i in range(0, len(jfk) - 48000, 48000)]
    total = 0.0
    for i in range(n):
        clip = sources[i % len(sources)]
        sf.write(folder / f"line_{i:03d}.wav", clip, 16000)
        total += len(clip) / 16000
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=60)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kinemo-bench-") as tmp:
        tmp = Path(tmp)
        (tmp / "lines").mkdir()
        speech = make_batch(tmp / "lines", args.files)
        subprocess.run([sys.executable, str(ROOT / "rigs" / "build_avatar.py"), str(tmp / "avatar.blend")],
                       check=True, capture_output=True)
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, str(ROOT / "scripts" / "bake_audio.py"), "--blend",
                            str(tmp / "avatar.blend"), str(tmp / "lines"), "--nla", "--output",
                            str(tmp / "baked.blend")], capture_output=True, text=True)
        wall = time.perf_counter() - t0
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:], file=sys.stderr)
        return 1
    baked = re.search(r"baked (\d+) of (\d+)", r.stdout)
    rate = (speech / 60) / (wall / 60)
    print(f"batch: {args.files} files, {speech / 60:.1f} min of speech; baked {baked.group(1)} of {baked.group(2)}")
    print(f"wall time end to end: {wall:.1f} s → {rate:.1f} min of speech per minute (target >= 10)")
    print(f"per file: {wall / args.files * 1000:.0f} ms; load average {np.round(__import__('os').getloadavg()[0], 2)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
