"""Kubernetes object names: checked before they go to the API server, made safe to show.

Names reach this service from request bodies, which anyone who can reach the port can write. A
name is checked against the API server's own rules (``IsDNS1123Label``/``IsDNS1123Subdomain`` in
apimachinery's ``validation``) before a request is built from it, so nothing malformed is forwarded;
and any text from outside is passed through ``shown`` before it lands in a log line or an answer:
control characters escaped (a newline cannot start a forged log line) and long text cut short
(a 50 MB name cannot write a 50 MB line).
"""

from __future__ import annotations

import re

DNS_LABEL_MAX = 63
DNS_SUBDOMAIN_MAX = 253
SHOWN_MAX = 253
"""Characters of outside text shown in one place: a DNS subdomain's length."""

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL = re.compile(_LABEL)
_DNS_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def is_dns_label(name: str) -> bool:
    """A namespace name, as the API server accepts it."""
    return len(name) <= DNS_LABEL_MAX and _DNS_LABEL.fullmatch(name) is not None


def is_dns_subdomain(name: str) -> bool:
    """A pod or node name, as the API server accepts it."""
    return len(name) <= DNS_SUBDOMAIN_MAX and _DNS_SUBDOMAIN.fullmatch(name) is not None


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def shown(text: object, limit: int = SHOWN_MAX) -> str:
    """``text`` fit for one log line: control characters escaped, at most ``limit`` characters
    of it (the rest counted)."""
    value = str(text)
    cut = value[:limit]
    escaped = _CONTROL.sub(_escape, cut)
    if len(value) > limit:
        escaped += f"...({len(value) - limit} more characters)"
    return escaped
