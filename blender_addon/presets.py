"""Mapping presets as JSON (``rigs/presets/*.json``). No ``bpy``; never evaluates file content.

A preset holds, per ARKit channel, optional explicit shape-key names (for avatars whose
names auto-mapping cannot guess) and the channel's shaping, plus the global smoothing::

    {"format": "kinemo-mapping", "version": 1, "name": "…", "smoothing": 0.0,
     "channels": {"jawOpen": {"keys": ["Jaw_Open"], "gain": 1.2, "offset": 0, "min": 0, "max": 1,
                              "invert": false, "mirror": false, "enabled": true}, …}}

Channels left out keep auto-mapping and neutral shaping.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

from .protocol import ARKIT_INDEX
from .retarget import ChannelShape

FORMAT = "kinemo-mapping"
VERSION = 1


class PresetError(ValueError):
    """A preset file we cannot use; the message is shown to the user as is."""


@dataclass
class ChannelPreset:
    keys: list[str] = field(default_factory=list)  # empty: auto-map
    shape: ChannelShape = field(default_factory=ChannelShape)
    enabled: bool = True


@dataclass
class Preset:
    name: str = ""
    smoothing: float = 0.0
    channels: dict[str, ChannelPreset] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)  # channel names in the file we don't know


def _number(doc: dict, key: str, default: float, where: str) -> float:
    v = doc.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise PresetError(f"{where}: '{key}' must be a number, not {v!r}")
    return float(v)


def _flag(doc: dict, key: str, default: bool, where: str) -> bool:
    v = doc.get(key, default)
    if not isinstance(v, bool):
        raise PresetError(f"{where}: '{key}' must be true or false, not {v!r}")
    return v


def from_dict(doc: object) -> Preset:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PresetError(f"not a Kinemo mapping preset (format '{FORMAT}')")
    if doc.get("version", VERSION) > VERSION:
        raise PresetError(f"preset version {doc.get('version')} is newer than this add-on ({VERSION})")
    channels = doc.get("channels", {})
    if not isinstance(channels, dict):
        raise PresetError("'channels' must be an object keyed by ARKit channel name")
    out = Preset(name=str(doc.get("name", "")), smoothing=max(0.0, _number(doc, "smoothing", 0.0, "preset")))
    for name, ch in channels.items():
        if name not in ARKIT_INDEX:
            out.unknown.append(str(name))
            continue
        if not isinstance(ch, dict):
            raise PresetError(f"{name}: expected an object")
        keys = ch.get("keys", [])
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise PresetError(f"{name}: 'keys' must be a list of shape-key names")
        shape = ChannelShape(gain=_number(ch, "gain", 1.0, name), offset=_number(ch, "offset", 0.0, name),
                             min=_number(ch, "min", 0.0, name), max=_number(ch, "max", 1.0, name),
                             invert=_flag(ch, "invert", False, name), mirror=_flag(ch, "mirror", False, name))
        out.channels[name] = ChannelPreset(keys=list(keys), shape=shape, enabled=_flag(ch, "enabled", True, name))
    return out


def to_dict(preset: Preset) -> dict:
    channels = {}
    for name, ch in preset.channels.items():
        s = ch.shape
        entry: dict = {"keys": list(ch.keys)} if ch.keys else {}
        entry.update(gain=s.gain, offset=s.offset, min=s.min, max=s.max, invert=s.invert, mirror=s.mirror,
                     enabled=ch.enabled)
        channels[name] = entry
    return {"format": FORMAT, "version": VERSION, "name": preset.name, "smoothing": preset.smoothing,
            "channels": channels}


def load(path: str) -> Preset:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise PresetError(f"no such preset: {path}") from None
    except (OSError, ValueError) as e:
        raise PresetError(f"cannot read preset {os.path.basename(path)}: {e}") from None
    try:
        return from_dict(doc)
    except PresetError as e:
        raise PresetError(f"{os.path.basename(path)}: {e}") from None


def save(path: str, preset: Preset) -> None:
    """Write atomically, so a crash never leaves half a preset."""
    tmp = f"{path}.part"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(to_dict(preset), f, indent=1)
        f.write("\n")
    os.replace(tmp, path)
