"""Phones → ARKit curves: the labelling rule for synthetic speech.

Each ARPAbet phone has a mouth/jaw target in the value range MediaPipe's blendshape model
gives a real talking face (MediaPipe is what labels real video, and what users compare
against). A phone pulls the mouth towards its target with a *dominance* that decays
outside its segment (Cohen & Massaro's coarticulation model): lip closures and rounding
dominate their neighbours, while /h/, /t/, /k/ borrow their lip shape from the vowels
around them. Channels no phone moves keep the neutral pose.
"""

from __future__ import annotations

import numpy as np

from kinemo.protocol import ARKIT_INDEX, NUM_BLENDSHAPES

#: The channels speech moves; the network predicts these (plus landmark coefficients).
SPEECH_CHANNELS: tuple[str, ...] = (
    "jawOpen", "jawForward", "mouthClose", "mouthFunnel", "mouthPucker", "mouthRollLower", "mouthRollUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "mouthStretchLeft", "mouthStretchRight", "mouthSmileLeft", "mouthSmileRight",
    "mouthShrugLower", "mouthShrugUpper", "mouthDimpleLeft", "mouthDimpleRight",
)
SPEECH_INDEX = np.array([ARKIT_INDEX[n] for n in SPEECH_CHANNELS], np.int64)

#: Every channel a talking face moves, which a network trained on real faces predicts:
#: jaw, mouth, cheeks and nose (MediaPipe scores no tongue). The phone rule covers the
#: SPEECH_CHANNELS subset only.
VOICE_CHANNELS: tuple[str, ...] = tuple(
    n for n in ARKIT_INDEX if n.startswith(("jaw", "mouth", "cheek", "noseSneer")))

#: A relaxed face at rest, as MediaPipe's blendshape model scores it (all 52, ARKit order).
NEUTRAL = np.zeros(NUM_BLENDSHAPES, np.float32)
for _name, _value in {
    "eyeBlinkLeft": 0.12, "eyeBlinkRight": 0.12, "eyeLookDownLeft": 0.15, "eyeLookDownRight": 0.15,
    "eyeLookInLeft": 0.06, "eyeLookInRight": 0.06, "eyeLookOutLeft": 0.06, "eyeLookOutRight": 0.06,
    "eyeLookUpLeft": 0.06, "eyeLookUpRight": 0.06, "eyeSquintLeft": 0.25, "eyeSquintRight": 0.25,
    "eyeWideLeft": 0.03, "eyeWideRight": 0.03, "browDownLeft": 0.05, "browDownRight": 0.05,
    "browInnerUp": 0.06, "browOuterUpLeft": 0.03, "browOuterUpRight": 0.03,
    "jawOpen": 0.03, "mouthClose": 0.02, "mouthFunnel": 0.005, "mouthPucker": 0.01, "mouthRollLower": 0.01,
    "mouthRollUpper": 0.03, "mouthPressLeft": 0.08, "mouthPressRight": 0.08, "mouthLowerDownLeft": 0.01,
    "mouthLowerDownRight": 0.01, "mouthUpperUpLeft": 0.01, "mouthUpperUpRight": 0.01,
    "mouthStretchLeft": 0.003, "mouthStretchRight": 0.003, "mouthSmileLeft": 0.02, "mouthSmileRight": 0.02,
    "mouthShrugLower": 0.01, "mouthShrugUpper": 0.02, "mouthDimpleLeft": 0.02, "mouthDimpleRight": 0.02,
    "jawLeft": 0.004, "mouthLeft": 0.002, "mouthRight": 0.002,
}.items():
    NEUTRAL[ARKIT_INDEX[_name]] = _value

# Targets, in short names; L/R pairs are symmetric. Unlisted channels stay at NEUTRAL.
_SHORT = {"J": "jawOpen", "JF": "jawForward", "C": "mouthClose", "F": "mouthFunnel", "P": "mouthPucker",
          "RL": "mouthRollLower", "RU": "mouthRollUpper", "PR": "mouthPress", "LD": "mouthLowerDown",
          "UU": "mouthUpperUp", "ST": "mouthStretch", "SM": "mouthSmile", "SL": "mouthShrugLower",
          "SU": "mouthShrugUpper", "DM": "mouthDimple"}
_BILABIAL = dict(J=0.042, C=0.08, RL=0.08, RU=0.10, PR=0.16, P=0.03, LD=0.0, UU=0.0, SU=0.03, SL=0.02)
_LABIODENTAL = dict(J=0.084, C=0.04, RL=0.22, RU=0.06, UU=0.03, PR=0.05, LD=0.0)
_POSTALVEOLAR = dict(J=0.112, C=0.03, F=0.06, P=0.15, RU=0.06, PR=0.02)
# MediaPipe's blendshape model, unlike an animator's rig, also raises mouthClose and
# mouthRollUpper while the jaw opens in speech and releases mouthPress, so vowels carry
# small values on those channels; its jawOpen spans about 0.02 (rest) to 0.45 (open
# vowels), while lowerDown/upperUp/stretch/shrug barely move in neutral speech.
_TARGETS: dict[str, dict[str, float]] = {
    "sil": {},
    "aa": dict(J=0.448, C=0.05, RU=0.07, PR=0.01, LD=0.03, UU=0.015, ST=0.005, SM=0.01),
    "ae": dict(J=0.392, C=0.04, RU=0.07, PR=0.01, LD=0.04, UU=0.025, ST=0.01, SM=0.04),
    "ah": dict(J=0.308, C=0.04, RU=0.06, PR=0.02, LD=0.02, UU=0.015),
    "ao": dict(J=0.392, C=0.04, RU=0.06, F=0.03, P=0.08, PR=0.01, LD=0.015),
    "aw": dict(J=0.378, C=0.04, RU=0.06, F=0.03, P=0.10, PR=0.01, LD=0.02),
    "ay": dict(J=0.364, C=0.04, RU=0.07, PR=0.01, LD=0.025, UU=0.015, SM=0.04),
    "eh": dict(J=0.28, C=0.04, RU=0.06, PR=0.02, LD=0.025, UU=0.015, ST=0.01, SM=0.04),
    "er": dict(J=0.196, C=0.03, RU=0.06, F=0.04, P=0.12, PR=0.02),
    "ey": dict(J=0.238, C=0.03, RU=0.06, PR=0.02, LD=0.02, UU=0.015, ST=0.01, SM=0.06),
    "ih": dict(J=0.182, C=0.03, RU=0.05, PR=0.03, LD=0.015, UU=0.01, ST=0.01, SM=0.05),
    "iy": dict(J=0.126, C=0.03, RU=0.05, PR=0.03, LD=0.01, UU=0.01, ST=0.015, SM=0.07),
    "ow": dict(J=0.252, C=0.04, RU=0.06, F=0.05, P=0.22, PR=0.01),
    "oy": dict(J=0.28, C=0.04, RU=0.06, F=0.04, P=0.16, PR=0.01),
    "uh": dict(J=0.168, C=0.03, RU=0.05, F=0.04, P=0.18, PR=0.02),
    "uw": dict(J=0.112, C=0.03, RU=0.05, F=0.05, P=0.32, PR=0.02),
    "p": _BILABIAL, "b": _BILABIAL, "m": _BILABIAL,
    "f": _LABIODENTAL, "v": _LABIODENTAL,
    "th": dict(J=0.14, C=0.03, RU=0.05, LD=0.015, PR=0.02), "dh": dict(J=0.14, C=0.03, RU=0.05, LD=0.015, PR=0.02),
    "t": dict(J=0.126, C=0.03, RU=0.05, ST=0.005, SM=0.03), "d": dict(J=0.126, C=0.03, RU=0.05, ST=0.005, SM=0.03),
    "n": dict(J=0.112, C=0.03, RU=0.05, SM=0.03), "l": dict(J=0.154, C=0.03, RU=0.05, SM=0.02),
    "s": dict(J=0.084, C=0.03, RU=0.05, ST=0.01, SM=0.05), "z": dict(J=0.084, C=0.03, RU=0.05, ST=0.01, SM=0.05),
    "k": dict(J=0.168, C=0.03, RU=0.05), "g": dict(J=0.168, C=0.03, RU=0.05), "ng": dict(J=0.14, C=0.03, RU=0.05),
    "sh": _POSTALVEOLAR, "zh": _POSTALVEOLAR, "ch": _POSTALVEOLAR, "jh": _POSTALVEOLAR,
    "r": dict(J=0.112, C=0.03, RU=0.05, F=0.03, P=0.16),
    "w": dict(J=0.07, C=0.03, RU=0.05, F=0.04, P=0.35, PR=0.02),
    "y": dict(J=0.098, C=0.03, RU=0.05, SM=0.05, ST=0.01),
    "hh": dict(J=0.21, C=0.03, RU=0.05),
}
#: How strongly a phone imposes its shape on its neighbours (coarticulation resistance).
_DOMINANCE = {"p": 3.0, "b": 3.0, "m": 3.0, "f": 2.5, "v": 2.5, "w": 2.0, "uw": 1.6, "ow": 1.3, "sh": 1.5,
              "zh": 1.5, "ch": 1.5, "jh": 1.5, "r": 1.2, "sil": 1.0, "hh": 0.15, "t": 0.5, "d": 0.5,
              "n": 0.5, "k": 0.4, "g": 0.4, "ng": 0.4, "l": 0.6, "s": 0.7, "z": 0.7, "th": 0.6, "dh": 0.5,
              "y": 0.8}

PHONES: tuple[str, ...] = tuple(_TARGETS)  # index = phone id in stored training data


def _target_vector(spec: dict[str, float]) -> np.ndarray:
    v = NEUTRAL[SPEECH_INDEX].copy()
    for short, value in spec.items():
        name = _SHORT[short]
        for full in (name, name + "Left", name + "Right"):
            if full in SPEECH_CHANNELS:
                v[SPEECH_CHANNELS.index(full)] = value
    return v


TARGETS = {p: _target_vector(spec) for p, spec in _TARGETS.items()}


TARGET_TABLE = np.stack([TARGETS[p] for p in PHONES])  # (len(PHONES), len(SPEECH_CHANNELS))


def phone_weights(phones: list[tuple[float, float, str]], times: np.ndarray, *,
                  spread: float = 0.045) -> np.ndarray:
    """How much each phone shapes the mouth at each time: (len(times), len(PHONES)), rows sum to 1.

    Dominance is flat inside a phone's segment and decays exponentially (``spread``
    seconds) outside it; times no phone reaches are silence. The curves are these
    weights times the phones' targets — kept separate so evaluation can fit targets.
    """
    times = np.asarray(times, np.float64)
    num = np.zeros((len(times), len(PHONES)))
    den = np.full(len(times), 1e-9)
    for start, end, phone in phones:
        if phone not in TARGETS:
            continue
        centre, half = 0.5 * (start + end), 0.5 * (end - start)
        dist = np.maximum(np.abs(times - centre) - half, 0.0)
        near = dist < 8 * spread
        d = _DOMINANCE.get(phone, 1.0) * np.exp(-dist[near] / spread)
        num[near, PHONES.index(phone)] += d
        den[near] += d
    out = num / den[:, None]
    out[den < 1e-6] = 0.0
    out[den < 1e-6, PHONES.index("sil")] = 1.0
    return out


def smooth_curves(curves: np.ndarray, times: np.ndarray, smooth: float = 0.02) -> np.ndarray:
    """Gaussian of ``smooth`` seconds along time: the facial tissue's inertia (and a camera's exposure)."""
    times = np.asarray(times, np.float64)
    if smooth <= 0 or len(times) < 2:
        return curves
    sigma = smooth / float(times[1] - times[0])
    k = np.arange(-int(3 * sigma) - 1, int(3 * sigma) + 2)
    w = np.exp(-0.5 * (k / sigma) ** 2)
    w /= w.sum()
    padded = np.pad(curves, ((len(k) // 2, len(k) // 2), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, c], w, mode="valid") for c in range(curves.shape[1])], axis=1)


def phone_curves(phones: list[tuple[float, float, str]], times: np.ndarray, *, spread: float = 0.045,
                 smooth: float = 0.02) -> np.ndarray:
    """Speech-channel curves (len(times), len(SPEECH_CHANNELS)) for timed phones: the labelling rule."""
    weights = phone_weights(phones, times, spread=spread)
    return smooth_curves(weights @ TARGET_TABLE, times, smooth).astype(np.float32)


def full_pose(speech: np.ndarray) -> np.ndarray:
    """Speech-channel values (…, len(SPEECH_CHANNELS)) → all 52 channels (rest = NEUTRAL)."""
    speech = np.asarray(speech, np.float32)
    out = np.broadcast_to(NEUTRAL, (*speech.shape[:-1], NUM_BLENDSHAPES)).copy()
    out[..., SPEECH_INDEX] = speech
    return out


def phones_from_ids(ids: np.ndarray, rate: float) -> list[tuple[float, float, str]]:
    """Per-frame phone ids (as stored in the training shards) → timed phone segments."""
    ids = np.asarray(ids)
    if len(ids) == 0:
        return []
    cuts = np.flatnonzero(np.diff(ids)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(ids)]])
    return [(s / rate, e / rate, PHONES[int(ids[s])]) for s, e in zip(starts, ends, strict=True)]


def phone_ids(phones: list[tuple[float, float, str]], times: np.ndarray) -> np.ndarray:
    """Timed phones → the id of the phone under each time (silence where none)."""
    out = np.zeros(len(times), np.int16)  # 0 = "sil"
    for start, end, phone in phones:
        if phone in TARGETS:
            out[(times >= start) & (times < end)] = PHONES.index(phone)
    return out
