"""Silent and slow clients are closed by the header timeout; a prompt request is served; the
writes of one loop step go out as one. A real uvicorn server in a thread, real sockets (and a
recording transport for the joined writes)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import cast

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from scheduler_ext.api.connections import OneWriteTransport, protocol
from testkit.cluster import free_port

TIMEOUT = 0.5
LONG_PAST_TIMEOUT = TIMEOUT * 40
"""How long a test waits for the server to close a connection: far past ``TIMEOUT``, since a
loaded CI machine may keep the server's thread off a core for seconds. Without the timeout the
connections would stay open for good, so the tests still fail then."""


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
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(60)


def closed(sock: socket.socket, within: float) -> bool:
    """True when the server closes ``sock`` (EOF) within ``within`` seconds."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_silent_connections_are_closed_after_the_timeout(server_port: int) -> None:
    sockets = [socket.create_connection(("127.0.0.1", server_port)) for _ in range(200)]
    started = time.monotonic()
    try:
        assert all(closed(sock, LONG_PAST_TIMEOUT) for sock in sockets)
        assert time.monotonic() - started < LONG_PAST_TIMEOUT
    finally:
        for sock in sockets:
            sock.close()


def test_a_slow_request_head_is_closed_and_a_prompt_one_is_served(server_port: int) -> None:
    slow = socket.create_connection(("127.0.0.1", server_port))
    slow.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # the head never ends
    with socket.create_connection(("127.0.0.1", server_port)) as prompt:
        prompt.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        prompt.settimeout(LONG_PAST_TIMEOUT)
        assert prompt.recv(1024).startswith(b"HTTP/1.1 200")
    assert closed(slow, LONG_PAST_TIMEOUT)
    slow.close()


class RecordingTransport:
    """What the event loop's transport was asked to do."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(("write", data))

    def close(self) -> None:
        self.calls.append(("close", b""))
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name: str) -> str:
        return f"info {name}"


def joined(steps: Callable[[OneWriteTransport], Awaitable[None]]) -> list[tuple[str, bytes]]:
    recording = RecordingTransport()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        transport = OneWriteTransport(cast(asyncio.Transport, recording), loop)
        await steps(transport)

    asyncio.run(run())
    return recording.calls


def test_a_head_and_a_body_written_in_one_step_go_out_as_one_write() -> None:
    async def respond(transport: OneWriteTransport) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"body")
        await asyncio.sleep(0)
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(memoryview(b"again"))
        await asyncio.sleep(0)

    assert joined(respond) == [
        ("write", b"HTTP/1.1 200 OK\r\n\r\nbody"),
        ("write", b"HTTP/1.1 200 OK\r\n\r\nagain"),
    ]


def test_a_lone_write_goes_out_at_the_end_of_its_step() -> None:
    async def respond(transport: OneWriteTransport) -> None:
        transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        assert transport.get_write_buffer_size() == 7 + 25  # held, counted for flow control
        await asyncio.sleep(0)
        assert transport.get_write_buffer_size() == 7

    assert joined(respond) == [("write", b"HTTP/1.1 100 Continue\r\n\r\n")]


def test_close_sends_what_is_held_first_and_nothing_is_written_after() -> None:
    async def respond(transport: OneWriteTransport) -> None:
        transport.write(b"last")
        transport.close()
        transport.write(b"too late")
        await asyncio.sleep(0)
        assert transport.get_extra_info("peername") == "info peername"  # the rest is passed on

    assert joined(respond) == [("write", b"last"), ("close", b"")]


def test_answers_on_one_connection_arrive_whole_and_in_order(server_port: int) -> None:
    with socket.create_connection(("127.0.0.1", server_port)) as sock:
        sock.settimeout(5)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
        data = b""
        while data.count(b"\r\n\r\nok") < 3:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert data.endswith(b"\r\n\r\nok")
