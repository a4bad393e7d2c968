"""Model store: find a model file locally, or download and verify it once.

Lookup order: an explicit path (``--model``), ``$KINEMO_MODEL_DIR``, the user
cache; only then the network. Downloads are hashed while streaming and moved
into the cache atomically, so a truncated or tampered file is never cached.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from kinemo.errors import KinemoError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    filename: str
    url: str
    sha256: str
    licence: str


FACE_LANDMARKER = ModelSpec(
    name="face_landmarker",
    filename="face_landmarker.task",
    url="https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/face_landmarker.task",
    sha256="64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
    licence="Apache-2.0 (Google MediaPipe)",
)

MODELS = {m.name: m for m in (FACE_LANDMARKER,)}


class ModelError(KinemoError):
    pass


def cache_dir() -> Path:
    """``$KINEMO_CACHE_DIR``, else ``$XDG_CACHE_HOME/kinemo/models``, else ``~/.cache/kinemo/models``."""
    if os.environ.get("KINEMO_CACHE_DIR"):
        return Path(os.environ["KINEMO_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kinemo" / "models"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download_url(spec: ModelSpec) -> str:
    """The official URL, or the same file name under ``$KINEMO_MODEL_MIRROR`` (studio mirrors)."""
    mirror = os.environ.get("KINEMO_MODEL_MIRROR")
    return f"{mirror.rstrip('/')}/{spec.filename}" if mirror else spec.url


def how_to_provide(spec: ModelSpec) -> str:
    return (f"download {spec.url} and pass --model PATH, or put {spec.filename} in "
            f"$KINEMO_MODEL_DIR or {cache_dir()}")


def resolve(spec: ModelSpec, explicit: str | os.PathLike | None = None, *,
            allow_download: bool | None = None, url: str | None = None,
            progress: bool = True) -> Path:
    """Return a local path to the model, downloading it into the cache if needed."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        return path
    env_dir = os.environ.get("KINEMO_MODEL_DIR")
    if env_dir and (Path(env_dir) / spec.filename).is_file():
        return Path(env_dir) / spec.filename
    cached = cache_dir() / spec.filename
    if cached.is_file():
        if sha256_of(cached) == spec.sha256:
            return cached
        cached.unlink()  # stale or damaged: fetch again below
    if allow_download is None:
        allow_download = os.environ.get("KINEMO_OFFLINE", "") in ("", "0")
    if not allow_download:
        raise ModelError(f"{spec.filename} is not available offline: {how_to_provide(spec)}")
    return download(spec, cached, url=url or download_url(spec), progress=progress)


def download(spec: ModelSpec, dest: Path, *, url: str, progress: bool = True,
             timeout: float = 30.0) -> Path:
    """Stream ``url`` to ``dest`` via a temporary file; keep it only if the hash matches."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    h = hashlib.sha256()
    got = 0
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                resp = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - https or a user mirror
            except (urllib.error.URLError, OSError) as e:
                reason = getattr(e, "reason", e)
                raise ModelError(f"could not download {spec.filename} from {url} ({reason}); "
                                 f"{how_to_provide(spec)}") from None
            with resp:
                total = int(resp.headers.get("Content-Length") or 0)
                bar = _Bar(spec.filename, total) if progress else None
                try:
                    while chunk := resp.read(1 << 16):
                        out.write(chunk)
                        h.update(chunk)
                        got += len(chunk)
                        if bar:
                            bar.show(got)
                except (OSError, urllib.error.URLError) as e:
                    raise ModelError(f"download of {spec.filename} broke off after {got} bytes ({e})") from None
                finally:
                    if bar:
                        bar.done()
        if total and got != total:
            raise ModelError(f"download of {spec.filename} truncated: {got} of {total} bytes; not cached")
        if h.hexdigest() != spec.sha256:
            raise ModelError(f"download of {spec.filename} failed its checksum (sha256 {h.hexdigest()[:12]}…, "
                             f"expected {spec.sha256[:12]}…); not cached")
        os.replace(tmp, dest)
        return dest
    finally:
        if tmp.exists():
            tmp.unlink()


class _Bar:
    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, total
        self.last = -1

    def show(self, got: int) -> None:
        pct = int(100 * got / self.total) if self.total else -1
        if pct != self.last:
            self.last = pct
            text = f"{pct:3d}%" if pct >= 0 else f"{got // 1024} KiB"
            sys.stderr.write(f"\rdownloading {self.label}: {text}")
            sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\n")
