"""One way to open our ONNX networks: an onnxruntime CPU session, a damaged file as one clear error.

Shared by the voice networks and the action classifier, so neither imports the other.
"""

from __future__ import annotations

from pathlib import Path

from kinemo.errors import KinemoError


def cpu_session(path: Path, threads: int = 1, *, what: str, inter_threads: int = 1):
    """An onnxruntime session on ``threads`` CPU cores; a file it cannot load is a :class:`KinemoError`."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = max(1, int(threads))
    so.inter_op_num_threads = max(1, int(inter_threads))
    so.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types for a damaged file
        raise KinemoError(f"could not load {what} {path}: {str(e).splitlines()[0]}") from None
