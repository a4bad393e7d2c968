"""Drop the output channels of a file-network ensemble that its mix never reads (same curves, less compute).

  .venv/bin/python scripts/voice/voice_file_prune.py [--model inference/kinemo/assets/voice_file.onnx] [--out PATH]

Why: ``voice_train.py --ensemble`` exports every member whole and mixes their 32 channels
with fixed weights (``voice_file.json``: ``head_weights``, ``jaw_weights``). Since v2.5 the two
linear jaws count for ``jawOpen`` only, yet each still computed all 32 channels: a
(frames, 15 taps × 384) × (5760, 32) product per jaw, 31 of its columns multiplied by 0
(the head: 8.4 → 7.8 ms per 10 s window, 5.1 → 3.7 MB). Here each linear member keeps the columns its mix row uses
(``jawOpen``) and puts them back in place with a 0/1 selection product, so the mix sees
the same values (the unused channels are exact zeros either way); the curves agree to
float rounding, which is checked before anything is written.

Needs the ``onnx`` package (``pip install -e ".[train]"``); the engine does not.
Writes over ``--model`` unless ``--out`` is given (its ``.json`` is unchanged).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
MEMBER = re.compile(r"heads\.(\d+)\.head\.weight$")


def prune(model):
    """The ensemble graph with each linear member cut to the channels its mix row uses; the member
    indices pruned and the channels each kept."""
    import onnx
    from onnx import helper, numpy_helper

    g = model.graph
    inits = {t.name: t for t in g.initializer}
    mix = numpy_helper.to_array(inits["mix"])
    mix = mix.reshape(-1, mix.shape[-1])  # (members, channels)
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    kept = {}
    for n in list(g.node):
        m = MEMBER.match(n.input[1]) if n.op_type == "MatMul" and len(n.input) == 2 else None
        if not m:
            continue
        k = int(m.group(1))
        use = np.flatnonzero(mix[k] != 0)
        weight = numpy_helper.to_array(inits[n.input[1]])
        if len(use) == 0 or len(use) == weight.shape[1]:
            continue
        (add,) = consumers[n.output[0]]
        (clip,) = consumers[add.output[0]]
        bias_name = f"heads.{k}.head.bias"
        if add.op_type != "Add" or bias_name not in add.input or clip.op_type != "Clip":
            raise SystemExit(f"member {k}: expected MatMul → Add(bias) → Clip, found {add.op_type} → {clip.op_type}")
        bias = numpy_helper.to_array(inits[bias_name])
        inits[n.input[1]].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(weight[:, use]), n.input[1]))
        inits[bias_name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(bias[use]), bias_name))
        select = np.zeros((len(use), weight.shape[1]), np.float32)
        select[np.arange(len(use)), use] = 1
        select_name, placed = f"heads.{k}.head.select", f"/heads.{k}/head/Select_output_0"
        g.initializer.append(numpy_helper.from_array(select, select_name))
        for later in consumers[clip.output[0]]:  # the mix reads the channels back in their places
            later.input[list(later.input).index(clip.output[0])] = placed
        g.node.insert(list(g.node).index(clip) + 1, helper.make_node("MatMul", [clip.output[0], select_name], [placed]))
        kept[k] = use.tolist()
    onnx.checker.check_model(model)
    return model, kept


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / "inference/kinemo/assets/voice_file.onnx")
    ap.add_argument("--out", type=Path, help="where to write (default: over --model)")
    ap.add_argument("--frames", type=int, default=500, help="frames of random features to check on")
    args = ap.parse_args(argv)
    try:
        import onnx
    except ImportError:
        print("voice_file_prune: needs the onnx package: pip install -e '.[train]'", file=sys.stderr)
        return 2
    import onnxruntime as ort

    before = args.model.read_bytes()
    model, kept = prune(onnx.load_from_string(before))
    if not kept:
        print(f"{args.model}: nothing to prune (every member's channels are used)")
        return 0
    after = model.SerializeToString()
    feats = np.random.default_rng(0).standard_normal((1, args.frames, 768)).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    old, new = (ort.InferenceSession(b, so, providers=["CPUExecutionProvider"]).run(None, {"features": feats})[0]
                for b in (before, after))
    diff = float(np.abs(old - new).max())
    if diff > 1e-5:
        raise SystemExit(f"pruned graph differs by {diff:g}: not written")
    out = args.out or args.model
    out.write_bytes(after)
    print(f"{out}: members {sorted(kept)} keep channels {sorted(set(sum(kept.values(), [])))}; "
          f"{len(before) / 1e6:.2f} → {len(after) / 1e6:.2f} MB; curves differ by at most {diff:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
