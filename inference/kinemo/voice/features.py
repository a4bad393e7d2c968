"""Log-mel features, computed block by block so a live stream and a file give the same numbers.

16 kHz mono in; one 40-band log-mel frame every 10 ms out. Frame ``t`` covers the
25 ms of audio that *ends* at sample ``(t + 1) · HOP``, so the frontend itself adds
no look-ahead: everything the model sees of the future is its own, declared, delay.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

SAMPLE_RATE = 16000
HOP = 160  # 10 ms
WIN = 400  # 25 ms
N_FFT = 512
N_MELS = 40
FMIN, FMAX = 50.0, 7600.0
FRAME_RATE = SAMPLE_RATE / HOP  # 100 frames/s
LOG_FLOOR = 1e-10  # power floor: digital silence maps here


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m, np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sr: int = SAMPLE_RATE,
                   fmin: float = FMIN, fmax: float = FMAX) -> np.ndarray:
    """Triangular, area-normalised filters (n_fft // 2 + 1, n_mels) on the HTK mel scale."""
    freqs = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    lo, centre, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rise = (freqs[None, :] - lo) / (centre - lo)
    fall = (hi - freqs[None, :]) / (hi - centre)
    tri = np.maximum(0.0, np.minimum(rise, fall)) * (2.0 / (hi - lo))
    return tri.T.astype(np.float32)


_FILTERS = mel_filterbank()
_WINDOW = np.hanning(WIN + 1)[:WIN].astype(np.float32)
_WINDOW_ENERGY = float(np.sum(_WINDOW.astype(np.float64) ** 2))
_WIN_INDEX = np.arange(WIN)[None, :]
_SMALL_INDEX = [np.arange(0, n * HOP, HOP)[:, None] + _WIN_INDEX for n in range(8)]


def _window_index(n: int) -> np.ndarray:
    """Sample indices of ``n`` consecutive frames' windows (the few a live block makes: cached)."""
    return _SMALL_INDEX[n] if n < len(_SMALL_INDEX) else np.arange(0, n * HOP, HOP)[:, None] + _WIN_INDEX


def _power(windows: np.ndarray) -> np.ndarray:
    """(n, WIN) raw sample windows → (n, N_FFT // 2 + 1) power spectra of the Hann-windowed frames."""
    spec = scipy.fft.rfft(windows * _WINDOW, n=N_FFT, axis=1)  # zero-padded to N_FFT; float32 → complex64
    mag = np.abs(spec)
    return np.multiply(mag, mag, out=mag)


def _level_db(power: np.ndarray) -> np.ndarray:
    """Mean-square level of each frame in dBFS, from its spectrum (Parseval), window-compensated."""
    energy = (2.0 * power.sum(axis=1) - power[:, 0] - power[:, -1]) / (N_FFT * _WINDOW_ENERGY)
    return (10.0 * np.log10(energy + 1e-12)).astype(np.float32)


def log_mel_frames(frames: np.ndarray) -> np.ndarray:
    """(n, WIN) windows of samples → (n, N_MELS) log-mel power, float32."""
    return np.log(_power(frames) @ _FILTERS + np.float32(LOG_FLOOR))


SILENCE_FRAME = log_mel_frames(np.zeros((1, WIN), np.float32))[0]


class LogMelStream:
    """Push samples of any block size, get the log-mel frames that became complete."""

    def __init__(self) -> None:
        self._buf = np.zeros(WIN - HOP, np.float32)  # left padding: frame 0 ends at sample HOP
        self.frames_out = 0
        self.last_db = np.zeros(0, np.float32)  # level (dBFS) of each frame the last push returned

    def push(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples, np.float32).reshape(-1)
        buf = np.concatenate([self._buf, samples]) if len(self._buf) else samples
        n = (len(buf) - WIN) // HOP + 1 if len(buf) >= WIN else 0
        if n <= 0:
            self._buf = buf
            self.last_db = np.zeros(0, np.float32)
            return np.zeros((0, N_MELS), np.float32)
        # plain index arithmetic: sliding_window_view's checks cost more than a live block's FFT
        windows = buf[_window_index(n)]
        power = _power(windows)
        self.last_db = _level_db(power)
        self._buf = buf[n * HOP:].copy()
        self.frames_out += n
        return np.log(power @ _FILTERS + np.float32(LOG_FLOOR))


def log_mel(samples: np.ndarray) -> np.ndarray:
    """Whole-signal features: the same frames :class:`LogMelStream` produces (training uses this)."""
    return LogMelStream().push(samples)
