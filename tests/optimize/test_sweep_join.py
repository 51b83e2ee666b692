"""`xtrack worker` joining a sweep that runs in the kernel (started without workers): the
kernel hands its plan over between two trials when a worker asks, the sweep's number counts
every process's trials, the joiner's trials are child runs it writes itself; a sweep that
ended, or whose objective cannot leave the process, says so to the joiner."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import optuna
import pytest

import jupyter_xtrack as xt
from jupyter_xtrack.optimize.sweep import sweep
from jupyter_xtrack.optimize.sweep.plan import JOIN_TAG
from jupyter_xtrack.optimize.sweep.remote import counts
from jupyter_xtrack.store import open_store
from jupyter_xtrack.store.liveness import this_host
from tests.optimize.conftest import joiner_env

WAIT_S = 120.0


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def gated(x: float, folder: str, kernel_pid: int, calls: list[int]) -> float:
    """In the kernel: the first trial waits until a joiner asked for the plan (the file
    `asked`), later ones until a joiner ran a trial (`joined`), so that however slowly the
    joiner starts, the sweep is still running when it asks and leaves it trials to run.
    In the joiner: marks `joined`."""
    here = Path(folder)
    if os.getpid() != kernel_pid:
        (here / "joined").touch()
    else:
        calls.append(1)
        _wait_for(here / ("asked" if len(calls) == 1 else "joined"))
    time.sleep(0.05)
    return x


def joiner(store_dir: Path, ref: str, *more: str) -> subprocess.Popen[str]:
    """`xtrack worker REF --store STORE_DIR ...` in a process of its own; the tests' module
    (the objectives) importable there as a user's module would be."""
    return subprocess.Popen(
        [sys.executable, "-m", "jupyter_xtrack.cli", "worker", ref, "--store", str(store_dir), *more],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=joiner_env(),
    )


def started(job: Any) -> str:
    """The sweep run's id, once the sweep's run is in the store."""
    deadline = time.monotonic() + WAIT_S
    while job.run_id is None:
        assert time.monotonic() < deadline and not job.done()
        time.sleep(0.02)
    xt.flush()
    return str(job.run_id)


def test_xtrack_worker_joins_a_sweep_in_the_kernel(store_dir: Path, tmp_path: Path) -> None:
    calls: list[int] = []
    pid = os.getpid()
    job = sweep(
        lambda x: gated(x, str(tmp_path), pid, calls),
        "x=uniform(0, 1)",
        trials=10,
        metric="score",
        sampler="random",
        seed=0,
        show=False,
        background=True,
    )
    run_id = started(job)
    store = open_store(store_dir)
    worker = joiner(store_dir, run_id, "--seed", "7")
    assert worker.stdout is not None
    first = worker.stdout.readline()
    assert "asked sweep" in first and "hands it over after its current trial" in first, (
        first + worker.communicate()[1]
    )
    assert store.get_tag(run_id, JOIN_TAG) == f"{this_host()}:{worker.pid}"
    (tmp_path / "asked").touch()
    out, err = worker.communicate(timeout=WAIT_S)
    assert worker.returncode == 0, err
    result = job.result(timeout=WAIT_S)
    xt.flush()

    assert job.status == "finished"
    # The sweep's number counts the joiner's trials: ten in all, not ten in the kernel.
    assert len(result.trials) == 10
    assert [t.state for t in result.trials] == ["complete"] * 10
    study = result.study()
    assert sum(1 for t in study.trials if counts(t)) == 10
    runs = store.query_runs(f"parent_id = '{run_id}'").to_frame()
    assert len(runs) == 10 and set(runs["status"]) == {"finished"}
    name = f"{this_host()}:{worker.pid}"
    theirs = runs[runs["tags.xtrack.worker"].fillna("") == name]
    assert len(theirs) >= 1, out
    assert {store.get_run(i)["pid"] for i in theirs["id"]} == {worker.pid}
    assert {store.get_run(i)["pid"] for i in runs["id"]} == {worker.pid, pid}
    assert f"joined sweep {result.name}" in out and "complete" in out
    # The joiner sampled with its own seed: its first trial is a fresh sampler's first draw.
    mine = sorted((t for t in study.trials if t.number in set(theirs["tags.xtrack.trial.number"].astype(int))),
                  key=lambda t: t.number)
    fresh = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=7))
    expected = fresh.ask({"x": optuna.distributions.FloatDistribution(0, 1)}).params["x"]
    assert mine[0].params["x"] == expected


def test_joining_a_sweep_that_ended_says_so(store_dir: Path) -> None:
    result = sweep(lambda x: x, "x=uniform(0, 1)", trials=2, show=False)
    xt.flush()
    worker = joiner(store_dir, str(result.run_id))
    out, err = worker.communicate(timeout=WAIT_S)
    assert worker.returncode != 0
    assert "has ended: there is nothing to join" in err, out + err
    assert len(result.study().trials) == 2


def test_an_objective_that_cannot_leave_the_kernel_is_refused_and_the_sweep_goes_on(
    store_dir: Path,
) -> None:
    # Held by the objective: locks, which nothing can pickle. The first trial waits for
    # `release`, the others for `finish`, so the sweep runs until the test is done.
    release, finish = threading.Event(), threading.Event()
    calls: list[int] = []

    def objective(x: float) -> float:
        calls.append(1)
        (release if len(calls) == 1 else finish).wait(WAIT_S)
        return x

    job = sweep(objective, "x=uniform(0, 1)", trials=3, show=False, background=True)
    run_id = started(job)
    store = open_store(store_dir)
    refusal = f"sweep #{store.get_run(run_id)['number']} cannot be joined: its objective cannot be sent"
    try:
        worker = joiner(store_dir, run_id)
        deadline = time.monotonic() + WAIT_S
        while store.get_tag(run_id, JOIN_TAG) is None:  # the joiner asked
            assert time.monotonic() < deadline and worker.poll() is None, worker.communicate()
            time.sleep(0.02)
        release.set()  # the kernel's first trial ends: it answers between two trials
        out, err = worker.communicate(timeout=WAIT_S)
        assert worker.returncode != 0
        assert refusal in err and "lock" in err, out + err
        # A later worker is told at once, not left waiting for an answer that never comes.
        later = joiner(store_dir, run_id)
        out, err = later.communicate(timeout=WAIT_S)
        assert later.returncode != 0 and refusal in err, out + err
        assert not job.done()
    finally:
        release.set()
        finish.set()
    result = job.result(timeout=WAIT_S)
    assert job.status == "finished"
    assert [t.state for t in result.trials] == ["complete"] * 3


SWEEP_CELL = """%%track --sweep "x=uniform(0, 1)" --trials 6 --metric score
import os, pathlib, time
x = 0.1
if os.getpid() != kernel_pid:
    (pathlib.Path(folder) / "joined").touch()
else:
    calls.append(1)
    gate = pathlib.Path(folder) / ("asked" if len(calls) == 1 else "joined")
    t0 = time.monotonic()
    while not gate.exists() and time.monotonic() - t0 < 120:
        time.sleep(0.02)
score = x + offset
xt.log(score=score)
"""


def test_a_joiner_runs_a_notebook_cells_sweep_with_the_variables_it_reads(tmp_path: Path) -> None:
    from jupyter_client.manager import start_new_kernel

    store_dir = tmp_path / "store"
    env = {**os.environ, "XTRACK_STORE": str(store_dir)}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env)
    try:
        kc.execute_interactive("%load_ext jupyter_xtrack", timeout=60)
        kc.execute_interactive(
            f"import os\nkernel_pid = os.getpid()\nfolder = {str(tmp_path)!r}\ncalls = []\n"
            "offset = 0.5",
            timeout=60,
        )
        msg_id = kc.execute(SWEEP_CELL)
        deadline = time.monotonic() + WAIT_S
        sweeps: Any = []
        while not len(sweeps):
            assert time.monotonic() < deadline
            time.sleep(0.1)
            if (store_dir / "xtrack.db").exists():
                sweeps = open_store(store_dir).query_runs("kind = 'sweep'").to_frame()
        sweep_id = str(sweeps["id"].iloc[0])
        worker = joiner(store_dir, sweep_id)
        assert worker.stdout is not None
        assert "asked sweep" in worker.stdout.readline(), worker.communicate()
        (tmp_path / "asked").touch()
        out, err = worker.communicate(timeout=WAIT_S)
        assert worker.returncode == 0, err
        while kc.get_shell_msg(timeout=WAIT_S)["parent_header"].get("msg_id") != msg_id:
            pass
        kc.execute_interactive("xt.flush()", timeout=60)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    store = open_store(store_dir)
    sweep_run = store.get_run(sweep_id)
    assert sweep_run["status"] == "finished"
    trials = [store.get_run(i) for i in store.query_runs(f"parent_id = '{sweep_id}'").to_frame()["id"]]
    assert len(trials) == 6
    theirs = [t for t in trials if t["pid"] == worker.pid]
    assert theirs, out
    for trial in trials:
        assert trial["status"] == "finished"
        assert trial["metrics"]["score"] == pytest.approx(trial["params"]["x"] + 0.5)
        assert trial["cell_id"] == sweep_run["cell_id"]
        assert trial["facts"]["code"] == sweep_run["facts"]["code"]  # the sweep cell's context
    assert {t["tags"].get("xtrack.worker") for t in theirs} == {f"{this_host()}:{worker.pid}"}
