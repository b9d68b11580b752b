"""The extender verbs as a bare ASGI app, mounted at ``/scheduler`` inside the FastAPI app.

kube-scheduler POSTs ``<urlPrefix>/<verb>`` once or twice per pod, inside the scheduling cycle
that places one pod at a time, and every microsecond of CPU the service spends there competes
with kube-scheduler itself for the same cores. FastAPI's route machinery cost about 100 µs per
call in process; mounted below the app's middleware (body limit, error handling), this app
dispatches on the path's last segment and writes the verb's ``Reply`` as it is: about 10 µs. The
verbs themselves (``extender/verbs.py``) know nothing of HTTP beyond status codes; the OpenAPI
schema documents them from ``extender/schemas.py`` (``api/openapi.py``).

Answers: the verb's status and JSON body; 422 ``{"detail": ...}`` for a body the verb refuses
(``BadBody``); 404 for an unknown verb; 405 for a method other than POST.
"""

from __future__ import annotations

import asyncio

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from scheduler_ext.extender.bodies import LARGE_BODY_BYTES, BadBody
from scheduler_ext.extender.verbs import VERBS, Reply, Verb, VerbDeps


def _detail(status: int, message: str) -> Reply:
    return Reply(status, orjson.dumps({"detail": message}))


NOT_FOUND = _detail(404, "Not Found")
NOT_ALLOWED = _detail(405, "Method Not Allowed")


def _verb_name(scope: Scope) -> str:
    """The path below the mount point (Starlette puts the mount's path into ``root_path``)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path.removeprefix(root).strip("/")


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body; None when the client went away."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _run_to_end(verb: Verb, deps: VerbDeps, body: bytes) -> Reply:
    """A verb run in a worker thread, on an event loop of its own."""

    async def run() -> Reply:
        return await verb(deps, body)

    return asyncio.run(run())


class ExtenderApp:
    """``POST /<verb>`` for the verbs of ``extender/verbs.py``, relative to where it is mounted."""

    def __init__(self, deps: VerbDeps) -> None:
        self._deps = deps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        verb = VERBS.get(_verb_name(scope))
        extra: list[tuple[bytes, bytes]] = []
        if verb is None:
            reply = NOT_FOUND
        elif scope["method"] != "POST":
            reply = NOT_ALLOWED
            extra.append((b"allow", b"POST"))
        else:
            body = await _read_body(receive)
            if body is None:
                return
            try:
                if len(body) > LARGE_BODY_BYTES:
                    # Parsing and validating tens of MiB takes seconds of CPU: off the event
                    # loop, so that the GIL's switch interval lets small calls through meanwhile.
                    reply = await run_in_threadpool(_run_to_end, verb, self._deps, body)
                else:
                    reply = await verb(self._deps, body)
            except BadBody as exc:
                reply = _detail(422, str(exc))
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(reply.body)),
            *extra,
        ]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})
