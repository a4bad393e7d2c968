"""Train the action classifier on generated windows and export it to ONNX (training only: torch).

    python scripts/actions/actions_dataset.py --split train --seqs-per-class 700 --seed 11
    python scripts/actions/actions_dataset.py --split val --seqs-per-class 60 --seed 12
    python scripts/actions/actions_train.py            # → inference/kinemo/assets/actions.onnx + actions.json

The network is a small temporal CNN (dilated 1-D convolutions over the 32-step window,
residual, GELU) instead of the paper's CNN-LSTM: it sees the whole 1.6 s window at once,
exports to plain ONNX and runs in well under a millisecond. Its last layer is a cosine
classifier (unit-length embedding · unit-length class weights × a fixed scale); the
embedding is a second output, which the few-shot detectors for user actions build on
(``kinemo.body.fewshot``), with no retraining and no torch at run time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kinemo.body.features import FEATURES, RATE, STEPS
from kinemo.body.generator import QUIET

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "inference" / "kinemo" / "assets"
SCALE = 16.0


class ActionNet(nn.Module):
    def __init__(self, classes: int, width: int = 96, emb: int = 64, depth: bool = False) -> None:
        super().__init__()
        # MediaPipe's z is not geometric on real video (dance.mp4: the nose sits half a body
        # height in front of the hips; converted Kinect skeletons and the generator put it
        # near the hips), so by default the network does not look at it: z is zeroed inside
        # the network, and the exported model carries that with it.
        mask = torch.ones(FEATURES)
        if not depth:
            mask[2::4] = 0.0
        self.register_buffer("mask", mask)
        self.inp = nn.Sequential(nn.Conv1d(FEATURES, width, 1), nn.BatchNorm1d(width), nn.GELU())
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv1d(width, width, 3, padding=d, dilation=d), nn.BatchNorm1d(width), nn.GELU())
            for d in (1, 2, 4, 8))
        self.proj = nn.Linear(2 * width, emb)
        self.weight = nn.Parameter(torch.randn(classes, emb) * 0.1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.inp((x * self.mask).transpose(1, 2))
        for block in self.blocks:
            h = h + block(h)
        pooled = torch.cat([h.mean(-1), h[..., -6:].mean(-1)], dim=1)  # whole window + its recent end
        emb = F.normalize(self.proj(pooled), dim=1)
        return SCALE * emb @ F.normalize(self.weight, dim=1).T, emb


def load(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    with np.load(path, allow_pickle=False) as z:
        keep = z["y"] >= 0
        return z["x"][keep].astype(np.float32), z["y"][keep], z["steady"][keep], json.loads(str(z["labels"]))


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(torch.from_numpy(x[i:i + 2048]))[0].argmax(1) for i in range(0, len(x), 2048)])
    return float((pred.numpy() == y).mean())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "build" / "actions")
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ASSETS)
    ap.add_argument("--width", type=int, default=96, help="channels of the temporal convolutions")
    ap.add_argument("--depth", action="store_true", help="let the network see MediaPipe's z (v1 did)")
    args = ap.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    x, y, _, labels = load(args.data / "train.npz")
    vx, vy, vsteady, _ = load(args.data / "val.npz")
    model = ActionNet(len(labels), width=args.width, depth=args.depth)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-3)
    steps = args.epochs * (len(x) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.1)
    rng = np.random.default_rng(args.seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    print(f"{len(x)} training windows, {len(vx)} validation, {sum(p.numel() for p in model.parameters())} params")
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(x))
        t0, total = time.perf_counter(), 0.0
        for i in range(len(x) // args.batch):
            idx = torch.from_numpy(order[i * args.batch:(i + 1) * args.batch])
            logits, _ = model(xt[idx])
            loss = F.cross_entropy(logits, yt[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss)
        val = accuracy(model, vx, vy)
        val_steady = accuracy(model, vx[vsteady], vy[vsteady])
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / (i + 1):.4f}, val {val:.4f}, "
              f"val steady {val_steady:.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    export(model, labels, args.out, {"val_accuracy": val, "val_steady_accuracy": val_steady,
                                     "train_windows": len(x), "epochs": args.epochs,
                                     "width": args.width, "depth": args.depth, "seed": args.seed})
    return 0


def export(model: nn.Module, labels: list[str], out: Path, info: dict) -> None:
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "actions.onnx"
    dummy = torch.zeros(1, STEPS, FEATURES)
    torch.onnx.export(model, (dummy,), str(onnx_path), input_names=["window"], output_names=["logits", "embedding"],
                      dynamic_axes={"window": {0: "batch"}, "logits": {0: "batch"}, "embedding": {0: "batch"}},
                      opset_version=17, dynamo=False)
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    meta = {"format": "kinemo-actions-model", "version": 1, "labels": labels, "rate": RATE, "steps": STEPS,
            "features": FEATURES, "scale": SCALE,
            "quiet": [q for q in QUIET if q in labels], "sha256": digest, "training": info}
    (out / "actions.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size // 1024} KiB) and actions.json")


if __name__ == "__main__":
    raise SystemExit(main())
