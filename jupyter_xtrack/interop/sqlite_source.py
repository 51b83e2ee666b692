"""A local MLflow SQLite store read straight from its tables, read-only: experiments, runs,
params, tags, metric histories and log_input datasets in one query per page of runs, where
MlflowClient would build ORM objects for every run and make one call per metric history
(about 40 ms each on a busy machine: minutes for 10,000 runs). Used only when every table
has the columns read here (the same since MLflow 2.4); anything else goes through
MlflowClient, and so does anything this does not read (registered models, artifacts that
are not on this disk)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

from .model import MlflowPoint, MlflowRun

PAGE = 500
COLUMNS = {
    "experiments": {"experiment_id", "name", "lifecycle_stage"},
    "runs": {
        "run_uuid",
        "name",
        "status",
        "start_time",
        "end_time",
        "lifecycle_stage",
        "artifact_uri",
        "experiment_id",
    },
    "params": {"key", "value", "run_uuid"},
    "tags": {"key", "value", "run_uuid"},
    "metrics": {"key", "value", "timestamp", "step", "is_nan", "run_uuid"},
    "inputs": {"input_uuid", "source_type", "source_id", "destination_type", "destination_id"},
    "datasets": {
        "dataset_uuid",
        "name",
        "digest",
        "dataset_source_type",
        "dataset_source",
        "dataset_schema",
        "dataset_profile",
    },
    "input_tags": {"input_uuid", "name", "value"},
}
DATASETS_SQL = (
    "SELECT i.destination_id, d.name, d.digest, d.dataset_source_type, d.dataset_source, "
    "d.dataset_schema, d.dataset_profile, (SELECT t.value FROM input_tags t WHERE "
    "t.input_uuid = i.input_uuid AND t.name = 'mlflow.data.context') "
    "FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id "
    "WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND i.destination_id IN "
)


class SqliteSource:
    """The runs of one MLflow SQLite database (artifacts listed by the caller)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_uri(cls, uri: str) -> SqliteSource | None:
        """A reader for a `sqlite:///` tracking URI whose tables have the expected columns,
        else None (MlflowClient reads it then)."""
        parsed = urlparse(uri)
        if parsed.scheme != "sqlite" or not parsed.path:
            return None
        path = Path(parsed.path[1:] if parsed.path.startswith("//") else parsed.path)
        if not path.is_file():
            return None
        reader = cls(path)
        with reader._connection() as conn:
            for table, needed in COLUMNS.items():
                have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                if not needed <= have:
                    return None
        return reader

    def _connection(self) -> _Closing:
        return _Closing(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True))

    def model_count(self) -> int | None:
        """How many registered models the database holds (None without the table)."""
        with self._connection() as conn:
            try:
                return int(conn.execute("SELECT count(*) FROM registered_models").fetchone()[0])
            except sqlite3.Error:
                return None

    def runs(self, experiments: list[str] | None) -> Iterator[tuple[MlflowRun, str]]:
        """Every active run with its artifact URI, page by page."""
        with self._connection() as conn:
            exps = conn.execute(
                "SELECT experiment_id, name FROM experiments WHERE lifecycle_stage = 'active' "
                "ORDER BY experiment_id"
            ).fetchall()
            for exp_id, exp_name in exps:
                if experiments is not None and exp_name not in experiments:
                    continue
                rows = conn.execute(
                    "SELECT run_uuid, name, status, start_time, end_time, artifact_uri FROM runs "
                    "WHERE experiment_id = ? AND lifecycle_stage = 'active' "
                    "ORDER BY start_time DESC, run_uuid",
                    (exp_id,),
                ).fetchall()
                for i in range(0, len(rows), PAGE):
                    yield from self._page(conn, exp_name, rows[i : i + PAGE])

    def _page(
        self,
        conn: sqlite3.Connection,
        experiment: str,
        rows: list[tuple[str, str, str, int, int, str]],
    ) -> Iterator[tuple[MlflowRun, str]]:
        ids = [r[0] for r in rows]
        marks = f"({','.join('?' * len(ids))})"
        runs = {
            rid: MlflowRun(
                run_id=rid,
                experiment=experiment,
                status=status,
                start_ms=start,
                end_ms=end,
                name=name,
            )
            for rid, name, status, start, end, _ in rows
        }
        for key, value, rid in conn.execute(
            f"SELECT key, value, run_uuid FROM params WHERE run_uuid IN {marks}", ids
        ):
            runs[rid].params[key] = value
        for key, value, rid in conn.execute(
            f"SELECT key, value, run_uuid FROM tags WHERE run_uuid IN {marks}", ids
        ):
            runs[rid].tags[key] = value
        for rid, key, value, ts, step, is_nan in conn.execute(
            "SELECT run_uuid, key, value, timestamp, step, is_nan FROM metrics "
            f"WHERE run_uuid IN {marks} ORDER BY run_uuid, key, timestamp, step, value",
            ids,
        ):
            point: MlflowPoint = (float("nan") if is_nan else float(value), int(ts), int(step))
            runs[rid].metrics.setdefault(key, []).append(point)
        names = ("name", "digest", "source_type", "source", "schema", "profile")
        for rid, *fields, context in conn.execute(DATASETS_SQL + marks, ids):
            flat = {k: "" if v is None else str(v) for k, v in zip(names, fields, strict=True)}
            if context:
                flat["context"] = str(context)
            runs[rid].datasets.append(flat)
        for rid, *_, artifact_uri in rows:
            yield runs[rid], artifact_uri


class _Closing:
    """A connection closed when the block ends (sqlite3's own context manager commits)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()
