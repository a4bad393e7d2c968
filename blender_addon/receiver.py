"""UDP receiver on a background thread: decode, validate, keep only the newest frame.

No ``bpy`` here: Blender's data may only be touched on the main thread, so this
thread just parks the newest :class:`FaceSample` for the timer to pick up, queues
action events, and (while recording) appends every frame to a :class:`Recorder`.
A bad packet is counted and dropped; nothing raises out of the thread.

A frame's fields persist until a message replaces them (newest wins). The one exception is
the performer's own expression labels (``/kinemo/face/expression/labels``): a new sender, or
a frame with the v1 expression but without them, means they are no longer sent, so they are
dropped rather than left to outvote the v1 label.

Every datagram lands in exactly one outcome counter — accepted, malformed, stale,
duplicate, rejected (sender not on the allow-list) or foreign (nothing of ours) —
so ``packets`` always equals their sum.

Hostile datagrams cost time linear in their size: :func:`protocol.split_datagram`
walks bundles strictly forward (python-osc's own bundle walk loops forever on a
negative element size), and NaN, infinity or absurd magnitudes never leave the
receiver. The main thread never waits on decoding: decoding and applying run under
the network side's own lock, and the newest frame is handed over by swapping one
reference under a lock held for that swap only.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import socket
import threading
import time
from collections import deque

from pythonosc.osc_message import OscMessage

from . import protocol
from .recorder import Recorder
from .seqgate import NEWER, RESTART, SAME, STALE, SeqGate, seq_delta
from .vmc import ADDRESSES as VMC_ADDRESSES
from .vmc import VmcState
from .vmc import validate as validate_vmc

MAX_EVENTS = 256  # action events waiting for the main thread; older ones are dropped
#: A forward jump of more than this many frames is a new or confused sender, not loss: one
#: datagram must not add ~1e9 to ``lost``.
MAX_GAP = 10_000
STOP_TIMEOUT = 2.0  # seconds stop() waits for the thread
_log = logging.getLogger(__name__)


class _QuietOsc(logging.Filter):
    """python-osc logs a root-logger warning for some garbage datagrams; we count them instead
    of flooding Blender's console. Installed only while a receiver runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pythonosc" not in record.pathname


_QUIET = _QuietOsc()
_quiet_users = [0]


def _quiet(on: bool) -> None:
    root = logging.getLogger()
    _quiet_users[0] += 1 if on else -1
    if _quiet_users[0] > 0 and _QUIET not in root.filters:
        root.addFilter(_QUIET)
    elif _quiet_users[0] <= 0:
        _quiet_users[0] = 0
        root.removeFilter(_QUIET)


@dataclasses.dataclass
class ReceiverStats:
    packets: int = 0  # datagrams received
    frames: int = 0  # distinct frames (new sequence numbers)
    accepted: int = 0  # datagrams that updated the frame or delivered an event
    malformed: int = 0  # undecodable datagrams or messages of ours with a broken layout
    stale: int = 0  # datagrams older than the frame already held (UDP reordering)
    duplicate: int = 0  # datagrams repeating messages already applied
    rejected: int = 0  # datagrams from senders not on the allow-list
    foreign: int = 0  # datagrams holding only messages we don't use
    ignored: int = 0  # well-formed messages at addresses we don't use
    bad_values: int = 0  # of the malformed: NaN, infinity or absurd magnitudes (values, not framing)
    lost: int = 0  # frames skipped in the sequence (never arrived)
    restarts: int = 0  # sender restarts detected (sequence jumped back, or far ahead)
    stop_failed: bool = False  # stop() found the thread still running after its timeout
    last_sender: str = ""
    last_receive: float = 0.0  # time.monotonic() of the last accepted datagram
    latency_ms: float = 0.0  # receive wall clock minus sender stamp, newest frame

    @property
    def dropped(self) -> int:
        return self.stale + self.duplicate + self.rejected


class Receiver:
    """Listens on ``host:port`` (127.0.0.1 by default; anything else is the caller's explicit choice).

    ``vmc``: also understand VMC senders. ``allow``: sender IP addresses accepted (None: any).
    """

    def __init__(self, host: str = protocol.DEFAULT_HOST, port: int = protocol.DEFAULT_PORT, *,
                 vmc: bool = False, allow: set[str] | None = None, window: int = 120) -> None:
        self.host, self.port, self.vmc, self.allow = host, port, vmc, allow
        self.stats = ReceiverStats()
        self.recorder: Recorder | None = None
        self.events: deque[protocol.Update] = deque(maxlen=MAX_EVENTS)
        self.probs: dict[str, float] = {}
        self._lock = threading.Lock()  # network side: decoding state; the main thread never takes it
        self._handoff = threading.Lock()  # held only to swap ``_latest``
        self._latest: protocol.FaceSample | None = None  # published, not yet taken
        self._sample = protocol.FaceSample(seq=-1, stamp=0.0, time=0.0, present=True)  # network side's own
        self._gate = SeqGate(window=window)
        self._body_gate = SeqGate(window=window)
        self._seen: set[str] = set()
        self._body_seen: set[tuple] = set()
        self._vmc_state = VmcState()
        self._vmc_seq = 0
        self._vmc_t0: float | None = None
        self._arrivals: deque[float] = deque(maxlen=240)
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
        _quiet(True)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"kinemo-osc-{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> bool:
        """Stop listening and release the port. False when the thread did not end within
        STOP_TIMEOUT: then ``stats.stop_failed`` is set and a warning logged, so callers and
        the panel can say so instead of leaving a second thread behind unnoticed."""
        self._stop.set()
        stopped = True
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT)
            stopped = not self._thread.is_alive()
            if not stopped:
                self.stats.stop_failed = True
                _log.warning("kinemo: receiver thread %s did not stop within %.1f s",
                             self._thread.name, STOP_TIMEOUT)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            _quiet(False)
        return stopped

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

    # -- decoding (callable directly, e.g. by tests, fuzzers and soak runs) ----------
    def handle_datagram(self, data: bytes, addr: tuple | None = None, now: float | None = None) -> bool:
        """Decode one datagram; True if it updated the frame or delivered an event. Never raises."""
        now = time.monotonic() if now is None else now
        try:
            if self.allow is not None and (addr is None or addr[0] not in self.allow):
                with self._lock:
                    self.stats.packets += 1
                    self.stats.rejected += 1
                return False
            messages = []
            for raw, tags in protocol.split_datagram(data):  # DatagramError → malformed
                msg = OscMessage(raw)
                messages.append((msg.address, tuple(msg.params), tags))
            return self._handle(messages, addr, now)
        except Exception as e:  # noqa: BLE001 - any decoding failure is a malformed packet
            with self._lock:
                self.stats.packets += 1
                self.stats.malformed += 1
                self.stats.bad_values += isinstance(e, protocol.ValueRangeError)
            return False

    def _validate(self, messages: list[tuple[str, tuple, str]]) -> tuple[int, list]:
        """(ignored count, [(kind, payload)]); raises on any malformed message of ours.

        Runs before any lock is taken: VMC blend names are resolved to channels here."""
        ignored, valid = 0, []
        for address, args, tags in messages:
            if self.vmc and address in VMC_ADDRESSES:
                args = validate_vmc(address, args)  # VmcError / ValueRangeError → malformed
                valid.append(("vmc", (address, args, self._vmc_state.resolve(address, args))))
                continue
            update = protocol.decode_message(address, args, tags)  # ProtocolError → malformed
            if update is None:
                ignored += 1
            else:
                valid.append(("kinemo", update))
        return ignored, valid

    def _handle(self, messages: list[tuple[str, tuple, str]], addr: tuple | None, now: float) -> bool:
        ignored, valid = self._validate(messages)
        sender = f"{addr[0]}:{addr[1]}" if addr else None
        with self._lock:
            self.stats.packets += 1
            self.stats.ignored += ignored
            applied = stale = dup = False
            vmc_frame = False
            for kind, item in valid:
                if kind == "vmc":
                    vmc_frame |= self._vmc_state.handle(*item)
                    continue
                outcome = self._apply_kinemo(item, now, sender)
                applied |= outcome == "applied"
                stale |= outcome == STALE
                dup |= outcome == "duplicate"
            if vmc_frame:
                if self._commit_vmc(now):
                    applied = True
                else:
                    self.stats.malformed += 1
                    self.stats.bad_values += 1
                    return False
            if applied:
                self.stats.accepted += 1
                self.stats.last_receive = now
                if sender:
                    self.stats.last_sender = sender
                snapshot = dataclasses.replace(self._sample)
                with self._handoff:
                    self._latest = snapshot
                recorder = self.recorder
                if recorder is not None:
                    recorder.put(snapshot)
            elif stale:
                self.stats.stale += 1
            elif dup:
                self.stats.duplicate += 1
            else:
                self.stats.foreign += 1
            return applied

    def _apply_kinemo(self, update: protocol.Update, now: float, sender: str | None) -> str:
        if not update.address.startswith(protocol.FACE_PREFIX):
            return self._apply_body(update, now, sender)
        cls = self._gate.classify(update.seq, now, sender)
        if cls == STALE:
            return STALE
        if cls == SAME:
            if update.address in self._seen:
                return "duplicate"
        else:
            gap = seq_delta(update.seq, self._gate.current) - 1 if self._gate.current is not None else 0
            restart = cls == RESTART or (cls == NEWER and gap > MAX_GAP)  # a far jump: a new sender, not loss
            if restart:
                self.stats.restarts += 1
            elif cls == NEWER:
                self.stats.lost += max(0, gap)
            self.stats.frames += 1
            self._arrivals.append(now)
            if restart or (protocol.ADDR_EXPRESSION in self._seen
                           and protocol.ADDR_EXPRESSION_LABELS not in self._seen):
                # A new sender, or a frame that just finished with a label but none of the performer's own:
                # their labels are no longer sent (restarted without a profile, or an older sender). Fields stay
                # until replaced, so without this the last custom label would outvote every v1 label from now on.
                # A sender that does send them sends them again in this frame.
                self._sample.expression_labels = None
            self._seen.clear()
        self._gate.accept(update.seq, now, sender)
        self._seen.add(update.address)
        protocol.apply_update(self._sample, update)
        self.stats.latency_ms = (time.time() - self._sample.stamp) * 1000.0
        return "applied"

    def _apply_body(self, update: protocol.Update, now: float, sender: str | None) -> str:
        cls = self._body_gate.classify(update.seq, now, sender)
        if cls == STALE:
            return STALE
        key = (update.address, update.seq, update.values[:2])
        if cls == SAME and key in self._body_seen:
            return "duplicate"
        if cls != SAME:
            self._body_seen.clear()
        self._body_gate.accept(update.seq, now, sender)
        self._body_seen.add(key)
        if update.address == protocol.ADDR_BODY_EVENT:
            self.events.append(update)
            if self.recorder is not None:
                label, _phase, conf, start, end = update.values
                self.recorder.add_event(label, start, end, conf)
        elif update.address == protocol.ADDR_BODY_PROBS:
            vals = update.values
            self.probs = {vals[i]: float(vals[i + 1]) for i in range(0, len(vals), 2)}
        return "applied"

    def _commit_vmc(self, now: float) -> bool:
        """Turn the VMC state into the frame; False (frame dropped, bone state cleared) if any
        value came out non-finite — the inputs are bounded, so this is the last line of defence."""
        st = self._vmc_state
        head, eyes = st.head(), st.eyes()
        if not all(math.isfinite(v) for v in (*st.blendshapes, *head, *eyes)):
            st.bones.clear()
            return False
        if self._vmc_t0 is None:
            self._vmc_t0 = now
        self._vmc_seq = (self._vmc_seq + 1) & 0x7FFFFFFF
        s = self._sample
        s.seq, s.stamp, s.present = self._vmc_seq, time.time(), True
        s.time = st.media_time if st.media_time is not None else now - self._vmc_t0
        s.blendshapes, s.head, s.eyes = st.blendshapes, head, eyes
        self.stats.frames += 1
        self.stats.latency_ms = 0.0  # VMC carries no sender clock
        self._arrivals.append(now)
        return True

    # -- main-thread side ------------------------------------------------
    # Nothing here takes the network side's lock: a slow datagram must not stall Blender's UI.
    def take_latest(self) -> protocol.FaceSample | None:
        """The newest frame if it changed since the last call, else None (the caller owns it)."""
        with self._handoff:
            sample, self._latest = self._latest, None
        return sample

    def take_events(self) -> list[protocol.Update]:
        out: list[protocol.Update] = []
        while True:
            try:
                out.append(self.events.popleft())  # deque operations are atomic
            except IndexError:
                return out

    def fps(self, window: float = 1.0) -> float:
        now = time.monotonic()
        try:
            arrivals = tuple(self._arrivals)
        except RuntimeError:  # appended to while copied; a rate can wait a tick
            return 0.0
        return sum(1 for t in arrivals if now - t <= window) / window

    def receiving(self, timeout: float = 1.0, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return self.stats.last_receive > 0 and now - self.stats.last_receive < timeout
