"""Polling helpers with a deadline that report what they saw last when they give up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """A condition did not hold before its deadline.

    It is an ``AssertionError`` so that pytest reports it as a test failure, not an error.
    """

    def __init__(self, description: str, timeout: float, last_seen: object, error: str) -> None:
        self.description = description
        self.timeout = timeout
        self.last_seen = last_seen
        self.error = error
        message = (
            f"timed out after {timeout:.1f}s waiting for {description}; last seen: {last_seen!r}"
        )
        if error:
            message += f"; last error: {error}"
        super().__init__(message)


def wait_for(
    observe: Callable[[], T],
    condition: Callable[[T], bool],
    *,
    description: str,
    timeout: float = 30.0,
    interval: float = 0.2,
    describe: Callable[[T], object] | None = None,
    retry: Callable[[Exception], bool] | None = None,
) -> T:
    """Call ``observe()`` until ``condition(value)`` holds and return that value.

    ``observe`` may raise; the exception is remembered and polling continues (an apiserver that is
    still starting, an object not created yet), unless ``retry(exc)`` says False: then it is
    raised at once. On timeout a ``WaitTimeout`` names ``description``
    and shows the last observed value (through ``describe`` when given, to keep it short) and the
    last exception.
    """
    deadline = time.monotonic() + timeout
    last_seen: object = "<nothing observed>"
    last_error = ""
    while True:
        try:
            value = observe()
        except Exception as exc:  # any failure to observe is retried until the deadline
            if retry is not None and not retry(exc):
                raise
            last_error = f"{type(exc).__name__}: {exc}"
        else:
            if condition(value):
                return value
            last_seen = describe(value) if describe is not None else value
            last_error = ""
        if time.monotonic() >= deadline:
            raise WaitTimeout(description, timeout, last_seen, last_error)
        time.sleep(interval)


def wait_until(
    check: Callable[[], bool],
    *,
    description: str,
    timeout: float = 30.0,
    interval: float = 0.2,
) -> None:
    """Wait until ``check()`` returns True (exceptions are retried, as in ``wait_for``)."""
    wait_for(check, bool, description=description, timeout=timeout, interval=interval)


def stays(
    observe: Callable[[], T],
    condition: Callable[[T], bool],
    *,
    description: str,
    duration: float,
    interval: float = 0.2,
    describe: Callable[[T], object] | None = None,
) -> T:
    """Check that ``condition`` keeps holding for ``duration`` seconds; return the last value.

    Fails at the first observation that breaks it, with that observation in the message.
    """
    deadline = time.monotonic() + duration
    while True:
        value = observe()
        if not condition(value):
            shown = describe(value) if describe is not None else value
            raise AssertionError(
                f"expected {description} to hold for {duration:.1f}s; saw {shown!r}"
            )
        if time.monotonic() >= deadline:
            return value
        time.sleep(interval)
