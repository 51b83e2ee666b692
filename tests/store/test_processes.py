"""Several processes on one store, and runs whose process died."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

from jupyter_xtrack.store import Store, open_store

from .conftest import python

WRITER = """
    import sys, time, pathlib
    from jupyter_xtrack.store import open_store
    root, go, k = sys.argv[1], pathlib.Path(sys.argv[2]), int(sys.argv[3])
    store = open_store(root)
    while not go.exists():
        time.sleep(0.001)
    run_id, number = store.create_run(name=f"proc-{k}")
    store.set_params(run_id, {"k": k})
    for batch in range(10):
        now = time.time()
        store.log_metrics(
            [(run_id, "loss", float(batch * 1000 + i), batch * 1000 + i, now) for i in range(1000)]
        )
    store.finish_run(run_id, status="finished")
    print(run_id)
"""


def test_eight_processes_write_one_store(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    open_store(root).close()
    go = tmp_path / "go"
    procs = [python(WRITER, str(root), str(go), str(k)) for k in range(8)]
    time.sleep(0.5)  # let them all open the store
    go.touch()
    ids = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert err == ""
        ids.append(out.strip())
    with open_store(root) as store:
        table = store.query_runs(order_by="number")
        assert sorted(table.ids) == sorted(ids)
        assert table.columns["number"] == list(range(1, 9))
        assert sorted(table.columns["params.k"]) == list(range(8))
        assert set(table.columns["status"]) == {"finished"}
        for run_id in ids:
            hist = store.metric_history(run_id, "loss")
            assert hist["value"] == [float(i) for i in range(10_000)]
        assert set(table.columns["metrics.loss"]) == {9999.0}
    conn = sqlite3.connect(root / "xtrack.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


OWNER = """
    import sys, time, warnings
    from jupyter_xtrack.store import open_store
    warnings.simplefilter("ignore")
    store = open_store(sys.argv[1])
    run_id, _ = store.create_run(name="doomed")
    print(run_id, flush=True)
    time.sleep(600)
"""


def test_sigkilled_process_run_becomes_crashed(store: Store, store_location: str) -> None:
    proc = python(OWNER, store_location)
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    mine, _ = store.create_run(name="alive")
    assert store.reconcile() == []
    os.kill(proc.pid, signal.SIGKILL)
    try:
        # Not reaped yet: the child is a zombie, which must count as dead too.
        deadline = time.time() + 10
        while time.time() < deadline and store.get_run(run_id)["status"] == "running":
            time.sleep(0.05)
        run = store.get_run(run_id)
        assert run["status"] == "crashed"
        assert run["ended_at"] is not None and run["duration_s"] >= 0
        assert store.get_run(mine)["status"] == "running"
        assert store.reconcile() == []
    finally:
        proc.wait()
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()


def test_recycled_pid_and_stale_remote_heartbeat(store: Store) -> None:
    recycled, _ = store.create_run()
    remote_stale, _ = store.create_run()
    remote_fresh, _ = store.create_run()
    conn = store._conn()
    # Our own pid, but "started" long before this process: a recycled pid.
    conn.execute("UPDATE runs SET pid_started_at = 1000.0 WHERE id = ?", (recycled,))
    conn.execute(
        "UPDATE runs SET host = 'elsewhere', heartbeat_at = ? WHERE id = ?",
        (time.time() - 120, remote_stale),
    )
    conn.execute(
        "UPDATE runs SET host = 'elsewhere', heartbeat_at = ? WHERE id = ?",
        (time.time(), remote_fresh),
    )
    assert sorted(store.reconcile()) == sorted([recycled, remote_stale])
    statuses = dict(zip(store.query_runs().ids, store.query_runs().columns["status"], strict=True))
    assert statuses == {recycled: "crashed", remote_stale: "crashed", remote_fresh: "running"}
