"""One event, one line: nothing in a record (message, argument, traceback) starts a new line."""

from __future__ import annotations

import logging

from scheduler_ext.logs import LINE_MAX, OneLineFormatter


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("bad\nvalue")
        except ValueError:
            import sys

            exc_info = sys.exc_info()
    return logging.LogRecord("t", logging.WARNING, __file__, 1, message, args, exc_info)


def test_a_forged_line_stays_on_its_own_line() -> None:
    line = OneLineFormatter("%(levelname)s %(message)s").format(
        record("binding %s failed", "p\nINFO bound everything")
    )
    assert "\n" not in line
    assert "p\\nINFO bound everything" in line


def test_a_traceback_is_one_line_too_and_long_records_are_cut() -> None:
    formatter = OneLineFormatter("%(message)s")
    assert "\n" not in formatter.format(record("failed", exc=True))
    long = formatter.format(record("x" * (LINE_MAX * 3)))
    assert len(long) < LINE_MAX + 100
