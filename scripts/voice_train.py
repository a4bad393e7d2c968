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

from kinemo.voice.features import N_MELS, SILENCE_FRAME  # noqa: E402
from kinemo.voice.visemes import NEUTRAL, SPEECH_CHANNELS, SPEECH_INDEX  # noqa: E402

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
        return (self.head(h).transpose(1, 2) + self.rest).clamp(0.0, 1.0)


def load_stream(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All shards in a folder (or one .npz) as one long stream; examples start and end in silence."""
    files = sorted(path.glob("shard_*.npz")) if path.is_dir() else [path]
    if not files:
        raise SystemExit(f"no training data in {path}: run scripts/voice_data.py first")
    parts = []
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            parts.append((z["features"], z["labels"], z["lengths"]))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))


def batches(feats, labels, starts_ok, rng, batch: int, length: int, gain_aug: bool):
    idx = rng.choice(starts_ok, batch)
    f = np.stack([feats[i:i + length] for i in idx]).astype(np.float32)
    lab = np.stack([labels[i:i + length] for i in idx]).astype(np.float32)
    if gain_aug:  # level changes are an offset in log-mel; small random tilts too
        f += rng.uniform(-1.2, 1.2, (batch, 1, 1)).astype(np.float32)
        f += (rng.uniform(-0.4, 0.4, (batch, 1, 1)) * np.linspace(-1, 1, N_MELS)[None, None]).astype(np.float32)
        f = np.maximum(f, SILENCE_FRAME[None, None])
    return torch.from_numpy(f), torch.from_numpy(lab)


def loss_fn(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p, t = pred[:, DELAY:], target[:, : target.shape[1] - DELAY]
    err = nn.functional.smooth_l1_loss(p, t, beta=0.02)
    vel = nn.functional.l1_loss(p[:, 1:] - p[:, :-1], t[:, 1:] - t[:, :-1])
    return err + 0.5 * vel


def export(model: VoiceNet, out_dir: Path, info: dict) -> Path:
    model.eval()
    onnx_path = out_dir / "voice_net.onnx"
    dummy = torch.zeros(1, 200, N_MELS)
    torch.onnx.export(model, (dummy,), str(onnx_path), input_names=["features"], output_names=["curves"],
                      dynamic_axes={"features": {1: "frames"}, "curves": {1: "frames"}}, opset_version=17,
                      dynamo=False)
    meta = {"delay_frames": DELAY, "receptive_frames": model.receptive(), "channels": list(SPEECH_CHANNELS),
            **info}
    (out_dir / "voice_net.json").write_text(json.dumps(meta, indent=1) + "\n")
    return onnx_path


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
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
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
