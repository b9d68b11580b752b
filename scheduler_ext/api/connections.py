"""HTTP connections that must send their request in time, or are closed.

uvicorn closes a keep-alive connection that stays idle *between* requests
(``timeout_keep_alive``), but arms no timer on a new connection, nor while a request's head
trickles in: a client that connects and never sends a request (or sends its headers a byte at a
time) holds a file descriptor forever, and 20,000 of them exhaust the descriptor limit, after which
kube-scheduler's own calls fail. This protocol is uvicorn's httptools one with one more timer:
armed when a connection is made and when a request begins, cancelled once the request's headers
are complete; on expiry the connection is closed. Body reading is bounded separately (the body
limit, and kube-scheduler's own ``httpTimeout``).

Written here because uvicorn (0.54) has no such setting; the subclass touches only the two hooks.

The protocol also joins the writes of one event-loop step into one (``OneWriteTransport``):
uvicorn writes a response's head on ``http.response.start`` and its body on the next message,
two sends (two TCP segments, two wake-ups of the reader) for each of kube-scheduler's small
answers; joined, they are one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_SECONDS = 10.0


class OneWriteTransport:
    """A transport whose writes within one event-loop step go out as one write, at the second
    write or at the end of the step; everything else is the wrapped transport's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held:
            self._held.append(bytes(data))
            self._loop.call_soon(self._flush)
            return
        self._held.append(bytes(data))
        self._flush()

    def _flush(self) -> None:
        if self._held:
            data = b"".join(self._held)
            self._held.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that closes connections whose request head is not in by the timeout."""

    header_timeout: float = HEADER_TIMEOUT_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        joined: Any = OneWriteTransport(transport, self.loop)
        super().connection_made(joined)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()


def protocol(header_timeout: float) -> type[HeaderTimeoutProtocol]:
    """The protocol class for ``uvicorn.run(http=...)`` with ``header_timeout`` seconds."""
    return type("HeaderTimeout", (HeaderTimeoutProtocol,), {"header_timeout": header_timeout})
