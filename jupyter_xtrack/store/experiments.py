"""Experiments recorded beyond their runs (schema migration 6, `store/schema.py`).

In xtrack an experiment is a name on its runs. MLflow's API also has experiments without
runs (`create_experiment`, runs later), experiment tags and a deleted state. They live in
the store (tables `experiments` and `experiment_tags`), not in a file beside one server, so
every server and client of the same store, a team's PostgreSQL database included, sees the
same experiments, tags and deletions. `ExperimentTables` is mixed into `Store`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TypedDict

from .dialect import Conn

# Migration 6 (store/schema.py). Released: never edit; change it with a new migration.
SCHEMA = """
CREATE TABLE experiments (
    name TEXT PRIMARY KEY,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE experiment_tags (
    name TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (name, key)
);
"""


class ExperimentRecord(TypedDict):
    name: str
    tags: dict[str, str]
    deleted: bool
    created_at: float
    updated_at: float


class ExperimentTables:
    """The experiments' methods of `Store` (see the module docstring and `RunStore`)."""

    def _read(self) -> AbstractContextManager[Conn]:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Conn]:
        raise NotImplementedError

    def experiments(self, name: str | None = None) -> dict[str, ExperimentRecord]:
        """The recorded experiments by name (only `name`'s, when given)."""
        where, args = (" WHERE name = ?", (name,)) if name is not None else ("", ())
        with self._read() as conn:
            found: dict[str, ExperimentRecord] = {
                row[0]: {
                    "name": row[0],
                    "tags": {},
                    "deleted": bool(row[1]),
                    "created_at": float(row[2]),
                    "updated_at": float(row[3]),
                }
                for row in conn.execute(
                    "SELECT name, deleted, created_at, updated_at FROM experiments" + where, args
                )
            }
            for owner, key, value in conn.execute(
                "SELECT name, key, value FROM experiment_tags" + where, args
            ):
                if owner in found:
                    found[owner]["tags"][key] = value
        return found

    def add_experiment(
        self,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        deleted: bool = False,
        created_at: float | None = None,
        updated_at: float | None = None,
    ) -> bool:
        """Record experiment `name` with `tags`; False (nothing written) when it is recorded
        already, so of two clients creating it at once exactly one gets True."""
        now = time.time()
        created = now if created_at is None else created_at
        with self._write() as conn:
            row = conn.execute(
                "INSERT INTO experiments(name, deleted, created_at, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(name) DO NOTHING RETURNING name",
                (name, int(deleted), created, created if updated_at is None else updated_at),
            ).fetchone()
            if row is None:
                return False
            _put_tags(conn, name, tags)
        return True

    def update_experiment(
        self,
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        drop_tag: str | None = None,
        deleted: bool | None = None,
    ) -> None:
        """Set tags, remove one, or mark the experiment deleted or restored (it is recorded
        first if it was only a name on runs)."""
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO experiments(name, deleted, created_at, updated_at) "
                "VALUES (?, 0, ?, ?) ON CONFLICT(name) DO UPDATE SET updated_at = excluded.updated_at",
                (name, now, now),
            )
            _put_tags(conn, name, tags)
            if drop_tag is not None:
                conn.execute(
                    "DELETE FROM experiment_tags WHERE name = ? AND key = ?", (name, drop_tag)
                )
            if deleted is not None:
                conn.execute(
                    "UPDATE experiments SET deleted = ? WHERE name = ?", (int(deleted), name)
                )


def _put_tags(conn: Conn, name: str, tags: Mapping[str, str] | None) -> None:
    conn.executemany(
        "INSERT INTO experiment_tags(name, key, value) VALUES (?, ?, ?) "
        "ON CONFLICT(name, key) DO UPDATE SET value = excluded.value",
        [(name, str(k), str(v)) for k, v in (tags or {}).items()],
    )
