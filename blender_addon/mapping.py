"""Which shape keys each ARKit channel drives, across avatar naming conventions. No ``bpy``.

Avatars name the same expression many ways: ``eyeBlinkLeft`` (ARKit, Ready Player Me),
``EyeBlink_L`` / ``eye_blink_l`` / ``eyeBlink.L``, ``Eye_Blink_L`` (Character Creator),
``CTRL_expressions_eyeBlinkL`` (MetaHuman-style), ``facs_bs_EyeBlinkLeft`` (Daz),
``Fcl_EYE_Close_L`` (VRoid). A name is split into words, its side (left/right) pulled
out, leading namespace words dropped, and the rest compared with ARKit's words and a
table of aliases. One channel may drive several keys (CC splits ``mouthFunnel`` into
four) and a centred channel drives both sides of a split key (``browInnerUp`` →
``Brow_Raise_Inner_L`` and ``_R``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .protocol import ARKIT_NAMES

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_SIDES = {"left": "L", "l": "L", "right": "R", "r": "R"}

#: Alias word-strings (side removed, lower case, no separators) → ARKit base (side removed).
#: Bases of ARKit names themselves match without being listed.
ALIASES: dict[str, str] = {
    # Character Creator 3/4 (extended facial profile)
    "eyelookdown": "eyeLookDown", "eyelookup": "eyeLookUp",
    "mouthrollinlower": "mouthRollLower", "mouthrollinupper": "mouthRollUpper",
    "mouthdownlower": "mouthLowerDown", "mouthupupper": "mouthUpperUp",
    "browdrop": "browDown", "browraiseinner": "browInnerUp", "browraiseouter": "browOuterUp",
    "cheekraise": "cheekSquint", "mouthfunnelup": "mouthFunnel", "mouthfunneldown": "mouthFunnel",
    "mouthpuckerup": "mouthPucker", "mouthpuckerdown": "mouthPucker",
    "tongueout": "tongueOut",
    # MetaHuman-style control curves (CTRL_expressions_…)
    "eyewiden": "eyeWide", "eyesquintinner": "eyeSquint", "eyecheekraise": "cheekSquint",
    "browraisein": "browInnerUp", "browlateral": "browDown",
    "mouthcornerpull": "mouthSmile", "mouthcornerdepress": "mouthFrown",
    "mouthlowerlipdepress": "mouthLowerDown", "mouthupperlipraise": "mouthUpperUp",
    "mouthupperliprollin": "mouthRollUpper", "mouthlowerliprollin": "mouthRollLower",
    "mouthcheekblow": "cheekPuff", "nosewrinkle": "noseSneer", "jawfwd": "jawForward",
    "mouthlipspurseu": "mouthPucker", "mouthlipspursed": "mouthPucker",
    "mouthfunnelu": "mouthFunnel", "mouthfunneld": "mouthFunnel",
    "mouthpressu": "mouthPress", "mouthpressd": "mouthPress",
    "mouthlipstogetheru": "mouthClose", "mouthlipstogetherd": "mouthClose",
    "mouthchinraisedown": "mouthShrugLower", "mouthchinraiseup": "mouthShrugUpper",
    # Daz Genesis expression controls
    "eyesclosed": "eyeBlink", "eyessquint": "eyeSquint", "eyeswiden": "eyeWide",
    "mouthopen": "jawOpen", "mouthsmile": "mouthSmile", "mouthfrown": "mouthFrown",
    "cheekscrunch": "cheekSquint", "nosewrinkler": "noseSneer",
    # VRoid / VRM (approximate: these avatars have expressions, not ARKit muscles)
    "fcleyeclose": "eyeBlink", "fcleyesurprised": "eyeWide", "fclmtha": "jawOpen",
    "fclmtho": "mouthFunnel", "fclmthu": "mouthPucker", "fclbrwsurprised": "browInnerUp",
    "fclbrwangry": "browDown", "fclmthjoy": "mouthSmile", "fclmthsorrow": "mouthFrown",
    "blink": "eyeBlink", "aa": "jawOpen", "ou": "mouthPucker", "oh": "mouthFunnel",
}

#: Eye-look names said from the viewer's side of one eye (CC ``Eye_L_Look_R``, MetaHuman
#: ``eyeLookRightL``): looking towards the other eye is ARKit "In", away is "Out".
_LOOK_DIRS = {("L", "R"): "eyeLookIn", ("L", "L"): "eyeLookOut", ("R", "L"): "eyeLookIn", ("R", "R"): "eyeLookOut"}


def _split_side(name: str) -> tuple[str | None, str]:
    if name.endswith("Left"):
        return "L", name[:-4]
    if name.endswith("Right"):
        return "R", name[:-5]
    return None, name


_ARKIT_BASES: dict[tuple[str | None, str], str] = {}
for _n in ARKIT_NAMES:
    _side, _base = _split_side(_n)
    _ARKIT_BASES[(_side, _base.lower())] = _n
_CENTRED = {base for (side, base) in _ARKIT_BASES if side is None}
_SIDED = {base for (side, base) in _ARKIT_BASES if side is not None}
#: No alias or ARKit base is longer: longer candidates cannot match, so they are never built.
_MAX_CANDIDATE = max(max(map(len, ALIASES)), max(len(base) for _side, base in _ARKIT_BASES))


def words(name: str) -> list[str]:
    """``CTRL_expressions_eyeBlinkL`` → ['ctrl', 'expressions', 'eye', 'blink', 'l']."""
    return [w.lower() for w in _WORD.findall(name)]


@dataclass(frozen=True)
class ParsedName:
    side: str | None  # "L", "R" or None
    candidates: tuple[str, ...]  # joined word strings that could match, longest (least stripped) first


def _suffix_joins(ws: list[str]) -> tuple[str, ...]:
    """Joins of the word list's suffixes no longer than any known name, longest first.

    Built from the end and stopped at the first one too long, so the work is linear in the
    name (joining every suffix of a 64 KB VMC name took 32 s and 2 GB)."""
    out: list[str] = []
    joined = ""
    for w in reversed(ws):
        joined = w + joined
        if len(joined) > _MAX_CANDIDATE:
            break
        out.append(joined)
    return tuple(reversed(out))


def parse_name(name: str) -> ParsedName:
    ws = words(name)
    side = None
    look: tuple[str, str] | None = None
    if "look" in ws:  # Eye_L_Look_R (CC) or eyeLookRightL (MetaHuman): eye side + direction
        i = ws.index("look")
        before, after = ws[:i], ws[i + 1:]
        if before and before[-1] in _SIDES and len(after) == 1 and after[0] in _SIDES:
            look = (_SIDES[before[-1]], _SIDES[after[0]])
        elif len(after) == 2 and after[0] in ("left", "right") and after[1] in _SIDES:
            look = (_SIDES[after[1]], _SIDES[after[0]])
    # A side word at the end or the start (eyeBlink_L, L_eyeBlink).
    if look is None and ws and ws[-1] in _SIDES:
        side = _SIDES[ws.pop()]
    elif look is None and ws and ws[0] in _SIDES:
        side = _SIDES[ws.pop(0)]
    if look is not None:
        eye, direction = look
        base = _LOOK_DIRS[(eye, direction)].lower()
        return ParsedName(eye, (base,))
    if side is None:  # an inner side word: Eye_L_Look_Down
        inner = [i for i, w in enumerate(ws) if w in _SIDES]
        if inner:
            side = _SIDES[ws.pop(inner[0])]
    return ParsedName(side, _suffix_joins(ws))


def channel_for(name: str) -> list[str]:
    """ARKit channels a shape key (or VMC blend) name stands for; usually one, two for a split centred key."""
    if name in _EXACT:
        return [name]
    parsed = parse_name(name)
    for cand in parsed.candidates:
        base = ALIASES.get(cand)
        base = base.lower() if base else cand
        if (parsed.side, base) in _ARKIT_BASES:
            return [_ARKIT_BASES[(parsed.side, base)]]
        if parsed.side is not None and base in _CENTRED:
            return [_ARKIT_BASES[(None, base)]]  # Brow_Raise_Inner_L → browInnerUp
        if parsed.side is None and base in _SIDED:
            return [_ARKIT_BASES[("L", base)], _ARKIT_BASES[("R", base)]]  # "Blink" → both eyes
    return []


_EXACT = set(ARKIT_NAMES)

# Tiers: an exact name beats a case-insensitive one, which beats a convention/alias match.
EXACT, FOLDED, CONVENTION = 0, 1, 2


def auto_map(key_names: Iterable[str]) -> dict[int, list[str]]:
    """Channel index → shape-key names it drives (best tier only, in mesh order)."""
    best: dict[int, tuple[int, list[str]]] = {}
    folded = {n.casefold(): i for i, n in enumerate(ARKIT_NAMES)}
    for name in key_names:
        if name in _EXACT:
            hits = [(ARKIT_NAMES.index(name), EXACT)]
        elif name.casefold() in folded:
            hits = [(folded[name.casefold()], FOLDED)]
        else:
            hits = [(ARKIT_NAMES.index(c), CONVENTION) for c in channel_for(name)]
        for index, tier in hits:
            cur = best.get(index)
            if cur is None or tier < cur[0]:
                best[index] = (tier, [name])
            elif tier == cur[0] and name not in cur[1]:
                cur[1].append(name)
    return {i: keys for i, (_, keys) in sorted(best.items())}


def match_channels(key_names: Iterable[str]) -> dict[int, str]:
    """Channel index → the first shape key it drives (see :func:`auto_map`)."""
    return {i: keys[0] for i, keys in auto_map(key_names).items()}


def resolve(key_names: Iterable[str], overrides: dict[int, list[str]] | None = None,
            disabled: Iterable[int] = ()) -> dict[int, list[str]]:
    """:func:`auto_map` with the user's edits: per-channel key lists (names this mesh lacks are
    skipped, so one list serves face, teeth and tongue meshes) and channels switched off."""
    names = list(key_names)
    out = auto_map(names)
    present = set(names)
    for index, keys in (overrides or {}).items():
        chosen = [k for k in keys if k in present]
        if chosen:  # none of them on this mesh (say, the teeth): auto-mapping still applies
            out[index] = chosen
    for index in disabled:
        out.pop(index, None)
    return dict(sorted(out.items()))


def report(key_names: Iterable[str]) -> tuple[dict[int, list[str]], list[str]]:
    """(mapping, shape keys no channel drives): what the panel shows as matched and unmatched."""
    names = [n for n in key_names if n.casefold() != "basis"]
    mapping = auto_map(names)
    used = {k for keys in mapping.values() for k in keys}
    return mapping, [n for n in names if n not in used]
