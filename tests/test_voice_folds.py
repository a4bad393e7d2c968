"""The speaker folds of scripts/voice/voice_folds.py: which clips are held out, and how folds are summed up."""

import csv
import json
import sys
from pathlib import Path

from conftest import ROOT, SHARED, require

sys.path.insert(0, str(ROOT / "scripts" / "voice"))
import voice_folds as vf  # noqa: E402


def test_folds_are_the_trainable_speakers_besides_s1_each_held_out_once():
    with open(require(SHARED / "data/talking/manifest.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    others = {Path(r["clip"]).stem for r in rows if r["use"] == "train" and not r["clip"].startswith("grid_s1/")}
    held = [c for fold in vf.FOLDS for c in fold]
    assert len(held) == len(set(held))  # no speaker in two folds
    assert set(held) == others  # every trainable speaker besides s1, and nothing eval-only
    assert vf.FOLDS[0] == ("vox2_00015", "vox2_00473", "vox2_741400163")  # the model card's standard hold-out
    # One speaker's clips stay in one fold (the manifest names GRID speakers and CREMA-D actors).
    speaker = {Path(r["clip"]).stem: r["corpus"] if ("speaker" in r["corpus"] or "actor" in r["corpus"])
               else Path(r["clip"]).stem for r in rows}
    fold_of: dict[str, int] = {}
    for k, fold in enumerate(vf.FOLDS):
        for clip in fold:
            assert fold_of.setdefault(speaker[clip], k) == k, f"{speaker[clip]} is in two folds"


def test_scores_pool_every_clip_of_every_fold(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(vf, "OUT", tmp_path)
    for k, (jaw, mouth) in enumerate(((0.6, 0.2), (0.0, 0.1))):
        out = tmp_path / f"r_f{k + 1}"
        out.mkdir()
        clips = {f"clip{k}{i}": {"model": {"r_jaw": jaw, "r_mouth": mouth, "skill": -1.0}} for i in range(3)}
        # a clip the sync check would drop still counts: every recipe is scored on the same clips
        (out / "eval.json").write_text(json.dumps({"sets": {"heldout": {"clips": clips, "dropped": ["clip00"]}}}))
    rows = vf.scores("r")
    assert len(rows) == 6
    assert abs(sum(r[1] for r in rows) / 6 - 0.3) < 1e-9
    vf.report(["r", "missing"])
    out = capsys.readouterr().out
    assert "0.300" in out and "0.150" in out
    assert "no folds evaluated" in out


def _trainable_wild_clips() -> list[dict]:
    with open(require(SHARED / "data/talking/manifest.csv"), newline="") as f:
        return [r for r in csv.DictReader(f) if r["use"] == "train" and not r["clip"].startswith("grid_s1/")]


def test_speaker_of_groups_exactly_one_speakers_clips():
    """The linear-head sweep sums its normal equations per ``speaker_of``: one group per speaker."""
    rows = _trainable_wild_clips()
    manifest_speaker = {Path(r["clip"]).stem: r["corpus"] if ("speaker s" in r["corpus"] and "?" not in r["corpus"])
                        or "actor" in r["corpus"] else Path(r["clip"]).stem for r in rows}
    clips = sorted(manifest_speaker)
    for a in clips:
        for b in clips:
            assert (vf.speaker_of(a) == vf.speaker_of(b)) == (manifest_speaker[a] == manifest_speaker[b]), (a, b)
    assert vf.speaker_of("cremad_1001_ANG") == "cremad_1001" and vf.speaker_of("grid_up_bbax9s") == "grid_up_bbax9s"


def test_every_trainable_clip_besides_s1_counts_as_another_speaker():
    """Speaker weighting (--ridge-other-share, --other-share, spread matching) must not take a
    CREMA-D or VoxCeleb v1 clip for GRID s1."""
    import numpy as np
    from voice_ridge import other_speakers

    names = [Path(r["clip"]).stem for r in _trainable_wild_clips()]
    assert other_speakers(np.array(names)).all()
    assert not other_speakers(np.array(["bbaf2n", "lrbvzp", "bbaf2n+bbal6n"])).any()  # s1's sentences
