"""Evaluate the expression label side by side: ours (v2), the old rules, fer and face-api.

  python scripts/expression/expression_eval.py [--out build/expression/eval] [--no-peers]

Splits (never trained on; see scripts/expression/expression_data.py):

- ``source``: the ``eval`` rows of ../shared/data/expressions/labels.csv (Yale faces + stock
  photos) — another source than anything the shipped weights saw.
- ``person``: the ``train`` rows (muxspace and London Set), each scored by the cross-validation model
  that did not see that person (build/expression/oof.npz from scripts/expression/expression_train.py); the peers and the
  rules score the same photos.
- ``mead``: the MEAD clips in ../shared/data/talking/wild (evaluation only), every 2nd frame;
  per-clip majority label printed per predictor.

Every predictor sees the same face: the peers get crops cut from our face mesh's bounding box
(fer: fer's own square + 10 px margin, 64×64 grey; face-api: square, 112×112 RGB). Photos where
MediaPipe finds no face count as wrong for every predictor. Macro-F1 averages the classes that
occur in the split's truth. Writes OUT.json and one confusion-matrix PNG per split.

Peers (optional, not needed to use Kinemo):
  .venv/bin/pip install -e '.[eval]' && .venv/bin/pip install --no-deps fer==25.10.3
  npm install --prefix build/peers-expr @vladmandic/face-api@1.7.15 @tensorflow/tfjs@4.22.0 \\
      @tensorflow/tfjs-backend-wasm@4.22.0
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import expression_data as data  # noqa: E402

from kinemo.face.expression import classify_rules as rules_classify  # noqa: E402
from kinemo.face.expression_model import default_model, features  # noqa: E402

CLASSES = data.CLASSES
PEERS_EXPR = data.ROOT / "build" / "peers-expr"
FER_INSTALL = ".venv/bin/pip install tflite-runtime==2.14.0 && .venv/bin/pip install --no-deps fer==25.10.3"
FACEAPI_INSTALL = ("npm install --prefix build/peers-expr @vladmandic/face-api@1.7.15 @tensorflow/tfjs@4.22.0 "
                   "@tensorflow/tfjs-backend-wasm@4.22.0")
FER_NAMES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
FER_TO_OURS = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happy", "sad": "sad",
               "surprise": "surprise", "neutral": "neutral"}
FACEAPI_TO_OURS = {"neutral": "neutral", "happy": "happy", "sad": "sad", "angry": "anger", "fearful": "fear",
                   "disgusted": "disgust", "surprised": "surprise"}


# ---------------------------------------------------------------- crops


def face_box(landmarks: np.ndarray, w: int, h: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) in pixels of the mesh's bounding box."""
    x0, y0 = landmarks[:, 0].min() * w, landmarks[:, 1].min() * h
    x1, y1 = landmarks[:, 0].max() * w, landmarks[:, 1].max() * h
    return int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0))


def square_crop(img: np.ndarray, box, margin: float, size: int) -> np.ndarray:
    import cv2

    x, y, w, h = box
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    s = int(round(side))
    pad = s
    padded = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    crop = padded[y0 + pad:y0 + pad + s, x0 + pad:x0 + pad + s]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def fer_crop(gray: np.ndarray, box) -> np.ndarray:
    """fer's own preprocessing (FER.detect_emotions): square box, 10 px offsets, 40 px zero padding, 64×64."""
    import cv2

    x, y, w, h = box
    if h > w:
        x, w = x - (h - w) // 2, h
    elif w > h:
        y, h = y - (w - h) // 2, w
    padded = cv2.copyMakeBorder(gray, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=0)
    x1, x2, y1, y2 = max(0, x - 10 + 40), x + w + 10 + 40, max(0, y - 10 + 40), y + h + 10 + 40
    return cv2.resize(padded[y1:y2, x1:x2], (64, 64))


# ---------------------------------------------------------------- predictors


def fer_available() -> str | None:
    try:
        import fer  # noqa: F401
        import tflite_runtime.interpreter  # noqa: F401
    except ImportError:
        return FER_INSTALL
    return None


def faceapi_available() -> str | None:
    if shutil.which("node") is None or not (PEERS_EXPR / "node_modules" / "@vladmandic" / "face-api").exists():
        return FACEAPI_INSTALL
    return None


def run_fer(gray_crops: list[np.ndarray]) -> np.ndarray:
    import fer
    import tflite_runtime.interpreter as tfl

    model = Path(fer.__file__).parent / "data" / "emotion_model_quantized.tflite"
    it = tfl.Interpreter(model_path=str(model))
    it.allocate_tensors()
    inp, outp = it.get_input_details()[0], it.get_output_details()[0]
    order = [FER_NAMES.index(next(k for k, v in FER_TO_OURS.items() if v == c)) for c in CLASSES]
    out = np.zeros((len(gray_crops), len(CLASSES)))
    for i, g in enumerate(gray_crops):
        x = ((g.astype(np.float32) / 255.0) - 0.5) * 2.0
        it.set_tensor(inp["index"], x[None, :, :, None].astype(inp["dtype"]))
        it.invoke()
        out[i] = it.get_tensor(outp["index"])[0][order]
    return out


def run_faceapi(rgb_crops: list[np.ndarray], size: int = 112) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        crops = Path(tmp) / "crops.u8"
        np.stack(rgb_crops).astype(np.uint8).tofile(crops)
        res = Path(tmp) / "out.json"
        subprocess.run(["node", str(Path(__file__).with_name("expression_faceapi.js")), str(PEERS_EXPR), str(crops),
                        str(len(rgb_crops)), str(size), str(res)], check=True)
        scores = json.loads(res.read_text())["scores"]
    inv = {v: k for k, v in FACEAPI_TO_OURS.items()}
    return np.array([[s[inv[c]] for c in CLASSES] for s in scores])


# ---------------------------------------------------------------- metrics


def metrics(truth: list[str], pred: list[str]) -> dict:
    t = np.array([CLASSES.index(x) for x in truth])
    p = np.array([CLASSES.index(x) if x in CLASSES else -1 for x in pred])
    conf = np.zeros((len(CLASSES), len(CLASSES)), int)
    for a, b in zip(t, p, strict=True):
        if b >= 0:
            conf[a, b] += 1
    per = {}
    f1s = []
    for c, name in enumerate(CLASSES):
        n_true, n_pred, tp = int(np.sum(t == c)), int(np.sum(p == c)), int(np.sum((t == c) & (p == c)))
        rec = tp / n_true if n_true else None
        prec = tp / n_pred if n_pred else (0.0 if n_true else None)
        if n_true:
            f1s.append(0.0 if tp == 0 else 2 * prec * rec / (prec + rec))
        per[name] = {"n": n_true, "recall": rec, "precision": prec}
    return {"n": len(t), "accuracy": float(np.mean(t == p)), "macro_f1": float(np.mean(f1s)), "per_class": per,
            "confusion": conf.tolist()}


def print_table(split: str, results: dict[str, dict]) -> None:
    names = list(results)
    print(f"\n== {split}: {next(iter(results.values()))['n']} faces ==")
    print(f"{'':28s}" + "".join(f"{n:>12s}" for n in names))
    print(f"{'accuracy':28s}" + "".join(f"{results[n]['accuracy']:12.3f}" for n in names))
    print(f"{'macro-F1':28s}" + "".join(f"{results[n]['macro_f1']:12.3f}" for n in names))
    for c in CLASSES:
        k = results[names[0]]["per_class"][c]["n"]
        if not k:
            continue
        cells = []
        for n in names:
            pc = results[n]["per_class"][c]
            prec = "  -  " if pc["precision"] is None else f"{pc['precision']:.2f}"
            cells.append(f"{pc['recall']:.2f}/{prec:>4s}")
        print(f"{'recall/prec ' + c + f' ({k})':28s}" + "".join(f"{x:>12s}" for x in cells))


def plot(split: str, results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 4.4))
    for ax, (name, r) in zip(np.atleast_1d(axes), results.items(), strict=True):
        conf = np.array(r["confusion"], float)
        norm = conf / np.maximum(conf.sum(1, keepdims=True), 1)
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(CLASSES)):
            for j in range(len(CLASSES)):
                if conf[i, j]:
                    ax.text(j, i, int(conf[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.5 else "black")
        ax.set_xticks(range(len(CLASSES)), CLASSES, rotation=60, fontsize=7)
        ax.set_yticks(range(len(CLASSES)), CLASSES, fontsize=7)
        ax.set_title(f"{name}\nacc {r['accuracy']:.2f}  macro-F1 {r['macro_f1']:.2f}", fontsize=9)
        ax.set_xlabel("predicted", fontsize=7)
    np.atleast_1d(axes)[0].set_ylabel("truth", fontsize=7)
    fig.suptitle(f"expression, split '{split}'")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- main


def crops_for(paths: list[Path], landmarks: np.ndarray, present: np.ndarray):
    import cv2

    gray, rgb = [], []
    for p, lm, ok in zip(paths, landmarks, present, strict=True):
        if not ok:
            gray.append(np.zeros((64, 64), np.uint8))
            rgb.append(np.zeros((112, 112, 3), np.uint8))
            continue
        bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
        h, w = bgr.shape[:2]
        box = face_box(lm, w, h)
        gray.append(fer_crop(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), box))
        rgb.append(square_crop(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), box, 0.05, 112))
    return gray, rgb


def predict_all(d: dict, rows: np.ndarray, ours: np.ndarray, paths: list[Path], peers: bool) -> dict[str, list[str]]:
    present = d["present"][rows]
    preds = {"ours": [CLASSES[int(i)] if ok else "none" for i, ok in zip(ours.argmax(1), present, strict=True)],
             "rules": [rules_classify(b).label if ok else "none"
                       for b, ok in zip(d["blendshapes"][rows], present, strict=True)]}
    if peers:
        gray, rgb = crops_for(paths, d["landmarks"][rows], present)
        for name, avail, fn, crops in (("fer", fer_available(), run_fer, gray),
                                        ("face-api", faceapi_available(), run_faceapi, rgb)):
            if avail is not None:
                print(f"{name} is not installed; to compare with it: {avail}")
                continue
            s = fn(crops)
            preds[name] = [CLASSES[int(i)] if ok else "none" for i, ok in zip(s.argmax(1), present, strict=True)]
    return preds


def ours_scores(d: dict, rows: np.ndarray) -> np.ndarray:
    model = default_model()
    out = np.zeros((len(rows), len(CLASSES)))
    for k, i in enumerate(rows):
        if d["present"][i]:
            out[k] = model.scores(features(d["blendshapes"][i], d["landmarks"][i], tuple(d["size"][i])))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(data.CACHE / "eval"), help="prefix of OUT.json and OUT_SPLIT.png")
    ap.add_argument("--no-peers", action="store_true", help="only ours and the rules")
    args = ap.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report: dict = {}

    d = data.load_photos()
    ev = np.flatnonzero(d["use"] == "eval")
    splits = {"source": (ev, ours_scores(d, ev))}
    oof_path = data.CACHE / "oof.npz"
    if oof_path.exists():
        with np.load(oof_path) as z:
            rows, oof = z["rows"], z["full"]
        splits["person"] = (rows, oof)
    else:
        print(f"no {oof_path}: run scripts/expression/expression_train.py for the person hold-out")
    for split, (rows, scores) in splits.items():
        paths = [data.EXPR / p for p in d["path"][rows]]
        preds = predict_all(d, rows, scores, paths, not args.no_peers)
        truth = list(d["label"][rows])
        res = {n: metrics(truth, p) for n, p in preds.items()}
        res_faces = int(d["present"][rows].sum())
        print_table(f"{split} (faces found {res_faces}/{len(rows)})", res)
        plot(split, res, out.with_name(f"{out.name}_{split}.png"))
        report[split] = res

    m = data.load_mead()
    rows = np.arange(len(m["clip"]))
    mead_scores = np.zeros((len(rows), len(CLASSES)))
    model = default_model()
    for i in rows:
        if m["present"][i]:
            mead_scores[i] = model.scores(features(m["blendshapes"][i], m["landmarks"][i], tuple(m["size"][i])))
    paths = [data.CACHE / f for f in m["frame"]]
    preds = predict_all(m, rows, mead_scores, paths, not args.no_peers)
    truth = list(m["label"])
    res = {n: metrics(truth, p) for n, p in preds.items()}
    print_table("mead frames", res)
    plot("mead", res, out.with_name(f"{out.name}_mead.png"))
    clips = sorted(set(m["clip"]))
    print("\n== mead per-clip majority ==")
    print(f"{'clip':28s}{'truth':>10s}" + "".join(f"{n:>10s}" for n in preds))
    clip_res: dict[str, dict] = {n: {} for n in preds}
    hits = dict.fromkeys(preds, 0)
    for c in clips:
        idx = np.flatnonzero(m["clip"] == c)
        line = f"{c:28s}{m['label'][idx[0]]:>10s}"
        for n, p in preds.items():
            maj = data.majority(p[i] for i in idx if p[i] != "none") or "none"
            clip_res[n][c] = maj
            hits[n] += int(maj == m["label"][idx[0]])
            line += f"{maj:>10s}"
        print(line)
    print(f"{'clips right':38s}" + "".join(f"{hits[n]:>7d}/{len(clips)}" for n in preds))
    report["mead"] = res
    report["mead_clips"] = clip_res
    out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    print(f"\nwrote {out.with_suffix('.json')} and {out.name}_*.png")


if __name__ == "__main__":
    main()
