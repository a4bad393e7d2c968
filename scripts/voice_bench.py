"""Speed and memory of the voice engine, side by side with the targets and the paper's numbers.

  OMP_NUM_THREADS=1 python scripts/voice_bench.py [--minutes 10] [--hours 2]

* offline RTF on one core: a ``--minutes`` long FLAC (real speech, looped), decoded,
  resampled and animated at 60 fps with Savitzky-Golay smoothing, written as LLF CSV;
* live: 256-sample blocks (16 ms at 16 kHz) as a sound card delivers them, compute per
  output frame (p50/p99) and the latency from a sample entering to its frame leaving;
* memory: peak RSS growth while streaming a ``--hours`` long file to CSV (0 skips it).

Baselines printed in the same run: the issue's targets (RTF 0.005, 1 ms/frame, 120 ms)
and the paper's reported figures (RTF 0.07, 2.66 ms/frame on a GPU server, 280 ms window).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "inference"))

from kinemo.voice.audio_io import AudioFileSource  # noqa: E402
from kinemo.voice.engine import VoiceAnimator, VoiceAnimatorOptions  # noqa: E402
from kinemo.voice.features import SAMPLE_RATE  # noqa: E402

SPEECH = ROOT.parent / "shared/data/speech/jfk.flac"


def long_file(path: Path, seconds: float, subtype: str) -> Path:
    """Real speech looped to ``seconds``, written block by block (never held whole)."""
    if path.exists() and sf.info(str(path)).duration >= seconds - 1:
        return path
    speech = np.concatenate(list(AudioFileSource(SPEECH).blocks()))
    path.parent.mkdir(parents=True, exist_ok=True)
    with sf.SoundFile(str(path), "w", SAMPLE_RATE, 1, subtype=subtype) as f:
        left = int(seconds * SAMPLE_RATE)
        while left > 0:
            chunk = speech[: min(left, len(speech))]
            f.write(chunk)
            left -= len(chunk)
    return path


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def offline(path: Path, write_csv: bool) -> tuple[float, float, int]:
    """Wall and CPU seconds to animate a file at 60 fps (optionally writing the LLF CSV)."""
    from kinemo.cli_voice import _CsvStream

    animator = VoiceAnimator.create_from_options(VoiceAnimatorOptions(fps=60, threads=1))
    writer = _CsvStream(ROOT / "build/voice/bench.csv", 60) if write_csv else None
    source = AudioFileSource(path)
    t0, cpu0 = time.perf_counter(), time.process_time()
    count = 0
    for frame in animator.process_file(source):
        count += 1
        if writer is not None:
            writer.add(frame)
    if writer is not None:
        writer.close()
    return time.perf_counter() - t0, time.process_time() - cpu0, count


def live(audio: np.ndarray, block: int = 256) -> dict:
    """Per-frame compute (CPU time of this thread, and wall clock) for sound-card-sized blocks."""
    animator = VoiceAnimator.create_from_options(VoiceAnimatorOptions(fps=60, smoothing="live", threads=1))
    cpu, wall = [], []
    for i in range(0, len(audio) - block, block):
        c0, w0 = time.thread_time(), time.perf_counter()
        frames = animator.process_audio_block(audio[i:i + block])
        c1, w1 = time.thread_time(), time.perf_counter()
        if frames:
            cpu += [(c1 - c0) / len(frames)] * len(frames)
            wall += [(w1 - w0) / len(frames)] * len(frames)
    cpu_ms, wall_ms = np.array(cpu) * 1000, np.array(wall) * 1000
    block_ms = block / SAMPLE_RATE * 1000
    return {"cpu50": float(np.median(cpu_ms)), "cpu99": float(np.percentile(cpu_ms, 99)),
            "wall50": float(np.median(wall_ms)), "wall99": float(np.percentile(wall_ms, 99)),
            "lookahead": animator.lookahead_s * 1000, "block": block_ms}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--hours", type=float, default=2.0, help="length of the memory test file (0: skip)")
    args = ap.parse_args(argv)
    build = ROOT / "build/voice"

    path = long_file(build / f"bench_{args.minutes:g}min.flac", args.minutes * 60, "PCM_16")
    dur = args.minutes * 60
    print(f"offline, {args.minutes:g} min FLAC (real speech), 60 fps, one thread; RTF = seconds per second of audio:")
    print(f"  {'':34s}{'ours':>9s}{'target':>9s}{'paper':>9s}{'ours/target':>13s}{'ours/paper':>12s}")
    for label, csv_out in (("engine: decode → frames", False), ("+ write Live Link Face CSV", True)):
        wall, cpu, frames = offline(path, csv_out)
        for kind, sec in (("CPU", cpu), ("wall", wall)):
            rtf = sec / dur
            print(f"  {label + f' ({kind})':34s}{rtf:9.4f}{0.005:9.4f}{0.07:9.4f}{rtf / 0.005:13.2f}{rtf / 0.07:12.3f}")
    print(f"  ({frames} frames; target: one hour in 18 s; paper: 1D-CNN on a GPU server)")

    speech = np.concatenate(list(AudioFileSource(SPEECH).blocks()))
    lv = live(np.concatenate([speech] * 3))
    print(f"live, {lv['block']:.0f} ms blocks (256 samples), 60 fps, causal smoothing:")
    print(f"  {'':34s}{'ours':>9s}{'target':>9s}{'paper':>9s}")
    for key, label in (("cpu50", "compute/frame CPU p50 (ms)"), ("cpu99", "compute/frame CPU p99 (ms)"),
                       ("wall50", "compute/frame wall p50 (ms)"), ("wall99", "compute/frame wall p99 (ms)")):
        print(f"  {label:34s}{lv[key]:9.3f}{1.0:9.3f}{2.66:9.3f}")
    lat = lv["lookahead"] + lv["block"] + lv["cpu99"]
    print(f"  {'mic→OSC latency (ms)':34s}{lat:9.1f}{120.0:9.1f}{280 + 19.7:9.1f}"
          f"   (look-ahead {lv['lookahead']:.0f} + block {lv['block']:.0f} + compute p99 {lv['cpu99']:.2f})")

    if args.hours > 0:
        big = long_file(build / f"bench_{args.hours:g}h.wav", args.hours * 3600, "PCM_16")
        before = rss_mb()
        wall, cpu, frames = offline(big, True)
        size = big.stat().st_size / 1e6
        print(f"memory, {args.hours:g} h WAV ({size:.0f} MB) → {frames} frames CSV in {wall:.0f} s:")
        print(f"  peak RSS {rss_mb():.0f} MB (before {before:.0f} MB; growth {rss_mb() - before:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
