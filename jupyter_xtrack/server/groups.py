"""Groups of runs for the sidebar's grouped table: one entry per value of a column among
the runs a filter matched, with its count, the filter that selects exactly its runs (so
the table can page through one group) and the mean, min and max of each metric shown.

Computed here from one read of the matched runs, so a heading's figures cover the whole
group, not the rows that happen to be loaded."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

from ..store.table import RunTable

MAX_GROUPS = 500
_PLAIN_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_./]*")


def group_runs(table: RunTable, column: str, metrics: Sequence[str]) -> dict[str, Any]:
    """`{"groups": [...], "truncated": bool}`: each group's `key` (the column's value,
    None for runs without one), `count`, `filter` (None when the value cannot be written
    in the filter language, e.g. a list) and `metrics` (name -> count/mean/min/max of its
    finite values). Groups come in value order, missing last; past MAX_GROUPS the rest
    are left out and `truncated` is true."""
    columns = table.columns
    n = len(table)
    values = columns.get(column, [None] * n)
    members: dict[str, tuple[Any, list[int]]] = {}
    for i, value in enumerate(values):
        ident = json.dumps(value, sort_keys=True, default=str)
        members.setdefault(ident, (value, []))[1].append(i)
    ordered = sorted(members.values(), key=lambda entry: _order(entry[0]))
    groups = [
        {
            "key": value,
            "count": len(rows),
            "filter": condition(column, value),
            "metrics": {m: _aggregate(columns.get(m, []), rows) for m in metrics},
        }
        for value, rows in ordered[:MAX_GROUPS]
    ]
    return {"groups": groups, "truncated": len(ordered) > MAX_GROUPS}


def _order(value: Any) -> tuple[int, Any]:
    """Numbers first (by value), then text, then anything else, missing last."""
    if value is None:
        return (3, 0)
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, json.dumps(value, sort_keys=True, default=str))


def condition(column: str, value: Any) -> str | None:
    """The filter-language condition `column = value`, or None when `value` has no literal."""
    field = column if _PLAIN_FIELD.fullmatch(column) else _quote_key(column)
    if value is None:
        return f"{field} = null"
    if isinstance(value, bool):
        return f"{field} = {'true' if value else 'false'}"
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return f"{field} = {value!r}"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        return f"{field} = '{escaped}'"
    return None


def _quote_key(column: str) -> str:
    """params.`my-key` for a namespaced column whose key is not a plain word."""
    ns, _, key = column.partition(".")
    return f"{ns}.`{key.replace('`', '``')}`"


def _aggregate(values: list[Any], rows: list[int]) -> dict[str, float | int | None]:
    finite = [
        float(v)
        for i in rows
        if i < len(values) and isinstance(v := values[i], (int, float)) and math.isfinite(v)
    ]
    if not finite:
        return {"count": 0, "mean": None, "min": None, "max": None}
    return {
        "count": len(finite),
        "mean": math.fsum(finite) / len(finite),
        "min": min(finite),
        "max": max(finite),
    }
