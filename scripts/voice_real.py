"""Real voices for the voice model's training set: recordings with a known text, aligned by pocketsphinx.

  python scripts/voice_real.py [--copies 100] [--out build/voice/data2/shard_real.npz]

Synthetic speech gives exact timing but only synthetic voices; the few real recordings
reachable here (JFK's inaugural excerpt in ../shared, the spoken channel names Debian's
alsa-utils installs) are aligned to their transcript and labelled by the same rule
(``kinemo.voice.visemes``), then rendered many times through the training augmentation
(speed, room, band, noise, level) so the network also hears what real voices sound
like. Never the GRID clips: they are the development set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "inference"))
sys.path.insert(0, str(ROOT / "scripts"))

from grid_align import align  # noqa: E402
from voice_data import example, save_shard  # noqa: E402

from kinemo.voice.audio_io import AudioFileSource  # noqa: E402
from kinemo.voice.features import SAMPLE_RATE  # noqa: E402

JFK = ("and so my fellow americans ask not what your country can do for you "
       "ask what you can do for your country")
ALSA = Path("/usr/share/sounds/alsa")


def recordings() -> list[tuple[str, np.ndarray, str]]:
    """(name, 16 kHz mono samples, transcript) of every real recording found."""
    out = []
    jfk = ROOT.parent / "shared" / "data" / "speech" / "jfk.flac"
    if jfk.is_file():
        out.append(("jfk", np.concatenate(list(AudioFileSource(jfk).blocks())), JFK))
    for wav in sorted(ALSA.glob("*_*.wav")):  # Front_Center.wav says "front center"
        out.append((wav.stem, np.concatenate(list(AudioFileSource(wav).blocks())),
                    wav.stem.replace("_", " ").lower()))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=100, help="augmented renderings of each recording")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=str(ROOT / "build/voice/data2/shard_real.npz"))
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    examples = []
    for name, samples, text in recordings():
        phones = align(samples, text)
        spoken = [p for p in phones if p[2] != "sil"]
        print(f"{name}: {len(samples) / SAMPLE_RATE:.1f} s, {len(spoken)} phones "
              f"({spoken[0][0]:.2f}–{spoken[-1][1]:.2f} s)")
        for k in range(args.copies):
            examples.append((*example(samples, SAMPLE_RATE, phones, rng, heavy=bool(k % 2)), f"real:{name}"))
    if not examples:
        print("no real recordings found", file=sys.stderr)
        return 1
    frames = save_shard(Path(args.out), examples)
    print(f"{frames / 360000:.2f} h of augmented real speech → {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
