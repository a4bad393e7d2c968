"""The pinned package's CTranslate2 Whisper model file: its weights as arrays, or a copy cut after a block.

The file engine's encoder (:mod:`kinemo.voice.encoder_graph`) is built from the encoder
weights :func:`arrays` reads out of the file, in their stored type (float16).

v2.5–v2.6 ran CTranslate2 itself a second time on an encoder cut short, kept to compare
against (``WhisperEncoder(backend="ctranslate2")``). Why cut: the jaw follows the sound
better from the middle of Whisper tiny.en's encoder than from its end (docs/voice-model.md,
"What was tried"). CTranslate2 has no call that returns an inner block, but it builds an
encoder from whatever ``encoder/layer_N`` variables its model file holds and applies the
final layer norm after the last one. So a copy of the file without the later blocks, built
in memory (nothing downloaded, nothing written to disk), is that encoder cut short. It
cannot feed the later blocks: the final layer norm takes away each frame's scale.

The file layout (CTranslate2's ``ModelSpec._serialize``, binary version 6): a uint32
version, the spec name, a uint32 revision, a uint32 variable count, then per variable its
name, rank, dims, dtype id, byte count and bytes; then the aliases.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np

from kinemo.errors import KinemoError

BLOCKS = 4  # Whisper tiny.en's encoder
_BLOCK = re.compile(r"encoder/layer_(\d+)/")


def _string(data: bytes, offset: int) -> tuple[str, int]:
    (n,) = struct.unpack_from("<H", data, offset)
    return data[offset + 2: offset + 1 + n].decode("utf-8"), offset + 2 + n


def _layout(data: bytes) -> tuple[int, list[tuple[str, int, int]], int]:
    """(end of the header before the variable count, each variable's (name, start, stop), start of the aliases)."""
    try:
        (version,) = struct.unpack_from("<I", data, 0)
        if version != 6:
            raise KinemoError(f"unsupported CTranslate2 model file version {version} (expected 6)")
        _, offset = _string(data, 4)
        head_end = offset + 4  # after the revision
        (count,) = struct.unpack_from("<I", data, head_end)
        offset = head_end + 4
        variables = []
        for _ in range(count):
            start = offset
            name, offset = _string(data, offset)
            rank = data[offset]
            offset += 1 + 4 * rank + 1  # dims, dtype id
            (size,) = struct.unpack_from("<I", data, offset)
            offset += 4 + size
            if offset > len(data):
                raise struct.error("variable past the end")
            variables.append((name, start, offset))
    except struct.error:
        raise KinemoError("the Whisper model file is cut short or not a CTranslate2 model") from None
    return head_end, variables, offset


def variable_names(data: bytes) -> list[str]:
    """The names of the variables in a CTranslate2 model file, in file order."""
    return [name for name, _, _ in _layout(data)[1]]


_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}  # CTranslate2's DataType ids


def arrays(data: bytes, prefix: str = "encoder/") -> dict[str, np.ndarray]:
    """The variables of a CTranslate2 model file whose names start with ``prefix`` (the prefix taken
    off), as read-only arrays over ``data`` in their stored type."""
    out = {}
    for name, start, _ in _layout(data)[1]:
        if not name.startswith(prefix):
            continue
        _, offset = _string(data, start)
        rank = data[offset]
        dims = struct.unpack_from(f"<{rank}I", data, offset + 1)
        dtype_id = data[offset + 1 + 4 * rank]
        if dtype_id not in _DTYPES:
            raise KinemoError(f"unexpected data type {dtype_id} of {name} in the Whisper model file")
        dtype = np.dtype(_DTYPES[dtype_id]).newbyteorder("<")
        (size,) = struct.unpack_from("<I", data, offset + 2 + 4 * rank)
        if size != int(np.prod(dims, dtype=np.int64)) * dtype.itemsize:
            raise KinemoError(f"{name} in the Whisper model file has {size} bytes for its shape {dims}")
        out[name[len(prefix):]] = np.frombuffer(data, dtype, size // dtype.itemsize,
                                                offset + 6 + 4 * rank).reshape(dims)
    return out


def truncated_model(data: bytes, blocks: int) -> bytes:
    """The bytes of a CTranslate2 Whisper ``model.bin`` without encoder blocks ``blocks`` and later."""
    if not 1 <= blocks <= BLOCKS:
        raise KinemoError(f"a Whisper tiny encoder has blocks 1…{BLOCKS}, not {blocks}")
    head_end, variables, tail = _layout(data)
    block = {name: int(m.group(1)) for name, _, _ in variables if (m := _BLOCK.match(name))}
    if set(block.values()) != set(range(BLOCKS)):
        raise KinemoError(f"the Whisper model file has encoder blocks {sorted(set(block.values()))}, "
                          f"expected 0…{BLOCKS - 1}")
    kept = [data[start:stop] for name, start, stop in variables if block.get(name, -1) < blocks]
    return b"".join([data[:head_end], struct.pack("<I", len(kept)), *kept, data[tail:]])


def truncated_files(folder: Path, blocks: int) -> dict[str, bytes]:
    """The files of a CTranslate2 Whisper folder, ``model.bin`` cut after ``blocks`` encoder blocks,
    for ``ctranslate2.models.Whisper(..., files=...)``."""
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    files["model.bin"] = truncated_model(files["model.bin"], blocks)
    return files
