"""JSON for the API: NaN and infinities survive as the strings "NaN", "Infinity" and
"-Infinity" (JSON has no such numbers, and a diverged loss must not read as missing)."""

from __future__ import annotations

import math
from typing import Any

import orjson


def jsonable(value: Any) -> Any:
    """`value` with every non-finite float replaced by its string name, recursively."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if all(type(v) in (int, str, bool) or v is None for v in value):
            return list(value)
        return [jsonable(v) for v in value]
    return value


def encode(value: Any) -> bytes:
    """The response body for `value` (already passed through `jsonable`)."""
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS)
