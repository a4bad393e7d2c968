"""Speech synthesis with exact phone timing, for the voice model's training data.

Two engines, both Debian packages (scripts/setup_env.d/voice.sh installs them):

* espeak-ng through its C library (ctypes): synchronous synthesis with phoneme events,
  each carrying the sample position where the phoneme starts. Many voices and
  variants, any pitch and rate.
* festival (kal, ked diphone voices and the slt HTS voice): segment end times from
  the utterance structure, many sentences per process.

Both return ``Utterance(audio float32, rate, phones[(start_s, end_s, arpabet)])``; phone
names are folded onto ARPAbet (``kinemo.voice.visemes.PHONES``) here.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf


@dataclass
class Utterance:
    audio: np.ndarray  # float32 mono
    rate: int
    phones: list[tuple[float, float, str]]  # (start s, end s, ARPAbet or "sil")
    voice: str


# --- espeak-ng --------------------------------------------------------------------------

#: espeak-ng English phoneme mnemonics → ARPAbet (stress marks and length marks removed first).
ESPEAK_TO_ARPA = {
    "a": "ae", "a#": "ah", "aa": "aa", "A:": "aa", "A@": "aa", "A": "aa", "aI": "ay", "aI@": "ay",
    "aI3": "ay", "aU": "aw", "aU@": "aw", "@": "ah", "@2": "ah", "@5": "ah", "@L": "ah", "3": "er",
    "3:": "er", "@r": "er", "E": "eh", "E2": "eh", "e@": "eh", "eI": "ey", "I": "ih", "I2": "ih",
    "I#": "ih", "i": "iy", "i:": "iy", "i@": "iy", "i@3": "iy", "0": "aa", "O": "ao", "O:": "ao",
    "O@": "ao", "o@": "ao", "OI": "oy", "oU": "ow", "oU#": "ow", "V": "ah", "U": "uh", "U@": "uh",
    "u:": "uw", "u": "uw", "@U": "ow", "aa@": "aa", "0@": "aa", "IR": "ih", "VR": "ah",
    "p": "p", "b": "b", "t": "t", "d": "d", "k": "k", "g": "g", "m": "m", "n": "n", "N": "ng",
    "f": "f", "v": "v", "T": "th", "D": "dh", "s": "s", "z": "z", "S": "sh", "Z": "zh", "h": "hh",
    "tS": "ch", "dZ": "jh", "l": "l", "r": "r", "r-": "r", "j": "y", "w": "w", "t#": "t", "d#": "d",
    "n-": "n", "l/2": "l", "?": "t", "x": "hh", "W": "w", "z/2": "z", "_": "sil", "_:": "sil",
    "_!": "sil", "_|": "sil", "t2": "t", "d2": "d", "k2": "k",
}


def _fold_espeak(name: str) -> str | None:
    n = name.replace("'", "").replace(",", "").replace("=", "").strip()
    if not n:
        return None
    if n in ESPEAK_TO_ARPA:
        return ESPEAK_TO_ARPA[n]
    if n.rstrip(":") in ESPEAK_TO_ARPA:
        return ESPEAK_TO_ARPA[n.rstrip(":")]
    if n.startswith("_"):
        return "sil"
    return ESPEAK_TO_ARPA.get(n[:2]) or ESPEAK_TO_ARPA.get(n[:1])


class _EspeakEvent(ctypes.Structure):
    class _Id(ctypes.Union):
        _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]

    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _Id)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_EspeakEvent))
_EVENT_PHONEME, _EVENT_END, _EVENT_LIST_TERMINATED = 7, 5, 0
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4


class Espeak:
    """One espeak-ng instance (the library is process-global: make one)."""

    def __init__(self) -> None:
        self.lib = ctypes.CDLL("libespeak-ng.so.1")
        self.rate = self.lib.espeak_Initialize(2, 0, None, 0x0001 | 0x8000)  # synchronous, phoneme events
        if self.rate <= 0:
            raise RuntimeError("espeak-ng failed to initialise")
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, str]] = []
        self._samples = 0
        self._cb = _CALLBACK(self._callback)
        self.lib.espeak_SetSynthCallback(self._cb)
        self.lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                          ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]

    def _callback(self, wav, n, events) -> int:
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type == _EVENT_PHONEME:
                self._events.append((ev.audio_position, ev.id.string.decode("ascii", "replace")))
            i += 1
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).astype(np.float32) / 32768.0)
            self._samples += n
        return 0

    def say(self, text: str, voice: str = "en-us", *, rate: int = 175, pitch: int = 50,
            pitch_range: int = 50) -> Utterance:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice}")
        self.lib.espeak_SetParameter(_PARAM_RATE, int(rate), 0)
        self.lib.espeak_SetParameter(_PARAM_PITCH, int(pitch), 0)
        self.lib.espeak_SetParameter(_PARAM_RANGE, int(pitch_range), 0)
        self._chunks, self._events, self._samples = [], [], 0
        data = text.encode() + b"\0"
        self.lib.espeak_Synth(data, len(data), 0, 1, 0, 0, None, None)
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        dur = len(audio) / self.rate
        starts = [(ms / 1000.0, _fold_espeak(name)) for ms, name in self._events]
        starts = [(t, p) for t, p in starts if p is not None]
        phones = []
        for k, (t, p) in enumerate(starts):
            end = starts[k + 1][0] if k + 1 < len(starts) else dur
            if end > t:
                phones.append((t, end, p))
        return Utterance(audio, self.rate, _with_silence(phones, dur), voice)


# --- festival ---------------------------------------------------------------------------

FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
_FEST_TO_ARPA = {"pau": "sil", "h#": "sil", "ax": "ah", "axr": "er", "ix": "ih", "el": "l", "em": "m",
                 "en": "n", "dx": "t", "nx": "n", "hv": "hh"}


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", " ").replace('"', " ") + '"'


def festival_batch(texts: list[str], voice: str, *, stretch: float = 1.0) -> list[Utterance]:
    """Synthesise many sentences in one festival process."""
    with tempfile.TemporaryDirectory(prefix="kinemo-fest-") as tmp:
        lines = [f"(voice_{voice})", f"(Parameter.set 'Duration_Stretch {stretch:.3f})"]
        for i, text in enumerate(texts):
            lines.append(f"(set! utt (Utterance Text {_scheme_string(text)}))")
            lines.append("(utt.synth utt)")
            lines.append(f"(utt.save.wave utt \"{tmp}/{i}.wav\" 'riff)")
            lines.append(f"(utt.save.segs utt \"{tmp}/{i}.segs\")")
        script = Path(tmp) / "run.scm"
        script.write_text("\n".join(lines) + "\n")
        subprocess.run(["festival", "-b", str(script)], check=True, capture_output=True, timeout=600)
        out = []
        for i in range(len(texts)):
            wav, segs = Path(tmp) / f"{i}.wav", Path(tmp) / f"{i}.segs"
            if not wav.exists() or not segs.exists():
                continue
            audio, rate = sf.read(wav, dtype="float32")
            phones, start = [], 0.0
            for line in segs.read_text().splitlines():
                parts = line.split()
                if len(parts) != 3 or parts[0] == "#":
                    continue
                end, name = float(parts[0]), parts[2]
                phone = _FEST_TO_ARPA.get(name, name)
                if end > start:
                    phones.append((start, end, phone))
                start = end
            out.append(Utterance(audio, int(rate), _with_silence(phones, len(audio) / rate), voice))
        return out


def _with_silence(phones: list[tuple[float, float, str]], duration: float) -> list[tuple[float, float, str]]:
    """Fill gaps and the tail with silence so the phones tile [0, duration]."""
    out, t = [], 0.0
    for s, e, p in phones:
        if s > t + 1e-4:
            out.append((t, s, "sil"))
        s = max(s, t)
        if e > s:
            out.append((s, e, p))
            t = e
    if duration > t + 1e-4:
        out.append((t, duration, "sil"))
    return out


def espeak_voices() -> list[str]:
    """English voices × variants available here."""
    variants_dir = Path("/usr/lib/x86_64-linux-gnu/espeak-ng-data/voices/!v")
    if not variants_dir.is_dir():
        variants_dir = Path("/usr/share/espeak-ng-data/voices/!v")
    variants = sorted(p.name for p in variants_dir.iterdir()) if variants_dir.is_dir() else []
    return ["en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-gb-x-gbclan"], variants


if __name__ == "__main__":  # quick look: python scripts/voice/voice_synth.py "some text"
    import sys

    text = " ".join(sys.argv[1:]) or "Place blue at F two now."
    es = Espeak()
    u = es.say(text, "en-us+m3")
    print("espeak", u.rate, len(u.audio) / u.rate, u.phones)
    for v in FESTIVAL_VOICES:
        (f,) = festival_batch([text], v)
        print(v, f.rate, len(f.audio) / f.rate, f.phones)
    os.makedirs("build/voice", exist_ok=True)
    sf.write("build/voice/espeak_demo.wav", u.audio, u.rate)
