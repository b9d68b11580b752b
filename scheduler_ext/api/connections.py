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
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_SECONDS = 10.0


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
        super().connection_made(transport)
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
