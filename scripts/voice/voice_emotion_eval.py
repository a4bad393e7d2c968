"""Emotion on speech, measured: does ``--emotion`` bring the speaking face closer to the real one?

  python scripts/voice/voice_emotion_eval.py [--intensities 0.5 1.0]

Clips: the emotional talking faces we may measure on — MEAD (eval only) and CREMA-D actor
1001 (six acted emotions) from ``../shared/data/talking/wild`` — with MediaPipe's labels of
the real face (``labels/wild/CLIP.npz``). Each clip's sound goes through the file engine
(``kinemo audio``'s path) without an emotion and with the clip's true emotion at each
intensity. Printed per clip and on average, in the same run:

- upper-face error: mean absolute error of the brow, eye (blink, squint, wide), cheek and nose
  channels against the real face — lower is closer;
- the emotion's key channels (FACS; ``kinemo.voice.emotion.KEY_CHANNELS``): the real face's
  mean, ours without and with the emotion;
- jaw r: correlation of jawOpen with the real face (kept), and with our own neutral take.

No emotion pose was fitted to these clips: the poses are measured on the training photos
(``voice_emotion_poses.py``), each emotion's FACS channels floored (``kinemo.voice.emotion.builtin_poses``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "inference"))

from kinemo.protocol import ARKIT_INDEX, ARKIT_NAMES  # noqa: E402
from kinemo.voice.audio_io import AudioFileSource  # noqa: E402
from kinemo.voice.emotion import KEY_CHANNELS  # noqa: E402
from kinemo.voice.engine import VoiceAnimator, VoiceAnimatorOptions  # noqa: E402
from kinemo.voice.net import FILE_MODEL  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "talking"
MEAD = {"happy": "happy", "sad": "sad", "surprised": "surprise", "angry": "anger", "fear": "fear",
        "disgusted": "disgust", "neutral": "neutral"}
CREMAD = {"HAP": "happy", "SAD": "sad", "ANG": "anger", "FEA": "fear", "DIS": "disgust", "NEU": "neutral"}
UPPER = [i for i, n in enumerate(ARKIT_NAMES)
         if n.startswith(("brow", "cheek", "noseSneer")) or n.startswith(("eyeBlink", "eyeSquint", "eyeWide"))]
JAW = ARKIT_INDEX["jawOpen"]


def clips() -> list[tuple[Path, str, str]]:
    out = []
    for p in sorted((SHARED / "wild").glob("mead_*.mp4")):
        emotion = MEAD.get(p.stem.split("_")[2])
        if emotion:
            out.append((p, emotion, "MEAD (eval)"))
    for p in sorted((SHARED / "wild").glob("cremad_1001_*.mp4")):
        out.append((p, CREMAD[p.stem.rsplit("_", 1)[1]], "CREMA-D 1001"))
    return out


def animate(animator: VoiceAnimator, path: Path, emotion: str, intensity: float) -> tuple[np.ndarray, np.ndarray]:
    animator.reset()
    animator.emotion.set(emotion, intensity, immediately=True)
    frames = list(animator.process_file(AudioFileSource(path)))
    return np.array([f.time for f in frames]), np.stack([f.blendshapes for f in frames])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--intensities", type=float, nargs="+", default=[0.5, 1.0])
    args = ap.parse_args(argv)
    animator = VoiceAnimator.create_from_options(VoiceAnimatorOptions(model_path=str(FILE_MODEL), fps=25.0))
    rows = []
    print(f"{'clip':28s} {'emotion':8s} | upper-face MAE: none " + " ".join(f"I={i:g}" for i in args.intensities)
          + " | key channels real / none / " + " / ".join(f"I={i:g}" for i in args.intensities)
          + " | jaw r real: none, " + ", ".join(f"I={i:g}" for i in args.intensities))
    for path, emotion, source in clips():
        with np.load(SHARED / "labels" / "wild" / f"{path.stem}.npz") as z:
            t_real, real = z["t"].astype(float), z["bs"].astype(np.float64)
        takes = [animate(animator, path, "neutral", 0.0)] + [animate(animator, path, emotion, i)
                                                              for i in args.intensities]
        ours = [np.stack([np.interp(t_real, t, b[:, k]) for k in range(b.shape[1])], 1) for t, b in takes]
        keys = [ARKIT_INDEX[c] for c in KEY_CHANNELS.get(emotion, ())] or UPPER
        mae = [float(np.abs(o[:, UPPER] - real[:, UPPER]).mean()) for o in ours]
        key = [float(real[:, keys].mean())] + [float(o[:, keys].mean()) for o in ours]
        jaw = [float(np.corrcoef(o[:, JAW], real[:, JAW])[0, 1]) for o in ours]
        rows.append((source, emotion, mae, key, jaw))
        print(f"{path.stem:28s} {emotion:8s} | " + " ".join(f"{m:.3f}" for m in mae) + " | "
              + " / ".join(f"{k:.2f}" for k in key) + " | " + ", ".join(f"{j:.2f}" for j in jaw), flush=True)
    for source in sorted({r[0] for r in rows}):
        sel = [r for r in rows if r[0] == source and r[1] != "neutral"]
        mae = np.mean([r[2] for r in sel], axis=0)
        key = np.mean([r[3] for r in sel], axis=0)
        jaw = np.mean([r[4] for r in sel], axis=0)
        print(f"\n{source}, {len(sel)} emotional clips (neutral clips left out of the means):")
        print(f"  upper-face MAE  none {mae[0]:.3f}  "
              + "  ".join(f"I={i:g} {m:.3f}" for i, m in zip(args.intensities, mae[1:], strict=True)))
        print(f"  key channels    real {key[0]:.3f}  none {key[1]:.3f}  "
              + "  ".join(f"I={i:g} {k:.3f}" for i, k in zip(args.intensities, key[2:], strict=True)))
        print(f"  jaw r (real)    none {jaw[0]:.3f}  "
              + "  ".join(f"I={i:g} {j:.3f}" for i, j in zip(args.intensities, jaw[1:], strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
