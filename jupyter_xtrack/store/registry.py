"""The model registry's tables: registered models, their versions, aliases, the append-only
alias history, and tags on models and versions (schema migration 3, `store/schema.py`).

`RegistryTables` is mixed into `Store`, so its methods run on the store's connections and
write transactions (`BEGIN IMMEDIATE`): handing out a version number, moving an alias and
appending its history entry are each one transaction, safe with concurrent writers.

Rules kept here (a second backend keeps them too, see `store/contract.py`):
- a model's version numbers only go up and are never reused, even after a version is
  deleted (`registered_models.last_version` holds the highest one handed out);
- `latest` is reserved: computed (the highest existing version), never stored as an alias;
- every alias change (set, move, delete, a deleted version losing its aliases) appends one
  row to `model_alias_history`, which triggers make append-only;
- a deleted version leaves a row in `model_version_deletions` (migration 7): who deleted it,
  when, why, and what it was (run, blob), so that `xtrack push/pull` carry the deletion to
  another store and never copy the version back.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypedDict

from .codec import loads
from .dialect import Conn
from .errors import StoreError

LATEST = "latest"
# Model names go into URIs ("name@alias", "name/3", "models:/name@alias"): no "/" or "@".
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")
# model_tags.version of a tag on the model itself (versions count from 1).
MODEL_LEVEL = 0
# The column gc reads to keep every registered version's blob.
BLOBS_QUERY = "SELECT blob FROM model_versions"
# The tag `xtrack push/pull` puts on a version it copies: the store it came from (redacted).
# Loading it unpickles only when trusted, whoever owns the store it was copied into.
COPIED_FROM_TAG = "xtrack.copied_from"

# Migration 3 (store/schema.py), statement by statement (a trigger's body holds ";"). Released:
# never edit; change the registry with a new migration.
SCHEMA: tuple[str, ...] = (
    "CREATE TABLE registered_models (\n"
    "    id INTEGER PRIMARY KEY,\n"
    "    name TEXT NOT NULL UNIQUE,\n"
    "    description TEXT,\n"
    "    created_at REAL NOT NULL,\n"
    "    updated_at REAL NOT NULL,\n"
    "    user TEXT,\n"
    "    last_version INTEGER NOT NULL DEFAULT 0\n"
    ")",
    "CREATE TABLE model_versions (\n"
    "    model INTEGER NOT NULL, version INTEGER NOT NULL,\n"
    "    run_id TEXT, artifact TEXT, blob TEXT NOT NULL, size INTEGER, format TEXT,\n"
    "    description TEXT, created_at REAL NOT NULL, user TEXT,\n"
    "    PRIMARY KEY (model, version)\n"
    ") WITHOUT ROWID",
    "CREATE INDEX model_versions_run ON model_versions(run_id) WHERE run_id IS NOT NULL",
    "CREATE TABLE model_aliases (\n"
    "    model INTEGER NOT NULL, alias TEXT NOT NULL, version INTEGER NOT NULL,\n"
    "    PRIMARY KEY (model, alias)\n"
    ") WITHOUT ROWID",
    "CREATE INDEX model_aliases_alias ON model_aliases(alias, model, version)",
    "CREATE TABLE model_tags (\n"
    "    model INTEGER NOT NULL, version INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,\n"
    "    PRIMARY KEY (model, version, key)\n"
    ") WITHOUT ROWID",
    "CREATE INDEX model_tags_key_value ON model_tags(key, value, model, version)",
    "CREATE TABLE model_alias_history (\n"
    "    id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "    model INTEGER NOT NULL, alias TEXT NOT NULL,\n"
    "    from_version INTEGER, to_version INTEGER,\n"
    "    user TEXT, at REAL NOT NULL, reason TEXT, evaluation TEXT\n"
    ")",
    "CREATE INDEX model_alias_history_model ON model_alias_history(model, alias, id)",
    "CREATE TRIGGER model_alias_history_no_update BEFORE UPDATE ON model_alias_history\n"
    "BEGIN SELECT RAISE(ABORT, 'the alias history is append-only'); END",
    "CREATE TRIGGER model_alias_history_no_delete BEFORE DELETE ON model_alias_history\n"
    "BEGIN SELECT RAISE(ABORT, 'the alias history is append-only'); END",
)


# Migration 7 (store/schema.py): a row per deleted version. Released: never edit.
DELETIONS_SCHEMA = """
CREATE TABLE model_version_deletions (
    model INTEGER NOT NULL, version INTEGER NOT NULL,
    run_id TEXT, blob TEXT NOT NULL,
    user TEXT, at REAL NOT NULL, reason TEXT,
    PRIMARY KEY (model, version)
) WITHOUT ROWID;
"""


class UnknownModelError(StoreError, LookupError):
    """A model name, version or alias that the registry does not hold."""


class ModelRecord(TypedDict):
    name: str
    description: str | None
    created_at: float
    updated_at: float
    user: str | None
    latest_version: int | None
    versions: int
    tags: dict[str, str]
    aliases: dict[str, int]


class ModelVersionRecord(TypedDict):
    name: str
    version: int
    run_id: str | None
    artifact: str | None
    blob: str
    size: int | None
    format: str | None
    description: str | None
    created_at: float
    user: str | None
    tags: dict[str, str]
    aliases: list[str]


class AliasChangeRecord(TypedDict):
    name: str
    alias: str
    from_version: int | None
    to_version: int | None
    user: str | None
    at: float
    reason: str | None
    evaluation: str | None


class VersionDeletionRecord(TypedDict):
    """A deleted version: which (name, version), what it was (run, blob), who deleted it,
    when and why."""

    name: str
    version: int
    run_id: str | None
    blob: str
    user: str | None
    at: float
    reason: str | None


class VersionSource(TypedDict):
    """What a new version is made of: the run and artifact it came from and the blob."""

    run_id: str | None
    artifact: str | None
    blob: str
    size: int | None
    format: str | None


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"model name {name!r} is not valid: use letters, digits, '_', '.', '-' (no '/' or "
            "'@', which address versions and aliases), at most 128 characters"
        )
    return name


def check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise ValueError(
            f"alias {alias!r} is not valid: start with a letter, then letters, digits, '_' or "
            "'-', at most 64 characters"
        )
    if alias.lower() == LATEST:
        raise ValueError(
            "the alias 'latest' is reserved: it always means the model's highest version and "
            "cannot be set or moved"
        )
    return alias


_VERSION_SQL = (
    "SELECT m.name, v.version, v.run_id, v.artifact, v.blob, v.size, v.format, v.description, "
    "v.created_at, v.user, "
    "(SELECT json_group_object(t.key, t.value) FROM model_tags AS t "
    " WHERE t.model = v.model AND t.version = v.version), "
    "(SELECT json_group_array(a.alias) FROM model_aliases AS a "
    " WHERE a.model = v.model AND a.version = v.version) "
    "FROM model_versions AS v JOIN registered_models AS m ON m.id = v.model"
)
_MODEL_SQL = (
    "SELECT m.name, m.description, m.created_at, m.updated_at, m.user, "
    "(SELECT max(v.version) FROM model_versions AS v WHERE v.model = m.id), "
    "(SELECT count(*) FROM model_versions AS v WHERE v.model = m.id), "
    "(SELECT json_group_object(t.key, t.value) FROM model_tags AS t "
    " WHERE t.model = m.id AND t.version = 0), "
    "(SELECT json_group_object(a.alias, a.version) FROM model_aliases AS a "
    " WHERE a.model = m.id) "
    "FROM registered_models AS m"
)
_HISTORY_SQL = (
    "SELECT m.name, h.alias, h.from_version, h.to_version, h.user, h.at, h.reason, "
    "h.evaluation FROM model_alias_history AS h JOIN registered_models AS m ON m.id = h.model"
)


def _version_row(row: Sequence[Any]) -> ModelVersionRecord:
    (
        name,
        version,
        run_id,
        artifact,
        blob,
        size,
        fmt,
        description,
        created,
        user,
        tags,
        aliases,
    ) = row
    return {
        "name": name,
        "version": int(version),
        "run_id": run_id,
        "artifact": artifact,
        "blob": blob,
        "size": size,
        "format": fmt,
        "description": description,
        "created_at": float(created),
        "user": user,
        "tags": loads(tags) if tags else {},
        "aliases": sorted(loads(aliases)) if aliases else [],
    }


def _model_row(row: Sequence[Any]) -> ModelRecord:
    name, description, created, updated, user, latest, count, tags, aliases = row
    return {
        "name": name,
        "description": description,
        "created_at": float(created),
        "updated_at": float(updated),
        "user": user,
        "latest_version": None if latest is None else int(latest),
        "versions": int(count),
        "tags": loads(tags) if tags else {},
        "aliases": loads(aliases) if aliases else {},
    }


def _history_row(row: Sequence[Any]) -> AliasChangeRecord:
    name, alias, from_v, to_v, user, at, reason, evaluation = row
    return {
        "name": name,
        "alias": alias,
        "from_version": from_v,
        "to_version": to_v,
        "user": user,
        "at": float(at),
        "reason": reason,
        "evaluation": evaluation,
    }


def _tag_clauses(
    tags: Mapping[str, str | None] | None, owner: str, columns: str
) -> tuple[list[str], list[Any]]:
    """Tag filters as `owner IN (SELECT columns FROM model_tags ...)`: each key present
    (with that value unless it is None). Written as IN, not a correlated EXISTS, so SQLite
    starts from the tag index's few matching rows instead of testing every version."""
    clauses: list[str] = []
    args: list[Any] = []
    for key, value in (tags or {}).items():
        test = "key = ?" if value is None else "key = ? AND value = ?"
        clauses.append(f"{owner} IN (SELECT {columns} FROM model_tags WHERE {test})")
        args.extend([key] if value is None else [key, str(value)])
    return clauses, args


class RegistryTables:
    """The registry's methods of `Store` (see the module docstring and `RunStore`)."""

    root: Path

    def _read(self) -> AbstractContextManager[Conn]:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Conn]:
        raise NotImplementedError

    # -- writing -----------------------------------------------------------------------
    def register_model_version(
        self,
        name: str,
        source: VersionSource,
        *,
        user: str | None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        aliases: Sequence[str] = (),
    ) -> ModelVersionRecord:
        check_model_name(name)
        for alias in aliases:
            check_alias(alias)
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO registered_models(name, created_at, updated_at, user) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(name) DO NOTHING",
                (name, now, now, user),
            )
            model, version = conn.execute(
                "UPDATE registered_models SET last_version = last_version + 1, updated_at = ? "
                "WHERE name = ? RETURNING id, last_version",
                (now, name),
            ).fetchone()
            conn.execute(
                "INSERT INTO model_versions(model, version, run_id, artifact, blob, size, format, "
                "description, created_at, user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    model,
                    version,
                    source["run_id"],
                    source["artifact"],
                    source["blob"],
                    source["size"],
                    source["format"],
                    description,
                    now,
                    user,
                ),
            )
            _put_tags(conn, model, version, tags)
            for alias in aliases:
                _move_alias(conn, model, alias, version, user, "set when registered", None, now)
            return self._version(conn, model, version)

    def copy_model_version(self, model: ModelRecord, version: ModelVersionRecord) -> None:
        """Add `version`, read from another store, under its own number, time, user,
        description and tags (the model created as `model` says on first use); the model's
        last number handed out rises to it, so later ones follow it. ValueError (nothing
        written) when the number is taken here."""
        name = check_model_name(version["name"])
        with self._write() as conn:
            conn.execute(
                "INSERT INTO registered_models(name, description, created_at, updated_at, user) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO NOTHING",
                (
                    name,
                    model["description"],
                    model["created_at"],
                    model["updated_at"],
                    model["user"],
                ),
            )
            number = int(version["version"])
            (model_id,) = conn.execute(
                "UPDATE registered_models SET last_version = "
                "CASE WHEN last_version < ? THEN ? ELSE last_version END WHERE name = ? RETURNING id",
                (number, number, name),
            ).fetchone()
            if conn.execute(
                "SELECT 1 FROM model_versions WHERE model = ? AND version = ?", (model_id, number)
            ).fetchone():
                raise ValueError(f"model {name!r} already has a version {number}")
            conn.execute(
                "INSERT INTO model_versions(model, version, run_id, artifact, blob, size, format, "
                "description, created_at, user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    model_id,
                    number,
                    version["run_id"],
                    version["artifact"],
                    version["blob"],
                    version["size"],
                    version["format"],
                    version["description"],
                    version["created_at"],
                    version["user"],
                ),
            )
            _put_tags(conn, model_id, number, version["tags"])

    def set_model_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        user: str | None,
        reason: str | None = None,
        evaluation: str | None = None,
    ) -> AliasChangeRecord:
        check_alias(alias)
        with self._write() as conn:
            model = _model_id(conn, name)
            _check_version(conn, model, name, version)
            return _move_alias(conn, model, alias, version, user, reason, evaluation, time.time())

    def delete_model_alias(
        self, name: str, alias: str, *, user: str | None, reason: str | None = None
    ) -> AliasChangeRecord:
        with self._write() as conn:
            model = _model_id(conn, name)
            if _alias_version(conn, model, alias) is None:
                raise UnknownModelError(f"model {name!r} has no alias {alias!r}")
            return _move_alias(conn, model, alias, None, user, reason, None, time.time())

    def set_model_tags(
        self, name: str, tags: Mapping[str, str], *, version: int | None = None
    ) -> None:
        with self._write() as conn:
            model = _model_id(conn, name)
            if version is not None:
                _check_version(conn, model, name, version)
            _put_tags(conn, model, MODEL_LEVEL if version is None else version, tags)

    def set_model_description(self, name: str, description: str | None) -> None:
        with self._write() as conn:
            model = _model_id(conn, name)
            conn.execute(
                "UPDATE registered_models SET description = ?, updated_at = ? WHERE id = ?",
                (description, time.time(), model),
            )

    def delete_model_version(
        self,
        name: str,
        version: int,
        *,
        user: str | None,
        reason: str | None = None,
        at: float | None = None,
    ) -> None:
        with self._write() as conn:
            model = _model_id(conn, name)
            _check_version(conn, model, name, version)
            why = reason or f"version {version} deleted"
            now = time.time()
            for (alias,) in conn.execute(
                "SELECT alias FROM model_aliases WHERE model = ? AND version = ?", (model, version)
            ).fetchall():
                _move_alias(conn, model, alias, None, user, why, None, now)
            conn.execute("DELETE FROM model_tags WHERE model = ? AND version = ?", (model, version))
            conn.execute(
                "INSERT INTO model_version_deletions(model, version, run_id, blob, user, at, "
                "reason) SELECT model, version, run_id, blob, ?, ?, ? FROM model_versions "
                "WHERE model = ? AND version = ?",
                (user, now if at is None else at, reason, model, version),
            )
            conn.execute(
                "DELETE FROM model_versions WHERE model = ? AND version = ?", (model, version)
            )

    # -- reading -----------------------------------------------------------------------
    def get_model_version(
        self, name: str, version: int | None = None, *, alias: str | None = None
    ) -> ModelVersionRecord:
        with self._read() as conn:
            model = _model_id(conn, name)
            if alias is not None and alias.lower() != LATEST:
                found = _alias_version(conn, model, alias)
                if found is None:
                    raise UnknownModelError(
                        f"model {name!r} has no alias {alias!r}{_known(conn, model)}"
                    )
                version = found
            elif version is None:
                row = conn.execute(
                    "SELECT max(version) FROM model_versions WHERE model = ?", (model,)
                ).fetchone()
                if row[0] is None:
                    raise UnknownModelError(f"model {name!r} has no versions")
                version = int(row[0])
            return self._version(conn, model, version)

    def search_model_versions(
        self,
        name: str | None = None,
        *,
        tags: Mapping[str, str | None] | None = None,
        alias: str | None = None,
        run_id: str | None = None,
        limit: int | None = None,
    ) -> list[ModelVersionRecord]:
        where, args = _tag_clauses(tags, "(v.model, v.version)", "model, version")
        if name is not None:
            where.append("m.name = ?")
            args.append(name)
        if run_id is not None:
            where.append("v.run_id = ?")
            args.append(run_id)
        if alias is not None:
            where.append(
                "(v.model, v.version) IN (SELECT model, version FROM model_aliases WHERE alias = ?)"
            )
            args.append(alias)
        sql = _VERSION_SQL + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY m.name, v.version DESC" + _limit(limit, args)
        with self._read() as conn:
            return [_version_row(row) for row in conn.execute(sql, args)]

    def search_models(
        self,
        text: str | None = None,
        *,
        tags: Mapping[str, str | None] | None = None,
        alias: str | None = None,
        limit: int | None = None,
    ) -> list[ModelRecord]:
        where, args = _tag_clauses(tags, "m.id", "model")
        if text:
            where.append("m.name LIKE ? ESCAPE '\\'")
            args.append("%" + re.sub(r"([%_\\])", r"\\\1", text) + "%")
        if alias is not None:
            where.append(
                "m.id IN (SELECT model FROM model_aliases WHERE alias = ?)"
            )
            args.append(alias)
        sql = _MODEL_SQL + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY m.name" + _limit(limit, args)
        with self._read() as conn:
            return [_model_row(row) for row in conn.execute(sql, args)]

    def model_version_deletions(self, name: str | None = None) -> list[VersionDeletionRecord]:
        with self._read() as conn:
            sql = (
                "SELECT m.name, d.version, d.run_id, d.blob, d.user, d.at, d.reason "
                "FROM model_version_deletions d JOIN registered_models m ON m.id = d.model"
            )
            args: list[Any] = []
            if name is not None:
                sql += " WHERE m.name = ?"
                args.append(name)
            rows = conn.execute(sql + " ORDER BY m.name, d.version", args).fetchall()
        return [
            {
                "name": row[0],
                "version": int(row[1]),
                "run_id": row[2],
                "blob": row[3],
                "user": row[4],
                "at": float(row[5]),
                "reason": row[6],
            }
            for row in rows
        ]

    def model_alias_history(self, name: str, alias: str | None = None) -> list[AliasChangeRecord]:
        with self._read() as conn:
            model = _model_id(conn, name)
            sql = _HISTORY_SQL + " WHERE h.model = ?"
            args: list[Any] = [model]
            if alias is not None:
                sql += " AND h.alias = ?"
                args.append(alias)
            return [_history_row(row) for row in conn.execute(sql + " ORDER BY h.id", args)]

    def _version(self, conn: Conn, model: int, version: int) -> ModelVersionRecord:
        row = conn.execute(
            _VERSION_SQL + " WHERE v.model = ? AND v.version = ?", (model, version)
        ).fetchone()
        if row is None:
            name = conn.execute(
                "SELECT name FROM registered_models WHERE id = ?", (model,)
            ).fetchone()
            raise UnknownModelError(f"model {name[0]!r} has no version {version}")
        return _version_row(row)


def _limit(limit: int | None, args: list[Any]) -> str:
    if limit is None:
        return ""
    args.append(int(limit))
    return " LIMIT ?"


def _model_id(conn: Conn, name: str) -> int:
    row = conn.execute("SELECT id FROM registered_models WHERE name = ?", (name,)).fetchone()
    if row is None:
        near = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM registered_models WHERE name LIKE ? ORDER BY name LIMIT 5",
                (f"%{name[:3]}%",),
            )
        ]
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise UnknownModelError(
            f"no registered model {name!r}{hint}; register one with xt.register_model(run, name)"
        )
    return int(row[0])


def _check_version(conn: Conn, model: int, name: str, version: int) -> None:
    row = conn.execute(
        "SELECT 1 FROM model_versions WHERE model = ? AND version = ?", (model, int(version))
    ).fetchone()
    if row is None:
        raise UnknownModelError(f"model {name!r} has no version {version}{_known(conn, model)}")


def _known(conn: Conn, model: int) -> str:
    versions = [
        str(r[0])
        for r in conn.execute(
            "SELECT version FROM model_versions WHERE model = ? ORDER BY version", (model,)
        )
    ]
    aliases = [
        f"{a}={v}"
        for a, v in conn.execute(
            "SELECT alias, version FROM model_aliases WHERE model = ? ORDER BY alias", (model,)
        )
    ]
    return f" (versions: {', '.join(versions) or 'none'}; aliases: {', '.join(aliases) or 'none'})"


def _alias_version(conn: Conn, model: int, alias: str) -> int | None:
    row = conn.execute(
        "SELECT version FROM model_aliases WHERE model = ? AND alias = ?", (model, alias)
    ).fetchone()
    return None if row is None else int(row[0])


def _put_tags(
    conn: Conn, model: int, version: int, tags: Mapping[str, str] | None
) -> None:
    conn.executemany(
        "INSERT INTO model_tags(model, version, key, value) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(model, version, key) DO UPDATE SET value = excluded.value",
        [(model, version, str(k), str(v)) for k, v in (tags or {}).items()],
    )


def _move_alias(
    conn: Conn,
    model: int,
    alias: str,
    version: int | None,
    user: str | None,
    reason: str | None,
    evaluation: str | None,
    at: float,
) -> AliasChangeRecord:
    """Point `alias` at `version` (None: remove it) and append the change to the history."""
    before = _alias_version(conn, model, alias)
    if version is None:
        conn.execute("DELETE FROM model_aliases WHERE model = ? AND alias = ?", (model, alias))
    else:
        conn.execute(
            "INSERT INTO model_aliases(model, alias, version) VALUES (?, ?, ?) "
            "ON CONFLICT(model, alias) DO UPDATE SET version = excluded.version",
            (model, alias, version),
        )
    conn.execute(
        "INSERT INTO model_alias_history(model, alias, from_version, to_version, user, at, "
        "reason, evaluation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (model, alias, before, version, user, at, reason, evaluation),
    )
    conn.execute("UPDATE registered_models SET updated_at = ? WHERE id = ?", (at, model))
    row = conn.execute(_HISTORY_SQL + " WHERE h.id = last_insert_rowid()").fetchone()
    return _history_row(row)
