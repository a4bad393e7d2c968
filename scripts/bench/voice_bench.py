"""Speed and memory of the voice engine, side by side with the targets and the paper's numbers.

  OMP_NUM_THREADS=1 python scripts/bench/voice_bench.py [--minutes 10] [--hours 2] [--live-seconds 120] [--two-pass]

* offline RTF on one core: a ``--minutes`` long FLAC (real speech, looped), decoded,
  resampled and animated at 60 fps with Savitzky-Golay smoothing, written as LLF CSV —
  by the file engine (Whisper encoder + head, what ``kinemo audio`` uses) and by the live
  network on the same file; ``--two-pass`` also times the file engine with v2.6's encoder
  (two CTranslate2 passes, blocks 1–3 computed twice) in the same process, for a before/after;
* live: 256-sample blocks (16 ms at 16 kHz) as a sound card delivers them, compute per
  output frame (p50/p99/max; CPU time and wall clock side by side, the target judged on CPU
  time since a shared machine's wall clock includes other processes' turns) and the latency
  from a sample entering to its frame leaving;
* memory: peak RSS growth while streaming a ``--hours`` long file to CSV (0 skips it).

Baselines printed in the same run: the issue's targets (file path RTF 0.02 — one hour in
72 s —, live 1 ms/frame at p99 and ≤ 100 ms look-ahead) and the paper's reported figures
(RTF 0.07, 2.66 ms/frame on a GPU server, 280 ms window).
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "inference"))

from kinemo.voice.audio_io import AudioFileSource  # noqa: E402
from kinemo.voice.engine import VoiceAnimator, VoiceAnimatorOptions  # noqa: E402
from kinemo.voice.features import SAMPLE_RATE  # noqa: E402
from kinemo.voice.net import DEFAULT_MODEL, FILE_MODEL  # noqa: E402

RTF_TARGET = 0.02

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


def offline(path: Path, write_csv: bool, model: Path = FILE_MODEL, encoder: str = "onnx") -> tuple[float, float, int]:
    """Wall and CPU seconds to animate a file at 60 fps (optionally writing the LLF CSV); ``encoder``:
    the file engine's Whisper encoder backend (``ctranslate2``: v2.6's two passes)."""
    from kinemo.cli.voice import _CsvStream

    animator = VoiceAnimator.create_from_options(VoiceAnimatorOptions(model_path=model, fps=60, threads=1))
    if encoder != "onnx":
        from kinemo.voice.whisper import WhisperEncoder

        animator.net.encoder = WhisperEncoder(1, animator.net.encoder.blocks, backend=encoder)
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


def live(audio: np.ndarray, block: int = 256, model: Path = DEFAULT_MODEL) -> dict:
    """Compute per output frame for sound-card-sized blocks: CPU time and wall clock, side by side.

    Every block is timed, including the ones that complete no frame (at 60 fps a 16 ms block
    sometimes does): their compute is charged to the next frame that leaves, so the per-frame
    figures add up to the total compute. CPU time is the process's (all threads; the engine
    runs on one) and is what the target is judged on: on a shared machine the wall clock also
    counts the time other processes hold the core. Nothing is discarded as warm-up.
    """
    animator = VoiceAnimator.create_from_options(VoiceAnimatorOptions(model_path=model, fps=60,
                                                                      smoothing="live", threads=1))
    cpu, wall, block_cpu, block_wall = [], [], [], []
    owed_cpu = owed_wall = 0.0  # compute of blocks that completed no frame yet
    for i in range(0, len(audio) - block + 1, block):
        chunk = audio[i:i + block]
        c0, w0 = time.process_time(), time.perf_counter()
        frames = animator.process_audio_block(chunk)
        c1, w1 = time.process_time(), time.perf_counter()
        block_cpu.append(c1 - c0)
        block_wall.append(w1 - w0)
        owed_cpu += c1 - c0
        owed_wall += w1 - w0
        if frames:
            cpu += [owed_cpu / len(frames)] * len(frames)
            wall += [owed_wall / len(frames)] * len(frames)
            owed_cpu = owed_wall = 0.0
    out = {"lookahead": animator.lookahead_s * 1000, "block": block / SAMPLE_RATE * 1000,
           "frames": len(cpu), "blocks": len(block_cpu), "seconds": len(audio) / SAMPLE_RATE}
    for key, values in (("cpu", cpu), ("wall", wall), ("block_cpu", block_cpu), ("block_wall", block_wall)):
        ms = np.array(values) * 1000
        out[key + "50"], out[key + "99"], out[key + "max"] = np.median(ms), np.percentile(ms, 99), ms.max()
    return out


def offline_rtf(path: Path, minutes: float, live_model: Path, two_pass: bool = False) -> None:
    """RTF of the file engine (with and without the CSV) and of the live network on one long file."""
    path = long_file(path, minutes * 60, "PCM_16")
    dur = minutes * 60
    print(f"offline, {minutes:g} min FLAC (real speech), 60 fps, one thread; RTF = seconds per second of audio:")
    print(f"  {'':44s}{'ours':>9s}{'target':>9s}{'paper':>9s}{'ours/target':>13s}{'ours/paper':>12s}")
    runs = [("file engine: decode → frames", False, FILE_MODEL, "onnx")]
    if two_pass:
        runs.append(("  v2.6: two CTranslate2 passes", False, FILE_MODEL, "ctranslate2"))
    runs += [("file engine + write LLF CSV", True, FILE_MODEL, "onnx"),
             ("live network on the file + LLF CSV", True, live_model, "onnx")]
    frames = 0
    for label, csv_out, model, encoder in runs:
        wall, cpu, frames = offline(path, csv_out, model, encoder)
        for kind, sec in (("CPU", cpu), ("wall", wall)):
            rtf = sec / dur
            print(f"  {label + f' ({kind})':44s}{rtf:9.4f}{RTF_TARGET:9.4f}{0.07:9.4f}"
                  f"{rtf / RTF_TARGET:13.2f}{rtf / 0.07:12.3f}")
    print(f"  ({frames} frames; target: one hour in 72 s on one core; paper: 1D-CNN on a GPU server)")


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--hours", type=float, default=2.0, help="length of the memory test file (0: skip)")
    ap.add_argument("--live-seconds", type=float, default=120.0, help="speech fed to the live test (looped)")
    ap.add_argument("--live-model", metavar="ONNX", type=Path, default=DEFAULT_MODEL,
                    help="live network to time (default: the shipped assets/voice_net.onnx)")
    ap.add_argument("--live-only", action="store_true", help="skip the offline RTF runs (quick model comparisons)")
    ap.add_argument("--two-pass", action="store_true",
                    help="also time the file engine with v2.6's encoder (two CTranslate2 passes) on the same file")
    args = ap.parse_args(argv)
    build = ROOT / "build/voice"
    if not args.live_model.is_file():
        print(f"voice_bench: error: no such live model: {args.live_model}", file=sys.stderr)
        return 2
    if args.live_only:
        args.hours = 0
    else:
        offline_rtf(build / f"bench_{args.minutes:g}min.flac", args.minutes, args.live_model, args.two_pass)
    speech = np.concatenate(list(AudioFileSource(SPEECH).blocks()))
    reps = max(1, int(np.ceil(args.live_seconds * SAMPLE_RATE / len(speech))))
    lv = live(np.concatenate([speech] * reps), model=args.live_model)
    print(f"live network {rel(args.live_model)}, {lv['block']:.0f} ms blocks (256 samples), 60 fps, "
          f"causal smoothing, one thread; "
          f"{lv['seconds']:.0f} s of speech, {lv['blocks']} blocks, {lv['frames']} frames, all timed:")
    print(f"  {'compute (ms)':34s}{'p50':>9s}{'p99':>9s}{'max':>9s}{'target':>9s}{'paper':>9s}")
    for key, label in (("cpu", "per frame, CPU time (the target)"), ("wall", "per frame, wall clock"),
                       ("block_cpu", "per block, CPU time"), ("block_wall", "per block, wall clock")):
        print(f"  {label:34s}{lv[key + '50']:9.3f}{lv[key + '99']:9.3f}{lv[key + 'max']:9.3f}{1.0:9.3f}{2.66:9.3f}")
    verdict = "meets" if lv["cpu99"] <= 1.0 else "MISSES"
    print(f"  per frame = compute of every block since the previous frame left, over the frames that left;\n"
          f"  CPU = process time (all threads). The target is judged on CPU time: on this shared machine\n"
          f"  the wall clock also counts other processes' turns on the core. CPU p99 {lv['cpu99']:.3f} ms"
          f" {verdict} the 1 ms target.")
    lat = lv["lookahead"] + lv["block"] + lv["block_cpu99"]
    print(f"  {'mic→OSC latency (ms)':34s}{lat:9.1f}  (target 120, paper {280 + 19.7:.0f}; look-ahead "
          f"{lv['lookahead']:.0f} + block {lv['block']:.0f} + block compute p99 {lv['block_cpu99']:.2f})")
    print(f"  look-ahead {lv['lookahead']:.0f} ms (target ≤ 100)")

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
