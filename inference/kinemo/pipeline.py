"""The face pipeline: source → trackers → motion → sinks, pipelined on threads.

A reader thread decodes frames and hands each to one of ``workers`` trackers
(round-robin, so each tracker's timestamps still increase; MediaPipe releases
the GIL, so two trackers use both cores). The calling thread takes results back
in sequence order, runs the motion stage (stateful, so strictly in order), and
sends/writes. At most ``workers`` frames are in flight: a file is decoded just
in time, never far ahead, which keeps decode-to-send latency at one inference;
a camera that outpaces the trackers has its extra frames dropped, not queued.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from kinemo.face.motion import MotionProcessor
from kinemo.face.tracker import FaceTracker
from kinemo.frame import Frame
from kinemo.progress import Progress
from kinemo.sources import Source

_STOP = object()


@dataclass
class RunStats:
    frames: int = 0
    faces: int = 0
    dropped: int = 0  # camera frames skipped because every tracker was busy
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)  # decode done → sinks done, per frame

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def latency(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else 0.0


class Sink:
    """Something that consumes processed frames: an OSC sender, a take writer, …"""

    def send(self, stream: Frame, file: Frame) -> None: ...


@dataclass
class _Job:
    frame_index: int
    time: float
    rgb: np.ndarray
    decoded_at: float


def run_face(source: Source, trackers: list[FaceTracker], sinks: Iterable[Callable[[Frame, Frame], None]], *,
             motion: MotionProcessor | None = None, realtime: bool = False, max_frames: int | None = None,
             progress: bool = True, stop: threading.Event | None = None,
             on_frame: Callable[[np.ndarray, float, int], None] | None = None) -> RunStats:
    """Run until the source ends, ``max_frames``, Ctrl-C or ``stop`` is set.

    ``on_frame(rgb, time, seq)`` sees every frame the trackers get (e.g. the body-action
    worker, so face and body share one camera); it must not block.
    """
    sinks = list(sinks)
    motion = motion or MotionProcessor()
    stop = stop or threading.Event()
    workers = len(trackers)
    slots = threading.Semaphore(workers)
    inboxes: list[queue.Queue] = [queue.Queue() for _ in range(workers)]
    results: dict[int, tuple[Frame, float] | BaseException] = {}
    ready = threading.Condition()
    total = [None]  # number of frames the reader submitted, once it is done
    stats = RunStats()
    errors: list[BaseException] = []

    def reader() -> None:
        seq = 0
        start = time.perf_counter()
        try:
            for index, t, rgb in source:
                if stop.is_set() or (max_frames is not None and seq >= max_frames):
                    break
                if realtime and not source.realtime:
                    delay = start + t - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                if source.realtime:
                    if not slots.acquire(blocking=False):
                        stats.dropped += 1
                        continue
                else:
                    while not slots.acquire(timeout=0.1):
                        if stop.is_set():
                            return
                if on_frame is not None:
                    on_frame(rgb, t, seq)
                inboxes[seq % workers].put((seq, _Job(index, t, rgb, time.perf_counter())))
                seq += 1
        except BaseException as e:  # noqa: BLE001 - surfaced on the main thread
            errors.append(e)
        finally:
            with ready:
                total[0] = seq
                ready.notify_all()
            for box in inboxes:
                box.put(_STOP)

    def worker(k: int) -> None:
        tracker = trackers[k]
        while True:
            item = inboxes[k].get()
            if item is _STOP:
                return
            seq, job = item
            try:
                out: tuple[Frame, float] | BaseException = (
                    tracker.process_video_frame(job.rgb, int(round(job.time * 1000)), seq=seq, time_s=job.time),
                    job.decoded_at)
            except BaseException as e:  # noqa: BLE001
                out = e
            with ready:
                results[seq] = out
                ready.notify_all()

    threads = [threading.Thread(target=reader, name="kinemo-reader", daemon=True)]
    threads += [threading.Thread(target=worker, args=(k,), name=f"kinemo-tracker-{k}", daemon=True)
                for k in range(workers)]
    bar = Progress(f"tracking {source.name}", source.total if max_frames is None else
                   min(source.total or max_frames, max_frames), enabled=progress)
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    next_seq = 0
    try:
        while True:
            with ready:
                while next_seq not in results and not (total[0] is not None and next_seq >= total[0]):
                    ready.wait(0.1)
                if next_seq not in results:
                    break
                out = results.pop(next_seq)
            if isinstance(out, BaseException):
                raise out
            frame, decoded_at = out
            stream_frame, file_frame = motion.process(frame)
            for sink in sinks:
                sink(stream_frame, file_frame)
            stats.latencies_ms.append((time.perf_counter() - decoded_at) * 1000.0)
            slots.release()
            stats.frames += 1
            stats.faces += int(frame.present)
            next_seq += 1
            bar.update()
    finally:
        stop.set()
        for th in threads:
            th.join(timeout=5)
        stats.seconds = time.perf_counter() - t0
        bar.close()
    if errors:
        raise errors[0]
    return stats
