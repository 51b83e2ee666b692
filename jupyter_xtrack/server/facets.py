"""The distinct values of one run field among the runs a filter matches, each with its count:
who ran the runs (the sidebar's user filter) and which hosts a job's trials ran on (the Jobs
tab). The store counts them in one grouped query (`RunStore.count_runs_by`), so the answer
costs the same for a hundred runs as for a hundred thousand read by nobody.
"""

from __future__ import annotations

from typing import Any

from ..store.contract import RunStore

MAX_VALUES = 50  # the most values a facet lists (people in GET users, hosts of a job)


def user_counts(
    store: RunStore, filter: str | None, experiment: str | None
) -> tuple[list[tuple[Any, int]], bool]:
    """([(user, runs)...] most runs first, truncated) among the runs `filter` matches."""
    return field_counts(store, "user", filter, experiment=experiment)


def field_counts(
    store: RunStore,
    field: str,
    filter: str | None = None,
    *,
    experiment: str | None = None,
    parent_id: str | None = None,
) -> tuple[list[tuple[Any, int]], bool]:
    """([(value, runs)...] most runs first, at most MAX_VALUES; truncated) of `field`."""
    counts = store.count_runs_by(field, filter, experiment=experiment, parent_id=parent_id,
                                 limit=MAX_VALUES + 1)
    return counts[:MAX_VALUES], len(counts) > MAX_VALUES
