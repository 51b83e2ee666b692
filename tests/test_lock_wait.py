"""R3: processes that track runs into one store at once lose nothing. A run whose store is
locked by another process waits for the lock (its points held by the writer) instead of
running untracked; every run ends `finished` with every point it logged."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from jupyter_xtrack.facts import Fact
from jupyter_xtrack.store import open_store

PROCESSES = 32
POINTS = 10_000

WORKER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    import jupyter_xtrack as xt
    xt.open_store()                       # opened before the start, like a warm kernel
    here = Path(sys.argv[1])
    (here / f"ready-{sys.argv[2]}").touch()
    while not (here / "go").exists():     # all start together
        time.sleep(0.01)
    with xt.start_run(name=f"worker-{sys.argv[2]}"):
        for i in range(int(sys.argv[3])):
            xt.log(x=i, step=i)
""")


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_many_processes_into_one_store_lose_no_run_and_no_point(tmp_path: Path) -> None:
    store_root = tmp_path / "store"
    open_store(store_root).close()
    env = {
        **os.environ,
        "XTRACK_STORE": str(store_root),
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
        ),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path), str(n), str(POINTS)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    try:
        while len(list(tmp_path.glob("ready-*"))) < PROCESSES:  # the barrier
            assert all(p.poll() is None for p in procs), _stderr_of_failed(procs)
            time.sleep(0.1)
        (tmp_path / "go").touch()
        results = [p.communicate(timeout=900) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert "untracked" not in err and "dropped" not in err, err
    with open_store(store_root) as store:
        table = store.query_runs(limit=None, columns=[])
        runs = dict(zip(table.columns["name"], table.columns["id"], strict=True))
        statuses = set(table.columns["status"])
        assert len(runs) == PROCESSES and statuses == {"finished"}, statuses
        for name, run_id in runs.items():
            history = store.metric_history(run_id, "x")
            assert history["value"] == [float(i) for i in range(POINTS)], name
            assert store.get_run(run_id).get(Fact.NOT_STORED) is None, name


def _stderr_of_failed(procs: list[subprocess.Popen[str]]) -> str:
    return "\n".join(p.communicate()[1] for p in procs if p.poll() is not None)
