"""Audio in: files (any rate, any channel count, also the sound track of a video) → 16 kHz mono blocks.

Files are streamed, never loaded whole, so a two-hour recording costs the same memory
as a short one. libsndfile (via soundfile) reads WAV/FLAC/OGG/MP3 directly; anything it
does not know (video containers, AAC, …) goes through ``ffmpeg`` when it is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from kinemo.errors import KinemoError
from kinemo.voice.features import SAMPLE_RATE

BLOCK = SAMPLE_RATE * 10  # samples per block when reading files


class _Resampler:
    """Streaming resampler to 16 kHz (soxr), a no-op when the input already is."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._stream = None
        if rate != SAMPLE_RATE:
            import soxr

            self._stream = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")

    def __call__(self, mono: np.ndarray, last: bool = False) -> np.ndarray:
        mono = np.ascontiguousarray(mono, np.float32)
        if self._stream is None:
            return mono
        return self._stream.resample_chunk(mono, last=last)


class AudioFileSource:
    """One audio (or video) file as 16 kHz mono float32 blocks."""

    realtime = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = self.path.name
        if not self.path.exists():
            raise KinemoError(f"no such file: {self.path}")
        if self.path.is_dir():
            raise KinemoError(f"{self.path} is a directory, not an audio file")
        if self.path.stat().st_size == 0:
            raise KinemoError(f"{self.path} is empty")
        self.duration: float | None = None
        self.rate = 0
        self.channels = 0
        self._reader = self._open_soundfile() or self._open_ffmpeg()

    def _open_soundfile(self):
        import soundfile as sf

        try:
            f = sf.SoundFile(str(self.path))
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
            return None
        self.rate, self.channels = int(f.samplerate), int(f.channels)
        if f.frames <= 0 and f.seekable():
            f.close()
            raise KinemoError(f"{self.path} contains no audio samples")
        self.duration = f.frames / f.samplerate if f.frames > 0 else None
        return ("soundfile", f)

    def _open_ffmpeg(self):
        if shutil.which("ffmpeg") is None:
            raise KinemoError(f"cannot read {self.path}: not a WAV/FLAC/OGG/MP3 file "
                              "(install ffmpeg to read other formats and the sound of video files)")
        probe = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(self.path), "-map", "0:a:0",
                                "-t", "0.05", "-f", "null", "-"], capture_output=True, text=True)
        if probe.returncode != 0:
            detail = (probe.stderr.strip().splitlines() or ["unknown format"])[-1]
            if "matches no streams" in probe.stderr:
                raise KinemoError(f"{self.path} has no audio track")
            raise KinemoError(f"cannot read {self.path}: not an audio or video file ({detail[:120]})")
        self.rate, self.channels = SAMPLE_RATE, 1
        return ("ffmpeg", None)

    def blocks(self, size: int = BLOCK) -> Iterator[np.ndarray]:
        """16 kHz mono float32 blocks of about ``size`` samples (the last one shorter)."""
        kind, f = self._reader
        if kind == "ffmpeg":
            yield from self._ffmpeg_blocks(size)
            return
        resample = _Resampler(self.rate)
        in_size = max(1, int(size * self.rate / SAMPLE_RATE))
        got = 0
        try:
            while True:
                try:
                    data = f.read(in_size, dtype="float32", always_2d=True)
                except (RuntimeError, ValueError) as e:  # truncated or damaged data mid-file
                    if got == 0:
                        raise KinemoError(f"cannot decode {self.path}: {e}") from None
                    break
                if len(data) == 0:
                    break
                got += len(data)
                out = resample(data.mean(axis=1))
                if len(out):
                    yield out
        finally:
            f.close()
        if got == 0:
            raise KinemoError(f"{self.path} contains no audio samples")
        tail = resample(np.zeros(0, np.float32), last=True)
        if len(tail):
            yield tail

    def _ffmpeg_blocks(self, size: int) -> Iterator[np.ndarray]:
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(self.path), "-map", "0:a:0", "-ac", "1",
               "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        got = 0
        try:
            assert proc.stdout is not None
            while True:
                raw = proc.stdout.read(size * 4)
                if not raw:
                    break
                raw = raw[: len(raw) // 4 * 4]
                got += len(raw) // 4
                yield np.frombuffer(raw, np.float32).copy()
        finally:
            proc.stdout.close()
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            proc.wait()
        if got == 0:
            raise KinemoError(f"{self.path} contains no decodable audio ({err.strip()[:120] or 'empty'})")

    def close(self) -> None:
        kind, f = self._reader
        if f is not None and not f.closed:
            f.close()
