"""`%%track --sweep ... --workers 2` in real kernels: the cell's trials run on a local Dask
cluster the kernel starts, with only the notebook variables the cell reads; Ctrl-C (a
kernel interrupt) stops every worker and keeps the finished trials."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from nbclient import NotebookClient

from jupyter_xtrack.store import open_store
from tests.conftest import python_notebook

pytest.importorskip("distributed", reason="pip install 'jupyter_xtrack[teams]'")
pytestmark = pytest.mark.slow


def _trials(store_dir: Path, parent_id: str) -> list[dict[str, object]]:
    store = open_store(store_dir)
    frame = store.query_runs(f"parent_id = '{parent_id}'").to_frame()
    return [store.get_run(run_id) for run_id in frame["id"]]


def test_a_cell_sweeps_on_two_local_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_dir = tmp_path / "store"
    monkeypatch.setenv("XTRACK_STORE", str(store_dir))
    nb = python_notebook(
        "%load_ext jupyter_xtrack",
        "import threading\noffset = 0.5\nlock = threading.Lock()",
        '%%track --sweep "x=uniform(0, 1)" --trials 4 --metric score --workers 2\n'
        "x = 0.1\nscore = x + offset\nxt.log(score=score)",
        '%%track --sweep "x=uniform(0, 1)" --trials 2 --workers 2\nx = 0.1\nwith lock:\n    x',
        "xt.flush()",
    )
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    refused = "".join(o.get("text", "") + o.get("evalue", "") for o in nb.cells[3].outputs)
    assert "UsageError" in refused
    assert "the notebook variable 'lock'" in refused and "cannot be sent" in refused
    store = open_store(store_dir)
    sweeps = store.query_runs("kind = 'sweep'").to_frame()
    assert len(sweeps) == 1  # the refused sweep never started
    sweep = store.get_run(sweeps["id"].iloc[0])
    assert sweep["status"] == "finished"
    trials = _trials(store_dir, sweep["id"])
    assert len(trials) == 4
    for trial in trials:
        assert trial["status"] == "finished"
        assert trial["pid"] != sweep["pid"]  # each written by its worker process
        assert str(trial["tags"]["xtrack.worker"]).startswith("tcp://127.0.0.1:")
        assert trial["metrics"]["score"] == pytest.approx(trial["params"]["x"] + 0.5)
        assert trial["cell_id"] == sweep["cell_id"]
        assert trial["facts"]["code"] == sweep["facts"]["code"]  # the parent's context


def test_ctrl_c_stops_every_worker_and_keeps_finished_trials(tmp_path: Path) -> None:
    from jupyter_client.manager import start_new_kernel

    store_dir = tmp_path / "store"
    env = {**os.environ, "XTRACK_STORE": str(store_dir)}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:
        kc.execute_interactive("%load_ext jupyter_xtrack", timeout=60)
        msg_id = kc.execute(
            '%%track --sweep "x=uniform(0, 1)" --trials 40 --metric score --workers 2\n'
            "import time\nx = 0.5\n"
            "for step in range(40):\n    xt.log(score=x, step=step)\n    time.sleep(0.05)\n"
        )
        deadline = time.monotonic() + 180
        finished = 0
        while time.monotonic() < deadline and finished < 2:
            time.sleep(0.3)
            if (store_dir / "xtrack.db").exists():
                finished = len(
                    open_store(store_dir).query_runs("kind = 'trial' and status = 'finished'")
                )
        assert finished >= 2
        km.interrupt_kernel()
        while True:
            reply = kc.get_shell_msg(timeout=120)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        kc.execute_interactive("xt.flush()", timeout=60)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    store = open_store(store_dir)
    sweep = store.get_run(store.query_runs("kind = 'sweep'").to_frame()["id"].iloc[0])
    assert sweep["status"] == "interrupted"
    assert sweep["tags"]["xtrack.sweep.state"] == "interrupted"
    trials = _trials(store_dir, sweep["id"])
    statuses = [t["status"] for t in trials]
    assert statuses.count("finished") >= 2
    assert "interrupted" in statuses
    assert set(statuses) <= {"finished", "interrupted"}  # none left running
    assert len(trials) < 40  # no new trial started after the stop
    import optuna

    from jupyter_xtrack.optimize.sweep.storage import open_storage

    study = optuna.load_study(
        study_name=str(sweep["tags"]["xtrack.sweep.study"]), storage=open_storage(str(store_dir))
    )
    assert not [t for t in study.trials if t.state.name == "RUNNING"]
