"""BodySender: the body stream as one OSC bundle per frame over UDP (fire and forget)."""

from __future__ import annotations

import socket

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from kinemo import protocol
from kinemo.errors import KinemoError


def build_bundle(messages: list[protocol.Message]) -> bytes:
    bundle = OscBundleBuilder(IMMEDIATELY)
    for address, types, args in messages:
        msg = OscMessageBuilder(address)
        for tag, value in zip(types, args, strict=True):
            msg.add_arg(value, tag)
        bundle.add_content(msg.build())
    return bundle.build().dgram


class BodySender:
    def __init__(self, host: str = protocol.DEFAULT_HOST, port: int = protocol.DEFAULT_PORT) -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except socket.gaierror as e:
            raise KinemoError(f"cannot resolve OSC host '{host}': {e.strerror}") from None
        family, _, _, _, self.address = infos[0]
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sent = 0
        self.errors = 0

    def send(self, messages: list[protocol.Message]) -> None:
        try:
            self._sock.sendto(build_bundle(messages), self.address)
            self.sent += 1
        except OSError:
            self.errors += 1

    def close(self) -> None:
        self._sock.close()
