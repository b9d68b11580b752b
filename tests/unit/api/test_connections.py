"""Silent and slow clients are closed by the header timeout; a prompt request is served. A real
uvicorn server in a thread, real sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from scheduler_ext.api.connections import protocol
from testkit.cluster import free_port

TIMEOUT = 0.5


@pytest.fixture
def server_port() -> Iterator[int]:
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok"))])
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=protocol(TIMEOUT), log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(5)


def closed(sock: socket.socket, within: float) -> bool:
    """True when the server closes ``sock`` (EOF) within ``within`` seconds."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_silent_connections_are_closed_within_the_timeout(server_port: int) -> None:
    sockets = [socket.create_connection(("127.0.0.1", server_port)) for _ in range(200)]
    started = time.monotonic()
    try:
        assert all(closed(sock, TIMEOUT * 6) for sock in sockets)
        assert time.monotonic() - started < TIMEOUT * 8
    finally:
        for sock in sockets:
            sock.close()


def test_a_slow_request_head_is_closed_and_a_prompt_one_is_served(server_port: int) -> None:
    slow = socket.create_connection(("127.0.0.1", server_port))
    slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # the head never ends
    with socket.create_connection(("127.0.0.1", server_port)) as prompt:
        prompt.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        prompt.settimeout(5)
        assert prompt.recv(1024).startswith(b"HTTP/1.1 200")
    assert closed(slow, TIMEOUT * 6)
    slow.close()
