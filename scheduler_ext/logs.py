"""Log records as single lines: nothing a request carries can start a line of its own.

Names from request bodies are passed through ``names.shown`` where they are logged, but a record
can still carry outside text elsewhere (an exception's message, a traceback): the formatter
escapes every control character of the whole formatted record, traceback included, so one event
is always one line and a log reader can trust where each line starts.
"""

from __future__ import annotations

import logging

from scheduler_ext.names import shown

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LINE_MAX = 16_384
"""Characters of one log line; a longer record is cut (and says by how much)."""


class OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return shown(super().format(record), LINE_MAX)


def configure(level: int | str) -> None:
    """Root logging to stderr, one line per record."""
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
