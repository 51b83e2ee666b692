"""The store on PostgreSQL (psycopg 3): connections that run the store's SQL (rewritten by
`dialect.to_postgres`), errors that say what to do, and the local folder a database store
keeps for what is not in the database.

Credentials come from the URL or libpq's own places (PGPASSWORD, ~/.pgpass, PGSERVICE);
this module never stores them, and a password never appears in `name`, an error or a log.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .dialect import Conn, to_postgres
from .errors import ReadOnlyStoreError, StoreError
from .location import local_folder, secrets_of, shown_url

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_S = 10
# How long a writer waits for the store's write lock (dialect.WRITE_LOCK_KEY).
LOCK_TIMEOUT = "60s"
TEAMS_EXTRA = "pip install 'jupyter_xtrack[teams]'"


class PgConnection:
    """A psycopg connection in autocommit mode with sqlite3's shape (`Conn`): `execute`
    and `executemany` take the store's SQLite SQL and `?` parameters; `BEGIN IMMEDIATE`
    takes the store's write lock. Parameters are bound as sqlite3 binds them: a NaN float
    as NULL, a bool as 1/0. A connection the server dropped (a restart, a network cut) is
    opened again (`reopen`) by the next statement outside a transaction.

    Inside a transaction, statements are sent when their results are first needed: each
    returns a cursor that sends everything queued before it, in one round trip (psycopg's
    pipeline mode), when it is read; `COMMIT` sends what is left with itself; `BEGIN
    IMMEDIATE` (the transaction and its lock) goes with the transaction's first statements.
    A write transaction holds the store's write lock for every client of the database until
    it commits, and its writer thread, waiting for each reply, must take the GIL back from
    the cell's thread each time (up to `sys.getswitchinterval()`, 5 ms): a sweep trial's
    run, 21 statements sent one at a time, took 98 ms beside a busy Python thread (1.6
    ms without one); queued, 2 round trips and 18-23 ms. An error of a queued
    statement is raised by the call that sends it, and again by every later one of the
    same transaction (which then rolls back as it would have), so the error that names
    the cause is the one the transaction ends with."""

    __slots__ = ("begun", "failed", "queue", "raw", "reopen")

    def __init__(
        self, raw: psycopg.Connection[Any], reopen: Callable[[], psycopg.Connection[Any]]
    ) -> None:
        self.raw = raw
        self.reopen = reopen
        # Statements of the open transaction not yet sent: (SQL, parameters, many, cursor).
        self.queue: list[tuple[str, Any, bool, _Deferred | None]] = []
        self.failed: BaseException | None = None  # what broke the open transaction
        self.begun = False  # a transaction is open here whose BEGIN is still queued

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        if self.begun:
            return True
        status = self.raw.info.transaction_status
        return status in (TransactionStatus.INTRANS, TransactionStatus.INERROR)

    def _cursor(self) -> Any:
        if self.raw.closed and not self.in_transaction:
            self.raw = self.reopen()
        return self.raw.cursor()

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        statements = to_postgres(sql)
        if not self.in_transaction:  # on its own, or a read snapshot's BEGIN: now
            self._forget()  # what a transaction left (its connection lost as it was sent)
            if sql == "BEGIN IMMEDIATE":  # the lock is taken with the first statements
                self.begun = True
                cursor = _Deferred(self)
                *first, last = statements
                self.queue.extend((statement, None, False, None) for statement in first)
                self.queue.append((last, None, False, cursor))
                return cursor
            cur = self._cursor()
            if len(statements) > 1:  # never with parameters: one round trip for all
                cur.execute("; ".join(statements))
            else:
                cur.execute(statements[0], _bound(parameters))
            return cur
        if statements[0] == "ROLLBACK":  # what is queued is dropped with the transaction
            if self._forget():  # nothing of it reached the server
                return _Deferred(self)
            return self.raw.execute("ROLLBACK")
        for statement in statements[:-1]:
            self.queue.append((statement, None, False, None))
        last = statements[-1]
        cursor = _Deferred(self)
        self.queue.append((last, None if len(statements) > 1 else _bound(parameters), False, cursor))
        if last == "COMMIT":
            try:
                self.send()
            except BaseException:
                # As PostgreSQL ends a failed transaction on COMMIT: never left open.
                self._forget()
                if self.in_transaction:
                    with suppress(Exception):  # a lost connection: nothing to end
                        self.raw.execute("ROLLBACK")
                raise
        return cursor

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any:
        (statement,) = to_postgres(sql)
        rows = [_bound(row) for row in parameters]
        if not self.in_transaction:
            cur = self._cursor()
            if rows:
                cur.executemany(statement, rows)
            return cur
        cursor = _Deferred(self)
        if rows:
            self.queue.append((statement, rows, True, cursor))
        else:
            cursor.cur = self.raw.cursor()
        return cursor

    def send(self) -> None:
        """Send the queued statements, in order, and wait for their replies (one round
        trip); the first error among them is raised here."""
        if self.failed is not None:
            raise self.failed
        queue, self.queue = self.queue, []
        if not queue:
            return
        if self.begun:  # the transaction starts on the server now
            self.begun = False
            if self.raw.closed:  # as a statement outside a transaction would
                self.raw = self.reopen()
        raw = self.raw
        try:
            with raw.pipeline():
                for statement, parameters, many, cursor in queue:
                    cur = raw.cursor()
                    if cursor is not None:
                        cursor.cur = cur
                    if many:
                        cur.executemany(statement, parameters)
                    else:
                        cur.execute(statement, parameters)
        except BaseException as exc:
            self.failed = exc
            raise

    def _forget(self) -> bool:
        """Drop what this side keeps of the open transaction (its queue, its error, a BEGIN
        not sent); whether that BEGIN was still queued."""
        queued = self.begun
        self.queue.clear()
        self.failed = None
        self.begun = False
        return queued

    def close(self) -> None:
        self._forget()
        self.raw.close()


class _Deferred:
    """The cursor of a queued statement: reading anything of it (rows, `rowcount`,
    `description`) sends the queue first."""

    __slots__ = ("conn", "cur")

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn
        self.cur: Any = None

    def _sent(self) -> Any:
        if self.cur is None or self.conn.failed is not None:
            self.conn.send()
        return self.cur

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sent(), name)

    def __iter__(self) -> Any:
        return iter(self._sent())


def _bound(row: Sequence[Any]) -> list[Any]:
    return [
        None if type(v) is float and math.isnan(v) else int(v) if type(v) is bool else v
        for v in row
    ]


class PostgresBackend:
    """How `Store` reaches a PostgreSQL database (see `connection.SqliteBackend` for the
    other): connections, errors, and the dialect's few differences that are not SQL text."""

    postgres = True
    no_limit: int | None = None  # LIMIT NULL: no limit

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                f"a PostgreSQL store ({shown_url(url)}) needs psycopg: {TEAMS_EXTRA}"
            ) from None
        self.url = url
        self.location = url
        self.read_only = read_only
        self.name = shown_url(url)
        self.root = local_folder(url)
        self.errors: tuple[type[Exception], ...] = (psycopg.Error,)
        self._secrets = secrets_of(url)

    # -- connections ---------------------------------------------------------------------
    def connect(self) -> Conn:
        return PgConnection(self._open(), self._open)

    def _open(self) -> psycopg.Connection[Any]:
        import psycopg
        from psycopg.types.string import TextLoader

        try:
            raw = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                application_name="jupyter_xtrack",
            )
        except psycopg.Error as exc:
            raise self.error(exc) from exc
        raw.adapters.register_loader("json", TextLoader)  # as SQLite's json functions give
        raw.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        if self.read_only:
            raw.execute("SET default_transaction_read_only = on")
        return raw

    def prepare(self, conn: Conn) -> None:
        """Nothing to set up per database before migrating."""

    def check_present(self) -> None:
        """A database cannot vanish under an open connection unnoticed: nothing to check."""

    def check_writable(self) -> None:
        """Whether the role may write shows in the first write; nothing to check here."""

    def forget(self, conns: Sequence[Any]) -> None:
        """Drop connections inherited across a fork without closing them: closing would end
        the parent's sessions. Their sockets are pointed at /dev/null first, so that
        finalising them in this process sends nothing to the server."""
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            for conn in conns:
                try:
                    os.dup2(devnull, conn.raw.pgconn.socket)
                except Exception:  # already closed: nothing shared
                    continue
        finally:
            os.close(devnull)

    @staticmethod
    def params_row(number: int, key: str, value: Any, json: bytes) -> tuple[Any, ...]:
        """A params row: text in `value`, numbers in `num` (SQLite keeps both in one
        untyped column)."""
        if isinstance(value, str) or value is None:
            return number, key, value, None, json
        # A float as its shortest repr: exact, where PostgreSQL's float8 -> numeric cast
        # keeps 15 digits.
        exact = Decimal(repr(value)) if isinstance(value, float) else value
        return number, key, None, exact, json

    params_upsert = (
        "INSERT INTO params(run, key, value, num, json) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(run, key) DO UPDATE SET value = excluded.value, num = excluded.num, "
        "json = excluded.json"
    )

    @staticmethod
    def change_signature(conn: Callable[[], Conn]) -> object:
        """The cluster's next transaction id: every write takes one and reads take none,
        so it moves with each commit (of any database of the cluster: at worst a needless
        look), for one round trip."""
        row = conn().execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").fetchone()
        return row[0]

    # -- errors --------------------------------------------------------------------------
    def error(self, exc: Exception) -> StoreError:
        """A `StoreError` for psycopg error `exc` that names the store (password masked)
        and the fix; retryable when trying again may succeed."""
        import psycopg
        from psycopg import errors as pg

        detail = self._clean(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
        state = getattr(exc, "sqlstate", None) or ""
        if isinstance(exc, (pg.ReadOnlySqlTransaction, pg.InsufficientPrivilege)):
            return ReadOnlyStoreError(
                f"store {self.name} cannot be written by this role ({detail}); grant it write "
                "access, or set XTRACK_STORE to another store"
            )
        # No SQLSTATE: the client lost the server; 08: connection; 57P0x: server shut down.
        lost = not state or state.startswith(("08", "57P0"))
        if isinstance(exc, psycopg.OperationalError) and lost:
            parts = urlsplit(self.url)
            where = (
                f"host {parts.hostname or 'the local socket'}, port {parts.port or 5432}, "
                f"database {unquote(parts.path.lstrip('/')) or '(default)'}"
            )
            return StoreError(
                f"cannot reach the PostgreSQL store {self.name} ({where}): {detail}; check that "
                "the server runs and the URL and credentials (PGPASSWORD, ~/.pgpass) are "
                "right, then try again",
                retryable=True,
            )
        if state in ("40001", "40P01", "55P03", "57014") or state.startswith("53"):
            return StoreError(
                f"store {self.name} is busy or short of resources ({detail}); try again",
                retryable=True,
            )
        return StoreError(f"store {self.name}: {detail}")

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text
