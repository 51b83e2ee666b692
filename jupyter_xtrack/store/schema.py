"""The store's tables and their migrations.

The schema version lives in `meta` (`schema_version`). A new store runs every migration
from version 0; an older store runs the missing ones. Migrations run inside
`BEGIN IMMEDIATE` and re-read the version after taking the lock, so two processes that
open an old store at the same moment apply each migration exactly once.

Version history:
  1. runs (with summaries of params/metrics/tags for wide reads), key sets, params, metric
     last values and chunked histories, tags, facts, files, artifacts.
  2. archived notebook outputs (for the git filter) and the run-by-cell index.
  3. the model registry: models, versions, aliases, alias history, tags (store/registry.py).
  4. the in-memory dataset index (`datasets`: run, fingerprint), filled from each run's
     datasets fact, so that a fingerprint finds the run that produced it.
  5. who ran each run (`runs.user_name`, the filter field `user`).
  6. experiments recorded beyond their runs: created empty, tagged, deleted (MLflow's API;
     store/experiments.py), shared by every server of the store.
  7. deleted model versions (`model_version_deletions`), so that a sync carries a deletion
     and never copies a deleted version back (store/registry.py, store/sync.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..facts import Fact
from .codec import loads
from .connection import write_transaction
from .dialect import Conn
from .errors import StoreError
from .experiments import SCHEMA as EXPERIMENTS_SCHEMA
from .registry import DELETIONS_SCHEMA
from .registry import SCHEMA as REGISTRY_SCHEMA

_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

-- number is the per-store run number (#1, #2, ...); AUTOINCREMENT so a deleted run's
-- number is never handed out again. Other tables refer to runs by number (compact).
CREATE TABLE runs (
    number INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT,
    experiment TEXT NOT NULL,
    status TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent_id TEXT,
    notebook_path TEXT,
    cell_id TEXT,
    started_at REAL NOT NULL,
    ended_at REAL,
    duration_s REAL,
    pid INTEGER,
    pid_started_at REAL,
    host TEXT,
    heartbeat_at REAL,
    git_commit TEXT,
    git_branch TEXT,
    git_dirty INTEGER,
    params_keys INTEGER,
    params_vals BLOB,
    metrics_keys INTEGER,
    metrics_vals BLOB,
    tags_keys INTEGER,
    tags_vals BLOB
);
CREATE INDEX runs_running ON runs(number) WHERE status = 'running';
CREATE INDEX runs_parent ON runs(parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX runs_experiment ON runs(experiment, number);

-- Summaries on the runs row (see summary.py): *_keys is a key set id, *_vals the values in
-- that key set's order (metrics packed float64, params and tags a JSON array).
CREATE TABLE keysets (id INTEGER PRIMARY KEY, keys TEXT NOT NULL);

-- value: the filterable form (number, text, or NULL); json: the exact value.
-- value has no declared type, so SQLite keeps numbers and text apart.
CREATE TABLE params (
    run INTEGER NOT NULL, key TEXT NOT NULL, value, json BLOB NOT NULL,
    PRIMARY KEY (run, key)
) WITHOUT ROWID;
CREATE INDEX params_key_value ON params(key, value);

-- The last value of each metric (by step, then time); value NULL means NaN.
CREATE TABLE metrics (
    run INTEGER NOT NULL, key TEXT NOT NULL, value REAL, step INTEGER, time REAL NOT NULL,
    count INTEGER NOT NULL, chunks INTEGER NOT NULL,
    PRIMARY KEY (run, key)
) WITHOUT ROWID;
CREATE INDEX metrics_key_value ON metrics(key, value);

-- Metric histories as packed little-endian arrays: steps int64 (min int64 = no step),
-- values float64 (NaN and infinities kept bit-exact), times float64.
CREATE TABLE metric_chunks (
    run INTEGER NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL, n INTEGER NOT NULL,
    steps BLOB NOT NULL, vals BLOB NOT NULL, times BLOB NOT NULL,
    UNIQUE (run, key, seq)
);

CREATE TABLE tags (
    run INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (run, key)
) WITHOUT ROWID;
CREATE INDEX tags_key_value ON tags(key, value);

CREATE TABLE facts (
    run INTEGER NOT NULL, kind TEXT NOT NULL, data BLOB NOT NULL,
    UNIQUE (run, kind)
);

CREATE TABLE files (
    run INTEGER NOT NULL, direction TEXT NOT NULL, path TEXT NOT NULL,
    hash TEXT, size INTEGER, status TEXT, extra BLOB,
    UNIQUE (run, direction, path)
);
CREATE INDEX files_hash ON files(hash, direction) WHERE hash IS NOT NULL;

CREATE TABLE artifacts (
    run INTEGER NOT NULL, name TEXT NOT NULL, hash TEXT NOT NULL, size INTEGER NOT NULL,
    media_type TEXT, meta BLOB, created_at REAL NOT NULL,
    UNIQUE (run, name)
);
CREATE INDEX artifacts_hash ON artifacts(hash);
"""

_V2 = """
CREATE TABLE archived_outputs (
    id INTEGER PRIMARY KEY,
    notebook_path TEXT NOT NULL,
    cell_id TEXT,
    source_hash TEXT,
    notebook_hash TEXT,
    outputs_blob TEXT,
    execution_count INTEGER,
    run_id TEXT,
    archived_at REAL NOT NULL
);
CREATE INDEX archived_outputs_notebook ON archived_outputs(notebook_path, id);
CREATE INDEX runs_cell ON runs(cell_id, number) WHERE cell_id IS NOT NULL;
"""


_V4 = """
-- One row per distinct fingerprint in a run's datasets fact (store.set_facts keeps it in
-- step with the fact). The index answers "the earliest run holding this content".
CREATE TABLE datasets (
    run INTEGER NOT NULL, hash TEXT NOT NULL,
    UNIQUE (run, hash)
);
CREATE INDEX datasets_hash ON datasets(hash, run);
"""

_V5 = """
-- Who ran each run (liveness.current_user: $XTRACK_USER or the login name): a team store
-- holds every member's runs. Older runs keep NULL. Not named `user`: a reserved word in SQL.
ALTER TABLE runs ADD COLUMN user_name TEXT;
CREATE INDEX runs_user ON runs(user_name, number);
"""


def dataset_hashes(fact: object) -> list[str]:
    """The distinct fingerprints of a datasets fact (a list of {name, kind, hash, ...}),
    in order; entries without a hash (objects that could not be hashed) have none."""
    if not isinstance(fact, list):
        return []
    hashes = (d.get("hash") for d in fact if isinstance(d, dict))
    return list(dict.fromkeys(h for h in hashes if isinstance(h, str) and h))


def _v4(conn: Conn) -> None:
    """Migration 4: the dataset index, filled from the datasets facts already stored."""
    _run_script(_V4)(conn)
    rows = conn.execute("SELECT run, data FROM facts WHERE kind = ?", (Fact.DATASETS,)).fetchall()
    conn.executemany(
        "INSERT OR IGNORE INTO datasets(run, hash) VALUES (?, ?)",
        [(run, h) for run, data in rows for h in dataset_hashes(loads(data))],
    )


def _run_script(script: str) -> Callable[[Conn], None]:
    # executescript() would COMMIT the surrounding transaction; run statement by statement.
    code = "\n".join(ln for ln in script.splitlines() if not ln.strip().startswith("--"))
    statements = [s.strip() for s in code.split(";") if s.strip()]

    def apply(conn: Conn) -> None:
        for statement in statements:
            conn.execute(statement)

    return apply


def _v3_model_registry(conn: Conn) -> None:
    """Migration 3: the model registry's tables, indexes and append-only triggers."""
    for statement in REGISTRY_SCHEMA:
        conn.execute(statement)


# MIGRATIONS[v] takes a store from version v - 1 to version v. Never edit a released one;
# append a new version instead.
MIGRATIONS: dict[int, Callable[[Conn], None]] = {
    1: _run_script(_V1),
    2: _run_script(_V2),
    3: _v3_model_registry,
    4: _v4,
    5: _run_script(_V5),
    6: _run_script(EXPERIMENTS_SCHEMA),
    7: _run_script(DELETIONS_SCHEMA),
}
SCHEMA_VERSION = max(MIGRATIONS)


def schema_version(conn: Conn) -> int:
    """The store's schema version; 0 for an empty database."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: Conn, root: object, target: int = SCHEMA_VERSION) -> int:
    """Bring the database up to `target` (default: the newest version) and return the
    version it is at. Safe to call from several processes at once."""
    if target > SCHEMA_VERSION:
        raise ValueError(f"no schema version {target} (newest is {SCHEMA_VERSION})")
    current = schema_version(conn)
    check_not_newer(current, root)
    if current >= target:
        return current
    with write_transaction(conn):
        # Another process may have migrated while we waited for the lock.
        current = schema_version(conn)
        check_not_newer(current, root)
        for version in range(current + 1, target + 1):
            MIGRATIONS[version](conn)
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(version),),
            )
        if current == 0:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('created_at', ?)", (repr(time.time()),)
            )
        return max(current, target)


def check_not_newer(version: int, root: object) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"store {root} has schema version {version}, newer than this jupyter_xtrack "
            f"understands ({SCHEMA_VERSION}); upgrade jupyter_xtrack (pip install -U "
            "jupyter_xtrack) to use it"
        )
