"""Batch speech → takes on a Dask cluster: the farm side of ``scripts/bake_audio.py --workers/--scheduler``.

Workers run :func:`animate` (what ``kinemo audio`` does for one file) and send back the take
(an NPZ file's bytes); the bake into Blender stays on the machine with the .blend. Dask is
imported only here and only when a farm is used (``pip install 'kinemo[farm]'``).

Security: a Dask scheduler runs whatever code a client sends it, and its workers run it too.
So the local cluster of ``--workers N`` listens on 127.0.0.1 only and talks TLS with a
throwaway certificate made for this run (another user of the same machine cannot use it
either); a farm (``--scheduler``) is reached with the TLS settings of Dask's configuration
or of ``--security FILE``. docs/farm.md shows a set-up.

Failures: a worker lost mid-batch costs nothing but time (the scheduler runs its files again
on another worker); a file that cannot be read comes back as a reason, never an exception,
so it is reported once and not retried; the files of a task Dask gives up on because its
workers kept dying (``distributed.scheduler.allowed-failures``) run again one at a time,
alone, and the one that still kills its worker is reported like a bad file.
"""

from __future__ import annotations

import contextlib
import os
import queue
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kinemo.errors import KinemoError

#: A task that raised (not a bad file: those return a reason) runs once more before it counts as failed.
TASK_RETRIES = 1
#: Tasks in flight per worker thread; the rest wait on the client, so an upload never sits whole in memory.
WINDOW_PER_THREAD = 3
#: Files per task at most and their bytes at most: a 3 s file takes about 20 ms, and Dask's own cost per
#: task, on both ends, is several ms. Tasks get smaller as the batch runs out (a share of what is left per
#: worker thread, :data:`CHUNK_SHARE`), down to one file, so that every worker stays busy to the end.
CHUNK_FILES = 32
CHUNK_BYTES = 4 << 20
CHUNK_SHARE = 4
#: The local cluster's (--workers) Dask housekeeping, every few ms by default, is CPU the speech and the bake
#: share: no task profiles (the dashboard's), event-loop and system samples and memory checks less often.
LOCAL_CONFIG = {
    "distributed.worker.profile.enabled": False,  # a stack sample of the running task every 10 ms
    "distributed.admin.tick.interval": "1s",  # event-loop health, only ever logged: every 20 ms
    "distributed.admin.system-monitor.interval": "2s",  # CPU/memory samples for the dashboard: every 0.5 s
    "distributed.worker.memory.monitor-interval": "1s",  # each nanny's and worker's memory check: every 0.1 s
}
#: How often the collecting thread asks the scheduler how many worker threads there are (they come and go).
THREADS_REFRESH_S = 2.0
#: What a worker imports to run :func:`animate`. The local cluster's workers are forked from one process that
#: has imported these (multiprocessing's forkserver, where there is one): each worker's start then costs its voice
#: network, not a Python of its own importing Dask, NumPy, SciPy and ONNX Runtime again.
WORKER_MODULES = ("distributed", "kinemo.farm", "kinemo.voice.net", "kinemo.voice.whisper", "kinemo.voice.engine",
                  "kinemo.voice.audio_io", "kinemo.cli.voice")
WAIT_FOR_WORKERS_S = 60.0
INSTALL_HINT = "pip install 'kinemo[farm]'"
LOST = "the Dask cluster was lost before its take came back"

_nets: list = []  # idle voice networks of this worker process (loaded once, one per worker thread at most)
_nets_lock = threading.Lock()
_malloc_tuned = False


# -- worker side --------------------------------------------------------------------------------

def ready() -> str:
    """What a worker answers before a batch: that it can run Kinemo (and which one). Loads the voice
    network meanwhile, so that the first file does not wait for it."""
    from kinemo import __version__

    _give_back(_net())
    return __version__


def _tune_malloc() -> None:
    """Undo what Dask's nanny does to glibc's allocator for the speed of our encoder.

    The nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (so that freed memory goes back
    to the system); setting any such variable also turns off glibc's adaptive mmap threshold, and
    then every buffer of 128 KiB or more (each encoder window's) is a fresh mmap: a file took twice
    as long as in ``kinemo audio``. Fixed, generous thresholds give the speed back.
    """
    global _malloc_tuned
    if _malloc_tuned or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    _malloc_tuned = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


def _net():
    """The file engine's network (Whisper encoder + head, one thread), from this process's pool."""
    from kinemo.voice.net import FILE_MODEL, load_voice_net

    _tune_malloc()
    with _nets_lock:
        if _nets:
            return _nets.pop()
    return load_voice_net(FILE_MODEL, threads=1)


def _give_back(net) -> None:
    with _nets_lock:
        _nets.append(net)


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "this machine"


def animate(label: str, name: str, fps: int, path: str | None = None, data: bytes | None = None,
            emotion: tuple[str, float] | None = None) -> tuple[dict | None, str | None]:
    """One audio file → its take: ``(arrays, None)``, the arrays an NPZ take holds (``TakeWriter.arrays``),
    or ``(None, reason)`` for a file that cannot be read.

    Arrays, not a file's bytes: Dask sends NumPy arrays as they are, and the client bakes them without
    packing and unpacking a zip archive per file (which cost the bake, on the client's core, more than
    the bake's own f-curve writes).

    ``path`` is read where the worker runs (shared storage); ``data`` is the file's bytes when
    the client uploads it (its ``name`` keeps the suffix the decoder looks at). ``label`` is
    how the client names the file, so a reason says what the user typed, not a worker's path.
    """
    from types import SimpleNamespace

    from kinemo.cli.voice import _animate_file
    from kinemo.takes import TakeWriter
    from kinemo.voice.audio_io import AudioFileSource
    from kinemo.voice.engine import VoiceAnimator, VoiceAnimatorOptions
    from kinemo.voice.net import FILE_MODEL

    with tempfile.TemporaryDirectory(prefix="kinemo-farm-") as tmp:
        if data is not None:
            src = Path(tmp) / "in" / name
            src.parent.mkdir()
            src.write_bytes(data)
        else:
            src = Path(path)
            if not src.exists():
                return None, (f"{label}: not found on worker {_worker_address()}: do the workers see the same "
                              "storage at the same path? If not, pass --upload")
        net = _net()
        try:
            source = AudioFileSource(src)
            writer = TakeWriter(Path(tmp) / (Path(name).stem + ".npz"), fps=fps, source=source.name, journal=False)
            # exactly what `kinemo audio --format npz --no-landmarks --no-osc -q` does for each file
            animator = VoiceAnimator(net, VoiceAnimatorOptions(model_path=str(FILE_MODEL), fps=fps,
                                                               smoothing="savgol", landmarks=False, threads=1))
            if emotion is not None:  # what `--emotion NAME:I` does
                animator.emotion.set(*emotion, immediately=True)
            _animate_file(animator, source, None, None, SimpleNamespace(fps=fps, realtime=False, quiet=True),
                          writer=writer)
            return writer.finish(), None
        except KinemoError as e:
            return None, str(e).replace(str(src), label)
        finally:
            _give_back(net)


def animate_many(items: list[tuple], fps: int) -> list[tuple[dict | None, str | None]]:
    """:func:`animate` for a few files in one task (``(label, name, path, data, emotion)`` each): Dask's cost per
    task, on the client and on the worker, is then paid once for them all."""
    return [animate(label, name, fps, path=path, data=data, emotion=emotion)
            for label, name, path, data, emotion in items]


# -- client side --------------------------------------------------------------------------------

def _size(arrays: dict) -> int:
    return sum(getattr(a, "nbytes", 0) for a in arrays.values())


def _dask():
    try:
        import dask  # noqa: F401
        import distributed
        import distributed.security  # noqa: F401
    except ImportError:
        raise KinemoError(f"--workers/--scheduler need Dask in this Python: {INSTALL_HINT} "
                          "(or scripts/setup_env.sh, which installs it into .venv)") from None
    return distributed


def read_security(path: str | os.PathLike):
    """A ``--security`` YAML file → a :class:`distributed.security.Security` (TLS, encryption required).

    The file names the client's certificate, key and the farm's CA::

        tls:
          ca-file: /etc/kinemo/farm/ca.pem
          cert: /etc/kinemo/farm/client.pem
          key: /etc/kinemo/farm/client-key.pem
    """
    _dask()
    import yaml
    from distributed.security import Security

    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text())
    except OSError as e:
        raise KinemoError(f"--security {p}: cannot read it ({e.strerror or e})") from None
    except yaml.YAMLError as e:
        raise KinemoError(f"--security {p}: not YAML ({str(e).splitlines()[0]})") from None
    tls = doc.get("tls") if isinstance(doc, dict) else None
    expected = "expected 'tls:' with 'ca-file', 'cert' and 'key' (docs/farm.md)"
    if not isinstance(tls, dict) or set(doc) != {"tls"}:
        raise KinemoError(f"--security {p}: {expected}")
    unknown = set(tls) - {"ca-file", "cert", "key"}
    if unknown or not tls.get("ca-file") or not tls.get("cert"):
        raise KinemoError(f"--security {p}: {expected}" + (f"; unknown: {', '.join(sorted(unknown))}"
                                                          if unknown else ""))
    files = {}
    for k in ("ca-file", "cert", "key"):
        if tls.get(k):
            f = Path(str(tls[k])).expanduser()
            if not f.is_absolute():
                f = p.parent / f  # relative to the security file
            if not f.is_file():
                raise KinemoError(f"--security {p}: {k} {f}: no such file")
            files[k] = str(f)
    return Security(tls_ca_file=files["ca-file"], tls_client_cert=files["cert"], tls_client_key=files.get("key"),
                    require_encryption=True)


def _has_forkserver() -> bool:
    import multiprocessing

    return "forkserver" in multiprocessing.get_all_start_methods()


@contextlib.contextmanager
def _forkserver():
    """Fork the local cluster's workers from multiprocessing's forkserver, which imports :data:`WORKER_MODULES`
    once, where the platform has one (Linux, macOS; elsewhere each worker is a fresh Python, as by default)."""
    if not _has_forkserver():
        yield
        return
    import dask

    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        from distributed.utils import get_mp_context

        get_mp_context().set_forkserver_preload(list(WORKER_MODULES))  # after Dask's own list, which it sets once
        yield


def _start_forkserver() -> None:
    """Start the forkserver now, in the environment Dask's nanny gives a worker process as it starts it
    (``distributed.nanny.pre-spawn-environ``: one thread for OpenMP/BLAS, …), so that it imports while the
    caller does other things; this process's own environment is left as it was."""
    if not _has_forkserver():
        return
    from multiprocessing import forkserver

    import dask

    with _forkserver():
        env = {k: str(v) for k, v in (dask.config.get("distributed.nanny.pre-spawn-environ") or {}).items()}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            forkserver.ensure_running()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _first_line(e: BaseException) -> str:
    text = (str(e).strip().splitlines() or [""])[0][:160]
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _loopback(address: str) -> bool:
    host = address.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


@dataclass
class Farm:
    """A Dask cluster to run a batch on: a local one (``workers``) or an existing one (``scheduler``)."""

    workers: int | None = None
    scheduler: str | None = None
    security: str | os.PathLike | None = None
    upload: bool = False
    client: object = None
    cluster: object = None
    warnings: list[str] = field(default_factory=list)
    _sec: object = None
    _starting: threading.Thread | None = None
    _started: str | BaseException | None = None
    _closing: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self) -> None:
        """Everything that can be checked before a cluster is started or reached (no network)."""
        if self.scheduler is not None:
            if "://" not in self.scheduler:
                self.scheduler = f"tcp://{self.scheduler}"
            proto = self.scheduler.split("://", 1)[0]
            if proto not in ("tcp", "tls"):
                raise KinemoError(f"--scheduler {self.scheduler}: use tcp://HOST:PORT or tls://HOST:PORT")
        _dask()
        if self.workers:
            try:  # what the local cluster's throwaway certificate is made with (imported here, in the main thread)
                import cryptography.hazmat.primitives.asymmetric.rsa  # noqa: F401
                import cryptography.x509  # noqa: F401
            except ImportError:
                raise KinemoError(f"--workers needs the 'cryptography' package: {INSTALL_HINT}") from None
        if self.security is not None:
            self._sec = read_security(self.security)
        elif self.scheduler is not None:
            from distributed.security import Security

            self._sec = Security()  # Dask's configuration (distributed.comm.tls.*), if any
        if self.scheduler is not None:
            tls = self.scheduler.startswith("tls://")
            if tls and not (self._sec.tls_ca_file and self._sec.tls_client_cert):
                raise KinemoError(f"--scheduler {self.scheduler} needs TLS credentials: pass --security FILE or "
                                  "set distributed.comm.tls in Dask's configuration (docs/farm.md)")
            if not tls and self._sec.require_encryption:
                raise KinemoError(f"--scheduler {self.scheduler}: your TLS settings require encryption: "
                                  "use tls://")
            if not tls and not _loopback(self.scheduler):
                self.warnings.append(f"{self.scheduler} is neither encrypted nor authenticated: whoever reaches it "
                                     "can run any code on its workers; use TLS (docs/farm.md)")

    def prepare(self) -> None:
        """A local cluster's first step, before the caller loads anything big: the process its workers are forked
        from starts importing what they run (another process: nothing here waits for it)."""
        if self.workers:
            _start_forkserver()

    def start(self) -> None:
        """Start or reach the cluster in the background (the caller opens its .blend meanwhile): see :meth:`ready`."""
        self._starting = threading.Thread(target=self._start, name="kinemo-farm-start", daemon=True)
        self._starting.start()

    def ready(self) -> str:
        """Wait for :meth:`start`; a one-line description of the cluster (and its dashboard, when it has one)."""
        self._starting.join()
        if isinstance(self._started, BaseException):
            self.close()
            raise self._started
        return self._started

    def _start(self) -> None:
        try:
            self._started = self._connect()
        except KinemoError as e:
            self._started = e
        except Exception as e:  # noqa: BLE001 - e.g. a port or TLS problem inside Dask: one line, exit 2
            self._started = KinemoError(f"could not start the Dask cluster ({_first_line(e)})")

    def _connect(self) -> str:
        import logging

        distributed = _dask()
        from distributed.security import Security

        for name in ["distributed", *logging.root.manager.loggerDict]:  # our lines say what happens, once
            if name.startswith("distributed"):
                logging.getLogger(name).setLevel(logging.CRITICAL)
        if self.workers:
            import importlib.util

            import dask

            with dask.config.set(LOCAL_CONFIG), _forkserver():  # read as the scheduler, nannies and workers are made
                self.cluster = distributed.LocalCluster(
                    n_workers=self.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                    protocol="tls://", security=Security.temporary(), dashboard_address="127.0.0.1:0",
                    worker_dashboard_address=None,
                    scheduler_kwargs={"dashboard": importlib.util.find_spec("bokeh") is not None},
                    silence_logs=logging.ERROR)
            self.client = distributed.Client(self.cluster, set_as_default=False)
            where = f"a local Dask cluster of {self.workers} worker{'s' * (self.workers > 1)} on 127.0.0.1 (TLS)"
        else:
            import dask

            timeout = dask.config.get("distributed.comm.timeouts.connect")
            self._probe(timeout)
            try:
                self.client = distributed.Client(self.scheduler, security=self._sec, timeout=timeout,
                                                 set_as_default=False)
            except (OSError, TimeoutError) as e:
                raise KinemoError(f"cannot reach the Dask scheduler at {self.scheduler} ({_first_line(e)})") from None
            try:
                self.client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS_S)
            except TimeoutError:
                raise KinemoError(f"the Dask scheduler at {self.scheduler} has no workers "
                                  f"(none joined in {WAIT_FOR_WORKERS_S:.0f} s)") from None
        answers = self.client.run(ready, on_error="return")  # also loads each worker's voice network
        broken = {w: a for w, a in answers.items() if isinstance(a, BaseException)}
        if broken:
            w, e = next(iter(broken.items()))
            raise KinemoError(f"{len(broken)} of {len(answers)} Dask workers cannot run Kinemo (e.g. {w}: "
                              f"{type(e).__name__}: {e}): {INSTALL_HINT} on every worker")
        from kinemo import __version__

        other = sorted({str(a) for a in answers.values()} - {__version__})
        if other:
            raise KinemoError(f"the Dask workers run Kinemo {', '.join(other)}, this machine {__version__}: "
                              "install the same version everywhere (the curves would differ)")
        if not self.workers:
            threads = sum(self.client.nthreads().values())
            where = (f"the Dask scheduler at {self.scheduler}: {len(answers)} worker{'s' * (len(answers) > 1)}, "
                     f"{threads} thread{'s' * (threads > 1)}")
        dashboard = self._dashboard()
        return where + (f"; dashboard {dashboard}" if dashboard else "")

    def _probe(self, timeout) -> None:
        """Say hello to the scheduler before a Client does: a Client that fails half-made (a refused certificate,
        a web server at that port) hangs for a minute when Python collects it, and prints a traceback."""
        import asyncio

        from dask.utils import parse_timedelta
        from distributed.comm import connect

        async def hello() -> None:
            comm = await connect(self.scheduler, timeout=parse_timedelta(timeout),
                                 **self._sec.get_connection_args("client"))
            await comm.close()

        try:
            asyncio.run(hello())
        except (OSError, TimeoutError) as e:
            raise KinemoError(f"cannot reach the Dask scheduler at {self.scheduler} ({_first_line(e)})") from None
        except Exception as e:  # noqa: BLE001 - garbage in the handshake: something else listens there
            raise KinemoError(f"cannot reach the Dask scheduler at {self.scheduler}: what answers there is not one "
                              f"({_first_line(e)})") from None

    def _dashboard(self) -> str | None:
        """The dashboard's address, when the scheduler has a dashboard (its web server may serve only /health)."""
        import importlib.util

        link = self.client.dashboard_link
        if self.workers:
            return link if importlib.util.find_spec("bokeh") is not None else None
        import urllib.request

        try:
            with urllib.request.urlopen(link, timeout=2) as page:
                body = page.read(4096).decode(errors="replace")
                return link if page.status == 200 and "for the dashboard" not in body else None
        except (OSError, ValueError):
            return None

    def submit(self, files: list[Path], fps: int, out_dir: Path,
               emotions: dict[Path, tuple[str, float]] | None = None) -> Batch:
        return Batch(self, files, fps, out_dir, emotions)

    def close(self, wait: bool = True) -> None:
        """Close the client (and the local cluster); ``wait=False`` does it in the background (see :meth:`join`)."""
        if not wait:
            self._closing = threading.Thread(target=self.close, name="kinemo-farm-close", daemon=True)
            self._closing.start()
            return
        if self._starting is not None:
            self._starting.join()
        with self._lock:
            things, self.client, self.cluster = (self.client, self.cluster), None, None
        for thing in things:
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # noqa: BLE001 - closing after a lost cluster may itself fail
                    pass

    def join(self) -> None:
        """Wait for a background :meth:`close`, if any, and close whatever is left."""
        if self._closing is not None:
            self._closing.join()
        self.close()


#: Takes waiting for the bake are kept in memory up to this many bytes; past it (a farm that outruns the
#: bake) they wait on disk as uncompressed NPZ files.
MEMORY_BYTES = 256 << 20


class WaitingTakes:
    """The takes that came back and wait for the bake, each handed over once: in memory up to ``limit`` bytes,
    past it in ``folder`` (``take_I.npz``), so a farm that outruns the bake cannot fill the client's memory."""

    def __init__(self, folder: Path, limit: int = MEMORY_BYTES) -> None:
        self.folder, self.limit = folder, limit
        self._takes: dict[int, dict | Path] = {}
        self._held = 0
        self._lock = threading.Lock()

    def put(self, i: int, arrays: dict) -> None:
        size = _size(arrays)
        with self._lock:
            if self._held + size <= self.limit:
                self._takes[i] = arrays
                self._held += size
                return
        path = self.folder / f"take_{i}.npz"
        np.savez(path, **arrays)
        with self._lock:
            self._takes[i] = path

    def pop(self, i: int) -> dict | Path:
        """Take ``i``: its arrays (an NPZ take's keys), or the NPZ file it waits in."""
        with self._lock:
            take = self._takes.pop(i)
            if isinstance(take, dict):
                self._held -= _size(take)
            return take


class Batch:
    """The files of one run on the farm; their takes, as they come back, wait for :meth:`take`
    (:class:`WaitingTakes`, in memory or in ``out_dir``).

    A thread of its own submits the files (a few files per task, a few tasks per worker thread
    at a time) and collects the results, so the caller (Blender's main thread) can bake as they
    arrive. The files of a task that Dask gave up on because its workers kept dying (more than
    ``distributed.scheduler.allowed-failures`` times) run again one at a time, alone on the
    cluster, so that only the file that does it fails.
    """

    def __init__(self, farm: Farm, files: list[Path], fps: int, out_dir: Path,
                 emotions: dict[Path, tuple[str, float]] | None = None) -> None:
        self.farm, self.files, self.fps, self.out_dir = farm, files, fps, out_dir
        self.emotions = emotions or {}
        self.done = 0
        self.failed = 0
        self._results: dict[int, str | None] = {}
        self._takes = WaitingTakes(out_dir)
        self._cond = threading.Condition()
        self.notes: queue.Queue[str] = queue.Queue()
        self._keys: dict[str, list[int]] = {}
        self._tag = uuid.uuid4().hex[:8]
        self._count = 0
        self._threads = 1  # worker threads on the cluster, as last asked
        self._stop = False
        farm.client.subscribe_topic("all", self._on_event)
        self._subscribed = True
        self._thread = threading.Thread(target=self._run, name="kinemo-farm", daemon=True)
        self._thread.start()

    def take(self, i: int) -> dict | Path:
        """File ``i``'s take, once :meth:`result` said it is in (:meth:`WaitingTakes.pop`)."""
        return self._takes.pop(i)

    def result(self, i: int, timeout: float) -> tuple[bool, str | None]:
        """(finished, reason it failed or None) for file ``i``, waiting up to ``timeout`` seconds."""
        with self._cond:
            self._cond.wait_for(lambda: i in self._results, timeout=timeout)
            return (True, self._results[i]) if i in self._results else (False, None)

    def cancel(self) -> None:
        """Stop submitting; the cluster is the caller's to close."""
        self._stop = True
        if self._subscribed:
            self._subscribed = False
            try:
                self.farm.client.unsubscribe_topic("all")
            except Exception:  # noqa: BLE001 - the cluster may be gone already
                pass

    # -- the collecting thread --------------------------------------------------------------
    def _finish(self, i: int, why: str | None) -> None:
        with self._cond:
            if i in self._results:
                return
            self._results[i] = why
            self.done += why is None
            self.failed += why is not None
            self._cond.notify_all()

    def _on_event(self, event) -> None:
        _, msg = event
        if not isinstance(msg, dict) or msg.get("action") != "remove-worker" or msg.get("expected"):
            return
        ours = sorted(i for k in msg.get("processing-tasks", ()) for i in self._keys.get(k, ()))
        lost = msg.get("worker", "a worker")
        if ours:
            names = ", ".join(self.files[i].name for i in ours[:5]) + (" …" if len(ours) > 5 else "")
            self.notes.put(f"worker {lost} was lost mid-batch; its {len(ours)} file{'s' * (len(ours) > 1)} "
                           f"run{'s' * (len(ours) == 1)} again elsewhere ({names})")
        else:
            self.notes.put(f"worker {lost} was lost; the batch goes on without it")

    def _chunks(self):
        """The files in groups for one task each, in order. A task takes its share of the files left per worker
        thread (:data:`CHUNK_SHARE`; at most :data:`CHUNK_FILES` files or :data:`CHUNK_BYTES`): the last tasks are
        small, so no worker idles while another finishes a long one; short batches go one file a task. The first
        tasks grow from one file (1, 2, 4 … per worker thread), so the first take is back, and the bake under way
        while the workers go on, after one file's time rather than a whole task's."""
        group: list[int] = []
        size = per_task = made = 0
        for i, f in enumerate(self.files):
            try:
                n = f.stat().st_size
            except OSError:
                n = 0
            if group and (len(group) >= per_task or size + n > CHUNK_BYTES):
                yield group
                group, size = [], 0
                made += 1
            if not group:
                ramp = 1 << (made // self._threads)  # the first tasks are small too: the bake starts at once
                per_task = max(1, min(CHUNK_FILES, ramp, (len(self.files) - i) // (self._threads * CHUNK_SHARE)))
            group.append(i)
            size += n
        if group:
            yield group

    def _submit(self, group: list[int]):
        from kinemo.farm import animate_many as task  # by reference: the workers import it from their own Kinemo

        items = []
        for i in group:
            f = self.files[i]
            data = None
            if self.farm.upload:
                try:
                    data = f.read_bytes()
                except OSError as e:
                    self._finish(i, f"cannot read {f}: {e.strerror or e}")
                    continue
            items.append((str(f), f.name, None if self.farm.upload else str(f.resolve()), data,
                          self.emotions.get(f)))
        if not items:
            return None
        group = [i for i in group if i not in self._results]
        self._count += 1
        key = f"kinemo-takes-{self._tag}-{self._count}"
        self._keys[key] = group
        return self.farm.client.submit(task, items, self.fps, key=key, pure=False, retries=TASK_RETRIES)

    def _run(self) -> None:
        import warnings

        from distributed import as_completed

        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        client = self.farm.client
        inflight = 0
        try:
            self._threads = max(1, sum(client.nthreads().values()))
            asked = time.monotonic()
            todo = self._chunks()
            suspects: list[int] = []  # files of a task whose workers kept dying: each runs alone on the cluster
            alone: set[str] = set()  # the key of such a run
            ac = as_completed(loop=client.loop)

            def top_up() -> None:
                nonlocal inflight
                if client.status in ("closing", "closed"):
                    # it gave up reconnecting (Dask cancels what was in flight); a new task would wait forever
                    raise ConnectionError("the scheduler went away")
                if client.status == "connecting":  # reconnecting: nothing new until it is back
                    return
                if suspects:  # one at a time with nothing beside it: a worker that dies then died of that file
                    if inflight == 0 and not self._stop:
                        fut = self._submit([suspects.pop(0)])
                        if fut is not None:
                            alone.add(fut.key)
                            ac.add(fut)
                            inflight += 1
                    return
                window = WINDOW_PER_THREAD * self._threads
                while inflight < window and not self._stop:
                    group = next(todo, None)
                    if group is None:
                        return
                    fut = self._submit(group)
                    if fut is not None:
                        ac.add(fut)
                        inflight += 1

            top_up()
            for fut in ac:
                inflight -= 1
                group = self._keys.pop(fut.key)
                suspects += self._collect(fut, group, fut.key in alone)
                fut.release()
                if self._stop:
                    break
                if time.monotonic() - asked >= THREADS_REFRESH_S:  # workers come and go
                    asked = time.monotonic()
                    try:
                        self._threads = max(1, sum(client.nthreads().values()))
                    except Exception:  # noqa: BLE001 - keep the last count
                        pass
                top_up()
        except Exception as e:  # noqa: BLE001 - the cluster went away: every file not back yet failed
            why = LOST if isinstance(e, ConnectionError) else f"{LOST} ({_first_line(e)})"
        else:
            why = "cancelled" if self._stop else LOST
        for i in range(len(self.files)):
            self._finish(i, why)  # a no-op for the files that finished

    def _collect(self, fut, group: list[int], alone: bool) -> list[int]:
        """Write the takes of a finished task, record each file's outcome; the files to run again alone.

        Dask gives up on a task (KilledWorker) when the workers running it died too often; every
        task on such a worker counts, also those only waiting there. So the files of such a task
        are suspects, run again one at a time with nothing beside them (``alone``); one that still
        kills its workers then is the culprit."""
        from distributed import KilledWorker
        from distributed.client import FutureCancelledError

        if fut.status == "finished":
            try:
                results = fut.result()
            except FutureCancelledError:
                results = [(None, LOST)] * len(group)
            except Exception as e:  # noqa: BLE001
                results = [(None, f"could not fetch its take from the cluster ({_first_line(e)})")] * len(group)
            for i, (take, why) in zip(group, results, strict=True):
                if take is not None and not isinstance(take, dict):  # another build of the same version number
                    take, why = None, ("its worker sent the take in another form: install the same Kinemo on "
                                       "every worker and here")
                if take is not None:
                    try:
                        self._takes.put(i, take)
                    except OSError as e:
                        take, why = None, f"cannot write its take: {e.strerror or e}"
                self._finish(i, why if take is None else None)
            return []
        try:
            exc = fut.exception()
        except Exception as e:  # noqa: BLE001 - cancelled: the cluster went away
            exc = e
        if isinstance(exc, FutureCancelledError) or fut.status == "cancelled":
            for i in group:
                self._finish(i, LOST)
            return []
        if isinstance(exc, KilledWorker) and not alone:
            return list(group)
        for i in group:
            f = self.files[i]
            if isinstance(exc, KilledWorker):
                why = "the workers that ran it died each time: it may crash Kinemo; try it alone with 'kinemo audio'"
            else:
                why = f"failed on the farm ({_first_line(exc)})"
            self._finish(i, f"{f}: {why}")
        return []
