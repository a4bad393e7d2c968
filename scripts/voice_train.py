"""Train the voice network on build/voice/data.npz and export it to ONNX for ``kinemo audio`` / ``kinemo mic``.

  python scripts/voice_train.py [--steps 1500] [--channels 64] [--out inference/kinemo/assets]

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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "inference"))

from kinemo.voice.features import FRAME_RATE, N_MELS, SILENCE_FRAME  # noqa: E402
from kinemo.voice.visemes import (  # noqa: E402
    NEUTRAL,
    SPEECH_CHANNELS,
    SPEECH_INDEX,
    phone_curves,
    phones_from_ids,
)

DELAY = 7  # frames read late → 80 ms of future audio per output frame
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

    def __init__(self, channels: int = 64, n_out: int = len(SPEECH_CHANNELS)) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(N_MELS))
        self.register_buffer("std", torch.ones(N_MELS))
        self.register_buffer("rest", torch.from_numpy(NEUTRAL[SPEECH_INDEX].copy()))
        self.inp = CausalConv(N_MELS, channels, 3)
        self.blocks = nn.ModuleList()
        for d in DILATIONS:
            self.blocks.append(nn.ModuleDict({"conv": CausalConv(channels, channels, 3, d),
                                              "mix": nn.Conv1d(channels, channels, 1)}))
        self.head = nn.Conv1d(channels, n_out, 1)
        self.drop = nn.Dropout(0.1)

    @staticmethod
    def receptive() -> int:
        return 1 + 2 + sum(2 * d for d in DILATIONS)

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


def load_stream(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All shards in a folder (or one .npz) as one long stream; examples start and end in silence.

    Shards that carry per-frame phone ids are relabelled with the current viseme table,
    so the labelling rule can change without synthesising the audio again.
    """
    files = sorted(path.glob("shard_*.npz")) if path.is_dir() else [path]
    if not files:
        raise SystemExit(f"no training data in {path}: run scripts/voice_data.py first")
    feats, labels, lengths = [], [], []
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            feats.append(z["features"])
            lengths.append(z["lengths"])
            if "phones" in z.files:
                ids, start, lab = z["phones"], 0, []
                times = np.arange(int(z["lengths"].max())) / FRAME_RATE
                for n in z["lengths"]:
                    lab.append(phone_curves(phones_from_ids(ids[start:start + n], FRAME_RATE), times[:n]))
                    start += n
                labels.append(np.concatenate(lab).astype(np.float16))
            else:
                labels.append(z["labels"])
    return np.concatenate(feats), np.concatenate(labels), np.concatenate(lengths)


def batches(feats, labels, starts_ok, rng, batch: int, length: int, gain_aug: bool):
    idx = rng.choice(starts_ok, batch)
    f = np.stack([feats[i:i + length] for i in idx]).astype(np.float32)
    lab = np.stack([labels[i:i + length] for i in idx]).astype(np.float32)
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
    return torch.from_numpy(f), torch.from_numpy(lab)


def loss_fn(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p, t = pred[:, DELAY:], target[:, : target.shape[1] - DELAY]
    err = nn.functional.smooth_l1_loss(p, t, beta=0.02)
    vel = nn.functional.l1_loss(p[:, 1:] - p[:, :-1], t[:, 1:] - t[:, :-1])
    return err + 0.5 * vel


class _StreamingConv(nn.Module):
    """A causal conv whose left context is an explicit state (its last inputs), not zero padding."""

    def __init__(self, layer: CausalConv) -> None:
        super().__init__()
        self.conv, self.pad = layer.conv, layer.pad

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.cat([state, x], dim=2)
        return self.conv(z), z[:, :, z.shape[2] - self.pad:]


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


def export(model: VoiceNet, out_dir: Path, info: dict) -> Path:
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out_dir / "voice_net.pt")
    stream = StreamingVoiceNet(model).eval()
    shapes = stream.state_shapes()
    onnx_path = out_dir / "voice_net.onnx"
    dummy = (torch.zeros(1, 50, N_MELS), *(torch.zeros(s) for s in shapes))
    names_in = ["features", *(f"state{i}" for i in range(len(shapes)))]
    names_out = ["curves", *(f"next{i}" for i in range(len(shapes)))]
    with torch.no_grad():
        torch.onnx.export(stream, dummy, str(onnx_path), input_names=names_in, output_names=names_out,
                          dynamic_axes={"features": {1: "frames"}, "curves": {1: "frames"}}, opset_version=17,
                          dynamo=False)
    meta = {"delay_frames": DELAY, "receptive_frames": model.receptive(), "channels": list(SPEECH_CHANNELS),
            "states": [list(s) for s in shapes], **info}
    (out_dir / "voice_net.json").write_text(json.dumps(meta, indent=1) + "\n")
    return onnx_path


def load_onnx_weights(model: VoiceNet, path: Path) -> None:
    """Weights from an exported graph (initializer names are the state-dict keys)."""
    import onnx
    from onnx import numpy_helper

    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy())
               for i in onnx.load(str(path)).graph.initializer}
    model.load_state_dict({k: weights[k] for k in model.state_dict()})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "build/voice/data"), help="shard folder from voice_data.py")
    ap.add_argument("--steps", type=int, default=1500, help="optimiser steps (about 0.3 CPU-s each at defaults)")
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--length", type=int, default=300, help="frames per training crop")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "inference/kinemo/assets"))
    ap.add_argument("--checkpoints", metavar="DIR", help="also export a snapshot every 100 steps here")
    ap.add_argument("--reexport", metavar="ONNX", help="only re-export the weights of an exported graph, no training")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.reexport:
        model = VoiceNet(args.channels)
        load_onnx_weights(model, Path(args.reexport))
        print(f"exported {export(model, Path(args.out), {'reexported_from': Path(args.reexport).name})}")
        return 0
    rng = np.random.default_rng(args.seed)

    feats, labels, lengths = load_stream(Path(args.data))
    ends = np.cumsum(lengths)
    n_val = max(1, len(lengths) // 20)
    split = int(ends[-n_val - 1])  # last 5 % of examples held out
    train_f, train_l, val_f, val_l = feats[:split], labels[:split], feats[split:], labels[split:]
    model = VoiceNet(args.channels)
    sample = train_f[:: max(1, len(train_f) // 200000)].astype(np.float32)
    model.mean.copy_(torch.from_numpy(sample.mean(0)))
    model.std.copy_(torch.from_numpy(sample.std(0) + 1e-3))
    params = sum(p.numel() for p in model.parameters())
    print(f"train {split / 360000:.2f} h, val {(len(feats) - split) / 360000:.2f} h; {params} parameters; "
          f"receptive {model.receptive()} frames, delay {DELAY}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    starts_ok = np.arange(0, split - args.length)
    vstarts = np.arange(0, len(val_f) - args.length, args.length)
    t0 = time.perf_counter()
    step, log_every = 0, 100
    running = 0.0
    while step < args.steps:
        elapsed = time.perf_counter() - t0
        lr = args.lr * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        f, lab = batches(train_f, train_l, starts_ok, rng, args.batch, args.length, True)
        loss = loss_fn(model(f), lab)
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
                vl = torch.from_numpy(np.stack([val_l[s:s + args.length] for s in vstarts[:64]]).astype(np.float32))
                p = model(vf)[:, DELAY:]
                mae = (p - vl[:, : vl.shape[1] - DELAY]).abs().mean().item()
                jaw = SPEECH_CHANNELS.index("jawOpen")
                a, b = p[..., jaw].flatten().numpy(), vl[:, : vl.shape[1] - DELAY, jaw].flatten().numpy()
                r = float(np.corrcoef(a, b)[0, 1])
            print(f"step {step} {elapsed / 60:.1f} min lr {lr:.2e} loss {running / log_every:.4f} "
                  f"val MAE {mae:.4f} val jawOpen r {r:.3f}", flush=True)
            running = 0.0
            if args.checkpoints:  # an exported snapshot to evaluate while training goes on
                export(model, Path(args.checkpoints), {"steps": step})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = export(model, out, {"train_minutes": round((time.perf_counter() - t0) / 60, 1), "steps": step,
                               "parameters": params, "train_hours": round(split / 360000, 2)})
    print(f"exported {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
