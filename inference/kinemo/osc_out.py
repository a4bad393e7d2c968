"""OSC sender: one UDP bundle per frame, laid out by :mod:`kinemo.protocol`."""

from __future__ import annotations

import socket

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from kinemo import protocol
from kinemo.errors import KinemoError
from kinemo.frame import Frame


def parse_target(text: str, default_port: int = protocol.DEFAULT_PORT) -> tuple[str, int]:
    """``HOST:PORT``, ``HOST`` or ``:PORT`` → (host, port)."""
    host, sep, port_s = text.rpartition(":")
    if not sep:
        host, port_s = text, str(default_port)
    host = host.strip("[]") or protocol.DEFAULT_HOST
    try:
        port = int(port_s)
    except ValueError:
        raise KinemoError(f"bad OSC target '{text}': expected HOST:PORT, e.g. 127.0.0.1:{default_port}") from None
    if not 0 < port < 65536:
        raise KinemoError(f"bad OSC port {port}: must be 1-65535")
    return host, port


def build_bundle(sample: protocol.FaceSample) -> bytes:
    return build_packet(protocol.encode_sample(sample))


def build_packet(messages: list[protocol.Message]) -> bytes:
    bundle = OscBundleBuilder(IMMEDIATELY)
    for address, types, args in messages:
        msg = OscMessageBuilder(address)
        for tag, value in zip(types, args, strict=True):
            msg.add_arg(value, tag)
        bundle.add_content(msg.build())
    return bundle.build().dgram


class OscSender:
    """Fire-and-forget UDP; a receiver that is not listening is not an error.

    ``landmarks`` picks the landmark stream: none, 68 (2D iBUG points), 478 (the full
    mesh; larger than one Ethernet frame) or pca (compact: pose + 20 coefficients).
    """

    def __init__(self, host: str = protocol.DEFAULT_HOST, port: int = protocol.DEFAULT_PORT, *,
                 landmarks: str = "pca") -> None:
        self.landmarks = landmarks
        self._pca = None
        if landmarks == "pca":
            from kinemo.face.landmarks import LandmarkPCA

            self._pca = LandmarkPCA.load()
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except socket.gaierror as e:
            raise KinemoError(f"cannot resolve OSC host '{host}': {e.strerror}") from None
        family, _, _, _, self.address = infos[0]
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sent = 0
        self.errors = 0

    def send(self, frame: Frame) -> None:
        self.send_bytes(build_bundle(frame.to_sample(self.landmarks, self._pca)))

    def send_bytes(self, data: bytes) -> None:
        try:
            self._sock.sendto(data, self.address)
            self.sent += 1
        except OSError:
            self.errors += 1  # e.g. ICMP "port unreachable" bounced from a previous datagram

    def close(self) -> None:
        self._sock.close()
