"""The Store: runs, params, metrics, tags, facts, files, artifacts and archived outputs in
one SQLite database (WAL) plus a content-addressed blob folder.

Every public method is safe to call from several threads (each thread gets its own
connection) and from several processes at once (writes take the lock up front with
`BEGIN IMMEDIATE` and wait for it).
"""

from __future__ import annotations

import math
import os
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

from ..facts import KINDS, Fact
from . import metrics as metric_store
from .blobs import check_hash, hashes_in
from .codec import dumps, loads
from .connection import SqliteBackend, write_transaction
from .contract import MetricLast
from .dialect import Backend, Conn
from .errors import ReadOnlyStoreError, StoreError, UnknownRunError
from .experiments import ExperimentTables
from .gcpause import gc_paused
from .ids import new_run_id, run_number
from .liveness import (
    STALE_HEARTBEAT_S,
    current_user,
    own_process_started_at,
    process_alive,
    this_host,
)
from .location import (
    DAMAGED_SUFFIX,
    ENV_VAR,
    artifacts_url,
    check_store_folder,
    is_postgres_url,
    moved_aside_databases,
    store_root,
)
from .query import (
    BASE_FIELDS,
    INT64_MAX,
    INT64_MIN,
    RUN_STATUSES,
    compile_filter,
    compile_order,
)
from .registry import BLOBS_QUERY as REGISTERED_BLOBS
from .registry import RegistryTables
from .remote_blobs import open_blob_store
from .schema import SCHEMA_VERSION, check_not_newer, dataset_hashes, migrate, schema_version
from .summary import NAMESPACES, PendingMerges, Summaries
from .table import BASE_COLUMNS, BASE_SQL, RunTable, build_table, fetch_columns, namespaces_needed

RUN_KINDS = KINDS  # the schema's list (jupyter_xtrack.facts)
FILE_DIRECTIONS = ("input", "output")
# get_run() keys that facts may not shadow.
_RESERVED_FACT_KINDS = frozenset(
    "id number name experiment status kind parent_id children started_at ended_at duration_s "
    "pid host user heartbeat_at notebook_path cell_id params metrics tags inputs outputs artifacts "
    "git_commit git_branch git_dirty facts".split()
)
_INT64 = (-(2**63), 2**63 - 1)
# Blobs younger than this are kept by gc: a writer may have stored one and not yet
# recorded the artifact or fact that references it.
GC_GRACE_S = 3600.0
_IN_LIST = 500  # ids per `IN (...)` list (SQLite's bound-parameter limit)


class _Transaction:
    """What one outermost write transaction remembers until it ends: run numbers by id
    (a number never changes, so each id is looked up once per transaction, not once per
    call), the summary merges it will make before it commits, and the runs it created
    that have no metric yet (nothing to read back before their first points: on
    PostgreSQL each read is a round trip with the store's write lock held)."""

    def __init__(self, summaries: Summaries) -> None:
        self.numbers: dict[str, int] = {}
        self.merges = PendingMerges(summaries)
        self.no_metrics: set[int] = set()


def open_store(
    path: str | os.PathLike[str] | None = None,
    *,
    start_dir: str | os.PathLike[str] | None = None,
    read_only: bool = False,
    artifacts: str | os.PathLike[str] | None = None,
) -> Store:
    """Open (creating if needed) the store at `path`.

    `path` may be a folder, a `sqlite:///abs/path` / `file:///abs/path` URL or a
    `postgresql://user@host:port/db` URL (store/postgres.py); None means
    `$XTRACK_STORE`, else `default_store_path(start_dir or cwd)`. A new store gets a
    `.gitignore` holding `*`, a `blobs/` folder and `xtrack.db`; an old one is migrated.
    An empty (0-byte) `xtrack.db` is moved aside as `xtrack.db.damaged-<time>` with a
    warning, never silently replaced (its blobs stay, and `gc` refuses to run while it is
    there). `read_only` opens an existing store without writing anything (see
    `open_store_for_reading`). StoreError (naming the path and the fix) when it cannot be
    created, written or read; ReadOnlyStoreError when it cannot be written.
    `artifacts` (else `$XTRACK_ARTIFACTS`) puts the blobs elsewhere: a folder, `file://`
    URL or any fsspec URL (`s3://bucket/prefix`; store/remote_blobs.py).
    """
    artifacts = artifacts_url(artifacts)
    url = os.fspath(path) if path is not None else os.environ.get(ENV_VAR)
    if url and is_postgres_url(url):
        return _open_database(url, read_only, artifacts)
    root = check_store_folder(store_root(path, start_dir))
    if read_only:
        return _open_read_only(root, artifacts)
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / "blobs").mkdir(exist_ok=True)
        ignore = root / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n")
    except OSError as exc:
        raise StoreError(
            f"cannot create store {root} ({exc.strerror or exc}); choose a writable folder "
            "with XTRACK_STORE=/path (or %xtrack store /path)"
        ) from exc
    store = Store(root, artifacts=artifacts)
    try:
        with _opening(root):
            moved = _move_aside_if_empty(store.db_path)
            store._initialize()
    except BaseException:
        store.close()
        raise
    if moved is not None:
        warnings.warn(
            f"store {root}: its database was empty (0 bytes), so it was moved aside to "
            f"{moved} and a new one was started; the blobs are kept. `xtrack gc` refuses to "
            "run until that file is restored or removed (see the README, 'The store')",
            RuntimeWarning,
            stacklevel=2,
        )
    return store


def open_store_for_reading(
    path: str | os.PathLike[str] | None = None, *, start_dir: str | os.PathLike[str] | None = None
) -> Store:
    """`open_store(path)`, or, when the store cannot be written (a read-only folder, file or
    mount), the same store opened read-only: readers (the CLI's ls/show/compare, the
    server) can list and show it; writes raise ReadOnlyStoreError."""
    try:
        return open_store(path, start_dir=start_dir)
    except ReadOnlyStoreError:
        return open_store(path, start_dir=start_dir, read_only=True)


def _open_read_only(root: Path, artifacts: str | None) -> Store:
    store = Store(root, read_only=True, artifacts=artifacts)
    if not store.db_path.is_file():
        raise StoreError(
            f"there is no store at {root} (no xtrack.db) to read; track a cell first, or "
            "set XTRACK_STORE=/other/folder to read another store"
        )
    return _opened(store)


def _opened(store: Store) -> Store:
    """`store`, migrated (or, read-only, checked to need no migration); closed on error."""
    try:
        if not store.read_only:
            store._initialize()
            return store
        with store._read() as conn:
            version = schema_version(conn)
        check_not_newer(version, store.name)
        if version < SCHEMA_VERSION:
            raise ReadOnlyStoreError(
                f"store {store.name} is read-only and was written by an older jupyter_xtrack "
                f"(schema {version}, this one reads {SCHEMA_VERSION}); open it once where it "
                "is writable so that it is upgraded"
            )
    except BaseException:
        store.close()
        raise
    return store


_WARNED_LOCAL_BLOBS: set[str] = set()


def _open_database(url: str, read_only: bool, artifacts: str | None) -> Store:
    """The store in the PostgreSQL database at `url`. Its blobs go to `artifacts`; without
    one, to a local folder, with a warning (once per database) that teammates cannot read
    them."""
    from .postgres import PostgresBackend  # lazy: psycopg is an optional dependency

    backend = PostgresBackend(url, read_only=read_only)
    store = _opened(Store(backend.root, read_only=read_only, artifacts=artifacts, backend=backend))
    try:
        backend.root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        store.close()
        raise StoreError(
            f"cannot create the local folder {backend.root} of store {backend.name} "
            f"({exc.strerror or exc}); set XDG_CACHE_HOME to a writable folder"
        ) from exc
    if artifacts is None and backend.name not in _WARNED_LOCAL_BLOBS:
        _WARNED_LOCAL_BLOBS.add(backend.name)
        warnings.warn(
            f"store {backend.name} keeps its blobs (code, outputs, artifacts) in "
            f"{backend.root / 'blobs'} on this machine, where teammates cannot read them; set "
            "XTRACK_ARTIFACTS=s3://bucket/prefix (or a shared folder) to share them",
            RuntimeWarning,
            stacklevel=3,
        )
    return store


@contextmanager
def _opening(root: Path) -> Iterator[None]:
    """Serialise the opening of `root` between processes (an flock on `.open.lock`), so a
    database another process is creating right now (0 bytes for an instant) is never taken
    for an empty one. Without the lock file (read-only folder) opening goes on unlocked."""
    try:
        import fcntl  # lazy: POSIX only
    except ImportError:
        yield
        return
    try:
        fd = os.open(root / ".open.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _move_aside_if_empty(db_path: Path) -> Path | None:
    """Rename an empty `xtrack.db` (and its -wal/-shm) to `xtrack.db.damaged-<time>`, so
    SQLite does not silently start a new store over it; the new path, or None."""
    try:
        if db_path.stat().st_size != 0:
            return None
    except FileNotFoundError:
        return None
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = db_path.with_name(f"{db_path.name}{DAMAGED_SUFFIX}{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = db_path.with_name(f"{db_path.name}{DAMAGED_SUFFIX}{stamp}-{n}")
    try:
        os.replace(db_path, target)
        for suffix in ("-wal", "-shm"):
            side = db_path.with_name(db_path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
    except OSError as exc:
        raise StoreError(
            f"store {db_path.parent}: its database {db_path} is empty (0 bytes) and could not "
            f"be moved aside ({exc.strerror or exc}); move it aside by hand and open it again"
        ) from exc
    return target


def _own_process() -> tuple[int, float | None, str]:
    """(pid, pid start time, host) of this process: the owner of the runs it creates."""
    return os.getpid(), own_process_started_at(), this_host()


class Store(RegistryTables, ExperimentTables):
    """One run store (see the module docstring). Open it with `open_store`. The model
    registry's methods come from `RegistryTables` (store/registry.py), the experiments'
    from `ExperimentTables` (store/experiments.py)."""

    def __init__(
        self,
        root: Path,
        *,
        read_only: bool = False,
        artifacts: str | None = None,
        backend: Backend | None = None,
    ) -> None:
        self.root = root
        self.read_only = read_only
        self.db_path = root / "xtrack.db"
        # SQLite in `root`, or a database server (postgres.PostgresBackend).
        self._backend: Backend = backend or SqliteBackend(root, read_only=read_only)
        self.name = self._backend.name  # what messages and repr show (no password)
        self._errors = self._backend.errors
        self.blobs = open_blob_store(root, artifacts)
        self._local = threading.local()
        self._conns: list[Conn] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False
        self._summaries = Summaries()

    def __repr__(self) -> str:
        return f"Store({self.name!r})"

    @property
    def location(self) -> str:
        return self._backend.location

    @property
    def is_local(self) -> bool:
        return not self._backend.postgres

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connections ---------------------------------------------------------------------
    def _initialize(self) -> None:
        self._backend.check_writable()
        try:
            conn = self._conn()
            self._backend.prepare(conn)
            migrate(conn, self.name)
        except self._errors as exc:
            raise self._backend.error(exc) from exc
        self._backend.check_writable()

    def _conn(self) -> Conn:
        if self._closed:
            raise StoreError(f"store {self.name} is closed; open it again with open_store()")
        if os.getpid() != self._pid:
            # Connections must not cross a fork: forget the parent's, open our own.
            with self._lock:
                self._pid = os.getpid()
                self._backend.forget(self._conns)
                self._conns = []
                self._local = threading.local()
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._backend.connect()
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    @contextmanager
    def _read(self) -> Iterator[Conn]:
        conn = self._conn()
        try:
            tx = self._tx()
            if tx is not None:  # a read inside this thread's batch sees its summaries
                tx.merges.flush(conn)
            yield conn
        except self._errors as exc:
            raise self._backend.error(exc) from exc

    def _refuse_write(self) -> None:
        if self.read_only:
            fix = (
                f"make it writable (chmod -R u+w {self.root}, or remount it read-write)"
                if self.is_local
                else "grant its role write access"
            )
            raise ReadOnlyStoreError(
                f"store {self.name} is open read-only (it is not writable), so it cannot be "
                f"changed; {fix} and open it again"
            )

    @contextmanager
    def _write(self) -> Iterator[Conn]:
        self._refuse_write()
        conn = self._conn()
        outermost = not conn.in_transaction
        if outermost:
            self._backend.check_present()
            self._local.tx = _Transaction(self._summaries)
        try:
            with write_transaction(conn):
                yield conn
                if outermost:
                    self._local.tx.merges.flush(conn)
        except self._errors as exc:
            raise self._backend.error(exc) from exc
        finally:
            if outermost:
                self._local.tx = None

    def _tx(self) -> _Transaction | None:
        """This thread's outermost write transaction, None outside one."""
        tx: _Transaction | None = getattr(self._local, "tx", None)
        return tx

    @contextmanager
    def _snapshot(self) -> Iterator[Conn]:
        """A read transaction: every query inside sees the same state of the store."""
        with self._read() as conn:
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group the writes made inside the block (on this thread) into one transaction:
        all of them are stored, or none."""
        with self._write():
            yield

    def close(self) -> None:
        """Close every connection this store opened. Using the store afterwards raises
        StoreError."""
        with self._lock:
            self._closed = True
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.close()
            except self._errors:
                pass

    def _number(self, conn: Conn, run_id: str) -> int:
        numbers, missing = self._numbers(conn, [run_id])
        if missing:
            raise UnknownRunError(f"no run with id {run_id!r} in store {self.name}")
        return numbers[run_id]

    def _numbers(self, conn: Conn, run_ids: Iterable[str]) -> tuple[dict[str, int], list[str]]:
        """The numbers of `run_ids` (one query per 500 ids, none for those this
        transaction looked up already), and the ids that name no run."""
        tx = self._tx()
        known = {} if tx is None else tx.numbers
        wanted = list(dict.fromkeys(run_ids))
        numbers = {r: known[r] for r in wanted if r in known}
        lookup = [r for r in wanted if r not in numbers]
        for start in range(0, len(lookup), _IN_LIST):
            part = lookup[start : start + _IN_LIST]
            marks = ", ".join("?" * len(part))
            numbers.update(
                (str(i), int(n))
                for i, n in conn.execute(f"SELECT id, number FROM runs WHERE id IN ({marks})", part)
            )
        known.update(numbers)
        return numbers, [r for r in wanted if r not in numbers]

    # -- run lifecycle -------------------------------------------------------------------
    def create_run(
        self,
        *,
        name: str | None = None,
        experiment: str | None = None,
        tags: Mapping[str, str] | None = None,
        parent_id: str | None = None,
        kind: str = "cell",
        notebook_path: str | None = None,
        cell_id: str | None = None,
        started_at: float | None = None,
        run_id: str | None = None,
        user: str | None = None,
        origin: tuple[str | None, int | None] | None = None,
    ) -> tuple[str, int]:
        """Record a new run, status "running", owned by this process (pid, host, heartbeat
        now). Returns (id, number); numbers count up per store and are never reused.
        `run_id` (from `ids.new_run_id`) lets the caller know the id before the store is
        written, so a run can be created later by the background writer. `user` (default
        `current_user()`) is who ran it; a copy from another store keeps its user, and its
        `origin` (host, pid): where it ran, not where it was copied."""
        if kind not in RUN_KINDS:
            raise ValueError(f"unknown run kind {kind!r}; kinds are {', '.join(RUN_KINDS)}")
        run_id = run_id or new_run_id()
        now = time.time()
        with self._write() as conn:
            # The parent's check is read after the insert, so that on PostgreSQL the two
            # go in one round trip (a missing parent still fails the whole transaction).
            parent = None
            tx = self._tx()
            if parent_id is not None and (tx is None or parent_id not in tx.numbers):
                parent = conn.execute("SELECT number FROM runs WHERE id = ?", (parent_id,))
            (number,) = conn.execute(
                "INSERT INTO runs(id, name, experiment, status, kind, parent_id, notebook_path, "
                "cell_id, started_at, pid, pid_started_at, host, heartbeat_at, user_name) "
                "VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING number",
                (
                    run_id,
                    name,
                    experiment or "default",
                    kind,
                    parent_id,
                    notebook_path,
                    cell_id,
                    now if started_at is None else float(started_at),
                    *(_own_process() if origin is None else (origin[1], None, origin[0])),
                    now,
                    user or current_user(),
                ),
            ).fetchall()[0]
            if parent is not None and parent_id is not None:
                found = parent.fetchone()
                if found is None:
                    raise UnknownRunError(f"no run with id {parent_id!r} in store {self.name}")
                if tx is not None:
                    tx.numbers[parent_id] = int(found[0])
            if tx is not None:
                tx.numbers[run_id] = number
                tx.merges.blank.add(number)
                tx.no_metrics.add(number)
            if tags:
                self._put_tags(conn, number, tags)
        return run_id, number

    def heartbeat(self, run_id: str, at: float | None = None) -> None:
        """Note that the run's process is alive (at `at`, default now)."""
        with self._write() as conn:
            # By number, which the transaction may know already: no reply to wait for.
            conn.execute(
                "UPDATE runs SET heartbeat_at = ? WHERE number = ?",
                (time.time() if at is None else at, self._number(conn, run_id)),
            )

    def finish_run(self, run_id: str, *, status: str, ended_at: float | None = None) -> None:
        """End the run with `status` (one of RUN_STATUSES), setting ended_at (default now)
        and duration_s."""
        if status not in RUN_STATUSES:
            raise ValueError(f"unknown run status {status!r}; use one of {', '.join(RUN_STATUSES)}")
        end = time.time() if ended_at is None else float(ended_at)
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, ended_at = ?, duration_s = ? - started_at "
                "WHERE number = ?",
                (status, end, end, self._number(conn, run_id)),
            )

    def reconcile(self) -> list[str]:
        """Mark "crashed" the running runs whose process is gone: on this host, a pid that
        no longer exists (or now belongs to a newer process); elsewhere, a heartbeat older
        than 30 s. Their ended_at is the last heartbeat. Returns their ids."""
        with self._read() as conn:
            running = conn.execute(
                "SELECT number, id, pid, pid_started_at, host, heartbeat_at, started_at "
                "FROM runs WHERE status = 'running'"
            ).fetchall()
        if not running:
            return []
        host, now = this_host(), time.time()
        dead: list[tuple[int, str, float]] = []
        for number, run_id, pid, pid_started, run_host, beat, started in running:
            last_seen = beat if beat is not None else started
            if run_host == host and pid is not None:
                gone = not process_alive(int(pid), pid_started)
            else:
                gone = now - last_seen > STALE_HEARTBEAT_S
            if gone:
                dead.append((number, run_id, last_seen))
        if not dead:
            return []
        marked: list[str] = []
        with self._write() as conn:
            for number, run_id, last_seen in dead:
                cur = conn.execute(
                    "UPDATE runs SET status = 'crashed', ended_at = ?, "
                    "duration_s = max(0, ? - started_at) WHERE number = ? AND status = 'running'",
                    (last_seen, last_seen, number),
                )
                if cur.rowcount:
                    marked.append(run_id)
        return marked

    def set_name(self, run_id: str, name: str | None) -> None:
        """Rename the run."""
        with self._write() as conn:
            cur = conn.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run_id))
            if cur.rowcount == 0:
                raise UnknownRunError(f"no run with id {run_id!r} in store {self.name}")

    # -- params and tags -----------------------------------------------------------------
    def set_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Add or overwrite params. Values keep their JSON type (str, int, float incl. NaN
        and infinities, bool, None, lists, dicts) when read back."""
        if not params:
            return
        clean = {str(k): v for k, v in params.items()}
        with self._write() as conn:
            number = self._number(conn, run_id)
            row = self._backend.params_row
            conn.executemany(
                self._backend.params_upsert,
                [row(number, k, _filter_value(v), dumps(v)) for k, v in clean.items()],
            )
            self._merge_summary(conn, number, "params", clean)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Add or overwrite string tags (other values are stored as their str())."""
        if not tags:
            return
        with self._write() as conn:
            self._put_tags(conn, self._number(conn, run_id), tags)

    def get_tag(self, run_id: str, key: str) -> str | None:
        """One tag of a run (None when the run or the tag is missing): a cheap indexed read
        for watchers that poll a single flag."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT t.value FROM tags AS t JOIN runs AS r ON r.number = t.run "
                "WHERE r.id = ? AND t.key = ?", (run_id, key),
            ).fetchone()
        return None if row is None else str(row[0])

    def _put_tags(self, conn: Conn, number: int, tags: Mapping[str, Any]) -> None:
        clean = {str(k): str(v) for k, v in tags.items()}
        conn.executemany(
            "INSERT INTO tags(run, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT(run, key) DO UPDATE SET value = excluded.value",
            [(number, k, v) for k, v in clean.items()],
        )
        self._merge_summary(conn, number, "tags", clean)

    def delete_tag(self, run_id: str, key: str) -> bool:
        """Remove one tag of a run; True if it was there. UnknownRunError for an unknown
        run."""
        with self._write() as conn:
            number = self._number(conn, run_id)
            gone = conn.execute("DELETE FROM tags WHERE run = ? AND key = ?", (number, key))
            if gone.rowcount:
                self._merge_summary(conn, number, "tags", {}, drop=key)
            return bool(gone.rowcount)

    def _merge_summary(
        self, conn: Conn, number: int, ns: str, updates: Mapping[str, Any],
        drop: str | None = None,
    ) -> None:
        # Merged when the transaction commits: once per run, however many calls change it.
        tx = self._tx()
        merges = PendingMerges(self._summaries) if tx is None else tx.merges
        merges.add(number, ns, updates, drop)
        if tx is None:  # joined a read transaction: merge now
            merges.flush(conn)

    # -- metrics -------------------------------------------------------------------------
    def log_metrics(self, points: Sequence[tuple[str, str, float, int | None, float]]) -> None:
        """Append metric points (run_id, key, value, step, wall_time) in one transaction,
        updating each metric's last value (highest step, then latest time). NaN and
        infinities are kept exactly. UnknownRunError (nothing written) if a run id is not
        in the store; TypeError for a value that is not a number."""
        if not points:
            return
        with self._write() as conn, gc_paused():
            numbers, missing = self._numbers(conn, map(itemgetter(0), points))
            if missing:
                raise UnknownRunError(
                    f"no run with id {', '.join(sorted(missing))} in store {self.name}; "
                    "its metric points were not written"
                )
            tx = self._tx()
            fresh: set[int] = set() if tx is None else tx.no_metrics & set(numbers.values())
            changed = metric_store.write_points(
                conn, numbers, points, concat_in_sql=self._backend.postgres, fresh=fresh
            )
            if tx is not None:
                tx.no_metrics -= fresh
            for number, last in changed.items():
                self._merge_summary(conn, number, "metrics", last)

    def metric_history(self, run_id: str, key: str) -> dict[str, list[Any]]:
        """Every point of metric `key` as {"step": [...], "value": [...], "time": [...]} in
        logged order (step None where none was given); empty lists if never logged."""
        with self._read() as conn:
            return metric_store.read_history(conn, self._number(conn, run_id), key)

    def last_metrics(self, run_ids: Sequence[str]) -> dict[str, dict[str, MetricLast]]:
        """The last point (value, step, time) of every metric of each of `run_ids`, read
        from the per-metric row that log_metrics keeps current (no history is unpacked);
        unknown ids are left out."""
        out: dict[str, dict[str, MetricLast]] = {}
        ids = list(dict.fromkeys(run_ids))
        with self._read() as conn:
            for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
                part = ids[start:start + 500]
                marks = ", ".join("?" * len(part))
                for run_id, key, value, step, when in conn.execute(
                    "SELECT r.id, m.key, m.value, m.step, m.time FROM metrics AS m "
                    f"JOIN runs AS r ON r.number = m.run WHERE r.id IN ({marks})", part,
                ):
                    value = math.nan if value is None else float(value)
                    out.setdefault(run_id, {})[key] = (value, step, float(when))
        return out

    def metric_keys(self, run_id: str) -> list[str]:
        """The metric keys the run has logged, sorted."""
        with self._read() as conn:
            number = self._number(conn, run_id)
            rows = conn.execute("SELECT key FROM metrics WHERE run = ? ORDER BY key", (number,))
            return [r[0] for r in rows]

    # -- facts, files, artifacts ---------------------------------------------------------
    def set_facts(self, run_id: str, **facts: Any) -> None:
        """Store JSON-able facts by kind (code, env, git, lineage, error, ...), each
        replacing that kind's previous value; None removes a kind. A `git` fact's
        commit, branch and dirty fields also become the run's git.* columns."""
        if not facts:
            return
        with self._write() as conn:
            number = self._number(conn, run_id)
            for kind, value in facts.items():
                if value is None:
                    conn.execute("DELETE FROM facts WHERE run = ? AND kind = ?", (number, kind))
                    continue
                conn.execute(
                    "INSERT INTO facts(run, kind, data) VALUES (?, ?, ?) "
                    "ON CONFLICT(run, kind) DO UPDATE SET data = excluded.data",
                    (number, kind, dumps(value)),
                )
            if Fact.DATASETS in facts:
                _index_datasets(conn, number, facts[Fact.DATASETS])
            if Fact.GIT in facts:
                commit, branch, dirty = _git_columns(facts[Fact.GIT])
                conn.execute(
                    "UPDATE runs SET git_commit = ?, git_branch = ?, git_dirty = ? "
                    "WHERE number = ?",
                    (commit, branch, dirty, number),
                )

    def record_files(self, run_id: str, files: Sequence[Mapping[str, Any]]) -> None:
        """Record files the run read ("input") or wrote ("output"): each mapping has
        direction, path, hash (None if unreadable), size, status, plus any extra fields.
        A second record of the same (direction, path) replaces the first."""
        rows: list[tuple[Any, ...]] = []
        for f in files:
            direction = f.get("direction")
            if direction not in FILE_DIRECTIONS:
                raise ValueError(f"file direction must be 'input' or 'output', not {direction!r}")
            if not f.get("path"):
                raise ValueError("every recorded file needs a path")
            extra = {
                k: v
                for k, v in f.items()
                if k not in ("direction", "path", "hash", "size", "status")
            }
            size = f.get("size")
            rows.append(
                (
                    direction,
                    str(f["path"]),
                    f.get("hash"),
                    None if size is None else int(size),
                    f.get("status"),
                    dumps(extra) if extra else None,
                )
            )
        if not rows:
            return
        with self._write() as conn:
            number = self._number(conn, run_id)
            conn.executemany(
                "INSERT INTO files(run, direction, path, hash, size, status, extra) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run, direction, path) DO UPDATE SET "
                "hash = excluded.hash, size = excluded.size, status = excluded.status, "
                "extra = excluded.extra",
                [(number, *row) for row in rows],
            )

    def producer_of(self, file_hash: str, *, exclude_run: str | None = None) -> str | None:
        """The id of the newest run that recorded an output file with `file_hash`
        (other than `exclude_run`), or None."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT r.id FROM files f JOIN runs r ON r.number = f.run "
                "WHERE f.hash = ? AND f.direction = 'output' AND r.id IS NOT ? "
                "ORDER BY r.number DESC LIMIT 1",
                (file_hash, exclude_run),
            ).fetchone()
        return None if row is None else str(row[0])

    def dataset_producer(self, fingerprint: str, *, run_id: str) -> str | None:
        """The id of the earliest run created before `run_id` whose datasets fact holds
        `fingerprint`, or None (then `run_id` is the first run to hold that content).

        Every fingerprint is taken as the cell left the object, so a run that holds the
        content ended after it existed: the earliest holder is the run whose cell made it,
        whether the cell assigned the name or changed the object in place. Data made by
        untracked code is credited to the first tracked run that held it."""
        with self._read() as conn:
            number = self._number(conn, run_id)
            row = conn.execute(
                "SELECT r.id FROM datasets d JOIN runs r ON r.number = d.run "
                "WHERE d.hash = ? AND d.run < ? ORDER BY d.run LIMIT 1",
                (fingerprint, number),
            ).fetchone()
        return None if row is None else str(row[0])

    def put_blob(self, data: bytes | bytearray | memoryview) -> str:
        """Store bytes as a blob (once per distinct content) and return its hash."""
        self._refuse_write()
        return self.blobs.put(data)

    def put_blob_file(self, path: str | os.PathLike[str]) -> tuple[str, int]:
        """Store a file as a blob, streaming it, and return (hash, size)."""
        self._refuse_write()
        return self.blobs.put_file(path)

    def has_blob(self, h: str) -> bool:
        """True when blob `h` is stored (ValueError if `h` is malformed)."""
        return self.blobs.exists(h)

    def get_blob(self, h: str) -> bytes:
        """The bytes of blob `h`, read through `blob_file`'s check (BlobUnavailableError
        if missing or refused, ValueError if `h` is malformed)."""
        return self.blobs.get(h)

    def blob_file(self, h: str) -> Path:
        """The real path of blob `h`, a regular file inside the blob folder (symlinks
        followed and checked); BlobUnavailableError if missing or it leads elsewhere."""
        return self.blobs.resolve(h)

    def blob_path(self, h: str) -> Path:
        """Where blob `h` is placed inside the store, unchecked and whether or not it exists
        (ValueError unless `h` is a well-formed blob hash). Never read content through it:
        use `get_blob` or `blob_file`."""
        return self.blobs.path(h)

    def add_artifact(
        self,
        run_id: str,
        name: str,
        *,
        blob: str,
        size: int,
        media_type: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Attach stored blob `blob` to the run as artifact `name` (replacing one of the
        same name) and return its record."""
        check_hash(blob)
        if not self.blobs.exists(blob):
            raise StoreError(
                f"blob {blob} is not in store {self.name}; store the content with put_blob or "
                "put_blob_file before adding the artifact"
            )
        record = {
            "name": str(name),
            "hash": blob,
            "size": int(size),
            "media_type": media_type,
            "meta": dict(meta) if meta else {},
            "created_at": time.time(),
        }
        with self._write() as conn:
            number = self._number(conn, run_id)
            conn.execute(
                "INSERT INTO artifacts(run, name, hash, size, media_type, meta, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(run, name) DO UPDATE SET "
                "hash = excluded.hash, size = excluded.size, media_type = excluded.media_type, "
                "meta = excluded.meta, created_at = excluded.created_at",
                (
                    number,
                    record["name"],
                    blob,
                    record["size"],
                    media_type,
                    dumps(record["meta"]) if meta else None,
                    record["created_at"],
                ),
            )
        return record

    def artifacts(self, run_id: str) -> list[dict[str, Any]]:
        """The run's artifacts in the order they were added: {name, hash, size,
        media_type, meta, created_at}."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT name, hash, size, media_type, meta, created_at FROM artifacts "
                "WHERE run = ? ORDER BY rowid",
                (self._number(conn, run_id),),
            )
            return [_artifact(*row) for row in rows]

    def artifact_path(self, run_id: str, name: str) -> Path:
        """The blob file holding artifact `name` of the run, checked like `blob_file`
        (StoreError if it has none)."""
        with self._read() as conn:
            number = self._number(conn, run_id)
            row = conn.execute(
                "SELECT hash FROM artifacts WHERE run = ? AND name = ?", (number, name)
            ).fetchone()
            if row is None:
                names = [
                    r[0]
                    for r in conn.execute("SELECT name FROM artifacts WHERE run = ?", (number,))
                ]
                known = ", ".join(sorted(names)) or "none"
                raise StoreError(f"run #{number} has no artifact {name!r} (its artifacts: {known})")
        return self.blobs.resolve(row[0])

    # -- archived notebook outputs -------------------------------------------------------
    def archive_outputs(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Remember stripped notebook outputs, all in one transaction: each record has
        notebook_path, cell_id, source_hash, notebook_hash, outputs_blob, execution_count
        and run_id (None when no run produced them)."""
        if not records:
            return
        now = time.time()
        rows = [
            (
                str(r["notebook_path"]),
                r.get("cell_id"),
                r.get("source_hash"),
                r.get("notebook_hash"),
                r.get("outputs_blob"),
                r.get("execution_count"),
                r.get("run_id"),
                now,
            )
            for r in records
        ]
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO archived_outputs(notebook_path, cell_id, source_hash, "
                "notebook_hash, outputs_blob, execution_count, run_id, archived_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def archived_outputs(self, notebook_path: str) -> list[dict[str, Any]]:
        """The outputs archived for `notebook_path`, newest first."""
        with self._read() as conn:
            cur = conn.execute(
                "SELECT notebook_path, cell_id, source_hash, notebook_hash, outputs_blob, "
                "execution_count, run_id, archived_at FROM archived_outputs "
                "WHERE notebook_path = ? ORDER BY id DESC",
                (notebook_path,),
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=False)) for row in cur]

    def run_for_cell(self, cell_id: str) -> str | None:
        """The id of the newest run recorded for notebook cell `cell_id`, or None."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT id FROM runs WHERE cell_id = ? ORDER BY number DESC LIMIT 1", (cell_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    # -- reading runs --------------------------------------------------------------------
    def resolve_ref(self, ref: str | int) -> str:
        """The full id of the run `ref` names: a full id, a unique id prefix (4+ hex
        characters), or a run number (12, "12", "#12"). Digit-only text with a leading
        zero is an id prefix (ids start with 0; numbers do not). UnknownRunError otherwise."""
        with self._read() as conn:
            return self._resolve(conn, ref)[0]

    def _resolve(self, conn: Conn, ref: str | int) -> tuple[str, int]:
        number: int | None = None
        if isinstance(ref, bool):
            raise UnknownRunError(f"{ref!r} is not a run reference")
        if isinstance(ref, int):
            number = ref
        else:
            text = str(ref).strip().lower()
            number = run_number(text)
            if number is not None:
                pass
            elif len(text) < 4 or any(c not in "0123456789abcdef" for c in text):
                raise UnknownRunError(
                    f"{str(ref)!r} is not a run reference: give a run number (12 or '#12') or "
                    "a run id (or its first 4+ hex characters)"
                )
            else:
                rows = conn.execute(
                    "SELECT id, number FROM runs WHERE id >= ? AND id < ? ORDER BY number LIMIT 6",
                    (text, text + "g"),
                ).fetchall()
                if len(rows) == 1:
                    return str(rows[0][0]), int(rows[0][1])
                if not rows:
                    raise UnknownRunError(f"no run with id starting {text!r} in store {self.name}")
                shown = ", ".join(f"{rid} (#{num})" for rid, num in rows[:5])
                more = " ..." if len(rows) > 5 else ""
                raise UnknownRunError(
                    f"run id prefix {text!r} is ambiguous in store {self.name}: it matches "
                    f"{shown}{more}; give more characters"
                )
        if not INT64_MIN <= number <= INT64_MAX:  # SQLite cannot even bind it
            raise UnknownRunError(f"no run {str(ref)[:30]!r}: run numbers are below 2**63")
        row = conn.execute("SELECT id FROM runs WHERE number = ?", (number,)).fetchone()
        if row is not None:
            return str(row[0]), number
        lo, hi = conn.execute("SELECT min(number), max(number) FROM runs").fetchone()
        span = "the store has no runs yet" if lo is None else f"runs are #{lo}..#{hi}"
        raise UnknownRunError(f"no run #{number} in store {self.name} ({span})")

    def get_run(self, ref: str | int) -> dict[str, Any]:
        """Everything about one run: id, number, name, experiment, status, kind,
        parent_id, children (ids), started_at, ended_at, duration_s, pid, host, user,
        heartbeat_at, notebook_path, cell_id, params, metrics (last values), tags, inputs
        and outputs (recorded files), artifacts, `facts` ({kind: value}), and each fact kind
        again as its own key unless that would hide one of the keys above (a fact named
        "outputs" is only under `facts`)."""
        self._reconcile_quietly()
        with self._read() as conn:
            run_id, number = self._resolve(conn, ref)
            return self._records(conn, {number: run_id})[run_id]

    def get_runs(self, run_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """`get_run` of each of `run_ids` (full ids) by id, in the order given, read in a
        few queries per 500 runs rather than several per run; unknown ids are left out."""
        self._reconcile_quietly()
        with self._snapshot() as conn:
            numbers, _ = self._numbers(conn, run_ids)
            return self._records(conn, {numbers[r]: r for r in run_ids if r in numbers})

    def metric_counts(self, run_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """How many points each metric of each of `run_ids` holds, by run id then key, read
        from the per-metric rows (no history is unpacked); runs without metrics and
        unknown ids are left out."""
        out: dict[str, dict[str, int]] = {}
        ids = list(dict.fromkeys(run_ids))
        with self._read() as conn:
            for start in range(0, len(ids), _IN_LIST):
                part = ids[start : start + _IN_LIST]
                marks = ", ".join("?" * len(part))
                for run_id, key, count in conn.execute(
                    "SELECT r.id, m.key, m.count FROM metrics AS m "
                    f"JOIN runs AS r ON r.number = m.run WHERE r.id IN ({marks})",
                    part,
                ):
                    out.setdefault(run_id, {})[key] = int(count)
        return out

    def _records(self, conn: Conn, ids: Mapping[int, str]) -> dict[str, dict[str, Any]]:
        """The records of the runs `ids` ({number: id}), by id in the order given."""
        records: dict[int, dict[str, Any]] = {}
        numbers = list(ids)
        for start in range(0, len(numbers), _IN_LIST):
            part = numbers[start : start + _IN_LIST]
            marks = ", ".join("?" * len(part))
            records.update(self._run_rows(conn, part, marks))
            by_id = {ids[n]: records[n] for n in part if n in records}
            for parent, child in conn.execute(
                f"SELECT parent_id, id FROM runs WHERE parent_id IN ({marks}) ORDER BY number",
                [ids[n] for n in part],
            ):
                by_id[parent]["children"].append(child)
            for number, kind, data in conn.execute(
                f"SELECT run, kind, data FROM facts WHERE run IN ({marks}) ORDER BY kind", part
            ):
                records[number]["facts"][kind] = loads(data)
            for number, direction, path, h, size, status, extra in conn.execute(
                "SELECT run, direction, path, hash, size, status, extra FROM files "
                f"WHERE run IN ({marks}) ORDER BY rowid",
                part,
            ):
                entry = {"path": path, "hash": h, "size": size, "status": status}
                if extra is not None:
                    entry.update(loads(extra))
                records[number]["inputs" if direction == "input" else "outputs"].append(entry)
            for number, *artifact in conn.execute(
                "SELECT run, name, hash, size, media_type, meta, created_at FROM artifacts "
                f"WHERE run IN ({marks}) ORDER BY rowid",
                part,
            ):
                records[number]["artifacts"].append(_artifact(*artifact))
        out: dict[str, dict[str, Any]] = {}
        for number, run_id in ids.items():
            record = records.get(number)
            if record is None:
                continue
            facts = record.pop("facts")
            for kind, value in facts.items():
                if kind not in _RESERVED_FACT_KINDS:
                    record[kind] = value
            record["facts"] = facts
            out[run_id] = record
        return out

    def _run_rows(
        self, conn: Conn, numbers: list[int], marks: str
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """(number, record) of each run row, its summaries decoded and its lists empty."""
        cur = conn.execute(
            "SELECT id, number, name, experiment, status, kind, parent_id, started_at, "
            "ended_at, duration_s, pid, host, user_name, heartbeat_at, notebook_path, "
            "cell_id, params_keys, params_vals, metrics_keys, metrics_vals, tags_keys, tags_vals "
            f"FROM runs WHERE number IN ({marks})",
            numbers,
        )
        names = [d[0] for d in cur.description]
        for row in cur.fetchall():
            record: dict[str, Any] = dict(zip(names, row, strict=True))
            record["user"] = record.pop("user_name")
            for ns in NAMESPACES:
                ks, blob = record.pop(f"{ns}_keys"), record.pop(f"{ns}_vals")
                record[ns] = self._summaries.decode(conn, ns, ks, blob)
            record.update(children=[], facts={}, inputs=[], outputs=[], artifacts=[])
            yield int(record["number"]), record

    def query_runs(
        self,
        filter: str | None = None,
        *,
        experiment: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        columns: Sequence[str] | None = None,
        parent_id: str | None = None,
    ) -> RunTable:
        """Runs matching `filter` (see store.query for the language), optionally only those
        of `experiment` or children of `parent_id`, ordered (default newest first), paged
        by limit/offset. `columns` keeps only the params/metrics/tags columns matching its
        names or globs ("params.lr", "metrics.*"). FilterError for a malformed filter."""
        where = compile_filter(filter, postgres=self._backend.postgres)
        ordering = compile_order(order_by, postgres=self._backend.postgres)
        clauses, args = [where.sql], list(where.params)
        if experiment is not None:
            clauses.append("r.experiment = ?")
            args.append(experiment)
        if parent_id is not None:
            clauses.append("r.parent_id = ?")
            args.append(parent_id)
        where_sql = " AND ".join(clauses)
        namespaces = namespaces_needed(columns)
        select = ", ".join([BASE_SQL, *(f"r.{ns}_keys, r.{ns}_vals" for ns in namespaces)])
        sql = f"SELECT {select} FROM runs AS r {' '.join(ordering.joins)} WHERE {where_sql} "
        sql += f"ORDER BY {ordering.order_sql}"
        page_args: list[Any] = []
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            page_args = [self._backend.no_limit if limit is None else min(max(0, int(limit)), INT64_MAX),
                         min(max(0, int(offset)), INT64_MAX)]
        self._reconcile_quietly()
        # One read transaction so the rows and the total agree.
        with self._snapshot() as conn, gc_paused():
            cursor = conn.execute(sql, [*ordering.join_params, *args, *page_args])
            cols = fetch_columns(cursor, len(BASE_COLUMNS) + 2 * len(namespaces))
            if page_args:
                (total,) = conn.execute(
                    f"SELECT count(*) FROM runs AS r WHERE {where_sql}", args
                ).fetchone()
            else:
                total = len(cols[0])
            table = build_table(conn, self._summaries, cols, int(total), namespaces, columns)
            # Free the key-set and blob columns while collection is paused, or re-enabling
            # it would start by scanning all of them.
            del cols
        return table

    def count_runs_by(
        self,
        field: str,
        filter: str | None = None,
        *,
        experiment: str | None = None,
        parent_id: str | None = None,
        limit: int | None = None,
    ) -> list[tuple[Any, int]]:
        """[(value, runs)...] of a run field (one of the filter language's plain fields:
        user, host, status, kind, experiment, ...) among the runs `filter` matches, most
        runs first (then by value), at most `limit` values: one grouped query, so counting
        who ran 100,000 runs reads no run. ValueError for a field that is not plain."""
        if field not in BASE_FIELDS:
            plain = ", ".join(sorted(BASE_FIELDS))
            raise ValueError(f"cannot count runs by {field!r}; fields: {plain}")
        column = BASE_FIELDS[field][0]
        where = compile_filter(filter, postgres=self._backend.postgres)
        clauses, args = [where.sql], list(where.params)
        for name, value in (("experiment", experiment), ("parent_id", parent_id)):
            if value is not None:
                clauses.append(f"r.{name} = ?")
                args.append(value)
        sql = (f"SELECT r.{column}, count(*) AS n FROM runs AS r WHERE {' AND '.join(clauses)} "
               f"GROUP BY r.{column} ORDER BY n DESC, r.{column}")
        if limit is not None:
            sql += " LIMIT ?"
            args.append(min(max(0, int(limit)), INT64_MAX))
        self._reconcile_quietly()
        with self._read() as conn:
            return [(value, int(n)) for value, n in conn.execute(sql, args)]

    def cell_ids(self, run_ids: Sequence[str]) -> dict[str, str]:
        """The notebook cell id of each of `run_ids` that has one (the wide reads leave
        cell ids out)."""
        out: dict[str, str] = {}
        ids = list(dict.fromkeys(run_ids))
        with self._read() as conn:
            for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
                part = ids[start:start + 500]
                marks = ", ".join("?" * len(part))
                out.update(conn.execute(
                    f"SELECT id, cell_id FROM runs WHERE id IN ({marks}) AND cell_id IS NOT NULL",
                    part,
                ).fetchall())
        return out

    def child_counts(self, run_ids: Sequence[str]) -> dict[str, int]:
        """How many child runs each of `run_ids` has (0 for none or unknown ids)."""
        counts = dict.fromkeys(run_ids, 0)
        ids = list(counts)
        with self._read() as conn:
            for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
                part = ids[start:start + 500]
                marks = ", ".join("?" * len(part))
                for parent, n in conn.execute(
                    f"SELECT parent_id, count(*) FROM runs WHERE parent_id IN ({marks}) "
                    "GROUP BY parent_id", part,
                ):
                    counts[parent] = int(n)
        return counts

    def _reconcile_quietly(self) -> None:
        # Reads must work even when the crashed-run bookkeeping cannot be written.
        try:
            self.reconcile()
        except StoreError:
            pass

    # -- deleting ------------------------------------------------------------------------
    def delete_runs(self, ids: Iterable[str | int]) -> int:
        """Delete the runs (ids, prefixes or numbers), their child runs, and everything
        recorded for them; blobs stay until `gc`. Returns how many runs were deleted.
        UnknownRunError (nothing deleted) if a reference matches no run."""
        with self._write() as conn:
            found = [self._resolve(conn, ref) for ref in ids]
            if (tx := self._tx()) is not None:
                tx.numbers.clear()  # the deleted runs' numbers must not be written to
            numbers = {number for _, number in found}
            run_ids = {run_id for run_id, _ in found}
            frontier = list(run_ids)
            while frontier:
                marks = ", ".join("?" for _ in frontier)
                children = conn.execute(
                    f"SELECT id, number FROM runs WHERE parent_id IN ({marks})", frontier
                ).fetchall()
                frontier = [cid for cid, num in children if num not in numbers]
                numbers.update(num for _, num in children)
                run_ids.update(cid for cid, _ in children)
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS doomed (number INTEGER PRIMARY KEY)")
            conn.execute("DELETE FROM doomed")
            conn.executemany("INSERT INTO doomed VALUES (?)", [(n,) for n in numbers])
            for table in (
                "params",
                "metrics",
                "metric_chunks",
                "tags",
                "facts",
                "files",
                "artifacts",
                "datasets",
            ):
                conn.execute(f"DELETE FROM {table} WHERE run IN (SELECT number FROM doomed)")
            conn.execute("DELETE FROM runs WHERE number IN (SELECT number FROM doomed)")
            conn.executemany(
                "UPDATE archived_outputs SET run_id = NULL WHERE run_id = ?",
                [(rid,) for rid in run_ids],
            )
            conn.execute("DELETE FROM doomed")
        return len(numbers)

    def gc(self, *, min_age_s: float = GC_GRACE_S) -> tuple[int, int]:
        """Delete blobs nothing refers to and return (count, bytes freed).

        The reference rule: a blob is kept while its hash ("xxh3_128:<32 hex>") appears
        as text anywhere in a run's facts, recorded files (hash or extra fields), artifacts
        (hash or meta) or archived outputs. Blobs younger than `min_age_s` are kept too,
        since a writer may not have recorded its reference yet.

        Refused (StoreError) while a database moved aside as damaged lies next to this one:
        its runs may refer to blobs this database does not know.
        """
        self._refuse_write()
        aside = moved_aside_databases(self.root)
        if aside:
            names = ", ".join(str(p) for p in aside)
            raise StoreError(
                f"gc refused: store {self.name} has a database moved aside as empty or "
                f"damaged ({names}); its runs may refer to blobs the current database does not "
                "know. Recover what you need from it, then delete or move it out of the store "
                "folder, and run gc again"
            )
        keep: set[str] = set()
        with self._snapshot() as conn:
            for query in (
                "SELECT data FROM facts",
                "SELECT hash FROM files WHERE hash IS NOT NULL",
                "SELECT extra FROM files WHERE extra IS NOT NULL",
                "SELECT hash FROM artifacts",
                "SELECT meta FROM artifacts WHERE meta IS NOT NULL",
                "SELECT coalesce(outputs_blob, '') || ' ' || coalesce(source_hash, '') || ' ' || "
                "coalesce(notebook_hash, '') FROM archived_outputs",
                REGISTERED_BLOBS,
            ):
                for (value,) in conn.execute(query):
                    keep |= hashes_in(value)
        return self.blobs.remove_except(keep, min_age_s=min_age_s)

    def change_signature(self) -> object:
        """A cheap value that moves with every commit (the server's change feed): see each
        backend's `change_signature`."""
        try:
            return self._backend.change_signature(self._conn)
        except self._errors as exc:
            raise self._backend.error(exc) from exc


def _filter_value(value: Any) -> Any:
    """The form of a param value that filters compare: numbers (bools as 1/0), text, or
    None; lists and dicts as their JSON text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if _INT64[0] <= value <= _INT64[1] else float(value)
    if isinstance(value, float):
        return None if math.isnan(value) else value
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (list, tuple, dict)):
        try:
            return _filter_value(item())
        except (TypeError, ValueError):
            pass
    if isinstance(value, (list, tuple, dict)):
        return dumps(value).decode()
    return str(value)


def _artifact(
    name: str, h: str, size: int, media_type: str | None, meta: bytes | None, created: float
) -> dict[str, Any]:
    """An artifact's record from its row."""
    return {
        "name": name,
        "hash": h,
        "size": size,
        "media_type": media_type,
        "meta": loads(meta) if meta is not None else {},
        "created_at": created,
    }


def _index_datasets(conn: Conn, number: int, fact: Any) -> None:
    """Keep the run's rows of the dataset index (schema v4) in step with its datasets fact."""
    conn.execute("DELETE FROM datasets WHERE run = ?", (number,))
    conn.executemany(
        "INSERT INTO datasets(run, hash) VALUES (?, ?)",
        [(number, h) for h in dataset_hashes(fact)],
    )


def _git_columns(git: Any) -> tuple[str | None, str | None, int | None]:
    if not isinstance(git, Mapping):
        return None, None, None
    commit = git.get("commit") or git.get("sha") or git.get("head")
    branch = git.get("branch")
    dirty = git.get("dirty", git.get("is_dirty"))
    return (
        None if commit is None else str(commit),
        None if branch is None else str(branch),
        None if dirty is None else int(bool(dirty)),
    )
