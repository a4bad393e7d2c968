"""Tiny ARKit test mesh; the real demo avatar lives in rigs/."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rigs"))

from demo_head import build_head  # noqa: E402


def make_arkit_mesh(bpy, name: str = "Face", names=None):
    return build_head(bpy, name=name, channel_names=names)
