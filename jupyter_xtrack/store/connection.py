"""SQLite connections for the store: pragmas, write transactions with busy retry, and the
translation of SQLite errors into `StoreError`s that say what to do."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .dialect import Conn
from .errors import ReadOnlyStoreError, StoreError

BUSY_TIMEOUT_S = 30.0
# SQLite's own busy handler waits BUSY_TIMEOUT_S; this is the extra patience on top of it
# for writers that still see SQLITE_BUSY (e.g. a lock held across many retries).
WRITE_DEADLINE_S = 60.0

# Primary SQLite result codes (sqlite3.h); extended codes keep these in the low byte.
_BUSY, _LOCKED, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _READONLY, _NOTADB = 5, 6, 10, 11, 13, 14, 8, 26


def connect(db_path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), usable from any thread
    that owns it, with the store's pragmas applied. `read_only` opens with `mode=ro`; where
    that cannot open a WAL database (its folder is read-only, so no `-shm` file can be made),
    with `immutable=1`: nothing on a read-only folder can change it under us."""
    if not read_only:
        conn = _open(str(db_path), uri=False)
    else:
        target = "file:" + quote(str(db_path.absolute()))
        conn = _open(target + "?mode=ro", uri=True)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            if error_code(exc) != _CANTOPEN or os.access(db_path.parent, os.W_OK):
                raise
            conn.close()
            conn = _open(target + "?immutable=1", uri=True)
    return _configure(conn)


def _open(target: str, *, uri: bool) -> sqlite3.Connection:
    return sqlite3.connect(
        target, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False, uri=uri
    )


def _configure(conn: sqlite3.Connection) -> sqlite3.Connection:
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -32768")
    return conn


def error_code(exc: sqlite3.Error) -> int | None:
    """The primary SQLite result code of `exc`, read from the message on Pythons that do
    not expose it."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    text = str(exc).lower()
    for needle, value in (
        ("locked", _BUSY),
        ("busy", _BUSY),
        ("readonly", _READONLY),
        ("read-only", _READONLY),
        ("disk is full", _FULL),
        ("unable to open", _CANTOPEN),
        ("disk i/o", _IOERR),
        ("malformed", _CORRUPT),
        ("not a database", _NOTADB),
    ):
        if needle in text:
            return value
    return None


FULL_BELOW_BYTES = 1 << 20


def disk_is_full(root: Path) -> bool:
    """True when the file system holding `root` has less than FULL_BELOW_BYTES free."""
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free < FULL_BELOW_BYTES
    except OSError:
        return False


def is_busy(exc: BaseException) -> bool:
    """True for SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock."""
    return isinstance(exc, sqlite3.OperationalError) and error_code(exc) in (_BUSY, _LOCKED)


def store_error(exc: sqlite3.Error, root: Path) -> StoreError:
    """A `StoreError` for `exc` that names the store and the fix."""
    code = error_code(exc)
    env = "set XTRACK_STORE=/other/folder (or %xtrack store /other/folder) to use another store"
    if code in (_BUSY, _LOCKED):
        return StoreError(
            f"store {root} stayed locked by another process for over {BUSY_TIMEOUT_S:.0f} s "
            f"({exc}); try again, or find the process holding it (lsof {root / 'xtrack.db'})",
            retryable=True,
        )
    if code == _READONLY:
        return ReadOnlyStoreError(
            f"store {root} is read-only ({exc}); make it writable (chmod -R u+w {root}) or {env}"
        )
    if code == _FULL or (code in (_IOERR, _CANTOPEN) and disk_is_full(root)):
        # A full disk often surfaces as a disk I/O error (the WAL index cannot grow): it
        # must not read as damage, whose advice (move the database aside) would orphan runs.
        return StoreError(
            f"the disk holding store {root} is full ({exc}); the store is not known to be "
            f"damaged: free space and try again, or {env}"
        )
    if code == _CANTOPEN:
        return StoreError(
            f"cannot open store {root} ({exc}): the folder is missing or not accessible; "
            f"recreate it with open_store('{root}') or {env}"
        )
    if code in (_CORRUPT, _NOTADB, _IOERR):
        return StoreError(
            f"store {root} is damaged or unreadable ({exc}); move {root / 'xtrack.db'} aside "
            "as xtrack.db.damaged-<date> (gc then keeps the blobs its runs use) to start a "
            f"fresh store, or {env}"
        )
    return StoreError(f"store {root}: {exc}")


@contextmanager
def write_transaction(conn: Conn) -> Iterator[Conn]:
    """`BEGIN IMMEDIATE` ... `COMMIT`, retried while another writer holds the lock.

    Taking the write lock up front (rather than upgrading a read lock later) is what
    avoids SQLITE_BUSY deadlocks between concurrent writers. Nested use on a connection
    that is already in a transaction joins the outer one.
    """
    if conn.in_transaction:
        yield conn
        return
    deadline = time.monotonic() + WRITE_DEADLINE_S
    pause = 0.005
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except BaseException as exc:
            if conn.in_transaction:  # PostgreSQL: BEGIN ran, then the write lock timed out
                conn.execute("ROLLBACK")
            if not is_busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 0.5)
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


class SqliteBackend:
    """How `Store` reaches its SQLite database (`xtrack.db` in the store folder); see
    `postgres.PostgresBackend` for the other backend."""

    postgres = False
    no_limit: int | None = -1  # LIMIT -1: no limit
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    params_upsert = (
        "INSERT INTO params(run, key, value, json) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(run, key) DO UPDATE SET value = excluded.value, json = excluded.json"
    )

    def __init__(self, root: Path, *, read_only: bool = False) -> None:
        self.root = root
        self.name = str(root)
        self.location = str(root)
        self.read_only = read_only
        self.db_path = root / "xtrack.db"

    def connect(self) -> sqlite3.Connection:
        try:
            return connect(self.db_path, read_only=self.read_only)
        except sqlite3.Error as exc:
            raise self.error(exc) from exc

    def prepare(self, conn: Conn) -> None:
        """Switch the database to WAL (readers never wait for the writer)."""
        deadline = time.monotonic() + 30
        while True:
            try:
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def check_present(self) -> None:
        """StoreError when xtrack.db was deleted or moved: SQLite would go on writing into
        the deleted file and lose everything."""
        if not self.db_path.exists():
            raise self.gone()

    def check_writable(self) -> None:
        if self.writable():
            return
        raise ReadOnlyStoreError(
            f"store {self.root} is read-only; make it writable (chmod -R u+w {self.root}, or "
            "remount it read-write) or set XTRACK_STORE=/other/folder (or %xtrack store "
            "/other/folder) to use another store"
        )

    def writable(self) -> bool:
        # os.access also reports read-only mounts, which permission bits do not show.
        if not os.access(self.root, os.W_OK):
            return False
        return not self.db_path.exists() or os.access(self.db_path, os.W_OK)

    def forget(self, conns: object) -> None:
        """SQLite connections inherited across a fork are simply dropped."""

    @staticmethod
    def params_row(number: int, key: str, value: Any, json: bytes) -> tuple[Any, ...]:
        return number, key, value, json

    def error(self, exc: Exception) -> StoreError:
        assert isinstance(exc, sqlite3.Error)
        if not self.read_only and self.root.is_dir() and not self.writable():
            try:
                self.check_writable()
            except StoreError as read_only:
                return read_only
        if not self.db_path.exists():
            return self.gone()
        return store_error(exc, self.root)

    def gone(self) -> StoreError:
        return StoreError(
            f"store {self.root} is gone (its xtrack.db was deleted or moved while open); "
            f"open it again with open_store('{self.root}') to start a fresh one"
        )
