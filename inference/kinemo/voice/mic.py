"""Microphone input (PortAudio via sounddevice) → 16 kHz mono blocks, as a sound card delivers them."""

from __future__ import annotations

import queue
from collections.abc import Iterator

import numpy as np

from kinemo.errors import KinemoError
from kinemo.voice.audio_io import _Resampler
from kinemo.voice.features import SAMPLE_RATE


def _sounddevice():
    try:
        import sounddevice as sd
    except OSError as e:  # PortAudio itself is missing
        raise KinemoError(f"microphone input needs PortAudio (apt-get install libportaudio2): {e}") from None
    return sd


def list_devices() -> str:
    sd = _sounddevice()
    lines = [f"{i:3d}  {d['name']}  ({d['max_input_channels']} ch, {d['default_samplerate']:.0f} Hz)"
             for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]
    return "\n".join(lines) if lines else "no input devices found"


class MicSource:
    """Blocks of ``block`` samples (16 kHz mono) from an input device until closed or Ctrl-C."""

    realtime = True

    def __init__(self, device: str | int | None = None, *, block: int = 512) -> None:
        sd = _sounddevice()
        if isinstance(device, str) and device.isdigit():
            device = int(device)
        try:
            info = sd.query_devices(device, "input")
        except (ValueError, sd.PortAudioError) as e:
            raise KinemoError(f"no microphone {device if device is not None else '(default)'}: {e}; "
                              "see 'kinemo mic --list-devices'") from None
        self.name = str(info["name"])
        rate = int(info["default_samplerate"])
        try:  # prefer 16 kHz from the driver; resample ourselves otherwise
            sd.check_input_settings(device, samplerate=SAMPLE_RATE, channels=1)
            rate = SAMPLE_RATE
        except Exception:
            pass
        self._resample = _Resampler(rate)
        self._queue: queue.Queue[np.ndarray] = queue.Queue(maxsize=256)
        self.dropped = 0

        def callback(indata, frames, time_info, status) -> None:
            try:
                self._queue.put_nowait(indata[:, 0].copy())
            except queue.Full:
                self.dropped += 1

        try:
            self._stream = sd.InputStream(device=device, channels=1, samplerate=rate, dtype="float32",
                                          blocksize=max(64, int(block * rate / SAMPLE_RATE)), callback=callback)
            self._stream.start()
        except sd.PortAudioError as e:
            raise KinemoError(f"cannot open microphone {self.name}: {e}") from None

    def blocks(self) -> Iterator[np.ndarray]:
        while True:
            try:
                data = self._queue.get(timeout=2.0)
            except queue.Empty:
                raise KinemoError(f"microphone {self.name} stopped delivering audio") from None
            out = self._resample(data)
            if len(out):
                yield out

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()
