"""The distinct values of one run field among the runs a filter matches, each with its count:
who ran the runs of a store (the sidebar's user filter) and which hosts a sweep's trials ran
on (the Jobs tab).

Found with two small queries per distinct value, never by reading every matched run: the
newest run whose value is not one found yet names the next value, and a count of the runs
holding it follows. Values are few (people, machines) where runs are many.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..store.contract import RunStore
from .groups import condition

MAX_VALUES = 50


def distinct_counts(
    store: RunStore,
    base: str | None,
    field: str,
    value_of: Callable[[dict[str, Any]], Any],
    *,
    experiment: str | None = None,
    limit: int = MAX_VALUES,
) -> tuple[list[tuple[Any, int]], bool]:
    """([(value, count)...] most runs first, truncated) of `field` among the runs matching
    filter `base` (None: every run). `value_of` reads the value from a row of `query_runs`
    (for a field that is no table column, it reads the run). `truncated` when more than
    `limit` values exist."""
    found: list[tuple[Any, int]] = []
    matched = [f"({base})"] if base and base.strip() else []
    clauses = list(matched)
    while True:
        rows = store.query_runs(
            " and ".join(clauses) or None, experiment=experiment, columns=[], limit=1
        ).rows()
        if not rows:
            break
        if len(found) == limit:
            return _ordered(found), True
        value = value_of(rows[0])
        same = condition(field, value)
        if same is None:  # no literal for it: cannot be counted apart
            break
        count = store.query_runs(
            " and ".join([*matched, same]), experiment=experiment, columns=[], limit=0
        ).total
        found.append((value, count))
        clauses.append(f"not ({same})")
    return _ordered(found), False


def _ordered(found: list[tuple[Any, int]]) -> list[tuple[Any, int]]:
    return sorted(found, key=lambda item: (-item[1], str(item[0])))
