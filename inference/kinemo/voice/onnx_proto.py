"""Just enough of ONNX's protobuf encoding to write a graph in memory, with no ``onnx`` package.

Why: the file engine's Whisper encoder is an ONNX graph built at run time from the pinned
package's CTranslate2 weights (:mod:`kinemo.voice.encoder_graph`). The ``onnx`` package is
a training-only dependency, so the few messages such a graph needs (model, graph, node,
attribute, tensor, value info; field numbers from ``onnx/onnx.proto``) are written here
by hand and handed to onnxruntime as bytes.
"""

from __future__ import annotations

import struct

import numpy as np

IR_VERSION = 8
OPSET = 20  # Gelu is an operator from opset 20 on
MS_DOMAIN = "com.microsoft"

# TensorProto.DataType
FLOAT, UINT8, INT8, INT32, INT64 = 1, 2, 3, 6, 7
_DTYPES = {np.dtype(np.float32): FLOAT, np.dtype(np.uint8): UINT8, np.dtype(np.int8): INT8,
           np.dtype(np.int32): INT32, np.dtype(np.int64): INT64}


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64 values are written as their two's complement
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _int(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(int(value))


def _bytes(field: int, value: bytes | str) -> bytes:
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return _key(field, 2) + _varint(len(data)) + data


def _float(field: int, value: float) -> bytes:
    return _key(field, 5) + struct.pack("<f", value)


def tensor(name: str, array: np.ndarray) -> bytes:
    """A TensorProto: dims, data type, name, little-endian raw data."""
    array = np.ascontiguousarray(array)
    if array.dtype not in _DTYPES:
        raise TypeError(f"no ONNX type for {array.dtype}")
    dims = b"".join(_int(1, d) for d in array.shape)
    raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
    return dims + _int(2, _DTYPES[array.dtype]) + _bytes(8, name) + _bytes(9, raw)


def attribute(name: str, value) -> bytes:
    """An AttributeProto for an int, a float, a string, a list of ints or floats, or a tensor."""
    if isinstance(value, bool | int | np.integer):
        return _bytes(1, name) + _int(3, value) + _int(20, 2)
    if isinstance(value, float | np.floating):
        return _bytes(1, name) + _float(2, value) + _int(20, 1)
    if isinstance(value, str):
        return _bytes(1, name) + _bytes(4, value) + _int(20, 3)
    if isinstance(value, np.ndarray):
        return _bytes(1, name) + _bytes(5, tensor("", value)) + _int(20, 4)
    values = list(value)
    if all(isinstance(v, int | np.integer) for v in values):
        return _bytes(1, name) + b"".join(_int(8, v) for v in values) + _int(20, 7)
    return _bytes(1, name) + b"".join(_float(7, v) for v in values) + _int(20, 6)


def node(op: str, inputs: list[str], outputs: list[str], domain: str = "", **attrs) -> bytes:
    """A NodeProto (empty input names stand for omitted optional inputs)."""
    body = b"".join(_bytes(1, i) for i in inputs) + b"".join(_bytes(2, o) for o in outputs)
    body += _bytes(4, op) + b"".join(_bytes(5, attribute(k, v)) for k, v in attrs.items())
    return body + (_bytes(7, domain) if domain else b"")


def value_info(name: str, elem_type: int, shape: list[int | str]) -> bytes:
    """A ValueInfoProto for a tensor; a string in ``shape`` is a named (free) dimension."""
    dims = b"".join(_bytes(1, _int(1, d) if isinstance(d, int) else _bytes(2, d)) for d in shape)
    tensor_type = _int(1, elem_type) + _bytes(2, dims)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor_type))


def model(nodes: list[bytes], initializers: list[bytes], inputs: list[bytes], outputs: list[bytes],
          name: str, producer: str = "kinemo") -> bytes:
    """A serialised ModelProto: one graph, the default opset and Microsoft's contrib opset."""
    graph = b"".join(_bytes(1, n) for n in nodes) + _bytes(2, name)
    graph += b"".join(_bytes(5, t) for t in initializers)
    graph += b"".join(_bytes(11, i) for i in inputs) + b"".join(_bytes(12, o) for o in outputs)
    opsets = _bytes(8, _bytes(1, "") + _int(2, OPSET)) + _bytes(8, _bytes(1, MS_DOMAIN) + _int(2, 1))
    return _int(1, IR_VERSION) + _bytes(2, producer) + _bytes(7, graph) + opsets
