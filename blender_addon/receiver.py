"""UDP receiver on a background thread: decode, validate, keep only the newest frame.

No ``bpy`` here: Blender's data may only be touched on the main thread, so this
thread just parks the newest :class:`FaceSample` for the timer to pick up. A bad
packet is counted and dropped; nothing raises out of the thread.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections import deque

from pythonosc.osc_packet import OscPacket

from . import protocol


@dataclasses.dataclass
class ReceiverStats:
    packets: int = 0  # datagrams received
    frames: int = 0  # distinct frames (new sequence numbers)
    malformed: int = 0  # undecodable datagrams or Kinemo messages with a broken layout
    ignored: int = 0  # well-formed messages at addresses we don't use
    last_sender: str = ""
    last_receive: float = 0.0  # time.monotonic() of the last Kinemo message
    latency_ms: float = 0.0  # receive wall clock minus sender stamp, newest frame


class Receiver:
    """Listens on ``host:port`` (127.0.0.1 by default; anything else is the caller's explicit choice)."""

    def __init__(self, host: str = protocol.DEFAULT_HOST, port: int = protocol.DEFAULT_PORT) -> None:
        self.host, self.port = host, port
        self.stats = ReceiverStats()
        self._lock = threading.Lock()
        self._sample = protocol.FaceSample(seq=-1, stamp=0.0, time=0.0, present=False)
        self._dirty = False
        self._arrivals: deque[float] = deque(maxlen=120)
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- lifecycle -------------------------------------------------------
    def start(self) -> None:
        """Bind and start the thread; raises OSError (e.g. port in use) before any thread exists."""
        if self.running:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        sock.settimeout(0.05)
        self.port = sock.getsockname()[1]  # resolves port 0 to the real one
        self._sock = sock
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"kinemo-osc-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        sock = self._sock
        while not self._stop.is_set() and sock is not None:
            try:
                data, addr = sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                break  # socket closed under us during stop()
            self.handle_datagram(data, addr)

    # -- decoding (callable directly, e.g. by tests and fuzzers) --------
    def handle_datagram(self, data: bytes, addr: tuple | None = None) -> bool:
        """Decode one datagram; True if it updated the frame. Never raises."""
        try:
            updates = self._decode(data)
        except Exception:  # noqa: BLE001 - any decoding failure is a malformed packet
            with self._lock:
                self.stats.packets += 1
                self.stats.malformed += 1
            return False
        now_wall, now = time.time(), time.monotonic()
        with self._lock:
            self.stats.packets += 1
            if updates is None:
                self.stats.malformed += 1
                return False
            ignored, valid = updates
            self.stats.ignored += ignored
            if not valid:
                return False
            for update in valid:
                if update.seq != self._sample.seq:
                    self.stats.frames += 1
                    self._arrivals.append(now)
                protocol.apply_update(self._sample, update)
            self._dirty = True
            self.stats.last_receive = now
            self.stats.latency_ms = (now_wall - self._sample.stamp) * 1000.0
            if addr:
                self.stats.last_sender = f"{addr[0]}:{addr[1]}"
        return True

    @staticmethod
    def _decode(data: bytes) -> tuple[int, list[protocol.Update]] | None:
        """(ignored count, valid updates), or None if any Kinemo message is malformed."""
        packet = OscPacket(data)
        ignored, valid = 0, []
        for timed in packet.messages:
            msg = timed.message
            try:
                update = protocol.decode_message(msg.address, tuple(msg.params))
            except protocol.ProtocolError:
                return None
            if update is None:
                ignored += 1
            else:
                valid.append(update)
        return ignored, valid

    # -- main-thread side ------------------------------------------------
    def take_latest(self) -> protocol.FaceSample | None:
        """The newest frame if it changed since the last call, else None."""
        with self._lock:
            if not self._dirty:
                return None
            self._dirty = False
            return dataclasses.replace(self._sample)

    def fps(self, window: float = 1.0) -> float:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._arrivals if now - t <= window]
        return len(recent) / window

    def receiving(self, timeout: float = 1.0) -> bool:
        return self.stats.last_receive > 0 and time.monotonic() - self.stats.last_receive < timeout
