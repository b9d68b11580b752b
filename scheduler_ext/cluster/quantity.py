"""Kubernetes resource quantities ("500m", "1.5Gi", "1e3") read as integers as apimachinery does.

Requests decide where a pod fits, so an amount we read differently from kube-scheduler would make
the planner promise placements the scheduler then refuses. This module follows the grammar of
``k8s.io/apimachinery/pkg/api/resource.ParseQuantity``, its odd corners included ("1.G", "." and a
bare sign are accepted; surrounding spaces are trimmed as ``Quantity.UnmarshalJSON`` does), and
rounds like ``Quantity.Value``/``MilliValue``: up, away from zero. Where Go would overflow an int64
we saturate at the int64 bounds instead (no real request comes near).

Arithmetic is exact (Python integers); results are cached because real clusters repeat a handful of
quantity strings across tens of thousands of containers.

Hand-written because ``kubernetes.utils.parse_quantity`` does not round as apimachinery does (read
in kubernetes 37.0.2): it returns an exact ``Decimal`` ("0.1n" stays 1E-10 where ParseQuantity
rounds up to 1n, and ``Value``/``MilliValue`` rounding is left to the caller), does not saturate at
int64, accepts what ParseQuantity rejects ("1_000", "NaN", "Infinity") and rejects what it accepts
("." and a bare sign).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

INT64_MAX = (1 << 63) - 1
INT64_MIN = -(1 << 63)

_DECIMAL_SUFFIXES = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}

# sign? digits? ("." digits?)? suffix-letters* (sign? digits+)? -- what the Go scanner accepts;
# whether the suffix means anything is decided afterwards, as apimachinery does.
_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<num>[0-9]*)(?:\.(?P<denom>[0-9]*))?"
    r"(?P<suffix>[eEinumkKMGTP]*(?:[+-]?[0-9]+)?)"
)
_EXPONENT = re.compile(r"[eE](?P<exp>[+-]?[0-9]+)")
_SCALE_LIMIT = 60  # beyond 10**60 any non-zero amount saturates an int64 anyway


class _Parsed:
    """An exact quantity: ``sign * digits * 10**exp10 * 2**exp2``."""

    __slots__ = ("digits", "exp2", "exp10", "negative")

    def __init__(self, negative: bool, digits: int, exp10: int, exp2: int) -> None:
        self.negative = negative
        self.digits = digits
        self.exp10 = exp10
        self.exp2 = exp2


def _parse(text: str) -> _Parsed:
    text = text.strip()
    if not text:
        raise ValueError("invalid quantity '': empty")
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid quantity {text!r}")
    num = match["num"]
    denom = match["denom"] or ""
    suffix = match["suffix"]
    exp10 = 0
    exp2 = 0
    if suffix in _DECIMAL_SUFFIXES:
        exp10 = _DECIMAL_SUFFIXES[suffix]
    elif suffix in _BINARY_SUFFIXES:
        exp2 = _BINARY_SUFFIXES[suffix]
    else:
        exponent = _EXPONENT.fullmatch(suffix)
        if exponent is None:
            raise ValueError(f"invalid quantity {text!r}: unknown suffix {suffix!r}")
        value = int(exponent["exp"])
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"invalid quantity {text!r}: exponent out of range")
        # apimachinery keeps the exponent in an int32
        exp10 = (value + (1 << 31)) % (1 << 32) - (1 << 31)
    digits = int(num + denom) if (num or denom) else 0
    return _Parsed(match["sign"] == "-", digits, exp10 - len(denom), exp2)


_NANO_CAP = INT64_MAX * 10**9  # apimachinery caps an amount at 2**63-1 base units
_NANO_CAP_DIGITS = len(str(_NANO_CAP))


def _nanos(parsed: _Parsed) -> int:
    """``|q|`` in nano units rounded up (ParseQuantity keeps nano precision), capped, signed."""
    if parsed.digits == 0:
        return 0
    exp10 = parsed.exp10 + 9
    order = exp10 + len(str(parsed.digits))  # |q| * 10**9 < 10**order * 2**exp2
    if order > _NANO_CAP_DIGITS:
        magnitude = _NANO_CAP  # at least 10**order / 10: beyond the cap whatever the suffix
    elif order + 19 < 0:
        magnitude = 1  # below one nano even times 2**60: a non-zero amount rounds up to one
    else:
        numerator = parsed.digits << parsed.exp2
        exact = numerator * 10**exp10 if exp10 >= 0 else -(-numerator // 10**-exp10)
        magnitude = min(exact, _NANO_CAP)
    return -magnitude if parsed.negative else magnitude


def _text(quantity: str | int | float) -> str:
    if isinstance(quantity, bool):
        raise ValueError(f"invalid quantity {quantity!r}: not a string or number")
    if isinstance(quantity, str):
        return quantity
    if isinstance(quantity, int):
        return str(quantity)
    if isinstance(quantity, float):
        if not math.isfinite(quantity):
            raise ValueError(f"invalid quantity {quantity!r}")
        return repr(quantity)
    raise ValueError(f"invalid quantity {quantity!r}: not a string or number")


@lru_cache(maxsize=8192)
def _cached_nanos(text: str) -> int:
    return _nanos(_parse(text))


def nanos(quantity: str | int | float) -> int:
    """The exact amount in billionths, as ParseQuantity stores it (rounded up to nano units).

    Sums of quantities (a pod's containers) are exact at this scale, so callers add nanos and
    convert once with ``millis_from_nanos``/``value_from_nanos``, as kube-scheduler adds
    ``Quantity`` values before calling ``MilliValue``/``Value``. Raises ValueError on garbage.
    """
    return _cached_nanos(_text(quantity))


MILLI_NANOS = 10**6


def milli_rounded_nanos(amount: int) -> int:
    """``Quantity.RoundUp(-3)`` of an amount held in nanos: up to a whole milli-unit, away from
    zero. The API server applies it to every quantity of every ResourceList it stores
    (``SetDefaults_ResourceList``, pkg/apis/core/v1/defaults.go), so each quantity is rounded on
    its own, before anything adds them up."""
    magnitude = -(-abs(amount) // MILLI_NANOS) * MILLI_NANOS
    return -magnitude if amount < 0 else magnitude


def _round_away(amount: int, divisor: int) -> int:
    magnitude = min(-(-abs(amount) // divisor), INT64_MAX)
    return -magnitude if amount < 0 else magnitude


def millis_from_nanos(amount: int) -> int:
    """``MilliValue`` of an amount held in nanos: rounded up away from zero, saturated."""
    return _round_away(amount, 10**6)


def value_from_nanos(amount: int) -> int:
    """``Value`` of an amount held in nanos: rounded up away from zero, saturated."""
    return _round_away(amount, 10**9)


def value(quantity: str | int | float) -> int:
    """``Quantity.Value()``: the amount in base units, rounded up away from zero."""
    return value_from_nanos(nanos(quantity))


def cpu_millis(quantity: str | int | float) -> int:
    """``Quantity.MilliValue()``: the amount in thousandths, rounded up away from zero."""
    return millis_from_nanos(nanos(quantity))
