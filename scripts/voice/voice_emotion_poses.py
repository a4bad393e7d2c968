"""Measure the built-in emotions' poses (``inference/kinemo/assets/emotion_poses.npz``) on real faces.

  python scripts/expression/expression_data.py     # the tracker's outputs for the photos, cached once
  python scripts/voice/voice_emotion_poses.py

A pose is what ``--emotion NAME`` adds to speech at intensity 1: how MediaPipe scores real posed
faces of that emotion minus how it scores neutral ones, each person weighing the same, over
the labelled photos we may train on (``use == train``: muxspace and the London Set). The jaw,
the lips' closure and the gaze stay the voice's and are left out. ``kinemo.voice.emotion`` then
raises each emotion's FACS channels to a floor so it reads as that emotion.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "expression"))
import expression_data as data  # noqa: E402

from kinemo.protocol import ARKIT_NAMES, EMOTIONS  # noqa: E402
from kinemo.voice.emotion import ASSET  # noqa: E402

VOICE_OWNS = ("jaw", "mouthClose", "eyeLook")  # prefixes of channels the pose never touches


def person_mean(bs: np.ndarray, labels: np.ndarray, persons: np.ndarray, emotion: str) -> np.ndarray:
    m = labels == emotion
    return np.mean([bs[m & (persons == p)].mean(0) for p in np.unique(persons[m])], axis=0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ASSET)
    args = ap.parse_args(argv)
    rows = data.load_photos()
    keep = rows["present"] & (rows["use"] == "train")
    bs, labels = rows["blendshapes"][keep].astype(np.float64), rows["label"][keep]
    persons = np.array([data.person_of(str(p).split("/")[-1]) for p in rows["path"][keep]])
    neutral = person_mean(bs, labels, persons, "neutral")
    free = np.array([not n.startswith(VOICE_OWNS) for n in ARKIT_NAMES])
    names, poses = [], []
    for emotion in EMOTIONS[1:]:
        pose = np.where(free, person_mean(bs, labels, persons, emotion) - neutral, 0.0)
        names.append(emotion)
        poses.append(pose)
        top = sorted(((abs(v), n, v) for n, v in zip(ARKIT_NAMES, pose, strict=True)), reverse=True)[:6]
        print(f"{emotion:8s} ({int(np.sum(labels == emotion))} photos): "
              + ", ".join(f"{n} {v:+.2f}" for _, n, v in top))
    np.savez(args.out, names=np.array(names), poses=np.array(poses, np.float32))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
