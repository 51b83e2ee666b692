"""RunTable: the column-oriented result of `Store.query_runs`."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .gcpause import gc_paused
from .summary import NAMESPACES, Summaries

if TYPE_CHECKING:
    import sqlite3

    import pandas as pd

BASE_COLUMNS = (
    "id",
    "number",
    "name",
    "experiment",
    "status",
    "started_at",
    "ended_at",
    "duration_s",
    "parent_id",
    "kind",
    "notebook_path",
    "git.commit",
    "git.branch",
    "git.dirty",
)
# The runs columns selected for BASE_COLUMNS, in the same order.
BASE_SQL = (
    "r.id, r.number, r.name, r.experiment, r.status, r.started_at, r.ended_at, r.duration_s, "
    "r.parent_id, r.kind, r.notebook_path, r.git_commit, r.git_branch, r.git_dirty"
)
_GLOB_CHARS = set("*?[")


@dataclass
class RunTable:
    """Runs as columns: `columns` maps each column name to one list of values (all lists
    the same length, in query order); `total` counts every run the filter matched, ignoring
    limit and offset.

    Columns come in this order: id, number, name, experiment, status, started_at,
    ended_at, duration_s, parent_id, kind, notebook_path, git.commit, git.branch,
    git.dirty, then params.<k>, metrics.<k> (last value), tags.<k>, each sorted by key.
    A run without a key has None there. Times are Unix seconds (floats).
    """

    columns: dict[str, list[Any]]
    total: int

    def __len__(self) -> int:
        return len(self.columns["id"])

    @property
    def ids(self) -> list[str]:
        """The run ids, in query order."""
        return list(self.columns["id"])

    def rows(self) -> list[dict[str, Any]]:
        """One dict per run (column name -> value), in query order."""
        names = list(self.columns)
        return [
            dict(zip(names, values, strict=False))
            for values in zip(*self.columns.values(), strict=False)
        ]

    def to_frame(self) -> pd.DataFrame:
        """A pandas DataFrame with the same columns: started_at/ended_at as UTC datetimes,
        number as int64, duration_s and metrics.* as float64 (NaN where missing),
        git.dirty as nullable boolean, text as strings, params as pandas infers them."""
        import numpy as np
        import pandas as pd

        with gc_paused():
            return self._frame(np, pd)

    def _frame(self, np: Any, pd: Any) -> pd.DataFrame:
        data: dict[str, Any] = {}
        for name, values in self.columns.items():
            if name in ("started_at", "ended_at"):
                seconds = np.array(values, dtype=np.float64)
                data[name] = pd.to_datetime(seconds, unit="s", utc=True)
            elif name == "number":
                data[name] = np.array(values, dtype=np.int64)
            elif name == "duration_s" or name.startswith("metrics."):
                data[name] = np.array(values, dtype=np.float64)
            elif name == "git.dirty":
                data[name] = pd.array(values, dtype="boolean")
            else:
                # Text and params: pandas infers (text becomes its string dtype).
                data[name] = pd.Series(values)
        return pd.DataFrame(data, columns=list(self.columns))


def namespaces_needed(patterns: Sequence[str] | None) -> tuple[str, ...]:
    """Which of params/metrics/tags any of `patterns` can select (all when None)."""
    if patterns is None:
        return NAMESPACES
    return tuple(
        ns
        for ns in NAMESPACES
        if any(fnmatch.fnmatchcase(ns, p.split(".", 1)[0]) for p in patterns if "." in p)
    )


def build_table(
    conn: sqlite3.Connection,
    summaries: Summaries,
    rows: list[tuple[Any, ...]],
    total: int,
    namespaces: Sequence[str],
    patterns: Sequence[str] | None,
) -> RunTable:
    """A RunTable from rows of BASE_SQL columns followed by (key set, values) per
    namespace in `namespaces`, keeping the namespaced columns that match `patterns` (all
    when None; a pattern without glob characters always gives its column, even if no run
    has it)."""
    n_base = len(BASE_COLUMNS)
    cols: list[Sequence[Any]] = (
        list(zip(*rows, strict=True)) if rows else [()] * (n_base + 2 * len(namespaces))
    )
    columns: dict[str, list[Any]] = {
        name: list(col) for name, col in zip(BASE_COLUMNS, cols[:n_base], strict=False)
    }
    columns["git.dirty"] = [None if v is None else bool(v) for v in columns["git.dirty"]]
    n = len(rows)
    for i, ns in enumerate(namespaces):
        keysets, blobs = cols[n_base + 2 * i], cols[n_base + 2 * i + 1]
        by_key = summaries.columns(conn, ns, keysets, blobs) if rows else {}
        keys = set(by_key)
        if patterns is not None:
            keys = {k for k in keys if any(fnmatch.fnmatchcase(f"{ns}.{k}", p) for p in patterns)}
            prefix = ns + "."
            keys.update(
                p[len(prefix) :]
                for p in patterns
                if p.startswith(prefix) and not _GLOB_CHARS & set(p)
            )
        for key in sorted(keys):
            col = by_key.get(key)
            columns[f"{ns}.{key}"] = [None] * n if col is None else col
    return RunTable(columns, total)
