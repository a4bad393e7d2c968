"""Real talking faces as training data for the voice model: sound track → features, MediaPipe on the video → labels.

  python scripts/voice/voice_talking.py [--copies 3] [--hold-out vox2_00015,vox2_00473] [--out build/voice/real]

The speech-driven-avatar paper's method: the labels are what MediaPipe's blendshape
model saw on the speaker's face in every video frame (precomputed in
``../shared/data/talking/labels``), so the network learns what real faces do around
speech — opening before a sentence, resting open or closed, closing on /b m p/ — not a
phone rule. Only clips whose licence lets our shipped weights learn from them are read
(``manifest.csv`` ``use == train``: GRID speaker s1 and the CC BY VoxCeleb2 clips);
``--hold-out`` keeps named clips out for a speaker-held-out check.

Each clip is rendered ``--copies`` times through the training augmentation of
``voice_data.py`` (speed ±12 % with the labels' times scaled to match, spectral tilt,
room, band-limiting, telephone coding, hum, noise, level): one real speaker dominates
the data, and augmentation is what stands between the network and that one voice.
Labels are the 52 ARKit channels at 100 Hz (linear interpolation of the 25 fps video
labels); a per-frame mask marks frames with no face label nearby (no face found, or
past the clip's last video frame).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soxr

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "inference"))
sys.path.insert(0, str(ROOT / "scripts" / "voice"))

import voice_data  # noqa: E402
from voice_data import augment  # noqa: E402

from kinemo.protocol import ARKIT_NAMES  # noqa: E402
from kinemo.voice.audio_io import AudioFileSource  # noqa: E402
from kinemo.voice.ct2_model import BLOCKS  # noqa: E402
from kinemo.voice.features import FRAME_RATE, SAMPLE_RATE, log_mel  # noqa: E402

TALKING = ROOT.parent / "shared" / "data" / "talking"
MAX_GAP = 0.09  # s: a 100 Hz frame farther than this from a labelled video frame is masked


def trainable_clips(manifest: Path = TALKING / "manifest.csv") -> list[tuple[Path, Path, str]]:
    """(video, labels, corpus) of every clip the manifest allows training on."""
    out = []
    with manifest.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["use"].strip() == "train":
                out.append((TALKING / row["clip"], TALKING / row["labels"], row["corpus"]))
    return out


def load_labels(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(times s, T×52 blendshapes in ARKit order) from a label file."""
    with np.load(path, allow_pickle=False) as z:
        names = [str(n) for n in z["names"]]
        order = [names.index(n) if n in names else -1 for n in ARKIT_NAMES]
        bs = z["bs"].astype(np.float32)
        out = np.zeros((len(bs), len(ARKIT_NAMES)), np.float32)
        for i, j in enumerate(order):
            if j >= 0:
                out[:, i] = bs[:, j]
        return z["t"].astype(np.float64), out


def labels_at(t: np.ndarray, bs: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Video labels interpolated at ``times`` and a mask of the times that have a label nearby."""
    if len(t) == 0:
        return np.zeros((len(times), bs.shape[1]), np.float32), np.zeros(len(times), bool)
    idx = np.clip(np.searchsorted(t, times), 1, max(len(t) - 1, 1))
    gap = np.minimum(np.abs(times - t[idx - 1]), np.abs(t[np.minimum(idx, len(t) - 1)] - times))
    inside = (times >= t[0] - MAX_GAP) & (times <= t[-1] + MAX_GAP)
    out = np.stack([np.interp(times, t, bs[:, c]) for c in range(bs.shape[1])], axis=1)
    return out.astype(np.float32), inside & (gap <= MAX_GAP)


def read_audio(video: Path) -> np.ndarray:
    return np.concatenate(list(AudioFileSource(video).blocks()))


_ENCODER = None
WHISPER_BLOCKS: tuple[int, ...] = (BLOCKS,)  # set by --whisper-blocks, inherited by the worker processes (fork)


def features(x: np.ndarray, front: str) -> tuple[np.ndarray, np.ndarray]:
    """Features of a signal and the time (s) each frame describes, for the chosen front-end."""
    global _ENCODER
    if front == "whisper":
        from kinemo.voice.whisper import RATE, WhisperEncoder

        if _ENCODER is None:
            _ENCODER = WhisperEncoder(blocks=WHISPER_BLOCKS)
        feats = _ENCODER.encode(x)
        return feats, (np.arange(len(feats)) + 0.5) / RATE
    feats = log_mel(x)
    return feats, np.arange(len(feats)) / FRAME_RATE


def render(audio: np.ndarray, t: np.ndarray, bs: np.ndarray, rng: np.random.Generator, heavy: bool | None,
           front: str = "mel"):
    """One (possibly augmented) copy: speed change, audio augmentation → features, labels, mask."""
    if heavy is None:  # the clean original
        speed, x = 1.0, audio
    else:
        speed = float(rng.uniform(0.88, 1.12))
        x = soxr.resample(audio, SAMPLE_RATE * speed, SAMPLE_RATE).astype(np.float32)
        x = augment(x, rng, heavy)
    feats, times = features(x, front)
    if voice_data.TEACHER:  # distillation: what the file network hears in this very audio
        return feats.astype(np.float16), voice_data.teacher_curves(x, len(feats)).astype(np.float16), \
            np.ones(len(feats), bool)
    labels, mask = labels_at(t, bs, times * speed)  # each frame's time in the original clip
    return feats.astype(np.float16), labels.astype(np.float16), mask


def joined(group: list[tuple[Path, Path]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Several clips as one recording: audio end to end, label times shifted to match."""
    audios, times, shapes, offset = [], [], [], 0.0
    for video, labels_path in group:
        audio = read_audio(video)
        t, bs = load_labels(labels_path)
        audios.append(audio)
        times.append(t + offset)
        shapes.append(bs)
        offset += len(audio) / SAMPLE_RATE
    return np.concatenate(audios), np.concatenate(times), np.concatenate(shapes)


def _clip_job(args) -> list[tuple]:
    group, copies, seed, front = args
    rng = np.random.default_rng(seed)
    audio, t, bs = joined(group)
    out = [render(audio, t, bs, rng, None, front)]
    out += [render(audio, t, bs, rng, bool(k % 2), front) for k in range(copies)]
    name = "+".join(v.stem for v, _ in group)
    return [(*o, name) for o in out]


def grouped(clips: list[tuple[Path, Path, str]], join: int, rng: np.random.Generator) -> list[list[tuple[Path, Path]]]:
    """Short clips of one corpus joined ``join`` at a time (random partners), long ones alone.

    The file front-end encodes windows of up to 10 s; 3 s GRID sentences alone would
    teach the head only what short windows look like.
    """
    short = [(v, lab) for v, lab, corpus in clips if corpus.startswith("GRID (speaker")]
    other = [[(v, lab)] for v, lab, corpus in clips if not corpus.startswith("GRID (speaker")]
    order = rng.permutation(len(short))
    groups = [[short[i] for i in order[k:k + join]] for k in range(0, len(order), max(1, join))]
    return groups + other


def save(path: Path, examples: list) -> int:
    lengths = np.array([len(e[0]) for e in examples], np.int64)
    np.savez(path, features=np.concatenate([e[0] for e in examples]),
             bs52=np.concatenate([e[1] for e in examples]), mask=np.concatenate([e[2] for e in examples]),
             lengths=lengths, sources=np.array([e[3] for e in examples]))
    return int(lengths.sum())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=3, help="augmented renderings per clip (plus the clean one)")
    ap.add_argument("--hold-out", default="", help="comma-separated clip names to leave out (speaker-held-out check)")
    ap.add_argument("--front", choices=("mel", "whisper"), default="mel",
                    help="features: log-mel at 100 Hz (live network) or Whisper encoder at 50 Hz (files)")
    ap.add_argument("--whisper-blocks", default="4", metavar="B1,B2",
                    help="whisper: which encoder outputs, side by side (4 = the whole encoder, 3 = cut after its "
                         "third block, which the linear jaw reads; '4,3' both)")
    ap.add_argument("--teacher", metavar="ONNX", help="label with this file network's curves (distillation for "
                    "the live network) instead of the MediaPipe labels; mel front-end only")
    ap.add_argument("--join", type=int, default=1, help="GRID sentences joined into one recording (whisper: 3)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N clips (quick runs)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--per-shard", type=int, default=100, help="recordings per shard file")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", default=str(ROOT / "build/voice/real"))
    args = ap.parse_args(argv)
    voice_data.TEACHER = args.teacher  # inherited by the worker processes (fork)
    global WHISPER_BLOCKS
    try:
        WHISPER_BLOCKS = tuple(int(b) for b in args.whisper_blocks.split(","))
    except ValueError:
        ap.error(f"--whisper-blocks: a comma list of block counts 1…4, not {args.whisper_blocks!r}")
    held = {h.strip() for h in args.hold_out.split(",") if h.strip()}
    clips = [c for c in trainable_clips() if c[0].stem not in held and c[0].is_file()]
    if args.limit:
        clips = clips[: args.limit]
    if not clips:
        print(f"no trainable talking clips found under {TALKING}", file=sys.stderr)
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("shard_*.npz"):
        old.unlink()
    (out / "front.json").write_text(json.dumps(
        {"front": args.front, **({"whisper_blocks": list(WHISPER_BLOCKS)} if args.front == "whisper" else {})}) + "\n")
    groups = grouped(clips, args.join, np.random.default_rng(args.seed))
    jobs = [(g, args.copies, args.seed * 100003 + i, args.front) for i, g in enumerate(groups)]
    t0, frames, shard, pending = time.perf_counter(), 0, 0, []
    with ProcessPoolExecutor(args.workers) as pool:
        for i, res in enumerate(pool.map(_clip_job, jobs, chunksize=4), 1):
            pending.extend(res)
            if i % args.per_shard == 0 or i == len(jobs):
                frames += save(out / f"shard_{shard:03d}.npz", pending)
                shard, pending = shard + 1, []
                took = time.perf_counter() - t0
                print(f"{i}/{len(jobs)} recordings, {frames} feature frames, {took:.0f} s", flush=True)
    print(f"{len(clips)} clips ({', '.join(sorted(held)) or 'none'} held out) → {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
