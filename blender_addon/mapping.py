"""Which shape key each ARKit channel drives. Pure Python, so it is testable without Blender."""

from __future__ import annotations

from collections.abc import Iterable

from .protocol import ARKIT_NAMES


def match_channels(key_names: Iterable[str]) -> dict[int, str]:
    """Channel index → shape-key name: exact names first, then case-insensitive."""
    names = [n for n in key_names]
    exact = set(names)
    folded: dict[str, str] = {}
    for n in names:
        folded.setdefault(n.casefold(), n)
    out: dict[int, str] = {}
    for i, channel in enumerate(ARKIT_NAMES):
        if channel in exact:
            out[i] = channel
        elif channel.casefold() in folded:
            out[i] = folded[channel.casefold()]
    return out
