"""BodySender: the body stream as one OSC bundle per frame over UDP (fire and forget)."""

from __future__ import annotations

from kinemo import protocol
from kinemo.osc_out import OscSender, build_packet

build_bundle = build_packet  # the body stream's messages go out exactly like the face stream's


class BodySender:
    """The same UDP sender as the face stream, fed protocol messages instead of Frames."""

    def __init__(self, host: str = protocol.DEFAULT_HOST, port: int = protocol.DEFAULT_PORT) -> None:
        self._out = OscSender(host, port, landmarks="none")

    @property
    def sent(self) -> int:
        return self._out.sent

    @property
    def errors(self) -> int:
        return self._out.errors

    def send(self, messages: list[protocol.Message]) -> None:
        self._out.send_bytes(build_packet(messages))

    def close(self) -> None:
        self._out.close()
