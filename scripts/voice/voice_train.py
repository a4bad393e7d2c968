"""Train the voice network on real talking faces (and optionally synthetic speech) and export it to ONNX.

  python scripts/voice/voice_train.py --data build/voice/real [--steps 3000] [--delay 7] [--name voice_net]

Training data: shard folders from ``voice_talking.py`` (real faces: 52-channel MediaPipe
labels with a mask) and/or ``voice_data.py`` (synthetic speech, phone-rule labels on the
speech channels); ``--synthetic DIR --synthetic-share 0.2`` mixes the latter in.

A causal temporal convolution network over 10 ms log-mel frames: every layer only
looks back, and the output is read ``DELAY`` frames late, so the model sees exactly
``(DELAY + 1) × 10 ms`` of future audio. Being causal, it runs on any block of new
frames given the previous ``receptive - 1`` frames, with identical results — the same
ONNX graph serves files and live streams. Needs the ``train`` extra (torch, CPU).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402
from torch import nn  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "inference"))

from voice_ridge import (  # noqa: E402  (scripts/, beside this file)
    RIDGE_TAPS,
    aligned,
    fit_ridge,
    full_motion,
    match_spread,
    other_share_weight,
    other_speakers,
    parse_lags,
)

from kinemo.protocol import ARKIT_INDEX  # noqa: E402
from kinemo.voice.ct2_model import BLOCKS  # noqa: E402
from kinemo.voice.features import FRAME_RATE, N_MELS, SILENCE_FRAME  # noqa: E402
from kinemo.voice.visemes import (  # noqa: E402
    NEUTRAL,
    VOICE_CHANNELS,
    full_pose,
    phone_curves,
    phones_from_ids,
)
from kinemo.voice.whisper import DIM as WHISPER_DIM  # noqa: E402
from kinemo.voice.whisper import RATE  # noqa: E402

DELAY = 7  # frames read late → 80 ms of future audio per output frame (the live default)
CHANNEL_INDEX = np.array([ARKIT_INDEX[c] for c in VOICE_CHANNELS], np.int64)
DILATIONS = (1, 2, 4, 8, 16)


class CausalConv(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, dilation: int = 1) -> None:
        super().__init__()
        self.pad = (k - 1) * dilation
        self.conv = nn.Conv1d(cin, cout, k, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(nn.functional.pad(x, (self.pad, 0)))


class VoiceNet(nn.Module):
    """(1, T, N_MELS) log-mel → (1, T, channels) speech curves, causal."""

    def __init__(self, channels: int = 64, n_out: int = len(VOICE_CHANNELS), delay: int = DELAY,
                 dilations: tuple[int, ...] = DILATIONS) -> None:
        super().__init__()
        self.delay, self.dilations = delay, tuple(dilations)
        self.register_buffer("mean", torch.zeros(N_MELS))
        self.register_buffer("std", torch.ones(N_MELS))
        self.register_buffer("rest", torch.from_numpy(NEUTRAL[CHANNEL_INDEX].copy()))
        self.inp = CausalConv(N_MELS, channels, 3)
        self.blocks = nn.ModuleList()
        for d in self.dilations:
            self.blocks.append(nn.ModuleDict({"conv": CausalConv(channels, channels, 3, d),
                                              "mix": nn.Conv1d(channels, channels, 1)}))
        self.head = nn.Conv1d(channels, n_out, 1)
        self.drop = nn.Dropout(0.1)

    def receptive(self) -> int:
        return 1 + 2 + sum(2 * d for d in self.dilations)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        x = ((feats - self.mean) / self.std).transpose(1, 2)
        h = torch.relu(self.inp(x))
        for b in self.blocks:
            h = h + self.drop(b["mix"](torch.relu(b["conv"](h))))
            h = torch.relu(h)
        out = self.head(h).transpose(1, 2) + self.rest
        # clipping to 0-1 happens only in the exported graph: a clamp here would stop the
        # gradient of any channel that strays below 0 and leave it dead at 0
        return out if self.training else out.clamp(0.0, 1.0)


class WhisperHead(nn.Module):
    """(1, T, 384) Whisper encoder features at 50 Hz → (1, T, channels) curves; sees ±``context`` frames.

    Files only: the encoder has already seen the whole window, so the head may look both
    ways; a few dilated convolutions smooth and time the curves (mouth opening before a
    word, holding a closure) on top of what the encoder says is being spoken.
    """

    def __init__(self, channels: int = 128, n_out: int = len(VOICE_CHANNELS), dim: int = 384,
                 dilations: tuple[int, ...] = (1, 2, 4, 8), cmvn: bool = False, in_drop: float = 0.2) -> None:
        super().__init__()
        self.delay, self.dilations, self.cmvn = 0, tuple(dilations), cmvn
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        self.register_buffer("rest", torch.from_numpy(NEUTRAL[CHANNEL_INDEX].copy()))
        self.inp = nn.Conv1d(dim, channels, 1)
        self.blocks = nn.ModuleList(nn.ModuleDict({"conv": nn.Conv1d(channels, channels, 5, dilation=d, padding=2 * d),
                                                   "mix": nn.Conv1d(channels, channels, 1)}) for d in self.dilations)
        self.head = nn.Conv1d(channels, n_out, 1)
        self.drop = nn.Dropout(0.1)
        self.in_drop = nn.Dropout(in_drop)

    def receptive(self) -> int:
        return 1 + sum(4 * d for d in self.dilations)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        x = ((feats - self.mean) / self.std).transpose(1, 2)
        if self.cmvn:  # per-window mean removal: what is constant over a window (voice, channel) drops out
            x = x - x.mean(dim=2, keepdim=True)
        x = self.in_drop(x)
        h = torch.relu(self.inp(x))
        for b in self.blocks:
            h = torch.relu(h + self.drop(b["mix"](torch.relu(b["conv"](h)))))
        out = self.head(h).transpose(1, 2) + self.rest
        return out if self.training else out.clamp(0.0, 1.0)


class EnsembleHead(nn.Module):
    """A weighted mean of several file heads: one graph, one encoder pass.

    The network runs differ much more on unseen speakers than on the training speaker
    (held-out jaw r 0.05–0.40 across seeds and data variants); averaging them is the cheap
    way to keep what they agree on. ``weights`` (heads × channels, default equal) lets a
    channel lean on the head that carries it best, e.g. jawOpen on the linear RidgeHead.
    """

    def __init__(self, heads: list[nn.Module], weights: np.ndarray | None = None) -> None:
        super().__init__()
        self.heads = nn.ModuleList(heads)
        first = heads[0]
        self.delay, self.dilations, self.cmvn = first.delay, first.dilations, first.cmvn
        self.dim = max(_dim(h) for h in heads)
        self.hidden = max(_hidden(h) for h in heads)
        n_out = len(VOICE_CHANNELS)
        w = np.ones((len(heads), n_out)) if weights is None else np.asarray(weights, np.float64)
        w = w / w.sum(axis=0, keepdims=True)
        self.register_buffer("mix", torch.from_numpy(w.astype(np.float32))[:, None, None, :])

    def receptive(self) -> int:
        return max(h.receptive() for h in self.heads)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return (torch.stack([h(feats) for h in self.heads]) * self.mix).sum(dim=0)


class RidgeHead(nn.Module):
    """(1, T, 384) Whisper features → (1, T, channels) curves: one linear map of the frames at ``taps``.

    The closed-form ridge fit (``voice_ridge.fit_ridge``) in place of a network head. With
    one speaker dominating the data, the network heads learn that speaker; the linear map,
    strongly regularised, keeps to what the encoder says about the sound and carries to
    other voices and rooms much better (docs/voice-model.md). Past either end of the input
    the first and last frame repeat, as in the fit's context.
    """

    def __init__(self, n_out: int = len(VOICE_CHANNELS), dim: int = 384, taps: tuple[int, ...] = RIDGE_TAPS) -> None:
        super().__init__()
        self.delay, self.dilations, self.cmvn, self.taps, self.dim = 0, (), False, tuple(taps), dim
        self.reach = max(abs(t) for t in taps)
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        self.weight = nn.Parameter(torch.zeros(len(taps) * dim, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def receptive(self) -> int:
        return 2 * self.reach + 1

    @classmethod
    def from_fit(cls, mean: np.ndarray, std: np.ndarray, w: np.ndarray, bias: np.ndarray,
                 taps: tuple[int, ...]) -> RidgeHead:
        """The head of a closed-form fit: the features' standardisation, weights and bias."""
        head = cls(n_out=w.shape[1], dim=len(mean), taps=taps)
        with torch.no_grad():
            head.mean.copy_(torch.from_numpy(np.asarray(mean, np.float32)))
            head.std.copy_(torch.from_numpy(np.asarray(std, np.float32)))
        head.set_weights(w, bias)
        return head

    def set_weights(self, w: np.ndarray, bias: np.ndarray) -> None:
        """``w``: (len(taps) · dim, n_out) on standardised features, taps outermost; ``bias``: (n_out,)."""
        with torch.no_grad():
            self.weight.copy_(torch.from_numpy(np.asarray(w, np.float32)))
            self.bias.copy_(torch.from_numpy(np.asarray(bias, np.float32)))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        x = (feats - self.mean) / self.std
        n, r = x.shape[1], self.reach
        x = torch.cat([x[:, :1].expand(-1, r, -1), x, x[:, -1:].expand(-1, r, -1)], dim=1)
        ctx = torch.cat([x[:, r + t: r + t + n] for t in self.taps], dim=2)
        return (ctx @ self.weight + self.bias).clamp(0.0, 1.0)


def _dim(model: nn.Module) -> int:
    """Features per frame a file head reads."""
    if isinstance(model, Sliced):
        return model.stop
    return model.dim if isinstance(model, (RidgeHead, EnsembleHead)) else model.inp.in_channels


def _hidden(model: nn.Module) -> int:
    """Width of a head's hidden layers (0: the linear head has none)."""
    if isinstance(model, Sliced):
        return _hidden(model.head)
    if isinstance(model, RidgeHead):
        return 0
    return model.hidden if isinstance(model, EnsembleHead) else model.inp.out_channels


def export_head(model: WhisperHead | EnsembleHead | RidgeHead, out_dir: Path, info: dict, name: str) -> Path:
    """A plain (stateless) graph: the file path runs it once per encoder window."""
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / f"{name}.onnx"
    with torch.no_grad():
        torch.onnx.export(model, (torch.zeros(1, 100, _dim(model)),), str(onnx_path),
                          input_names=["features"], output_names=["curves"],
                          dynamic_axes={"features": {1: "frames"}, "curves": {1: "frames"}}, opset_version=17,
                          dynamo=False)
    meta = {"front": "whisper", "rate": 50.0, "delay_frames": 0, "receptive_frames": model.receptive(),
            "channels": list(VOICE_CHANNELS), "dilations": list(model.dilations),
            "hidden": _hidden(model), "states": [], **info}
    (out_dir / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    return onnx_path


def data_blocks(path: Path) -> list[int]:
    """The Whisper encoder outputs a feature folder holds (``voice_talking.py --whisper-blocks``; 4 = all)."""
    front = (path if path.is_dir() else path.parent) / "front.json"
    return list(json.loads(front.read_text()).get("whisper_blocks", [BLOCKS])) if front.is_file() else [BLOCKS]


class Sliced(nn.Module):
    """A trained file head reading its own part of wider features: one member of an ensemble whose
    members read different encoder outputs (e.g. the linear jaw the encoder cut after 3 blocks)."""

    def __init__(self, head: nn.Module, start: int, stop: int) -> None:
        super().__init__()
        self.head, self.start, self.stop = head, start, stop
        self.delay, self.dilations, self.cmvn = head.delay, head.dilations, head.cmvn

    def receptive(self) -> int:
        return self.head.receptive()

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.head(feats[..., self.start:self.stop])


def load_stream(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All shards in a folder (or one .npz) as one long stream: features, labels, mask, lengths, sources.

    Labels are the network's channels (``VOICE_CHANNELS``). Real-face shards carry all 52
    channels and a mask of frames with a face label; synthetic shards carry per-frame
    phone ids (relabelled with the current viseme table, so the rule can change without
    synthesising again) or speech-channel labels, completed with the neutral face.
    """
    files = sorted(path.glob("shard_*.npz")) if path.is_dir() else [path]
    if not files:
        raise SystemExit(f"no training data in {path}: run scripts/voice/voice_talking.py or voice_data.py first")
    feats, labels, masks, lengths, sources = [], [], [], [], []
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            feats.append(z["features"])
            lengths.append(z["lengths"])
            sources.append(z["sources"] if "sources" in z.files else np.array([f.stem] * len(z["lengths"])))
            if "bs52" in z.files:
                labels.append(z["bs52"][:, CHANNEL_INDEX])
                masks.append(z["mask"].astype(bool))
                continue
            if "phones" in z.files:
                ids, start, lab = z["phones"], 0, []
                times = np.arange(int(z["lengths"].max())) / FRAME_RATE
                for n in z["lengths"]:
                    lab.append(phone_curves(phones_from_ids(ids[start:start + n], FRAME_RATE), times[:n]))
                    start += n
                speech = np.concatenate(lab)
            else:
                speech = z["labels"].astype(np.float32)
            labels.append(full_pose(speech)[:, CHANNEL_INDEX].astype(np.float16))
            masks.append(np.ones(len(speech), bool))
    return (np.concatenate(feats), np.concatenate(labels), np.concatenate(masks), np.concatenate(lengths),
            np.concatenate(sources))


def split_examples(lengths: np.ndarray, sources: np.ndarray, share: float = 0.05, seed: int = 0) -> np.ndarray:
    """Per-frame validation flags: every rendering of a random ``share`` of the recordings.

    Whole recordings go to validation (never one rendering here and another there), drawn
    from the largest corpus, so the few other speakers all stay in training.
    """
    names = np.unique(sources)  # a joined recording is named "a+b+c"
    big = list(names[~other_speakers(names)]) or list(names)
    rng = np.random.default_rng(seed)
    val = set(rng.choice(big, max(1, int(len(big) * share)), replace=False).tolist())
    return np.repeat(np.array([s in val for s in sources]), lengths)


def batches(streams, shares, rng, batch: int, length: int, gain_aug: bool):
    """A batch of random crops; ``streams`` are (features, labels, mask) drawn by ``shares``."""
    pick = rng.choice(len(streams), batch, p=shares)
    f, lab, m = [], [], []
    for k in pick:
        feats, labels, mask = streams[k]
        i = int(rng.integers(0, len(feats) - length))
        f.append(feats[i:i + length])
        lab.append(labels[i:i + length])
        m.append(mask[i:i + length])
    f = np.stack(f).astype(np.float32)
    lab = np.stack(lab).astype(np.float32)
    mask = np.stack(m).astype(np.float32)
    if gain_aug:  # level changes are an offset in log-mel; small random tilts too
        f += rng.uniform(-1.2, 1.2, (batch, 1, 1)).astype(np.float32)
        f += (rng.uniform(-0.4, 0.4, (batch, 1, 1)) * np.linspace(-1, 1, N_MELS)[None, None]).astype(np.float32)
        f = np.maximum(f, SILENCE_FRAME[None, None])
        # stationary background noise added in the power domain: a random spectral shape
        # (tilt, low-frequency hum bump) some 17-43 dB under the crop's loud frames
        bands = np.linspace(0, 1, N_MELS)[None, :]
        noisy = rng.random(batch) < 0.5
        level = np.percentile(f, 95, axis=(1, 2)) + rng.uniform(-10, -4, batch)
        shape = (rng.uniform(-3, 1, (batch, 1)) * bands
                 + rng.uniform(0, 4, (batch, 1)) * np.exp(-bands / 0.08))
        noise = (level[:, None] + shape)[:, None, :] + rng.normal(0, 0.5, f.shape)
        f = np.where(noisy[:, None, None], np.logaddexp(f, noise), f).astype(np.float32)
        # vocal-tract length: stretch the mel axis by ±12 % (formants of other speakers)
        grid = np.arange(N_MELS, dtype=np.float32)
        for b in range(batch):
            if rng.random() < 0.7:
                src = np.clip(grid * rng.uniform(0.88, 1.12), 0, N_MELS - 1)
                lo = np.floor(src).astype(int)
                hi = np.minimum(lo + 1, N_MELS - 1)
                w = (src - lo)[None, :]
                f[b] = f[b][:, lo] * (1 - w) + f[b][:, hi] * w
    return torch.from_numpy(f), torch.from_numpy(lab), torch.from_numpy(mask)


def loss_fn(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, scale: torch.Tensor,
            delay: int) -> torch.Tensor:
    """Masked smooth-L1 on curves and their velocity, each channel in units of its own spread.

    Dividing by a channel's spread makes the small mouth channels (press, roll, funnel)
    count as much as the jaw: the correlation of every channel matters, not only the
    biggest one's error.
    """
    p, t = pred[:, delay:] / scale, target[:, : target.shape[1] - delay] / scale
    m = mask[:, : mask.shape[1] - delay, None]
    err = (nn.functional.smooth_l1_loss(p, t, beta=0.3, reduction="none") * m).sum() / (m.sum() * p.shape[2] + 1)
    mv = m[:, 1:] * m[:, :-1]
    dv = (p[:, 1:] - p[:, :-1]) - (t[:, 1:] - t[:, :-1])
    vel = (dv.abs() * mv).sum() / (mv.sum() * p.shape[2] + 1)
    return err + 0.5 * vel


class _StreamingConv(nn.Module):
    """A causal conv whose left context is an explicit state (its last inputs), not zero padding."""

    def __init__(self, layer: CausalConv) -> None:
        super().__init__()
        self.conv, self.pad = layer.conv, layer.pad

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.cat([state, x], dim=2)
        # a constant negative start: one Slice node in the graph, not Shape/Gather/Sub arithmetic
        return self.conv(z), z[:, :, -self.pad:]


class StreamingVoiceNet(nn.Module):
    """The trained network as a state machine: (new frames, states) → (curves, next states).

    Cost is proportional to the new frames only, so a live 16 ms block costs a frame's
    compute, and a file is the same machine fed large blocks — identical results.
    """

    def __init__(self, net: VoiceNet) -> None:
        super().__init__()
        self.net = net
        self.inp = _StreamingConv(net.inp)
        self.convs = nn.ModuleList([_StreamingConv(b["conv"]) for b in net.blocks])

    def state_shapes(self) -> list[tuple[int, int, int]]:
        return [(1, c.conv.in_channels, c.pad) for c in [self.inp, *self.convs]]

    def forward(self, feats: torch.Tensor, *states: torch.Tensor):
        n = self.net
        x = ((feats - n.mean) / n.std).transpose(1, 2)
        h, s0 = self.inp(x, states[0])
        h = torch.relu(h)
        nxt = [s0]
        for block, conv, state in zip(n.blocks, self.convs, states[1:], strict=True):
            y, s = conv(h, state)
            nxt.append(s)
            h = torch.relu(h + block["mix"](torch.relu(y)))
        return ((n.head(h).transpose(1, 2) + n.rest).clamp(0.0, 1.0), *nxt)


STRUCTURE_KEYS = ("delay_frames", "receptive_frames", "channels", "dilations", "hidden", "states")


def export(model: VoiceNet, out_dir: Path, info: dict, name: str = "voice_net") -> Path:
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    stream = StreamingVoiceNet(model).eval()
    shapes = stream.state_shapes()
    onnx_path = out_dir / f"{name}.onnx"
    dummy = (torch.zeros(1, 50, N_MELS), *(torch.zeros(s) for s in shapes))
    names_in = ["features", *(f"state{i}" for i in range(len(shapes)))]
    names_out = ["curves", *(f"next{i}" for i in range(len(shapes)))]
    with torch.no_grad():
        torch.onnx.export(stream, dummy, str(onnx_path), input_names=names_in, output_names=names_out,
                          dynamic_axes={"features": {1: "frames"}, "curves": {1: "frames"}}, opset_version=17,
                          dynamo=False)
    meta = {"delay_frames": model.delay, "receptive_frames": model.receptive(), "channels": list(VOICE_CHANNELS),
            "dilations": list(model.dilations), "hidden": model.inp.conv.out_channels,
            "states": [list(s) for s in shapes], **info}
    (out_dir / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    return onnx_path


def load_onnx_weights(model: VoiceNet, path: Path) -> None:
    """Weights from an exported graph (initializer names are the state-dict keys)."""
    import onnx
    from onnx import numpy_helper

    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy())
               for i in onnx.load(str(path)).graph.initializer}
    # the streaming export wraps the network, so its initializers are named "net.<key>"; the
    # exporter keeps one copy of buffers that are equal in every head ("heads.0.mean" serves
    # "heads.1.mean"); ensembles exported before they had weights have no "mix": equal weights
    import re

    state = model.state_dict()

    def find(k: str) -> torch.Tensor:
        for name in (k, f"net.{k}", re.sub(r"heads\.\d+\.", "heads.0.", k), f"heads.0.{k}"):  # inp: head 0's
            if name in weights:
                return weights[name]
        if k.endswith("mix"):
            return state[k]
        raise KeyError(f"{path.name} has no weights for {k}")

    model.load_state_dict({k: find(k) for k in state})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--data", default=str(ROOT / "build/voice/real"), help="shard folder (voice_talking.py)")
    ap.add_argument("--synthetic", metavar="DIR", help="also draw crops from synthetic shards (voice_data.py)")
    ap.add_argument("--synthetic-share", type=float, default=0.2, help="share of crops from --synthetic")
    ap.add_argument("--other-share", type=float, default=0.0,
                    help="share of crops from the speakers other than GRID s1 (vox*, grid_*, cremad_*): "
                         "0 = as in the data")
    ap.add_argument("--steps", type=int, default=3000, help="optimiser steps (about 0.3 CPU-s each at defaults)")
    ap.add_argument("--channels", type=int, default=64, help="hidden width")
    ap.add_argument("--front", choices=("mel", "whisper"), default="mel",
                    help="mel: the causal live network; whisper: the file head on Whisper encoder features")
    ap.add_argument("--delay", type=int, default=DELAY, help="look-ahead in 10 ms frames (live: 7; files may use more)")
    ap.add_argument("--dilations", default=",".join(map(str, DILATIONS)), help="dilation of each residual block")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--length", type=int, default=300, help="frames per training crop")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--exclude", default="", help="comma-separated recordings (sources) to leave out: held-out folds")
    ap.add_argument("--align", default="", metavar="CLIP:MS,...",
                    help="recordings whose sound is late against their face by MS (voice_eval.py's lag of a model "
                         "that never heard them): their labels are moved into step before training")
    ap.add_argument("--in-drop", type=float, default=0.2, help="file head: dropout on its input features")
    ap.add_argument("--cmvn", action="store_true",
                    help="file head: remove each window's mean of the encoder features (experiment; "
                         "--ensemble reads it from each head's JSON)")
    ap.add_argument("--ridge", type=float, metavar="LAMBDA",
                    help="file head: fit the linear head (RidgeHead) in closed form with this penalty per frame "
                         "instead of training the network (seconds, no steps)")
    ap.add_argument("--ridge-taps", metavar="T1,T2,...", default=",".join(map(str, RIDGE_TAPS)),
                    help="--ridge: the 20 ms frames around each output frame the linear head reads")
    ap.add_argument("--ridge-other-share", type=float, default=0.0, metavar="SHARE",
                    help="--ridge: weight frames so the speakers other than GRID s1 carry this share of the fit "
                         "(0 = as in the data, where s1 fills about 97%%)")
    ap.add_argument("--ridge-match-spread", action="store_true",
                    help="--ridge: scale each recording's label motion to s1's typical spread first (each keeps "
                         "its own resting pose), so small faces do not teach the fit to move less")
    ap.add_argument("--ridge-full-motion", action="store_true",
                    help="--ridge: rescale the fitted curves to move as far as s1's labels on its training frames "
                         "(undoes the regression's shrinkage)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "inference/kinemo/assets"))
    ap.add_argument("--name", default="voice_net", help="file name of the exported model (NAME.onnx + NAME.json)")
    ap.add_argument("--checkpoints", metavar="DIR", help="also export a snapshot every 500 steps here")
    ap.add_argument("--reexport", metavar="ONNX", help="only re-export the weights of an exported graph, no training")
    ap.add_argument("--ensemble", metavar="ONNX", nargs="+",
                    help="only export the mean of these trained file heads (--front whisper; networks and "
                         "--ridge heads), no training")
    ap.add_argument("--head-weights", metavar="W1,W2,...", help="--ensemble: one weight per head (default equal)")
    ap.add_argument("--jaw-weights", metavar="W1,W2,...", help="--ensemble: jawOpen's own weights per head")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    dilations = tuple(int(d) for d in args.dilations.split(","))
    if args.ensemble:
        heads, metas = [], [json.loads(Path(p).with_suffix(".json").read_text()) for p in args.ensemble]
        for path, meta in zip(args.ensemble, metas, strict=True):
            if "ridge" in meta:
                head = RidgeHead(taps=tuple(meta["taps"]))
            elif meta.get("heads", 1) > 1:  # an exported ensemble (e.g. the shipped heads) as one member
                head = EnsembleHead([WhisperHead(args.channels, cmvn=meta.get("cmvn", False))
                                     for _ in range(meta["heads"])])
            else:
                head = WhisperHead(args.channels, cmvn=meta.get("cmvn", False))  # as each head was trained
            load_onnx_weights(head, Path(path))
            heads.append(head)
        if len({h.cmvn for h in heads}) > 1:
            raise SystemExit("--ensemble: the heads differ in --cmvn; average heads of one recipe")
        member_blocks = [list(m.get("whisper_blocks", [BLOCKS])) for m in metas]
        blocks = list(dict.fromkeys(x for bs in member_blocks for x in bs))  # in order of appearance
        if len({tuple(bs) for bs in member_blocks}) > 1:  # members read different encoder outputs
            for i, bs in enumerate(member_blocks):
                at = blocks.index(bs[0])
                if blocks[at: at + len(bs)] != bs:
                    raise SystemExit(f"--ensemble: cannot lay out encoder outputs {member_blocks} side by side")
                heads[i] = Sliced(heads[i], WHISPER_DIM * at, WHISPER_DIM * (at + len(bs)))
        weights = np.ones((len(heads), len(VOICE_CHANNELS)))
        if args.head_weights:
            weights[:] = np.array([float(x) for x in args.head_weights.split(",")])[:, None]
        if args.jaw_weights:
            weights[:, VOICE_CHANNELS.index("jawOpen")] = [float(x) for x in args.jaw_weights.split(",")]
        if weights.shape[0] != len(heads) or (weights.sum(axis=0) <= 0).any():
            raise SystemExit("--head-weights/--jaw-weights: one non-negative weight per head, not all zero")
        def member(m: dict):  # what each member is, for the record: a seed, a ridge fit, or an ensemble
            if "ridge" in m:
                keys = ("ridge", "taps", "other_share", "match_spread", "full_motion", "whisper_blocks", "aligned_ms")
                return {k: m[k] for k in keys if k in m}
            return {"ensemble_of": m["ensemble_of"]} if "ensemble_of" in m else m.get("seed", 0)

        info = {"ensemble_of": [member(m) for m in metas],
                "heads": len(heads), "cmvn": heads[0].cmvn, "whisper_blocks": blocks}
        if args.head_weights or args.jaw_weights:
            info["head_weights"] = weights[:, 0].tolist()
            info["jaw_weights"] = weights[:, VOICE_CHANNELS.index("jawOpen")].tolist()
        print(f"exported {export_head(EnsembleHead(heads, weights), Path(args.out), info, args.name)}")
        return 0
    if args.reexport:  # the graph's own shape (width, delay, dilations) comes from its JSON
        old = json.loads(Path(args.reexport).with_suffix(".json").read_text())
        model = VoiceNet(old["hidden"], delay=old["delay_frames"], dilations=tuple(old["dilations"]))
        load_onnx_weights(model, Path(args.reexport))
        info = {k: v for k, v in old.items() if k not in STRUCTURE_KEYS}  # how it was trained stays on record
        info["reexported_from"] = Path(args.reexport).name
        print(f"exported {export(model, Path(args.out), info, args.name)}")
        return 0
    rng = np.random.default_rng(args.seed)

    feats, labels, mask, lengths, sources = load_stream(Path(args.data))
    if args.align:
        try:
            labels, mask, lags = aligned(labels, mask, lengths, sources, args.align,
                                         RATE if args.front == "whisper" else FRAME_RATE)
        except ValueError as err:
            ap.error(f"--align: {err} ({args.data})")
        print(f"aligned {len(lags)} recordings' labels with their sound", flush=True)
    if args.exclude:  # speaker-held-out folds: leave these recordings out of training and validation
        gone = {x.strip() for x in args.exclude.split(",") if x.strip()}
        keep_rec = np.array([str(s) not in gone for s in sources])
        found = {str(s) for s in sources} & gone
        keep = np.repeat(keep_rec, lengths)
        feats, labels, mask = feats[keep], labels[keep], mask[keep]
        lengths, sources = lengths[keep_rec], sources[keep_rec]
        print(f"excluded {len(found)} of {len(gone)} named recordings ({(~keep_rec).sum()} renderings)", flush=True)
    is_val = split_examples(lengths, sources)
    if args.ridge is not None:
        return train_ridge(args, feats, labels, mask, lengths, is_val, sources)
    val_f, val_l, val_m = feats[is_val], labels[is_val], mask[is_val]
    feats, labels, mask = feats[~is_val], labels[~is_val], mask[~is_val]
    split = len(feats)
    streams = [(feats, labels, mask)]
    shares = [1.0]
    if args.other_share > 0:  # the few other speakers drawn more often than their share of the frames
        other = np.repeat(other_speakers(sources), lengths)[~is_val]
        streams = [(feats[~other], labels[~other], mask[~other]), (feats[other], labels[other], mask[other])]
        shares = [1.0 - args.other_share, args.other_share]
        print(f"other speakers: {other.mean():.1%} of frames, {args.other_share:.0%} of crops", flush=True)
    if args.synthetic:
        sf, sl, sm, _, _ = load_stream(Path(args.synthetic))
        streams.append((sf, sl, sm))
        shares = [*(x * (1.0 - args.synthetic_share) for x in shares), args.synthetic_share]
        print(f"synthetic: {len(sf) / 360000:.2f} h, {args.synthetic_share:.0%} of crops", flush=True)
    if args.front == "whisper":
        model = WhisperHead(args.channels, dim=feats.shape[1], cmvn=args.cmvn, in_drop=args.in_drop)
    else:
        model = VoiceNet(args.channels, delay=args.delay, dilations=dilations)
    sample = streams[0][0][:: max(1, split // 200000)].astype(np.float32)
    model.mean.copy_(torch.from_numpy(sample.mean(0)))
    model.std.copy_(torch.from_numpy(sample.std(0) + 1e-3))
    lab = streams[0][1][streams[0][2]][::10].astype(np.float32)
    model.rest.copy_(torch.from_numpy(np.median(lab, axis=0)))  # start from the real resting face
    scale = torch.from_numpy(np.maximum(lab.std(0), 0.02))
    params = sum(p.numel() for p in model.parameters())
    per_hour = 3600 * (50.0 if args.front == "whisper" else FRAME_RATE)
    print(f"train {split / per_hour:.2f} h, val {len(val_f) / per_hour:.2f} h; {params} parameters; "
          f"receptive {model.receptive()} frames, delay {model.delay}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    vstarts = np.arange(0, len(val_f) - args.length, args.length)
    jaw = VOICE_CHANNELS.index("jawOpen")
    d = model.delay
    mel = args.front == "mel"
    t0 = time.perf_counter()
    step, log_every = 0, 100
    running = 0.0
    while step < args.steps:
        elapsed = time.perf_counter() - t0
        lr = args.lr * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        f, lab_b, m = batches(streams, shares, rng, args.batch, args.length, mel)
        loss = loss_fn(model(f), lab_b, m, scale, d)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running += loss.item()
        step += 1
        if step % log_every == 0:
            model.eval()
            with torch.no_grad():
                vf = torch.from_numpy(np.stack([val_f[s:s + args.length] for s in vstarts[:64]]).astype(np.float32))
                vl = np.stack([val_l[s:s + args.length] for s in vstarts[:64]]).astype(np.float32)[:, :args.length - d]
                vm = np.stack([val_m[s:s + args.length] for s in vstarts[:64]])[:, :args.length - d]
                p = model(vf)[:, d:].numpy()
                mae = float(np.abs(p - vl)[vm].mean())
                r = float(np.corrcoef(p[..., jaw][vm], vl[..., jaw][vm])[0, 1])
            print(f"step {step} {elapsed / 60:.1f} min lr {lr:.2e} loss {running / log_every:.4f} "
                  f"val MAE {mae:.4f} val jawOpen r {r:.3f}", flush=True)
            running = 0.0
            if args.checkpoints and step % 500 == 0:  # an exported snapshot to evaluate while training goes on
                (export if mel else export_head)(model, Path(args.checkpoints), {"steps": step}, args.name)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    info = {"train_minutes": round((time.perf_counter() - t0) / 60, 1), "steps": step, "parameters": params,
            "train_hours": round(split / per_hour, 2), "data": Path(args.data).name,
            "synthetic_share": args.synthetic_share if args.synthetic else 0.0, "seed": args.seed,
            **({"cmvn": args.cmvn, "in_drop": args.in_drop, "whisper_blocks": data_blocks(Path(args.data))}
               if args.front == "whisper" else {})}
    path = (export if mel else export_head)(model, out, info, args.name)
    print(f"exported {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


def speaker_weights(other: np.ndarray, mask: np.ndarray, other_share: float) -> np.ndarray:
    """Per-frame weights under which the frames flagged ``other`` (speakers besides GRID s1)
    carry ``other_share`` of the labelled frames' total weight (1 everywhere when 0)."""
    wt = np.ones(len(other), np.float32)
    wt[other] = other_share_weight(int((mask & ~other).sum()), int((mask & other).sum()), other_share)
    return wt


def train_ridge(args, feats, labels, mask, lengths, is_val, sources) -> int:
    """``--ridge``: fit RidgeHead on the training recordings, report validation jawOpen r, export."""
    t0 = time.perf_counter()
    rec_val = np.add.reduceat(is_val, np.cumsum(lengths) - lengths) > 0
    keep = ~is_val
    taps = tuple(int(t) for t in args.ridge_taps.split(","))
    tf, tl, tm, tlen, tsrc = feats[keep], labels[keep], mask[keep], lengths[~rec_val], sources[~rec_val]
    is_s1 = ~other_speakers(tsrc)  # per recording
    s1_frames = np.repeat(is_s1, tlen)
    wt = speaker_weights(~s1_frames, tm, args.ridge_other_share)
    if args.ridge_other_share > 0:
        print(f"ridge: other speakers weighted {wt.max():.1f}x, {args.ridge_other_share:.0%} of the fit", flush=True)
    fit_labels = match_spread(tl, tm, tlen, is_s1) if args.ridge_match_spread else tl
    mean, std, w, bias = fit_ridge(tf, fit_labels, tm, tlen, args.ridge, taps, weights=wt)
    if args.ridge_full_motion:
        s1_rows = np.flatnonzero(tm & s1_frames)
        w, bias = full_motion(tf, tl, s1_rows, tlen, mean, std, w, bias, taps)
    head = RidgeHead.from_fit(mean, std, w, bias, taps)
    jaw = VOICE_CHANNELS.index("jawOpen")
    rs, start = [], 0
    vf, vl, vm = feats[is_val], labels[is_val], mask[is_val]
    with torch.no_grad():
        for n in lengths[rec_val]:
            p = head(torch.from_numpy(vf[start:start + n].astype(np.float32))[None])[0].numpy()
            m = vm[start:start + n]
            if m.sum() > 10 and vl[start:start + n][m, jaw].std() > 0:
                rs.append(np.corrcoef(p[m, jaw], vl[start:start + n][m, jaw].astype(np.float32))[0, 1])
            start += n
    minutes = (time.perf_counter() - t0) / 60
    print(f"ridge lambda {args.ridge:g}: {int(mask[keep].sum())} frames, {minutes:.1f} min; "
          f"val jawOpen r {np.nanmean(rs):.3f} (mean of {len(rs)} recordings)", flush=True)
    info = {"ridge": args.ridge, "taps": list(taps), "other_share": args.ridge_other_share,
            "whisper_blocks": data_blocks(Path(args.data)),
            "match_spread": args.ridge_match_spread, "full_motion": args.ridge_full_motion,
            **({"aligned_ms": parse_lags(args.align)} if args.align else {}),
            "train_minutes": round(minutes, 1),
            "train_hours": round(int(keep.sum()) / (3600 * 50.0), 2), "data": Path(args.data).name,
            "parameters": int(sum(p.numel() for p in head.parameters())), "cmvn": False}
    path = export_head(head, Path(args.out), info, args.name)
    print(f"exported {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
