"""The add-on's Blender tests again, on Blender 4.2 LTS (legacy ``Action.fcurves``, pre-slotted actions).

``scripts/setup_env.d/bpy42.sh`` (run by ``make test`` via setup_env.sh) installs the
``bpy==4.2.0`` wheel into ``.venv-bpy42``; this runs tests/test_addon_bpy.py under that
interpreter and requires every test to pass there too; likewise the in-process crash-journal
tests (tests/test_addon_journal.py, whose killed-Blender test runs 4.2 itself).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import ROOT

PY42 = ROOT / ".venv-bpy42" / "bin" / "python"


def _pytest_on_4_2(tmp_path, *args: str) -> tuple[int, str]:
    """Run pytest under the 4.2 interpreter; (passed count, output tail). Any failure or skip fails."""
    if not PY42.exists():  # set it up the way make test does, rather than skipping
        subprocess.run(["bash", str(ROOT / "scripts" / "setup_env.d" / "bpy42.sh")], check=True, timeout=1800)
    version = subprocess.run([str(PY42), "-c", "import bpy; print(*bpy.app.version[:2], sep='.')"],
                             capture_output=True, text=True, timeout=120)
    assert version.stdout.strip().splitlines()[-1] == "4.2", version.stdout + version.stderr
    env = {**os.environ, "KINEMO_EXPECT_BLENDER": "4.2", "BLENDER_USER_RESOURCES": str(tmp_path / "blender42"),
           "PYTHONDONTWRITEBYTECODE": "1"}
    r = subprocess.run([str(PY42), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *args],
                       capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    tail = (r.stdout + r.stderr)[-4000:]
    assert r.returncode == 0, tail
    passed = re.search(r"(\d+) passed", r.stdout)
    assert passed and "failed" not in r.stdout and "skipped" not in r.stdout, tail
    assert sys.executable != str(PY42)
    return int(passed.group(1)), tail


def test_addon_suite_passes_on_blender_4_2(tmp_path):
    passed, tail = _pytest_on_4_2(tmp_path, str(ROOT / "tests" / "test_addon_bpy.py"))
    assert passed >= 14, tail


def test_take_journal_and_recovery_pass_on_blender_4_2(tmp_path):
    # The killed-Blender test starts its own 5.0 and 4.2 processes: run once, from the main suite.
    passed, tail = _pytest_on_4_2(tmp_path, str(ROOT / "tests" / "test_addon_journal.py"), "-k", "not killed")
    assert passed >= 7, tail
