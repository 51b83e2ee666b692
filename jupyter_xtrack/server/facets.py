"""The distinct values of one run field among the runs a filter matches, each with its count:
who ran the runs (the sidebar's user filter) and which hosts a job's trials ran on (the Jobs
tab).

`distinct_counts` finds them with two small queries per distinct value (and, for a field
`query_runs` does not return, one read of a run), never by reading every matched run: the
newest run whose value is not one found yet names the next value, and a count of the runs
holding it follows. Values are few (people, machines) where runs are many. Under a selective
filter, reading the few matched runs once is cheaper still (`user_counts`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from ..store.contract import RunStore
from .groups import condition

MAX_VALUES = 50  # the most values a facet lists (people in GET users, hosts of a job)
# Up to this many matched runs, users are counted from one read of them; past it, by a count
# query per person (bench/bench_team_facets.py: 57 ms against 430 ms for 11,000 of 100,000
# runs, 430 ms against 770 ms or more for all of them).
READ_MATCHED_MAX = 20_000


def user_counts(
    store: RunStore, filter: str | None, experiment: str | None
) -> tuple[list[tuple[Any, int]], bool]:
    """([(user, runs)...] most runs first, truncated) among the runs `filter` matches."""
    matched = store.query_runs(filter, experiment=experiment, columns=[], limit=0).total
    if matched > READ_MATCHED_MAX:
        return distinct_counts(
            store,
            filter,
            "user",
            lambda row: row.get("user"),
            experiment=experiment,
            limit=MAX_VALUES,
        )
    users = store.query_runs(filter, experiment=experiment, columns=[]).columns["user"]
    counts = _ordered(list(Counter(users).items()))
    return counts[:MAX_VALUES], len(counts) > MAX_VALUES


def distinct_counts(
    store: RunStore,
    base: str | None,
    field: str,
    value_of: Callable[[dict[str, Any]], Any],
    *,
    experiment: str | None = None,
    parent_id: str | None = None,
    limit: int = MAX_VALUES,
) -> tuple[list[tuple[Any, int]], bool]:
    """([(value, count)...] most runs first, truncated) of `field` among the runs matching
    filter `base` (None: every run), of `experiment` and children of `parent_id` when given
    (an indexed lookup, unlike the same condition in the filter). `value_of` reads the value
    from a row of `query_runs` (for a field that is no table column, it reads the run).
    `truncated` when more than `limit` values exist (then the values of the newest runs)."""

    def runs(clauses: list[str], limit: int) -> Any:
        return store.query_runs(
            " and ".join(clauses) or None,
            experiment=experiment,
            parent_id=parent_id,
            columns=[],
            limit=limit,
        )

    found: list[tuple[Any, int]] = []
    matched = [f"({base})"] if base and base.strip() else []
    rest = list(matched)  # the matched runs whose value is none found yet
    while rows := runs(rest, 1).rows():
        if len(found) == limit:
            return _ordered(found), True
        value = value_of(rows[0])
        same = condition(field, value)
        if same is None:  # no literal for it: cannot be counted apart
            break
        found.append((value, runs([*matched, same], 0).total))
        rest.append(f"not ({same})")
    return _ordered(found), False


def _ordered(found: list[tuple[Any, int]]) -> list[tuple[Any, int]]:
    return sorted(found, key=lambda item: (-item[1], str(item[0])))
