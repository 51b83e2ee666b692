"""The store on PostgreSQL where it differs from a folder: many writers on many
connections, clients killed mid-run, clients migrating one database at once, errors that
name the server without its password, the public API and sync between the two backends.
The contract itself runs on both backends through the parametrised `store` fixture."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.store import FilterError, Store, StoreError, open_store
from jupyter_xtrack.store.schema import SCHEMA_VERSION, migrate
from jupyter_xtrack.store.sync import sync_runs

from .conftest import open_quietly, python

WRITERS, POINTS, BATCH = 64, 10_000, 1_000


def _write_points(store: Store, k: int) -> None:
    """One writer process: a run and POINTS points through the BackgroundWriter, as the
    kernel logs them (a buffer the writer drains), in batches of BATCH."""
    from jupyter_xtrack.store import BackgroundWriter, PointBuffer

    errors: list[BaseException] = []
    writer = BackgroundWriter(store, interval=0.01, on_error=errors.append)
    buffer = writer.add_buffer(PointBuffer())
    run_id, _ = store.create_run(name=f"writer-{k}")
    store.set_params(run_id, {"k": k})
    for start in range(0, POINTS, BATCH):
        now = time.time()
        for i in range(start, start + BATCH):
            buffer.append((run_id, "loss", float(i), i, now))
        writer.flush(120)
    writer.close()
    store.finish_run(run_id, status="finished")
    os._exit(1 if errors or writer.dropped_points else 0)


def test_sixty_four_writer_processes_lose_nothing(pg_url: str, tmp_path: Path) -> None:
    # The children inherit this store (and its connection) across fork: each must open its
    # own connection and leave the parent's session alone.
    store = open_store(pg_url, artifacts=str(tmp_path / "blobs"))
    store.query_runs()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_write_points, args=(store, k)) for k in range(WRITERS)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(600)
    assert [p.exitcode for p in procs] == [0] * WRITERS
    table = store.query_runs(order_by="params.k")  # the parent's connection still works
    assert table.total == WRITERS
    assert table.columns["params.k"] == list(range(WRITERS))
    assert set(table.columns["status"]) == {"finished"}
    assert set(table.to_frame()["metrics.loss"]) == {float(POINTS - 1)}
    expected = [float(i) for i in range(POINTS)]
    for run_id in table.ids:
        history = store.metric_history(run_id, "loss")
        assert history["value"] == expected and history["step"] == list(range(POINTS))
    (count,) = store._conn().execute("SELECT sum(count) FROM metrics").fetchone()
    assert count == WRITERS * POINTS
    store.close()


OWNER = """
    import sys, time
    from jupyter_xtrack.store import open_store
    store = open_store(sys.argv[1], artifacts=sys.argv[2])
    run_id, _ = store.create_run(name="doomed")
    store.log_metrics([(run_id, "loss", 0.5, 1, time.time())])
    print(run_id, flush=True)
    time.sleep(600)
"""


def test_a_client_killed_mid_run_leaves_a_crashed_run(pg_url: str, tmp_path: Path) -> None:
    proc = python(OWNER, pg_url, str(tmp_path / "blobs"))
    assert proc.stdout is not None and proc.stderr is not None
    run_id = proc.stdout.readline().strip()
    store = open_store(pg_url, artifacts=str(tmp_path / "blobs"))
    try:
        assert store.get_run(run_id)["status"] == "running"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        run = store.get_run(run_id)
        assert run["status"] == "crashed" and run["metrics"] == {"loss": 0.5}
        assert run["ended_at"] is not None and run["duration_s"] >= 0
    finally:
        proc.stdout.close()
        proc.stderr.close()
        store.close()


MIGRATOR = """
    import sys, time, pathlib
    from jupyter_xtrack.store import open_store
    go = pathlib.Path(sys.argv[3])
    while not go.exists():
        time.sleep(0.001)
    open_store(sys.argv[1], artifacts=sys.argv[2]).close()
    print("ok")
"""


@pytest.mark.parametrize("start", [0, 2], ids=["empty", "old"])
def test_clients_opening_one_database_at_once_migrate_it_once(
    postgres: Any, tmp_path: Path, start: int
) -> None:
    url = postgres.create_database()
    blobs = str(tmp_path / "blobs")
    if start:
        old = open_store(url, artifacts=blobs)  # then taken back to an older schema
        conn = old._conn()
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
        migrate(conn, old.name, target=start)
        old.close()
    go = tmp_path / "go"
    procs = [python(MIGRATOR, url, blobs, str(go)) for _ in range(6)]
    time.sleep(1.0)
    go.touch()
    outputs = [proc.communicate(timeout=120) for proc in procs]
    # A migration applied twice fails (its tables exist): every client succeeding means
    # each ran once.
    assert [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs, strict=True)] == [
        (0, "ok\n", "")
    ] * 6
    with open_store(url, artifacts=blobs) as store:
        conn = store._conn()
        rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        assert rows["schema_version"] == str(SCHEMA_VERSION)
        store.create_run(name="works")
        assert store.query_runs().total == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_server_is_a_retryable_error_without_the_password(tmp_path: Path) -> None:
    port = _closed_port()
    url = f"postgresql://team:s3cretpass@127.0.0.1:{port}/xtrack"
    with pytest.raises(StoreError) as caught:
        open_store(url, artifacts=str(tmp_path / "blobs"))
    text = str(caught.value)
    assert caught.value.retryable
    assert f"host 127.0.0.1, port {port}, database xtrack" in text
    assert "s3cretpass" not in text and "s3cretpass" not in repr(caught.value.__cause__ or "")
    assert "team:***@127.0.0.1" in text


def test_repr_and_errors_hide_the_password(postgres: Any, tmp_path: Path) -> None:
    url = postgres.create_database().replace("xtrack@", "xtrack:pw-not-shown@")
    store = open_store(url, artifacts=str(tmp_path / "blobs"))
    try:
        assert "pw-not-shown" not in repr(store) and "xtrack:***@" in repr(store)
        assert store.location == url and not store.is_local  # reopened by its URL, shared
        with open_store(store.location, artifacts=str(tmp_path / "blobs")) as again:
            assert again.name == store.name
        with pytest.raises(FilterError, match="expected a value"):
            store.query_runs("params.lr >")
        with pytest.raises(StoreError) as caught:
            store.get_run("#99")
        assert "pw-not-shown" not in str(caught.value)
    finally:
        store.close()


def test_the_public_api_gives_the_same_frame_on_both_backends(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jupyter_xtrack as xt
    from jupyter_xtrack.tracking.session import CONTEXT

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    frames = []
    for location in (str(tmp_path / "local"), pg_url):
        store = open_quietly(location)
        for k in range(3):
            run_id, _ = store.create_run(name=f"r{k}", tags={"team": "a"})
            store.set_params(run_id, {"lr": 0.1 * k, "opt": "adam"})
            store.log_metrics([(run_id, "acc", 0.5 + k / 10, 1, 1.7e9)])
            store.finish_run(run_id, status="finished", ended_at=1.7e9 + k)
        store.close()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # about local blobs: see the test below
            xt.open_store(location)
        try:
            frames.append(xt.runs("params.lr > 0.05", order_by="metrics.acc desc"))
        finally:
            CONTEXT.reset()  # closes the store xt.open_store opened
    sqlite_frame, pg_frame = frames
    assert list(pg_frame.columns) == list(sqlite_frame.columns)
    assert pg_frame.dtypes.to_dict() == sqlite_frame.dtypes.to_dict()
    assert pg_frame["name"].tolist() == sqlite_frame["name"].tolist() == ["r2", "r1"]


def test_without_artifacts_blobs_stay_local_with_one_warning(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.warns(RuntimeWarning, match="teammates cannot read them") as caught:
        first = open_store(pg_url)
    assert str(first.root) in str(caught[0].message)
    assert first.root.parent == tmp_path / "cache" / "xtrack"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = open_store(pg_url)  # once per database
    h = first.put_blob(b"x")
    assert (first.root / "blobs").is_dir() and second.get_blob(h) == b"x"
    first.close()
    second.close()


def test_sync_copies_sqlite_to_postgres_and_back(pg_url: str, tmp_path: Path) -> None:
    local = open_store(tmp_path / "local")
    run_id, _ = local.create_run(name="trained", tags={"team": "a"})
    local.set_params(run_id, {"lr": 0.1, "layers": [1, 2]})
    local.log_metrics([(run_id, "loss", 1.0 / (i + 1), i, 1.7e9 + i) for i in range(500)])
    blob = local.put_blob(b"model bytes")
    local.add_artifact(run_id, "model", blob=blob, size=11)
    local.set_facts(run_id, code={"source": "fit()"})
    local.finish_run(run_id, status="finished")
    team = open_store(pg_url, artifacts=str(tmp_path / "team-blobs"))
    assert sync_runs(local, team).copied == 1
    assert sync_runs(local, team).skipped == 1  # idempotent
    copied = team.get_run(run_id)
    assert copied["params"] == {"lr": 0.1, "layers": [1, 2]}
    assert team.metric_history(run_id, "loss") == local.metric_history(run_id, "loss")
    assert team.get_blob(team.artifacts(run_id)[0]["hash"]) == b"model bytes"
    back = open_store(tmp_path / "other")
    assert sync_runs(team, back).copied == 1
    assert back.get_run(run_id)["facts"] == local.get_run(run_id)["facts"]
    assert back.metric_history(run_id, "loss") == local.metric_history(run_id, "loss")
    for s in (local, team, back):
        s.close()


def test_the_cli_reads_and_pushes_to_a_postgres_store(pg_url: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    local = open_store(tmp_path / "local")
    run_id, _ = local.create_run(name="from-laptop")
    local.finish_run(run_id, status="finished")
    local.close()
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XTRACK_ARTIFACTS": str(tmp_path / "team-blobs"),
    }

    def xtrack(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "jupyter_xtrack.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "runs: 1 copied" in xtrack("push", "--store", str(tmp_path / "local"), "--to", pg_url)
    assert "from-laptop" in xtrack("ls", "--store", pg_url)
    env["XTRACK_STORE"] = pg_url
    assert "from-laptop" in xtrack("ls")


def test_a_dropped_connection_is_retryable_and_then_opened_again(
    pg_url: str, tmp_path: Path
) -> None:
    import psycopg

    store = open_store(pg_url, artifacts=str(tmp_path / "blobs"))
    run_id, _ = store.create_run()
    backend_pid = store._conn().raw.info.backend_pid  # type: ignore[attr-defined]
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))
    with pytest.raises(StoreError) as caught:
        store.log_metrics([(run_id, "loss", 1.0, 1, 1.7e9)])
    assert caught.value.retryable  # the BackgroundWriter keeps the points for a retry
    store.log_metrics([(run_id, "loss", 1.0, 1, 1.7e9)])
    assert store.metric_history(run_id, "loss")["value"] == [1.0]
    store.close()


def test_a_write_lock_held_too_long_keeps_the_points_for_a_retry(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from jupyter_xtrack.store import BackgroundWriter, PointBuffer, postgres
    from jupyter_xtrack.store.dialect import WRITE_LOCK_KEY

    monkeypatch.setattr(postgres, "LOCK_TIMEOUT", "200ms")
    store = open_store(pg_url, artifacts=str(tmp_path / "blobs"))
    run_id, _ = store.create_run()
    errors: list[BaseException] = []
    writer = BackgroundWriter(store, interval=0.05, on_error=errors.append)
    buffer = writer.add_buffer(PointBuffer())
    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK_KEY,))
        for i in range(100):
            buffer.append((run_id, "m", float(i), i, 0.0))
        assert writer.flush(1.0) is False
        holder.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK_KEY,))
    assert errors and isinstance(errors[0], StoreError) and errors[0].retryable
    assert writer.flush(30) is True and writer.dropped_points == 0
    assert store.metric_history(run_id, "m")["value"] == [float(i) for i in range(100)]
    writer.close()
    store.close()


def test_a_role_that_may_only_read_reads_and_is_refused_writes(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from jupyter_xtrack.store import ReadOnlyStoreError, open_store_for_reading

    blobs = str(tmp_path / "blobs")
    monkeypatch.setenv("XTRACK_ARTIFACTS", blobs)
    with open_store(pg_url, artifacts=blobs) as owner:
        owner.create_run(name="kept")
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS reader")
        admin.execute("CREATE ROLE reader LOGIN")
        admin.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader")
    reader_url = pg_url.replace("xtrack@", "reader@")
    store = open_store_for_reading(reader_url)
    try:
        assert store.query_runs().columns["name"] == ["kept"]
        with pytest.raises(ReadOnlyStoreError, match="cannot be written by this role"):
            store.create_run(name="refused")
    finally:
        store.close()
    with open_store(reader_url, read_only=True, artifacts=blobs) as read_only:
        with pytest.raises(ReadOnlyStoreError, match="open read-only.*grant its role write"):
            read_only.create_run(name="refused")


def _round_trips(store: Store, write: Any) -> int:
    """How many times `write()` waited for the server on the store's connection: the
    ReadyForQuery replies in libpq's trace of it."""
    import tempfile

    from psycopg.pq import Trace

    pgconn = store._conn().raw.pgconn  # type: ignore[attr-defined]
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
        try:
            write()
        finally:
            pgconn.untrace()
        trace.seek(0)
        return sum("\tReadyForQuery\t" in line for line in trace)


def test_a_trials_run_is_written_in_two_round_trips(pg_url: str, tmp_path: Path) -> None:
    """A write transaction holds the store's write lock for every client of the database,
    so the writer's batch for a sweep trial (a child run made, its params, a point, its
    end, a heartbeat) waits for the server twice: the transaction, its lock and the insert
    that gives the run its number (with the parent's check), then the commit with
    everything else. One statement at a time, it waited 19 times."""
    store = open_store(pg_url, artifacts=str(tmp_path / "blobs"))
    parent, _ = store.create_run(name="sweep")
    made: list[str] = []

    def trial(i: int) -> None:
        with store.batch():
            run_id, _ = store.create_run(name=f"trial {i}", parent_id=parent, tags={"n": str(i)})
            store.set_params(run_id, {"x": 0.25 * i, "y": "relu"})
            store.log_metrics([(run_id, "value", 1.0 / (i + 1), None, 1.7e9)])
            store.finish_run(run_id, status="finished")
            store.heartbeat(run_id)
            made.append(run_id)

    trial(0)  # the key sets are new once
    assert _round_trips(store, lambda: trial(1)) == 2
    assert _round_trips(store, lambda: trial(2)) == 2
    runs = store.get_runs(made)
    assert [r["params"] for r in runs.values()] == [
        {"x": 0.25 * i, "y": "relu"} for i in range(3)
    ]
    assert [r["metrics"]["value"] for r in runs.values()] == [1.0, 0.5, 1 / 3]
    assert {r["status"] for r in runs.values()} == {"finished"}
    assert store.get_run(parent)["children"] == made
    store.close()


def test_a_queued_statement_that_fails_fails_its_transaction(
    pg_url: str, tmp_path: Path
) -> None:
    """Writes inside a transaction are sent when a result is needed or at the commit; the
    error of one is raised there, the whole transaction rolls back, and the connection
    goes on."""
    store = open_store(pg_url, artifacts=str(tmp_path / "blobs"))
    run_id, _ = store.create_run(name="kept")
    failing = "UPDATE runs SET name = 'never' WHERE 1 / 0 = 1"
    with pytest.raises(StoreError, match="division by zero"), store.batch():
        store.set_params(run_id, {"lr": 0.5})
        store._conn().execute(failing)  # queued: nothing is sent yet
    with pytest.raises(StoreError, match="division by zero"), store.batch():
        store.set_tags(run_id, {"t": "1"})
        store._conn().execute(failing)
        store.get_run(run_id)  # a read sends the queue first
    run = store.get_run(run_id)
    assert (run["name"], run["params"], run["tags"]) == ("kept", {}, {})
    store.set_params(run_id, {"lr": 0.7})
    assert store.get_run(run_id)["params"] == {"lr": 0.7}
    store.close()


def test_a_connection_lost_inside_a_transaction_fails_it_and_the_next_one_works(
    pg_url: str, tmp_path: Path
) -> None:
    """The server drops the connection while a batch's writes wait to be sent: the batch
    fails with a retryable error, and the next write opens a new connection and succeeds
    (the failure belongs to the transaction that met it, not to the ones after)."""
    import psycopg

    store = open_store(pg_url, artifacts=str(tmp_path / "blobs"))
    run_id, _ = store.create_run(name="kept")
    with pytest.raises(StoreError) as caught, store.batch():
        store.set_params(run_id, {"lr": 0.5})  # queued
        backend_pid = store._conn().raw.info.backend_pid  # type: ignore[attr-defined]
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend_pid,))
    assert caught.value.retryable
    store.set_params(run_id, {"lr": 0.7})
    assert store.get_run(run_id)["params"] == {"lr": 0.7}
    store.close()


def test_a_write_transaction_takes_the_lock_with_its_first_statements(
    pg_url: str, tmp_path: Path
) -> None:
    """`BEGIN` and the store's write lock travel with a transaction's first statements:
    until then no other client waits for it, and a batch that fails before sending
    anything costs no round trip at all."""
    import psycopg

    from jupyter_xtrack.store.dialect import WRITE_LOCK_KEY

    store = open_store(pg_url, artifacts=str(tmp_path / "blobs"))
    run_id, _ = store.create_run(name="r")
    with psycopg.connect(pg_url, autocommit=True) as other:

        def lock_free() -> bool:
            (free,) = other.execute("SELECT pg_try_advisory_lock(%s)", (WRITE_LOCK_KEY,)).fetchone()
            if free:
                other.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK_KEY,))
            return bool(free)

        with store.batch():
            assert lock_free()  # BEGIN IMMEDIATE is queued, nothing sent
            store.set_params(run_id, {"lr": 0.1})  # its run's number is read: all goes
            assert not lock_free()
        assert lock_free()

    def fails_at_once() -> None:
        with pytest.raises(RuntimeError), store.batch():
            raise RuntimeError("before any statement")

    assert _round_trips(store, fails_at_once) == 0
    store.set_params(run_id, {"lr": 0.2})  # and the connection goes on
    assert store.get_run(run_id)["params"] == {"lr": 0.2}
    store.close()
