"""Quantities parse to the integers apimachinery's Value/MilliValue give, and garbage is refused."""

from __future__ import annotations

import pytest

from scheduler_ext.cluster.quantity import (
    INT64_MAX,
    cpu_millis,
    millis_from_nanos,
    nanos,
    value,
    value_from_nanos,
)

KI = 1024
MI = KI * KI
GI = KI * MI


@pytest.mark.parametrize(
    ("text", "millis", "units"),
    [
        pytest.param("0", 0, 0, id="zero"),
        pytest.param("1", 1000, 1, id="one"),
        pytest.param("500m", 500, 1, id="milli-rounds-up-to-one-unit"),
        pytest.param("1500m", 1500, 2, id="milli-above-one"),
        pytest.param("0.1m", 1, 1, id="sub-milli-rounds-up"),
        pytest.param("250u", 1, 1, id="micro"),
        pytest.param("1n", 1, 1, id="nano"),
        pytest.param("1.5", 1500, 2, id="decimal-fraction"),
        pytest.param(".5", 500, 1, id="leading-dot"),
        pytest.param("2.", 2000, 2, id="trailing-dot"),
        pytest.param("1k", 1_000_000, 1000, id="kilo"),
        pytest.param("3M", 3_000_000_000, 3_000_000, id="mega"),
        pytest.param("2G", 2_000_000_000_000, 2_000_000_000, id="giga"),
        pytest.param("1T", 10**15, 10**12, id="tera"),
        pytest.param("1P", 10**18, 10**15, id="peta"),
        pytest.param("1E", INT64_MAX, 10**18, id="exa-value-millis-saturate"),
        pytest.param("1Ki", 1024 * 1000, 1024, id="kibi"),
        pytest.param("128Mi", 128 * MI * 1000, 128 * MI, id="mebi"),
        pytest.param("1.5Gi", 3 * GI // 2 * 1000, 3 * GI // 2, id="fractional-gibi"),
        pytest.param("1Ti", KI**4 * 1000, KI**4, id="tebi"),
        pytest.param("1Pi", KI**5 * 1000, KI**5, id="pebi"),
        pytest.param("1Ei", INT64_MAX, KI**6, id="exbi"),
        pytest.param("1e3", 1_000_000, 1000, id="exponent-lower"),
        pytest.param("1E3", 1_000_000, 1000, id="exponent-upper"),
        pytest.param("1e+3", 1_000_000, 1000, id="exponent-plus"),
        pytest.param("5e-3", 5, 1, id="negative-exponent"),
        pytest.param("1.5e2", 150_000, 150, id="fraction-with-exponent"),
        pytest.param("+2", 2000, 2, id="plus-sign"),
        pytest.param("-1500m", -1500, -2, id="negative-rounds-away-from-zero"),
        pytest.param("007", 7000, 7, id="leading-zeros"),
        pytest.param(" 2 ", 2000, 2, id="spaces-trimmed-like-unmarshaljson"),
        pytest.param("1.G", 1_000_000_000_000, 1_000_000_000, id="dot-before-suffix"),
        pytest.param("Ki", 0, 0, id="bare-suffix-is-zero-in-go"),
        pytest.param("1e100", INT64_MAX, INT64_MAX, id="huge-saturates"),
        pytest.param("1e-50", 1, 1, id="tiny-rounds-up-to-one"),
    ],
)
def test_string_quantities(text: str, millis: int, units: int) -> None:
    assert cpu_millis(text) == millis
    assert value(text) == units


@pytest.mark.parametrize(
    ("number", "millis", "units"),
    [
        pytest.param(2, 2000, 2, id="int"),
        pytest.param(0.5, 500, 1, id="float"),
        pytest.param(1e-05, 1, 1, id="float-exponent-repr"),
        pytest.param(1.5e9, 1_500_000_000_000, 1_500_000_000, id="large-float"),
    ],
)
def test_json_numbers(number: float, millis: int, units: int) -> None:
    assert cpu_millis(number) == millis
    assert value(number) == units


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("1x", id="unknown-suffix"),
        pytest.param("1kk", id="doubled-suffix"),
        pytest.param("1Mi3", id="binary-suffix-with-digits"),
        pytest.param("1e", id="exponent-without-digits"),
        pytest.param("e", id="lone-e"),
        pytest.param("1ee3", id="double-e"),
        pytest.param("1.2.3", id="two-dots"),
        pytest.param("1 k", id="inner-space"),
        pytest.param("1_000", id="underscore"),
        pytest.param("0x10", id="hex"),
        pytest.param("1+", id="trailing-sign"),
        pytest.param("\uff11", id="non-ascii-digit"),
        pytest.param("abc", id="word"),
        pytest.param("1e99999999999999999999", id="exponent-beyond-int64"),
    ],
)
def test_garbage_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match=r"^invalid quantity"):
        value(text)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(True, id="bool"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="inf"),
        pytest.param(None, id="none"),
    ],
)
def test_non_quantity_types_are_rejected(bad: object) -> None:
    with pytest.raises(ValueError, match="invalid quantity"):
        value(bad)  # type: ignore[arg-type]


def test_sums_are_exact_before_rounding() -> None:
    # Go adds Quantities, then calls MilliValue: two 0.5m containers request 1m, not 2m.
    total = nanos("0.5m") + nanos("500u")
    assert millis_from_nanos(total) == 1
    assert value_from_nanos(nanos("300m") + nanos("700m")) == 1
