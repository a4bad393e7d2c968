"""Personal expressions: taught from photos, a video with spans or a (fake) camera; used by every path."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import numpy as np
import pytest
from conftest import GRID, ROOT, SHARED, require, run_kinemo

from kinemo import protocol
from kinemo.errors import KinemoError
from kinemo.face.calibration import Profile
from kinemo.face.expression import ExpressionSmoother
from kinemo.face.personal import Example, PersonalExpressions, default_metric
from kinemo.frame import Frame
from kinemo.journal import JournalWriter, read_journal
from kinemo.takes import TakeWriter, read_take

PHOTOS = SHARED / "data" / "expressions" / "images"
YALE = {"happy": "happy", "sad": "sad", "surprised": "surprise", "normal": "neutral"}


def _example(rng, base: np.ndarray) -> Example:
    return Example(np.clip(base + rng.normal(0, 0.02, 52), 0, 1))


def _personal(seed: int = 0) -> tuple[PersonalExpressions, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    faces = {}
    for label, channels in (("neutral", []), ("happy", ["mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft"]),
                            ("smirk", ["mouthSmileLeft", "mouthDimpleLeft"]),
                            ("pout", ["mouthPucker", "mouthFunnel", "mouthRollLower", "mouthShrugLower"])):
        base = np.full(52, 0.05)
        for c in channels:
            base[protocol.ARKIT_INDEX[c]] = 0.7
        faces[label] = base
    personal = PersonalExpressions()
    for label, base in faces.items():
        personal.add(label, [_example(rng, base) for _ in range(2)])
    return personal, faces


def _fit(personal: PersonalExpressions):
    """The shipped metric without the generic prior: the generic model has no opinion worth having of
    these synthetic faces (the real photos below use the whole shipped classifier)."""
    return personal.fit(replace(default_metric(), prior=0.0))


def test_taught_faces_get_their_own_names_and_scores_sum_to_one():
    personal, faces = _personal()
    clf = _fit(personal)
    assert clf.labels == protocol.EMOTIONS + ("pout", "smirk")
    rng = np.random.default_rng(5)
    for label, base in faces.items():
        for _ in range(5):
            e = clf.classify(_example(rng, base).blendshapes)
            assert e.label == label and abs(float(e.scores.sum()) - 1) < 1e-5 and e.labels == clf.labels
    # A built-in nobody taught still has a score (the generic prior) and can win when nothing taught fits.
    assert clf.classify(faces["happy"]).score("anger") >= 0


def test_the_stream_hysteresis_works_over_custom_labels():
    personal, faces = _personal()
    clf, smooth = _fit(personal), ExpressionSmoother()
    labels = [smooth.update(clf.classify(faces["neutral" if t < 1 else "pout"]), t).label
              for t in np.arange(0, 2, 1 / 30)]
    assert labels[0] == "neutral" and labels[-1] == "pout" and labels.index("pout") > 30  # not on the first frame


def test_profile_keeps_expressions_and_refuses_ones_it_cannot_use(tmp_path):
    personal, _ = _personal()
    p = Profile(personal=personal)
    p.save(tmp_path / "me.json")
    back = Profile.load(tmp_path / "me.json")
    assert sorted(back.personal.examples) == sorted(personal.examples)
    assert np.allclose(back.personal.examples["pout"][0].blendshapes, personal.examples["pout"][0].blendshapes,
                       atol=1e-6)
    doc = json.loads((tmp_path / "me.json").read_text())
    v1 = {k: doc[k] for k in ("format", "channels", "offsets", "gains")} | {"version": 1}
    (tmp_path / "v1.json").write_text(json.dumps(v1))
    assert not Profile.load(tmp_path / "v1.json").personal.examples  # a calibration-only profile still loads
    doc["expressions"]["version"] = 0
    (tmp_path / "old.json").write_text(json.dumps(doc))
    with pytest.raises(KinemoError, match="teach them again"):
        Profile.load(tmp_path / "old.json")
    doc["version"] = 99
    (tmp_path / "new.json").write_text(json.dumps(doc))
    with pytest.raises(KinemoError, match="newer than this Kinemo"):
        Profile.load(tmp_path / "new.json")


def test_custom_labels_travel_in_a_second_message_old_receivers_ignore():
    personal, faces = _personal()
    frame = Frame(seq=1, time=0.0, stamp=1.0, present=True, blendshapes=faces["smirk"].astype(np.float32))
    frame.expression = _fit(personal).classify(faces["smirk"])
    sample = frame.to_sample()
    assert sample.expression[0] in protocol.EMOTIONS and len(sample.expression) == 1 + len(protocol.EMOTIONS)
    assert sample.expression_labels[0] == "smirk" and "pout" in sample.expression_labels
    got = protocol.FaceSample(seq=0, stamp=0, time=0)
    for address, tags, args in protocol.encode_sample(sample):
        protocol.apply_update(got, protocol.decode_message(address, args, tags))
    assert got.expression_labels[0] == "smirk" and got.expression == sample.expression
    old_types = {k: v for k, v in protocol.PAYLOAD_TYPES.items() if k != protocol.ADDR_EXPRESSION_LABELS}
    assert protocol.ADDR_EXPRESSION_LABELS not in old_types  # an older receiver does not know it: ignored


def test_takes_and_journals_keep_custom_labels(tmp_path):
    personal, faces = _personal()
    clf = _fit(personal)
    w = TakeWriter(tmp_path / "take.json", fps=30)
    for i, label in enumerate(["neutral"] * 5 + ["smirk"] * 5):
        f = Frame(seq=i, time=i / 30, stamp=i, present=True, blendshapes=faces[label].astype(np.float32))
        f.expression = clf.classify(faces[label])
        w.add(f)
    _, back, _ = read_journal(w._journal.path)
    assert back[-1].expression.labels == clf.labels
    w.close()
    doc = json.loads((tmp_path / "take.json").read_text())
    assert doc["emotions"] == list(clf.labels) and doc["emotion"][-1] == "smirk"
    assert np.shape(doc["emotion_scores"]) == (10, len(clf.labels))
    assert read_take(tmp_path / "take.json")["meta"]["emotions"] == list(clf.labels)
    j = JournalWriter(tmp_path / "x.journal", {})
    j.close()


def _yale_csv(tmp_path, subject: str = "subject01"):
    rows = [f"{require(PHOTOS / f'yale_{subject}.{name}.jpeg')},{label}" for name, label in YALE.items()]
    (tmp_path / "faces.csv").write_text("file,label\n" + "\n".join(rows) + "\n")
    return tmp_path / "faces.csv"


def test_teach_from_photos_then_label_photos_list_and_remove(tmp_path):
    profile = tmp_path / "me.json"
    r = run_kinemo("expressions", "teach", "--images", str(_yale_csv(tmp_path)), "--profile", str(profile))
    assert r.returncode == 0 and "fitted in" in r.stderr, r.stderr
    r = run_kinemo("expressions", "list", "--profile", str(profile))
    assert "happy" in r.stdout and "not taught" in r.stdout and "anger" in r.stdout
    out = tmp_path / "out.json"
    photos = [str(PHOTOS / f"yale_subject01.{name}.jpeg") for name in YALE]
    r = run_kinemo("image", *photos, "--profile", str(profile), "--output", str(out), "-q")
    assert r.returncode == 0, r.stderr
    rows = json.loads(out.read_text())["images"]
    assert [row["expression"] for row in rows] == list(YALE.values())  # each taught photo is its own label
    assert all(abs(sum(row["scores"].values()) - 1) < 1e-3 for row in rows)
    r = run_kinemo("expressions", "remove", "sad", "--profile", str(profile))
    assert r.returncode == 0 and "sad" not in Profile.load(profile).personal.examples


def test_teach_custom_names_from_a_video_with_spans(tmp_path):
    clip = require(GRID / "bbaf2n.mpg")
    spans = tmp_path / "spans.csv"
    spans.write_text("opening,0.2,0.8\nclosing,2.2,2.8\n")
    profile = tmp_path / "me.json"
    r = run_kinemo("expressions", "teach", "--video", str(clip), "--spans", str(spans), "--profile", str(profile))
    assert r.returncode == 0, r.stderr
    assert sorted(Profile.load(profile).personal.examples) == ["closing", "opening"]


def test_guided_teach_from_a_fake_camera(tmp_path):
    """A video file stands in for the camera: the guided prompts run on its frames in camera time."""
    profile = tmp_path / "me.json"
    r = run_kinemo("expressions", "teach", "--camera", str(ROOT / "rigs" / "media" / "astronaut.mp4"),
                   "--labels", "neutral,smirk", "--ready", "0.05", "--seconds", "0.3", "--repeats", "1",
                   "--profile", str(profile))
    assert r.returncode == 0, r.stderr
    assert "[1/2] make your NEUTRAL face" in r.stderr and "got smirk" in r.stderr
    taught = Profile.load(profile).personal.examples
    assert sorted(taught) == ["neutral", "smirk"] and taught["smirk"][0].geometry is not None


@pytest.mark.parametrize(("files", "args", "message"), [
    ({"faces.csv": "file,label\n{noface},happy\n"}, ["--images", "faces.csv"], "no face found"),
    ({"faces.csv": "file,label,extra\na.jpg,happy,1\n"}, ["--images", "faces.csv"], "3 columns"),
    ({"spans.csv": "label,begin,finish\nhappy,0,1\n"}, ["--video", "{clip}", "--spans", "spans.csv"],
     "unknown columns"),
    ({"spans.csv": "happy,1.0,1.0\n"}, ["--video", "{clip}", "--spans", "spans.csv"], "empty span"),
    ({"spans.csv": "happy,50,51\n"}, ["--video", "{clip}", "--spans", "spans.csv"], "no face seen"),
    ({"faces.csv": "{noface},no good\n"}, ["--images", "faces.csv"], "expression name"),
    ({}, ["--camera", "{noface}", "--labels", "happy", "--ready", "0", "--seconds", "0.3"], "no face seen"),
])
def test_bad_teaching_input_is_one_line_and_saves_nothing(tmp_path, files, args, message):
    noface = tmp_path / "noface.png"
    import cv2

    cv2.imwrite(str(noface), np.full((120, 160, 3), 127, np.uint8))
    fmt = {"noface": str(noface), "clip": str(require(GRID / "bbaf2n.mpg"))}
    for name, text in files.items():
        (tmp_path / name).write_text(text.format(**fmt))
    profile = tmp_path / "me.json"
    Profile().save(profile)
    before = profile.read_bytes()
    args = [str(tmp_path / a) if a in files else a.format(**fmt) for a in args]
    r = run_kinemo("expressions", "teach", *args, "--profile", str(profile))
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and message in errors[0], r.stderr
    assert profile.read_bytes() == before


def test_a_profile_from_an_older_teaching_is_one_line(tmp_path):
    personal, _ = _personal()
    Profile(personal=personal).save(tmp_path / "me.json")
    doc = json.loads((tmp_path / "me.json").read_text())
    doc["expressions"]["version"] = 0
    (tmp_path / "me.json").write_text(json.dumps(doc))
    r = run_kinemo("image", str(require(SHARED / "data" / "faces" / "sergey.png")), "--profile",
                   str(tmp_path / "me.json"))
    assert r.returncode == 2 and "teach them again" in r.stderr and r.stderr.count("\n") == 1


def test_labelling_a_frame_is_cheap():
    """Sanity bound only; scripts/bench/bench_expression.py measures it against the generic model."""
    personal, faces = _personal()
    clf = personal.fit()
    clf.classify(faces["happy"])
    t0 = time.perf_counter()
    for _ in range(200):
        clf.classify(faces["happy"])
    assert (time.perf_counter() - t0) / 200 < 0.005
