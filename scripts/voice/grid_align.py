"""Phone timing of real GRID speech: the sentence from the file name, aligned by pocketsphinx.

  python scripts/voice/grid_align.py ../shared/data/grid/bbaf2n.mpg

GRID names encode their six-word sentence (``bbaf2n`` = "bin blue at f two now"), so
forced alignment of that known text gives each phone's time in the *real* recording.
``voice_eval.py`` uses it to separate two questions the headline numbers mix up: how well
the network recovers its own labelling rule from a real voice, and how well that rule
(phones → ARKit curves) describes what MediaPipe sees on a real face. Evaluation only:
nothing here trains a model.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "inference"))

COMMAND = {"b": "bin", "l": "lay", "p": "place", "s": "set"}
COLOUR = {"b": "blue", "g": "green", "r": "red", "w": "white"}
PREPOSITION = {"a": "at", "b": "by", "i": "in", "w": "with"}
DIGIT = dict(zip("0123456789", "zero one two three four five six seven eight nine".split(), strict=True))
ADVERB = {"a": "again", "n": "now", "p": "please", "s": "soon"}
_NON_SPEECH = {"sil", "+spn+", "+nsn+", "+breath+", "+noise+"}


def grid_sentence(stem: str) -> str:
    """``bbaf2n`` → "bin blue at f two now" (the GRID corpus naming scheme)."""
    if len(stem) != 6:
        raise ValueError(f"not a GRID clip name: {stem!r}")
    c, o, p, letter, d, a = stem.lower()
    try:
        return f"{COMMAND[c]} {COLOUR[o]} {PREPOSITION[p]} {letter} {DIGIT[d]} {ADVERB[a]}"
    except KeyError:
        raise ValueError(f"not a GRID clip name: {stem!r}") from None


def align(samples: np.ndarray, text: str, sample_rate: int = 16000) -> list[tuple[float, float, str]]:
    """Forced alignment of ``text`` in 16 kHz mono ``samples`` → (start s, end s, ARPAbet phone) segments.

    Phones are lower-case ARPAbet as in ``kinemo.voice.visemes``; pauses are "sil".
    """
    from pocketsphinx import Decoder

    pcm = (np.clip(np.asarray(samples, np.float32), -1.0, 1.0) * 32767).astype(np.int16).tobytes()
    decoder = Decoder(samprate=sample_rate, bestpath=False, loglevel="FATAL")
    decoder.set_align_text(text)
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    decoder.set_alignment()
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    out = []
    for word in decoder.get_alignment():
        for phone in word:
            name = phone.name.lower()
            start = phone.start / 100.0  # pocketsphinx frames are 10 ms
            out.append((start, start + phone.duration / 100.0, "sil" if name in _NON_SPEECH else name))
    return out


def align_clip(clip: Path) -> list[tuple[float, float, str]]:
    """Phones of a GRID clip's sound track."""
    from kinemo.voice.audio_io import AudioFileSource

    samples = np.concatenate(list(AudioFileSource(clip).blocks()))
    return align(samples, grid_sentence(clip.stem))


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clips", nargs="+", type=Path, help="GRID .mpg files")
    args = ap.parse_args(argv)
    for clip in args.clips:
        print(f"{clip.stem}: {grid_sentence(clip.stem)}")
        for start, end, phone in align_clip(clip):
            print(f"  {start:5.2f} {end:5.2f} {phone}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
