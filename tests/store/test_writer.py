"""PointBuffer and BackgroundWriter: flush semantics, batching, errors, heartbeats."""

from __future__ import annotations

import shutil
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_xtrack.store import (
    BackgroundWriter,
    PointBuffer,
    Store,
    StoreError,
    connection,
    open_store,
)
from jupyter_xtrack.store import writer as writer_module

from .conftest import python, run_python


@pytest.fixture
def errors() -> list[BaseException]:
    return []


@pytest.fixture
def writer(store: Store, errors: list[BaseException]) -> Iterator[BackgroundWriter]:
    w = BackgroundWriter(store, interval=0.05, on_error=errors.append)
    yield w
    w.close()


def test_point_buffer_drain_keeps_order_and_empties() -> None:
    buf = PointBuffer()
    for i in range(5):
        buf.append(("r", "k", float(i), i, 0.0))
    assert len(buf) == 5
    assert [p[2] for p in buf.drain()] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert len(buf) == 0 and buf.drain() == []


def test_flush_writes_everything_submitted_before_it(
    store: Store, errors: list[BaseException]
) -> None:
    w = BackgroundWriter(store, interval=60, on_error=errors.append)  # only flush wakes it
    buf = w.add_buffer(PointBuffer())
    run_id, _ = store.create_run()
    order: list[int] = []
    w.submit(lambda s: order.append(1))
    w.submit(lambda s, rid: s.set_params(rid, {"lr": 0.1}), run_id)
    for i in range(1000):
        buf.append((run_id, "loss", float(i), i, time.time()))
    w.submit(lambda s: order.append(2))
    assert store.metric_history(run_id, "loss")["value"] == [], "nothing written before flush"
    assert w.flush(10) is True
    assert order == [1, 2]
    assert len(store.metric_history(run_id, "loss")["value"]) == 1000
    assert store.get_run(run_id)["params"] == {"lr": 0.1}
    assert errors == []
    w.close()


def test_flush_times_out_while_a_write_is_slow(writer: BackgroundWriter) -> None:
    release = threading.Event()
    writer.submit(lambda s: release.wait(10))
    assert writer.flush(0.1) is False
    release.set()
    assert writer.flush(10) is True


def test_points_appended_during_drains_are_never_lost(
    store: Store, writer: BackgroundWriter
) -> None:
    run_id, _ = store.create_run()
    buf = writer.add_buffer(PointBuffer())
    append = buf.append
    n = 200_000
    for i in range(n):
        append((run_id, "x", float(i), i, 0.0))
        if i % 20_000 == 0:
            time.sleep(0.02)  # let the writer drain mid-stream
    assert writer.flush(30)
    assert store.metric_history(run_id, "x")["value"] == [float(i) for i in range(n)]


def test_a_failing_operation_goes_to_on_error_and_costs_only_itself(
    store: Store, writer: BackgroundWriter, errors: list[BaseException]
) -> None:
    run_id, _ = store.create_run()

    def broken(s: Store) -> None:
        s.set_tags(run_id, {"half": "written"})
        raise RuntimeError("boom")

    writer.submit(lambda s: s.set_params(run_id, {"a": 1}))
    writer.submit(broken)
    writer.submit(lambda s: s.set_params(run_id, {"b": 2}))
    writer.add_buffer(PointBuffer()).append((run_id, "m", 1.0, 0, time.time()))
    assert writer.flush(10) is False, "something was dropped"
    assert [str(e) for e in errors] == ["boom"]
    run = store.get_run(run_id)
    assert run["params"] == {"a": 1, "b": 2}
    assert run["tags"] == {}, "the failing operation's own writes are rolled back"
    assert run["metrics"] == {"m": 1.0}
    assert writer.dropped_ops == 1


def test_points_of_a_deleted_run_are_dropped_and_counted(
    store: Store, writer: BackgroundWriter, errors: list[BaseException]
) -> None:
    keep, _ = store.create_run()
    gone, _ = store.create_run()
    store.delete_runs([gone])
    buf = writer.add_buffer(PointBuffer())
    for i in range(10):
        buf.append((keep, "m", float(i), i, 0.0))
        buf.append((gone, "m", float(i), i, 0.0))
    assert writer.flush(10) is False
    assert store.metric_history(keep, "m")["value"] == [float(i) for i in range(10)]
    assert writer.dropped_points == 10
    assert any("10 metric points" in str(e) for e in errors)


def test_what_is_dropped_is_counted_per_run(
    store: Store, writer: BackgroundWriter, errors: list[BaseException]
) -> None:
    """R4: a run's end records exactly what of it the store is missing, so the writer
    counts dropped points and operations per run, not only in all."""
    keep, _ = store.create_run()
    gone, _ = store.create_run()
    store.delete_runs([gone])
    buf = writer.add_buffer(PointBuffer())
    for i in range(10):
        buf.append((keep, "m", float(i), i, 0.0))
    for i in range(7):
        buf.append((gone, "m", float(i), i, 0.0))
    writer.submit(lambda s: s.set_params(gone, {"a": 1}), run_id=gone)
    writer.submit(lambda s: s.set_params(keep, {"a": 1}), run_id=keep)
    assert writer.flush(10) is False
    lost = writer.lost(gone)
    assert (lost["points"], lost["writes"]) == (7, 1) and "not in store" in str(lost["reason"])
    assert writer.lost(keep) == {"points": 0, "writes": 0, "reason": None}
    assert store.get_run(keep)["params"] == {"a": 1}


def test_a_late_operation_runs_after_the_points_drained_with_it(
    store: Store, errors: list[BaseException]
) -> None:
    """A run's end is queued after its last points; it must see them written (or counted
    as dropped), although a tick runs its operations before its points."""
    w = BackgroundWriter(store, interval=60, on_error=errors.append)  # only flush wakes it
    run_id, _ = store.create_run()
    buf = w.add_buffer(PointBuffer())
    for i in range(500):
        buf.append((run_id, "m", float(i), i, 0.0))
    seen: list[int] = []
    w.submit(
        lambda s: seen.append(len(s.metric_history(run_id, "m")["value"])), run_id=run_id, late=True
    )
    assert w.flush(10) is True and errors == []
    assert seen == [500]
    w.close()


def test_exit_while_the_store_stays_locked_waits_and_loses_nothing(tmp_path: Path) -> None:
    """At interpreter exit the writer used to get 10 s, then its thread died with the
    points it held. It now waits for the lock (up to CLOSE_PATIENCE_S)."""
    store = open_store(tmp_path / "s")
    run_id, _ = store.create_run()
    store.close()
    holder = python(
        """
        import sqlite3, sys, time
        conn = sqlite3.connect(sys.argv[1], isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        print("locked", flush=True)
        time.sleep(15)
        conn.execute("COMMIT")
        """,
        str(tmp_path / "s" / "xtrack.db"),
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    run_python(
        """
        import sys
        from jupyter_xtrack.store import BackgroundWriter, PointBuffer, open_store
        w = BackgroundWriter(open_store(sys.argv[1]), interval=0.05)
        buf = w.add_buffer(PointBuffer())
        for i in range(1000):
            buf.append((sys.argv[2], "m", float(i), i, 0.0))
        print("exiting", flush=True)
        """,
        str(tmp_path / "s"),
        run_id,
        timeout=200,
    )
    holder.communicate(timeout=60)
    with open_store(tmp_path / "s") as s:
        assert s.metric_history(run_id, "m")["value"] == [float(i) for i in range(1000)]


def test_locked_store_keeps_data_for_a_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "BUSY_TIMEOUT_S", 0.1)
    monkeypatch.setattr(connection, "WRITE_DEADLINE_S", 0.2)
    store = open_store(tmp_path / "s")
    run_id, _ = store.create_run()
    errors: list[BaseException] = []
    w = BackgroundWriter(store, interval=0.05, on_error=errors.append)
    buf = w.add_buffer(PointBuffer())
    holder = python(
        """
        import sqlite3, sys, time
        conn = sqlite3.connect(sys.argv[1], isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        print("locked", flush=True)
        time.sleep(1.5)
        conn.execute("COMMIT")
        """,
        str(store.db_path),
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    for i in range(100):
        buf.append((run_id, "m", float(i), i, 0.0))
    assert w.flush(0.5) is False
    assert errors and isinstance(errors[0], StoreError) and errors[0].retryable
    assert "locked" in str(errors[0])
    holder.communicate(timeout=30)
    assert w.flush(30) is True
    assert store.metric_history(run_id, "m")["value"] == [float(i) for i in range(100)]
    assert w.dropped_points == 0
    w.close()
    store.close()


def test_gone_store_drops_with_a_counted_message(
    tmp_path: Path, errors: list[BaseException]
) -> None:
    store = open_store(tmp_path / "s")
    run_id, _ = store.create_run()
    w = BackgroundWriter(store, interval=0.05, on_error=errors.append)
    buf = w.add_buffer(PointBuffer())
    shutil.rmtree(tmp_path / "s")
    for i in range(7):
        buf.append((run_id, "m", float(i), i, 0.0))
    assert w.flush(10) is False
    assert w.dropped_points == 7
    assert any(
        "7 metric points could not be written" in str(e) and "gone" in str(e) for e in errors
    )
    w.close()
    store.close()


def test_default_on_error_warns_once(store: Store) -> None:
    w = BackgroundWriter(store, interval=0.05)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            w.submit(lambda s: 1 / 0)
            w.flush(10)
    w.close()
    mine = [c for c in caught if "could not write to the run store" in str(c.message)]
    assert len(mine) == 1 and issubclass(mine[0].category, RuntimeWarning)
    assert w.errors == 3 and isinstance(w.last_error, ZeroDivisionError)


def test_watched_runs_get_heartbeats(
    store: Store, writer: BackgroundWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id, _ = store.create_run()
    store.heartbeat(run_id, at=1.0)
    writer.watch(run_id)
    assert writer.flush(10)
    assert store.get_run(run_id)["heartbeat_at"] > 1.0
    writer.unwatch(run_id)
    store.heartbeat(run_id, at=2.0)
    unknown = "0" * 32
    writer.watch(unknown)  # unknown runs are dropped from the watch list quietly
    monkeypatch.setattr(writer_module, "HEARTBEAT_INTERVAL_S", 0.0)
    assert writer.flush(10)
    assert store.get_run(run_id)["heartbeat_at"] == 2.0
    assert not writer.watching()


def test_a_new_run_does_not_make_every_watched_run_beat(
    store: Store, writer: BackgroundWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "HEARTBEAT_INTERVAL_S", 60.0)
    first, _ = store.create_run()
    writer.watch(first)
    assert writer.flush(10)
    store.heartbeat(first, at=1.0)
    # a Run All: a run per cell, each watched from its start, while the first one waits
    # for its finalisation (still watched)
    for _ in range(20):
        run_id, _ = store.create_run()
        writer.watch(run_id)
        assert writer.flush(10)
    assert store.get_run(first)["heartbeat_at"] == 1.0  # it beats on its interval only


def test_pending_writes_are_flushed_at_interpreter_exit(tmp_path: Path) -> None:
    root = tmp_path / "s"
    out = run_python(
        """
        import sys
        from jupyter_xtrack.store import open_store, BackgroundWriter, PointBuffer
        store = open_store(sys.argv[1])
        run_id, _ = store.create_run()
        w = BackgroundWriter(store, interval=3600)
        buf = w.add_buffer(PointBuffer())
        for i in range(500):
            buf.append((run_id, "m", float(i), i, 0.0))
        w.submit(lambda s: s.finish_run(run_id, status="finished"))
        print(run_id)
        """,
        str(root),
    )
    with open_store(root) as store:
        run_id = out.strip()
        assert len(store.metric_history(run_id, "m")["value"]) == 500
        assert store.get_run(run_id)["status"] == "finished"


def test_submit_after_close_still_writes(store: Store, errors: list[BaseException]) -> None:
    run_id, _ = store.create_run()
    w = BackgroundWriter(store, interval=0.05, on_error=errors.append)
    w.close()
    w.submit(lambda s: s.set_tags(run_id, {"late": "yes"}))
    assert store.get_run(run_id)["tags"] == {"late": "yes"}
    assert w.flush(1) is True


def test_metric_names_are_stored_as_metric_name_gives_them_asked_once_per_key(
    store: Store, errors: list[BaseException]
) -> None:
    asked: list[str] = []

    def hide(key: str) -> str:
        asked.append(key)
        return key.replace("s3cret", "[REDACTED]")

    w = BackgroundWriter(store, interval=60, on_error=errors.append, metric_name=hide)
    try:
        buf = w.add_buffer(PointBuffer())
        run_id, _ = store.create_run()
        for i in range(3):
            buf.append((run_id, "loss_s3cret", float(i), i, 0.0))
            buf.append((run_id, "tokens_per_s", float(i), i, 0.0))
            assert w.flush(10) is True
    finally:
        w.close()
    assert store.metric_keys(run_id) == ["loss_[REDACTED]", "tokens_per_s"]
    assert store.metric_history(run_id, "loss_[REDACTED]")["value"] == [0.0, 1.0, 2.0]
    assert sorted(asked) == ["loss_s3cret", "tokens_per_s"] and errors == []
