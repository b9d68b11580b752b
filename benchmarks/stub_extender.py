"""A do-nothing extender, for the throughput benchmark's floor: what kube-scheduler pays for the
extender protocol itself, whatever the extender does.

A bare ASGI app under uvicorn (httptools, uvloop, as the service): filter passes every node it is
sent (the body parsed and the names written back, as any filter must), prioritize scores none
(``[]``), preempt returns no victims, bind is not served. No state, no watches, no framework.

    python -m benchmarks.stub_extender PORT
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

FILTER_FIELDS: dict[str, object] = {
    "Nodes": None,
    "FailedNodes": {},
    "FailedAndUnresolvableNodes": None,
    "Error": "",
}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    path = scope["path"]
    if path.endswith("/filter"):
        answer = orjson.dumps({**FILTER_FIELDS, "NodeNames": orjson.loads(body)["NodeNames"]})
    elif path.endswith("/prioritize"):
        answer = b"[]"
    elif path.endswith("/preempt"):
        answer = b'{"NodeNameToMetaVictims":{}}'
    else:  # readiness probe of the benchmark
        answer = b"{}"
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


def main() -> None:
    import uvicorn

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        http="httptools",
        loop="uvloop",
    )


if __name__ == "__main__":
    main()
