"""Request bodies bounded in size, and large ones bounded in number, before anything parses them.

kube-scheduler's usual calls are small (a pod and up to 5,000 node names: about 100 KB), but
``nodeCacheCapable: false`` sends every Node object (about 40 MiB at 5,000 nodes), and anyone who
reaches the port can send large bodies at once: ten concurrent 62 MiB bodies once took the process
to 1.6 GB and stalled other clients' calls. So:

- a body over ``server.max_body_bytes`` gets 413 before it is read further;
- a body over ``LARGE_BODY_BYTES`` (declared, or once that much has arrived) waits for one of
  ``server.large_bodies_at_once`` slots before it is read on, and holds it until its answer is
  sent; unread bodies stay in the socket (uvicorn stops reading a request past 64 KiB until the
  app asks for more), so waiting costs no memory. Small bodies never wait: kube-scheduler's usual
  calls keep their latency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import status

from scheduler_ext.extender.bodies import LARGE_BODY_BYTES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: reads the whole body (as FastAPI would), 413 if it exceeds ``limit``;
    at most ``large_at_once`` bodies over ``LARGE_BODY_BYTES`` in flight."""

    def __init__(self, app: ASGIApp, limit: int, large_at_once: int = 1) -> None:
        self.app = app
        self.limit = limit
        self._large = asyncio.Semaphore(large_at_once)

    async def _refuse(self, send: Send) -> None:
        body = b'{"detail":"request body too large (limit %d bytes)"}' % self.limit
        await send(
            {
                "type": "http.response.start",
                "status": status.HTTP_413_CONTENT_TOO_LARGE,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(send)
            return
        holding = False
        try:
            if declared is not None and declared > LARGE_BODY_BYTES:
                await self._large.acquire()
                holding = True
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] != "http.request":  # the client went away
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.limit:
                    await self._refuse(send)
                    return
                if size > LARGE_BODY_BYTES and not holding:  # undeclared (chunked) and large
                    await self._large.acquire()
                    holding = True
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            await self.app(scope, _replay(b"".join(chunks), receive), send)
        finally:
            if holding:
                self._large.release()


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then the connection's own."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
