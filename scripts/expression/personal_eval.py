"""The personal protocol, measured through the shipped code: k taught examples per expression, the rest labelled.

  python scripts/expression/expression_data.py      # MEAD frames and photos, cached once
  python scripts/expression/personal_eval.py [--no-peers]

Per person, the first ``k`` half-second windows of each of their clips teach (k = 1, 2, 3; each
window's median is one example, as ``kinemo expressions teach --video --spans`` makes them), and
every frame from 1.5 s on is labelled by ``classify(..., profile=the person's profile)``, the
path every command takes. Beside it, in the same run and on the same frames: the naive
baseline (nearest centroid of the raw 52 blendshapes), our generic label without a profile,
and the generic peers fer and face-api where they are installed (pyproject's ``eval`` extra).

Sets: MEAD (eval: never trained or chosen on) and CREMA-D actor 1001 (train; the personal
metric's prior was chosen on it, so its row is not a test). Only people with two or more clips
count (one taught label leaves nothing to tell apart): in MEAD that is one person, M003.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import expression_data as data  # noqa: E402
import personal_fit  # noqa: E402

from kinemo.face.calibration import Profile  # noqa: E402
from kinemo.face.expression import classify  # noqa: E402
from kinemo.face.personal import PersonalExpressions, example_from_frame, mean_example  # noqa: E402

WINDOW_S, TEST_FROM_S = 0.5, 1.5


def evaluate(name: str, z: dict, persons: np.ndarray, k: int) -> dict[str, tuple[list, list]]:
    """{method: (true, predicted)} over the test frames of every person."""
    out: dict[str, tuple[list, list]] = {"personal": ([], []), "naive": ([], []), "generic": ([], [])}
    for person in np.unique(persons):
        mine = np.flatnonzero(persons == person)
        if len(np.unique(z["clip"][mine])) < 2:  # one taught label: nothing to tell apart
            continue
        personal, naive, test = PersonalExpressions(), {}, []
        for clip in np.unique(z["clip"][mine]):
            m = mine[z["clip"][mine] == clip]
            label = str(z["label"][m[0]])
            for j in range(k):
                w = m[(z["time"][m] >= j * WINDOW_S) & (z["time"][m] < (j + 1) * WINDOW_S)]
                if len(w):
                    personal.add(label, [mean_example([example_from_frame(z["blendshapes"][i], z["landmarks"][i],
                                                                          tuple(z["size"][i])) for i in w])])
            first = m[z["time"][m] < k * WINDOW_S]
            naive[label] = z["blendshapes"][first].astype(np.float64).mean(0)
            test += m[z["time"][m] >= TEST_FROM_S].tolist()
        profile = Profile(personal=personal)
        names = list(naive)
        centroids = np.stack([naive[n] for n in names])
        for i in test:
            bs, lm, size, truth = z["blendshapes"][i], z["landmarks"][i], tuple(z["size"][i]), str(z["label"][i])
            guesses = {"personal": classify(bs, lm, size, profile=profile).label,
                       "naive": names[int(np.argmin(((centroids - bs) ** 2).sum(1)))],
                       "generic": classify(bs, lm, size).label}
            for method, guess in guesses.items():
                out[method][0].append(truth)
                out[method][1].append(guess)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-peers", action="store_true", help="skip fer and face-api")
    args = ap.parse_args(argv)
    mead = data.load_mead()
    mead = {key: v[mead["present"]] for key, v in mead.items()}
    sets = {"MEAD (eval)": (mead, np.array([c.split("_")[1] for c in mead["clip"]])),
            "CREMA-D 1001 (chosen on)": _cremad()}
    for name, (z, persons) in sets.items():
        print(f"\n{name}: accuracy / macro-F1 (frames labelled)")
        for k in (1, 2, 3):
            res = evaluate(name, z, persons, k)
            row = "  ".join(f"{m} {personal_fit.score(t, p)[0]:.3f} / {personal_fit.score(t, p)[1]:.3f}"
                            for m, (t, p) in res.items())
            print(f"  k={k}: {row}  ({len(res['personal'][0])} frames)", flush=True)
        if name.startswith("MEAD") and not args.no_peers:
            _peers(z, persons, res["personal"][0])
    return 0


def _cremad() -> tuple[dict, np.ndarray]:
    cache = data.CACHE / "cremad.npz"
    if not cache.exists():
        raise SystemExit(f"no {cache}: run scripts/expression/personal_fit.py first (it tracks the CREMA-D clips)")
    with np.load(cache) as f:
        z = {key: f[key] for key in f.files}
    return z, np.array(["1001"] * len(z["clip"]))


def _peers(z: dict, persons: np.ndarray, truth: list) -> None:
    """fer and face-api on the same MEAD test frames (saved by expression_data.py)."""
    import expression_eval as ev

    multi = [p for p in np.unique(persons) if len(np.unique(z["clip"][persons == p])) >= 2]
    test = np.flatnonzero((z["time"] >= TEST_FROM_S) & np.isin(persons, multi))
    paths = [data.CACHE / str(f) for f in z["frame"][test]]
    preds = ev.predict_all(z, test, np.zeros((len(test), 7)), paths, peers=True)
    for peer in ("fer", "face-api"):
        if peer in preds:
            t, p = [str(x) for x in z["label"][test]], preds[peer]
            a, f1, _ = personal_fit.score(t, p)
            print(f"  {peer} (generic peer) on the same frames: {a:.3f} / {f1:.3f}")
        else:
            print(f"  {peer}: not installed (see pyproject's eval extra)")


if __name__ == "__main__":
    sys.exit(main())
