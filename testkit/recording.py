"""A minimal scheduler extender that records every request body kube-scheduler sends it.

It answers validly so that scheduling proceeds as if it were not there:

- filter: every node passes (``NodeNames`` or ``Nodes`` echoed back, as the request carried them);
- prioritize: a score of 0 for every node;
- preempt: the candidates unchanged (``NodeNameToVictims`` turned into ``NodeNameToMetaVictims``
  when the extender is not ``nodeCacheCapable``, since the scheduler reads only the latter);
- bind: POSTs the pods/binding itself, as a binding extender must.

Serve it under several URL prefixes (``/cache``, ``/nocache``...) to record several extender
entries at once; ``records`` keeps (prefix, verb, body) in arrival order.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from testkit.kube import Kube

VERBS = ("filter", "prioritize", "preempt", "bind")


@dataclass(frozen=True)
class Record:
    prefix: str  # the URL prefix's path, e.g. "cache"
    verb: str  # filter | prioritize | preempt | bind
    body: Any  # the decoded JSON body


def _node_names(args: dict[str, Any]) -> list[str]:
    if args.get("NodeNames") is not None:
        return list(args["NodeNames"])
    nodes = args.get("Nodes") or {}
    return [n["metadata"]["name"] for n in nodes.get("items") or []]


def filter_response(args: dict[str, Any]) -> dict[str, Any]:
    """Every node passes, in the form the request used (NodeNames xor Nodes)."""
    return {
        "Nodes": args.get("Nodes") if args.get("NodeNames") is None else None,
        "NodeNames": args.get("NodeNames"),
        "FailedNodes": {},
        "FailedAndUnresolvableNodes": {},
        "Error": "",
    }


def prioritize_response(args: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"Host": name, "Score": 0} for name in _node_names(args)]


def preempt_response(args: dict[str, Any]) -> dict[str, Any]:
    """The candidates unchanged, always as NodeNameToMetaVictims (UIDs)."""
    meta = args.get("NodeNameToMetaVictims")
    if meta is not None:
        return {"NodeNameToMetaVictims": meta}
    full = args.get("NodeNameToVictims") or {}
    return {
        "NodeNameToMetaVictims": {
            node: {
                "Pods": [{"UID": p["metadata"]["uid"]} for p in (victims.get("Pods") or [])],
                "NumPDBViolations": victims.get("NumPDBViolations", 0),
            }
            for node, victims in full.items()
        }
    }


class RecordingExtender:
    """An HTTP extender on 127.0.0.1 (free port) that records requests; ``stop()`` it."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._kube: Kube | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="recording-extender", daemon=True
        )

    def set_kube(self, kube: Kube) -> None:
        """The client used to POST bindings (needed only for bind); closed by ``stop()``."""
        self._kube = kube

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, prefix: str) -> str:
        """The ``urlPrefix`` for an ``extenders[]`` entry recorded under ``prefix``."""
        return f"http://127.0.0.1:{self.port}/{prefix}"

    def start(self) -> RecordingExtender:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()
        if self._kube is not None:
            self._kube.close()
            self._kube = None

    def __enter__(self) -> RecordingExtender:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def calls(self, prefix: str | None = None, verb: str | None = None) -> list[Record]:
        with self._lock:
            return [
                r
                for r in self.records
                if (prefix is None or r.prefix == prefix) and (verb is None or r.verb == verb)
            ]

    # -- request handling --------------------------------------------------------------------------

    def _answer(self, prefix: str, verb: str, body: Any) -> Any:
        with self._lock:
            self.records.append(Record(prefix, verb, body))
        if verb == "filter":
            return filter_response(body)
        if verb == "prioritize":
            return prioritize_response(body)
        if verb == "preempt":
            return preempt_response(body)
        if verb == "bind":
            if self._kube is None:
                return {"Error": "recording extender has no client to bind with"}
            try:
                self._kube.bind(
                    body["PodName"], body["PodNamespace"], body["Node"], uid=body.get("PodUID")
                )
            except Exception as exc:  # reported to the scheduler, which retries the pod
                with self._lock:
                    self.errors.append(f"bind {body}: {exc}")
                return {"Error": f"binding failed: {exc}"}
            return {"Error": ""}
        raise KeyError(verb)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        extender = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                parts = self.path.strip("/").split("/")
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if len(parts) != 2 or parts[1] not in VERBS:
                    self.send_error(404, f"no verb at {self.path}")
                    return
                try:
                    body = json.loads(raw)
                    answer = extender._answer(parts[0], parts[1], body)
                except Exception as exc:  # an answer the scheduler can log, never a hang
                    with extender._lock:
                        extender.errors.append(f"{self.path}: {type(exc).__name__}: {exc}")
                    self.send_error(500, str(exc))
                    return
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Silence the default per-request log line on stderr."""

        return Handler
