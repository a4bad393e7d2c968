"""Expression v2: the learned label, its hysteresis, the neutral profile and `kinemo image`."""

from __future__ import annotations

import csv
import json
import sys

import cv2
import numpy as np
import pytest
from conftest import ROOT, SHARED, require, run_kinemo

from kinemo import protocol
from kinemo.face.calibration import Profile
from kinemo.face.expression import Expression, ExpressionSmoother, classify
from kinemo.face.expression_model import ASSET, GEOMETRY_NAMES, ExpressionModel, features
from kinemo.face.tracker import FaceTracker, FaceTrackerOptions

EXPR = SHARED / "data" / "expressions"


@pytest.fixture(scope="module")
def faces():
    """Held-out (eval-only) Yale photos of one person: never in the training data."""
    out = {}
    with FaceTracker.create_from_options(FaceTrackerOptions(video=False)) as tracker:
        for kind in ("happy", "normal", "surprised"):
            bgr = cv2.imread(str(require(EXPR / "images" / f"yale_subject02.{kind}.jpeg")))
            f = tracker.process_image(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            assert f.present, kind
            out[kind] = f
    return out


def test_shipped_weights_load_and_scores_are_calibrated_probabilities():
    model = ExpressionModel.load(ASSET)
    rng = np.random.default_rng(0)
    for head_dim in (52, 52 + len(GEOMETRY_NAMES) + 20):
        s = model.scores(rng.random((5, head_dim)))
        assert s.shape == (5, len(protocol.EMOTIONS))
        assert np.allclose(s.sum(axis=1), 1.0) and np.all(s >= 0)
    assert classify(np.zeros(52, np.float32)).label == "neutral"  # a face doing nothing


def _reference_scores(arrays, head, x):
    """The model written out the long way: standardise, regression and networks, mix, temperature."""
    def softmax(z):
        e = np.exp(z - z.max())
        return e / e.sum()

    xs = (x - arrays[f"{head}_mean"]) / arrays[f"{head}_scale"]
    p = softmax(arrays[f"{head}_coef"] @ xs + arrays[f"{head}_intercept"])
    t = float(arrays[f"{head}_temperature"])
    if f"{head}_mlp_w1" not in arrays:
        return softmax(np.log(p) / t)
    qs = [softmax(w2 @ np.maximum(w1 @ xs + b1, 0) + b2) for w1, b1, w2, b2 in zip(
        *(arrays[f"{head}_mlp_{k}"] for k in ("w1", "b1", "w2", "b2")), strict=True)]
    mix = float(arrays[f"{head}_mix"])
    return softmax(np.log(mix * p + (1 - mix) * np.mean(qs, axis=0)) / t)


def test_scores_follow_the_weight_file_for_both_heads_and_the_regression_only_format():
    with np.load(ASSET) as z:
        arrays = {k: z[k].astype(np.float64) if z[k].dtype.kind == "f" else z[k] for k in z.files}
    assert "full_mlp_w1" in arrays and "blendshapes_mlp_w1" in arrays  # v2.1: regression + network
    rng = np.random.default_rng(1)
    for head, dim in (("full", 52 + len(GEOMETRY_NAMES) + 20), ("blendshapes", 52)):
        # a plausible face: each feature a standard deviation or so from the training mean
        x = arrays[f"{head}_mean"] + arrays[f"{head}_scale"] * rng.standard_normal(dim)
        assert np.allclose(ExpressionModel(arrays).scores(x), _reference_scores(arrays, head, x), atol=1e-9)
        # a v2.0 file (the regression alone) still loads and scores the same way
        lr_only = {k: v for k, v in arrays.items() if "_mlp_" not in k and not k.endswith("_mix")}
        assert np.allclose(ExpressionModel(lr_only).scores(x), _reference_scores(lr_only, head, x), atol=1e-9)


def test_learned_label_on_held_out_real_faces(faces):
    labels = {k: classify(f.blendshapes, f.landmarks, f.image_size) for k, f in faces.items()}
    assert labels["happy"].label == "happy" and labels["happy"].score("happy") > 0.5
    assert labels["surprised"].label == "surprise"
    assert labels["normal"].label != "happy"
    for e in labels.values():
        assert e.scores.sum() == pytest.approx(1.0, abs=1e-5) and len(e.action_units) == len(protocol.ACTION_UNITS)


def test_training_folds_keep_each_person_on_one_side():
    """The person-grouped folds the weights are chosen on: a London Set adult's neutral (_03) and smiling
    (_08) photo are one person, and no person has photos in two folds."""
    sys.path.insert(0, str(ROOT / "scripts" / "expression"))
    import expression_data as data

    rows = [r for r in data.read_labels() if r["use"] == "train"]
    persons = np.array([data.person_of(r["file"]) for r in rows])
    london = [r["file"] for r in rows if r["set"] == "london"]
    assert len(london) == 204
    assert data.person_of("images/london_017_03.jpg") == data.person_of("images/london_017_08.jpg") == "london_017"
    assert len({data.person_of(f) for f in london}) == 102
    folds = data.grouped_folds(persons, np.array([r["label"] for r in rows]))
    for p in np.unique(persons):
        assert len(set(folds[persons == p].tolist())) == 1, p
    assert len(set(folds.tolist())) == 5


def test_geometry_ignores_head_pose_and_face_size(faces):
    f = faces["happy"]
    base = features(f.blendshapes, f.landmarks, f.image_size)
    c, s = np.cos(0.3), np.sin(0.3)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    w, h = f.image_size
    metric = f.landmarks.astype(np.float64) * [w / h, 1, w / h]
    moved = (0.6 * metric @ rot.T + [0.1, 0.05, 0]) / [w / h, 1, w / h]
    assert np.allclose(features(f.blendshapes, moved, f.image_size), base, atol=1e-6)


def test_hysteresis_ignores_one_frame_flickers_but_follows_a_held_expression():
    def expr(label):
        s = np.full(len(protocol.EMOTIONS), 0.02, np.float32)
        s[protocol.EMOTIONS.index(label)] = 0.88
        return Expression(label, s, np.zeros(len(protocol.ACTION_UNITS), np.float32))

    sm = ExpressionSmoother()
    seq = ["neutral"] * 10 + ["happy"] + ["neutral"] * 10 + ["sad", "neutral"] * 5 + ["happy"] * 25
    out = [sm.update(expr(lab), i / 30).label for i, lab in enumerate(seq)]
    assert out[:30] == ["neutral"] * 30  # single-frame and alternating blips never reach the output
    assert out[-1] == "happy" and out.index("happy") <= 30 + 15  # a held smile arrives within 0.5 s
    changes = sum(a != b for a, b in zip(out, out[1:], strict=False))
    assert changes == 1


def test_neutral_profile_makes_the_performers_resting_face_neutral(faces):
    rest = faces["normal"].blendshapes.astype(np.float64)
    profile = Profile(offsets=np.clip(rest, 0, 0.95))
    calibrated = profile.apply_blendshapes(rest)
    e = classify(calibrated, profile=profile)
    assert e.label == "neutral"
    smile = profile.apply_blendshapes(faces["happy"].blendshapes)
    assert classify(smile, profile=profile).label == "happy"


def test_kinemo_image_rows_and_skips(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("yale_subject03.happy.jpeg", "yale_subject03.surprised.jpeg"):
        (folder / name).write_bytes(require(EXPR / "images" / name).read_bytes())
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    cv2.imwrite(str(folder / "wall.png"), np.full((120, 160, 3), 90, np.uint8))
    out = tmp_path / "faces.json"
    r = run_kinemo("image", str(folder), "-o", str(out))
    assert r.returncode == 1, r.stderr  # something was skipped
    assert "skipped" in r.stderr and "broken.jpg" in r.stderr and "wall.png: no face found" in r.stderr
    doc = json.loads(out.read_text())
    rows = {p["file"].rsplit("/", 1)[-1]: p for p in doc["images"]}
    assert rows["wall.png"]["face"] is False and "broken.jpg" not in rows
    happy = rows["yale_subject03.happy.jpeg"]
    assert happy["face"] and happy["expression"] == "happy"
    assert len(happy["blendshapes"]) == 52 and set(happy["scores"]) == set(protocol.EMOTIONS)
    assert sum(happy["scores"].values()) == pytest.approx(1.0, abs=1e-3)

    csv_out = tmp_path / "faces.csv"
    r = run_kinemo("image", str(folder / "yale_subject03.happy.jpeg"), "--output", str(csv_out), "-q")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(csv_out.open()))
    assert len(rows) == 1 and rows[0]["expression"] == "happy" and float(rows[0]["jawOpen"]) >= 0
    r = run_kinemo("image", str(folder / "missing.jpg"))
    assert r.returncode == 2 and "no such file" in r.stderr
