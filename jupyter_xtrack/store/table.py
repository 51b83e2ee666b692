"""RunTable: the column-oriented result of `Store.query_runs`."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from ..facts import SYSTEM_METRIC_PREFIX
from .dialect import Conn
from .gcpause import gc_paused
from .summary import NAMESPACES, FloatColumn, Summaries

if TYPE_CHECKING:
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
    "user",
    "git.commit",
    "git.branch",
    "git.dirty",
)
# The runs columns selected for BASE_COLUMNS, in the same order.
BASE_SQL = (
    "r.id, r.number, r.name, r.experiment, r.status, r.started_at, r.ended_at, r.duration_s, "
    "r.parent_id, r.kind, r.notebook_path, r.user_name, r.git_commit, r.git_branch, r.git_dirty"
)
# Metrics the tracker logs for its own bookkeeping, not the user's results: a job's
# progress (optimize/jobs.py), a sweep's best so far (optimize/sweep/loop.py), an AutoML
# search's time used and each candidate's folds, rows and timings (optimize/automl/).
# The sidebar offers them apart, with the `xtrack.*` tags; see is_system_column.
SYSTEM_METRICS = frozenset(
    {
        "job_progress",
        "best_value",
        "elapsed_s",
        "n_rows",
        "fold_score",
        "fit_time_s",
        "predict_time_s",
    }
)
SYSTEM_TAG_PREFIX = "xtrack."
_GLOB_CHARS = set("*?[")
_FETCH_CHUNK = 1000  # rows per fetchmany when reading many runs


class RunTable:
    """Runs as columns: `columns` maps each column name to one list of values (all lists
    the same length, in query order); `total` counts every run the filter matched, ignoring
    limit and offset.

    Columns come in this order: id, number, name, experiment, status, started_at,
    ended_at, duration_s, parent_id, kind, notebook_path, user, git.commit, git.branch,
    git.dirty, then params.<k>, metrics.<k> (last value), tags.<k>, each sorted by key.
    A run without a key has None there. Times are Unix seconds (floats).
    """

    __slots__ = ("_columns", "total")

    def __init__(self, columns: Mapping[str, list[Any] | FloatColumn], total: int) -> None:
        # Metrics columns stay packed until someone asks for lists, so to_frame can hand
        # them to numpy without a round trip through 100,000 Python floats each.
        self._columns: dict[str, list[Any] | FloatColumn] = dict(columns)
        self.total = total

    @property
    def columns(self) -> dict[str, list[Any]]:
        """Column name -> list of values; the same dict on every access."""
        cols = self._columns
        for name, col in cols.items():
            if isinstance(col, FloatColumn):
                cols[name] = col.tolist()
        return cast("dict[str, list[Any]]", cols)

    def __len__(self) -> int:
        return len(self._columns["id"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunTable):
            return NotImplemented
        return self.total == other.total and self.columns == other.columns

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it was

    def __repr__(self) -> str:
        return f"RunTable({len(self)} runs of {self.total}, columns={list(self._columns)})"

    @property
    def ids(self) -> list[str]:
        """The run ids, in query order."""
        return list(self._columns["id"])  # type: ignore[arg-type]

    def rows(self) -> list[dict[str, Any]]:
        """One dict per run (column name -> value), in query order."""
        columns = self.columns
        names = list(columns)
        return [
            dict(zip(names, values, strict=False))
            for values in zip(*columns.values(), strict=False)
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
        for name, values in self._columns.items():
            if isinstance(values, FloatColumn):
                # Missing values are already NaN in the packed array; one buffer copy.
                data[name] = np.array(values.values, dtype=np.float64)
            elif name in ("started_at", "ended_at"):
                seconds = np.array(values, dtype=np.float64)
                data[name] = pd.to_datetime(seconds, unit="s", utc=True)
            elif name == "number":
                data[name] = np.array(values, dtype=np.int64)
            elif name == "duration_s" or name.startswith("metrics."):
                data[name] = np.array(values, dtype=np.float64)
            elif name == "git.dirty":
                data[name] = pd.array(values, dtype="boolean")
            elif name.startswith("params."):
                data[name] = _param_array(np, pd, values)
            else:
                # Text: pandas infers (it becomes pandas' string dtype).
                data[name] = pd.Series(values)
        return pd.DataFrame(data, columns=list(self._columns))


def _param_array(np: Any, pd: Any, values: list[Any]) -> Any:
    """A params column with the dtype pandas would infer, built directly when every value
    is a float (or None), every value an int, or every value a bool: pandas' own inference
    over Python objects costs ten times more."""
    kinds = set(map(type, values))
    if kinds <= {float, type(None)} and float in kinds:
        return np.array(values, dtype=np.float64)  # None becomes NaN, as pandas does
    if kinds == {bool}:
        return np.array(values, dtype=np.bool_)
    if kinds == {int}:
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:
            pass  # beyond int64: pandas keeps Python ints (object)
    return pd.Series(values)


def is_system_column(column: str) -> bool:
    """Whether a RunTable column is the tracker's bookkeeping (SYSTEM_METRICS, the sampled
    `system/*` metrics, tags under `xtrack.`) rather than what the user logged: views show those apart, never by default."""
    ns, _, key = column.partition(".")
    if ns == "metrics":
        return key in SYSTEM_METRICS or key.startswith(SYSTEM_METRIC_PREFIX)
    return ns == "tags" and key.startswith(SYSTEM_TAG_PREFIX)


def namespaces_needed(patterns: Sequence[str] | None) -> tuple[str, ...]:
    """Which of params/metrics/tags any of `patterns` can select (all when None)."""
    if patterns is None:
        return NAMESPACES
    return tuple(
        ns
        for ns in NAMESPACES
        if any(fnmatch.fnmatchcase(ns, p.split(".", 1)[0]) for p in patterns if "." in p)
    )


def fetch_columns(cursor: Any, width: int) -> list[list[Any]]:
    """The cursor's remaining rows as `width` column lists.

    Fetched a chunk at a time: each chunk's row tuples are freed before the next is
    made, so 100,000 rows reuse the same memory instead of holding 2M cells at once."""
    cols: list[list[Any]] = [[] for _ in range(width)]
    while chunk := cursor.fetchmany(_FETCH_CHUNK):
        for col, values in zip(cols, zip(*chunk, strict=True), strict=True):
            col.extend(values)
    return cols


def build_table(
    conn: Conn,
    summaries: Summaries,
    cols: list[list[Any]],
    total: int,
    namespaces: Sequence[str],
    patterns: Sequence[str] | None,
) -> RunTable:
    """A RunTable from columns (see fetch_columns) of BASE_SQL followed by (key set,
    values) per namespace in `namespaces`, keeping the namespaced columns that match
    `patterns` (all when None; a pattern without glob characters always gives its column,
    even if no run has it). Takes ownership of the base column lists."""
    n_base = len(BASE_COLUMNS)
    columns: dict[str, list[Any] | FloatColumn] = dict(
        zip(BASE_COLUMNS, cols[:n_base], strict=True)
    )
    columns["git.dirty"] = [None if v is None else bool(v) for v in cols[n_base - 1]]
    n = len(cols[0])
    for i, ns in enumerate(namespaces):
        keysets, blobs = cols[n_base + 2 * i], cols[n_base + 2 * i + 1]
        by_key = summaries.columns(conn, ns, keysets, blobs) if n else {}
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
