"""Control channel: OSC commands *to* the service (e.g. the add-on's "Calibrate" button).

Listens on 127.0.0.1 by default; malformed or unknown packets are counted and
dropped, never raised. Datagrams are split by :func:`protocol.split_datagram`, the
same bounds-checked walk the add-on's receiver uses (python-osc's own bundle walk
loops forever on a negative element size); python-osc parses each message.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from pythonosc.osc_message import OscMessage

from kinemo import protocol
from kinemo.errors import KinemoError

DEFAULT_CONTROL_PORT = protocol.DEFAULT_PORT + 1


class ControlListener:
    def __init__(self, on_calibrate: Callable[[float], None] | None = None, host: str = protocol.DEFAULT_HOST,
                 port: int = DEFAULT_CONTROL_PORT, *,
                 on_emotion: Callable[[str, float], None] | None = None) -> None:
        self.on_calibrate, self.on_emotion = on_calibrate, on_emotion
        self.malformed = 0
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._sock.bind((host, port))
        except OSError as e:
            self._sock.close()
            raise KinemoError(f"cannot listen for control commands on {host}:{port} ({e.strerror}); "
                              f"use --control-port to pick another") from None
        self.port = self._sock.getsockname()[1]
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kinemo-control", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, _ = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.handle(data)

    def handle(self, data: bytes) -> None:
        try:
            for raw, tags in protocol.split_datagram(data):
                msg = OscMessage(raw)
                update = protocol.decode_message(msg.address, tuple(msg.params), tags)
                if update is None:
                    continue
                if update.address == protocol.ADDR_CALIBRATE and self.on_calibrate is not None:
                    seconds = float(update.values[0])
                    if not 0 < seconds <= 60:
                        raise protocol.ProtocolError("calibration time out of range")
                    self.on_calibrate(seconds)
                elif update.address == protocol.ADDR_EMOTION and self.on_emotion is not None:
                    name, intensity = str(update.values[0]), float(update.values[1])
                    if not 0 <= intensity <= 1:
                        raise protocol.ProtocolError("emotion intensity out of range")
                    self.on_emotion(name, intensity)  # an unknown name raises: counted as malformed
        except Exception:  # noqa: BLE001 - anything off the network is untrusted
            self.malformed += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        self._sock.close()
