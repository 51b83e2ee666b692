"""Readable numbers for every view: significant digits, thousands separators, units for
times and sizes. The JavaScript side (static/views.js `fmt`) follows the same rules."""

from __future__ import annotations

import math
from typing import Any

from ..summary import fmt_bytes, fmt_duration

__all__ = ["fmt_bytes", "fmt_duration", "fmt_number", "fmt_value", "short_hash"]


def fmt_number(value: float | int | None, digits: int = 4) -> str:
    """`value` with `digits` significant digits: 0.1235, 1,234, 1.235e-05, 3.2e+08.

    Integers (and integral floats below 1e15) keep every digit with thousands separators;
    None, NaN and infinities read as —, nan, inf, -inf.
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "0"
    if v.is_integer() and abs(v) < 1e6:
        return f"{int(v):,}"
    mag = abs(v)
    if mag >= 1e6 or mag < 1e-3:
        return f"{v:.{max(digits - 1, 0)}e}".replace("e-0", "e-").replace("e+0", "e+")
    text = f"{v:.{digits}g}"
    if "e" in text:  # %g chose exponent form inside our fixed range: spell it out
        text = f"{v:.{digits}f}".rstrip("0").rstrip(".")
    return text


def fmt_value(value: Any, digits: int = 4) -> str:
    """Any param or metric value as short text: numbers via `fmt_number`, the rest as str,
    cut at 60 characters."""
    if value is None:
        return "—"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return fmt_number(value, digits)
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def short_hash(value: str | None, length: int = 12) -> str:
    """The first `length` characters of a content hash, without an algorithm prefix."""
    if not value:
        return "—"
    text = str(value)
    if ":" in text:
        text = text.split(":", 1)[1]
    return text[:length]
