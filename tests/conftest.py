"""Shared fixtures. Real parts only: real Blender (bpy), real MediaPipe, real UDP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("KINEMO_SHARED", ROOT.parent / "shared"))
GRID = SHARED / "data" / "grid"
MODELS = SHARED / "models"
FACE_MODEL = MODELS / "face_landmarker.task"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))  # the add-on's Blender-independent modules import as blender_addon.*

# Blender keeps extensions and preferences here instead of the user's home.
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="kinemo-blender-"))
os.environ.setdefault("KINEMO_MODEL_DIR", str(MODELS))
os.environ["KINEMO_OFFLINE"] = "1"


def require(path: Path) -> Path:
    """Test data is a hard requirement: a missing file fails the test, it never skips."""
    assert path.exists(), f"missing test data {path}: check out ../shared beside the project"
    return path


def pose_events(track) -> list[str]:
    """Every event label the shipped action pipeline starts on a pose track, as ``kinemo actions --pose-file``
    would, the end of the track included."""
    from kinemo.body.pipeline import ActionPipeline

    return [e.label for e in ActionPipeline.create_from_options(track=False).replay(track)]


@pytest.fixture(scope="session")
def grid_clips() -> list[Path]:
    clips = sorted(require(GRID).glob("*.mpg"))
    assert len(clips) == 5, clips
    return clips


@pytest.fixture(scope="session")
def face_model() -> Path:
    return require(FACE_MODEL)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def save_arkit_avatar(path: Path) -> Path:
    """A .blend with one mesh 'Face' carrying the 52 ARKit shape keys, made by real Blender in a subprocess."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'tests')!r})\n"
            "import bpy\nfrom kinemo_test_rig import make_arkit_mesh\n"
            "bpy.ops.wm.read_homefile(use_empty=True)\nmake_arkit_mesh(bpy, 'Face')\n"
            f"bpy.ops.wm.save_as_mainfile(filepath={str(path)!r})\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return path


def run_kinemo(*args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """The real console command, as a user runs it."""
    return subprocess.run([str(BIN / "kinemo"), *args], capture_output=True, text=True, timeout=timeout, **kw)


@pytest.fixture(scope="session")
def addon_zip(tmp_path_factory) -> Path:
    sys.path.insert(0, str(ROOT / "scripts"))
    import build_addon

    return build_addon.build(tmp_path_factory.mktemp("dist"))


ADDON_MODULE = "bl_ext.user_default.kinemo"


@pytest.fixture(scope="session")
def blender(addon_zip):
    """Real Blender with the add-on installed from its zip and enabled, as a user would."""
    import bpy

    result = bpy.ops.extensions.package_install_files(
        filepath=str(addon_zip), repo="user_default", enable_on_install=True)
    assert result == {"FINISHED"}
    assert ADDON_MODULE in bpy.context.preferences.addons
    yield bpy
    if ADDON_MODULE in bpy.context.preferences.addons:
        bpy.ops.preferences.addon_disable(module=ADDON_MODULE)


def addon_module(name: str):
    return sys.modules[f"{ADDON_MODULE}.{name}"]


@pytest.fixture
def face_mesh(blender):
    """A fresh scene with a mesh carrying all 52 ARKit shape keys."""
    bpy = blender
    bpy.ops.wm.read_homefile(use_empty=True)
    from kinemo_test_rig import make_arkit_mesh

    return make_arkit_mesh(bpy, "Face")
