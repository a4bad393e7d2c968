"""Build the voice model's training set: synthetic speech with exact phone timing → features + ARKit labels.

  python scripts/voice/voice_data.py [--utterances 4000] [--workers 2] [--out build/voice/data]

Each utterance is synthesised by espeak-ng (random English voice, variant, rate, pitch)
or festival (kal, ked, slt), its phones turned into ARKit curves
(``kinemo.voice.visemes``), and the audio augmented so the network learns what speech
*sounds* like across speakers and rooms rather than what one synthesiser sounds like:
speed/formant shift (resampling), spectral tilt, reverberation, band-limiting,
telephone coding, noise and level. Texts: GRID-style command sentences (the grammar
only: the GRID recordings are the development set and are never read here) and
sentences from the licence texts in /usr/share/common-licenses.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soxr
from scipy import signal

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "inference"))
sys.path.insert(0, str(ROOT / "scripts" / "voice"))

from kinemo.voice.features import FRAME_RATE, SAMPLE_RATE, log_mel  # noqa: E402
from kinemo.voice.visemes import phone_curves, phone_ids  # noqa: E402

GRID_WORDS = (
    ("bin", "lay", "place", "set"), ("blue", "green", "red", "white"), ("at", "by", "in", "with"),
    tuple("ABCDEFGHIJKLMNOPQRSTUVXYZ"),
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    ("again", "now", "please", "soon"),
)


def grid_sentence(rng: np.random.Generator) -> str:
    return " ".join(str(rng.choice(words)) for words in GRID_WORDS)


def prose_sentences() -> list[str]:
    text = " ".join(p.read_text(errors="ignore") for p in sorted(Path("/usr/share/common-licenses").glob("*"))
                    if p.is_file())
    text = re.sub(r"[^A-Za-z,.;:!? '\n-]", " ", text)
    out = []
    for sent in re.split(r"[.;:!?]\s+", text):
        words = sent.split()
        while len(words) >= 3:
            n = min(len(words), 4 + len(out) % 11)
            chunk = " ".join(words[:n])
            words = words[n:]
            if sum(c.isupper() for c in chunk) < len(chunk) / 3:
                out.append(chunk)
    return out


# --- augmentation -----------------------------------------------------------------------

def _coloured_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    white = rng.standard_normal(n).astype(np.float32)
    kind = rng.integers(3)
    if kind == 0:
        return white
    spec = np.fft.rfft(white)
    f = np.arange(len(spec)) + 1.0
    spec /= f ** (0.5 if kind == 1 else 1.0)
    out = np.fft.irfft(spec, n).astype(np.float32)
    return out / (out.std() + 1e-9)


def augment(x: np.ndarray, rng: np.random.Generator, heavy: bool) -> np.ndarray:
    sr = SAMPLE_RATE
    a = float(rng.uniform(-0.5, 0.7))  # spectral tilt: pre-/de-emphasis
    x = signal.lfilter([1.0, -a], [1.0], x).astype(np.float32)
    if rng.random() < (0.6 if heavy else 0.25):  # room: exponentially decaying noise tail
        rt60 = rng.uniform(0.1, 0.7)
        t = np.arange(int(rt60 * sr)) / sr
        rir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60) * rng.uniform(0.05, 0.4)
        rir[0] = 1.0
        x = signal.fftconvolve(x, rir.astype(np.float32))[: len(x)].astype(np.float32)
    if rng.random() < (0.5 if heavy else 0.2):
        sos = signal.butter(4, rng.uniform(3000, 7500), "low", fs=sr, output="sos")
        x = signal.sosfilt(sos, x).astype(np.float32)
    if rng.random() < 0.4:
        sos = signal.butter(2, rng.uniform(60, 300), "high", fs=sr, output="sos")
        x = signal.sosfilt(sos, x).astype(np.float32)
    if heavy and rng.random() < 0.15:  # telephone: 8 kHz and 8-bit mu-law
        x = soxr.resample(soxr.resample(x, sr, 8000), 8000, sr)[: len(x)].astype(np.float32)
        mu = 255.0
        peak = np.abs(x).max() + 1e-9
        y = np.sign(x) * np.log1p(mu * np.abs(x / peak)) / np.log1p(mu)
        y = np.round(y * 127) / 127
        x = (np.sign(y) * ((1 + mu) ** np.abs(y) - 1) / mu * peak).astype(np.float32)
    rms = float(np.sqrt(np.mean(x ** 2)) + 1e-9)
    if rng.random() < 0.35:  # mains hum and low rumble, common in real recordings
        t = np.arange(len(x)) / sr
        f0 = 50.0 if rng.random() < 0.5 else 60.0
        hum = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3))
                  for k in range(1, 5))
        sos = signal.butter(2, rng.uniform(80, 200), "low", fs=sr, output="sos")
        rumble = signal.sosfilt(sos, rng.standard_normal(len(x)))
        low = hum + rumble / (rumble.std() + 1e-9) * rng.uniform(0, 1)
        x = (x + low / (np.std(low) + 1e-9) * rms * 10 ** (-rng.uniform(0, 25) / 20)).astype(np.float32)
    if rng.random() < (0.8 if heavy else 0.5):
        snr = rng.uniform(5, 35) if heavy else rng.uniform(25, 50)
        x = x + _coloured_noise(rng, len(x)) * rms / (10 ** (snr / 20))
    level = 10 ** (rng.uniform(-40, -12) / 20)
    x = x * (level / (np.sqrt(np.mean(x ** 2)) + 1e-9))
    return np.clip(x, -1.0, 1.0).astype(np.float32)


TEACHER: str | None = None  # --teacher: label with the file network's curves instead of the phone rule
_TEACHER_NET = None


def teacher_curves(x: np.ndarray, n: int) -> np.ndarray:
    """The teacher (file) network's 52-channel curves for ``n`` 10 ms frames of ``x``: distillation labels."""
    global _TEACHER_NET
    from kinemo.protocol import ARKIT_INDEX
    from kinemo.voice.net import load_voice_net
    from kinemo.voice.visemes import NEUTRAL

    if _TEACHER_NET is None:
        _TEACHER_NET = load_voice_net(TEACHER)
    net = _TEACHER_NET
    net.reset()
    curves = net.push(np.zeros((n, 1), np.float32), x, final=True)[:n]
    out = np.repeat(NEUTRAL[None], n, axis=0)
    out[: len(curves), [ARKIT_INDEX[c] for c in net.channels]] = curves
    return out


def example(audio: np.ndarray, rate: int, phones, rng: np.random.Generator, heavy: bool):
    """Resample with a random speed factor, pad with silence, augment → (features, labels)."""
    speed = float(rng.uniform(0.88, 1.14))
    x = soxr.resample(audio.astype(np.float32), rate * speed, SAMPLE_RATE).astype(np.float32)
    pad_l, pad_r = int(rng.uniform(0.1, 0.7) * SAMPLE_RATE), int(rng.uniform(0.2, 0.7) * SAMPLE_RATE)
    x = np.concatenate([np.zeros(pad_l, np.float32), x, np.zeros(pad_r, np.float32)])
    shift = pad_l / SAMPLE_RATE
    timed = [(s / speed + shift, e / speed + shift, p) for s, e, p in phones]
    timed = [(0.0, shift, "sil"), *timed, (timed[-1][1], len(x) / SAMPLE_RATE, "sil")]
    x = augment(x, rng, heavy)
    feats = log_mel(x)
    times = np.arange(len(feats)) / FRAME_RATE
    labels = phone_curves(timed, times)
    if TEACHER:
        return (feats.astype(np.float16), labels.astype(np.float16), phone_ids(timed, times),
                teacher_curves(x, len(feats)).astype(np.float16))
    return feats.astype(np.float16), labels.astype(np.float16), phone_ids(timed, times)


# --- workers ----------------------------------------------------------------------------

def _espeak_job(args):
    seed, texts = args
    from voice_synth import Espeak, espeak_voices

    rng = np.random.default_rng(seed)
    es = Espeak()
    accents, variants = espeak_voices()
    out = []
    for text in texts:
        voice = str(rng.choice(accents))
        if variants and rng.random() < 0.85:
            voice += "+" + str(rng.choice(variants))
        try:
            u = es.say(text, voice, rate=int(rng.uniform(120, 240)), pitch=int(rng.uniform(15, 85)),
                       pitch_range=int(rng.uniform(10, 90)))
        except ValueError:
            continue
        if len(u.audio) < u.rate * 0.3 or len(u.phones) < 3:
            continue
        for heavy in (False, True):
            out.append((example(u.audio, u.rate, u.phones, rng, heavy), f"espeak:{voice}"))
    return out


def _festival_job(args):
    seed, texts, voice = args
    from voice_synth import festival_batch

    rng = np.random.default_rng(seed)
    out = []
    for u in festival_batch(texts, voice, stretch=float(rng.uniform(0.8, 1.2))):
        if len(u.audio) < u.rate * 0.3 or len(u.phones) < 3:
            continue
        for heavy in (False, True):
            out.append((example(u.audio, u.rate, u.phones, rng, heavy), f"festival:{voice}"))
    return out


def save_shard(path: Path, examples: list) -> int:
    """Features, the labels made now, and per-frame phone ids (to relabel without re-synthesising).

    Each example is ``((features, labels, phone ids[, teacher curves]), source)``; with
    teacher curves the shard also carries them as ``bs52`` (what training then learns).
    """
    lengths = np.array([len(e[0][0]) for e in examples], np.int64)
    arrays = dict(features=np.concatenate([e[0][0] for e in examples]),
                  labels=np.concatenate([e[0][1] for e in examples]),
                  phones=np.concatenate([e[0][2] for e in examples]),
                  lengths=lengths, sources=np.array([e[1] for e in examples]))
    if all(len(e[0]) > 3 for e in examples):
        arrays["bs52"] = np.concatenate([e[0][3] for e in examples])
        arrays["mask"] = np.ones(int(lengths.sum()), bool)
    np.savez(path, **arrays)
    return int(lengths.sum())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--utterances", type=int, default=4000, help="sentences to synthesise (2 examples each)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "build/voice/data"), help="folder for the shards")
    ap.add_argument("--teacher", metavar="ONNX", help="label with this file network's curves (distillation), "
                    "e.g. inference/kinemo/assets/voice_file.onnx")
    args = ap.parse_args(argv)
    global TEACHER
    TEACHER = args.teacher

    rng = np.random.default_rng(args.seed)
    prose = prose_sentences()
    texts = [grid_sentence(rng) if rng.random() < 0.5 else str(rng.choice(prose)) for _ in range(args.utterances)]
    n_fest = int(0.4 * len(texts))
    from voice_synth import FESTIVAL_VOICES

    jobs = []
    batch = 40
    fest = [(_festival_job, (args.seed * 1000 + k, texts[i:i + batch], FESTIVAL_VOICES[k % 3]))
            for k, i in enumerate(range(0, n_fest, batch))]
    esp = [(_espeak_job, (args.seed * 1000 + 500 + k, texts[i:i + batch]))
           for k, i in enumerate(range(n_fest, len(texts), batch))]
    while fest or esp:  # interleave, so any prefix of the shards mixes both engines
        for pool_ in (esp, esp, fest):
            if pool_:
                jobs.append(pool_.pop(0))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    from kinemo.progress import Progress

    bar = Progress("synthesising", len(jobs))
    shard, total = [], 0
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(fn, a) for fn, a in jobs]
        for k, fut in enumerate(futures):
            shard.extend(fut.result())
            bar.update()
            if len(shard) >= 400 or k == len(futures) - 1:
                total += save_shard(out_dir / f"shard_{k:04d}.npz", shard)
                shard = []
    bar.close()
    print(f"{total / FRAME_RATE / 3600:.2f} h of audio in {time.perf_counter() - t0:.0f} s → {out_dir}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
