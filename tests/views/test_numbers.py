"""Readable numbers: significant digits, separators, units (table-driven)."""

from __future__ import annotations

import pytest

from jupyter_xtrack.records.formatting import (
    fmt_bytes,
    fmt_duration,
    fmt_number,
    fmt_value,
    short_hash,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "—"),
        (0, "0"),
        (0.0, "0"),
        (1234567, "1,234,567"),
        (12.0, "12"),
        (0.123456, "0.1235"),
        (3.14159265, "3.142"),
        (1234.5678, "1235"),
        (0.00012345, "1.234e-4"),
        (123456789.0, "1.235e+8"),
        (-0.5, "-0.5"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (True, "True"),
    ],
)
def test_fmt_number(value: float | None, expected: str) -> None:
    assert fmt_number(value) == expected


def test_units_for_times_and_sizes() -> None:
    assert fmt_duration(0.25) == "250 ms"
    assert fmt_duration(75) == "1 min 15 s"
    assert fmt_bytes(1536) == "1.5 KiB"
    assert fmt_bytes(3 * 1024**3) == "3 GiB"


def test_values_and_hashes() -> None:
    assert fmt_value("adam") == "adam"
    assert fmt_value([1, 2]) == "[1, 2]"
    assert fmt_value("x" * 100).endswith("...") and len(fmt_value("x" * 100)) == 60
    assert short_hash("xxh3_128:16d51c327d7d2547a793f8d7bbc4457a") == "16d51c327d7d"
    assert short_hash(None) == "—"
