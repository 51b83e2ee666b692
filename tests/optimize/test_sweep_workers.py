"""Sweeps on Dask workers: trials run and recorded by worker processes of a real
LocalCluster (one for the module: each costs seconds), pruning through the shared study,
the sidebar's Stop, a worker killed mid-trial, the study on PostgreSQL, and `xtrack worker`
joining from a second process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import jupyter_xtrack as xt
from jupyter_xtrack.facts import CANCEL_TAG
from jupyter_xtrack.optimize.sweep import SweepError, SweepResult, sweep
from jupyter_xtrack.store import open_store
from jupyter_xtrack.store.liveness import this_host
from tests.optimize.conftest import joiner_env

distributed = pytest.importorskip("distributed", reason="pip install 'jupyter_xtrack[teams]'")
pytestmark = pytest.mark.slow




def steady(x: float, y: float) -> float:
    """Logs its value at four steps (the pruner's intermediate values), returns it."""
    for step in range(4):
        xt.log(score=x + y, step=step)
        time.sleep(0.02)
    return x + y


def slow(x: float) -> float:
    """Forty reports over about two seconds: a stop reaches it mid-trial."""
    for step in range(40):
        xt.log(score=x, step=step)
        time.sleep(0.05)
    return x


def paced(x: float, joined: str) -> float:
    """On a Dask worker, waits until a trial ran in `xtrack worker` (the file `joined`
    exists), so that the joiner finds trials to run however long it takes to start."""
    try:
        distributed.get_worker()
    except ValueError:
        Path(joined).touch()
    else:
        deadline = time.monotonic() + 120
        while not os.path.exists(joined) and time.monotonic() < deadline:
            time.sleep(0.1)
    for step in range(40):
        xt.log(score=x, step=step)
        time.sleep(0.05)
    return x


def dies_once(x: float, marker: str) -> float:
    """Kills its own worker process in the first trial that starts (the one that creates the
    marker file)."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return x
    os.kill(os.getpid(), signal.SIGKILL)
    return x


def _trial_runs(result: SweepResult) -> list[dict[str, Any]]:
    xt.flush()
    store = open_store(os.environ["XTRACK_STORE"])
    rows = store.query_runs(f"parent_id = '{result.run_id}'").to_frame()
    return [store.get_run(run_id) for run_id in rows["id"]]


def test_trials_are_child_runs_written_by_the_worker_processes(
    store_dir: Path, client: Any
) -> None:
    result = sweep(
        steady,
        "x=uniform(0, 1); y=uniform(0, 1)",
        trials=6,
        metric="score",
        seed=0,
        show=False,
        workers=client,
    )
    assert isinstance(result, SweepResult) and result.state == "finished"
    assert [t.state for t in result.trials] == ["complete"] * 6
    runs = _trial_runs(result)
    assert len(runs) == 6
    workers = set(client.scheduler_info()["workers"])
    for run in runs:
        assert run["kind"] == "trial" and run["status"] == "finished"
        assert run["pid"] != os.getpid()  # written by the worker process itself
        assert run["host"] == this_host()
        assert run["tags"]["xtrack.worker"] in workers
        assert run["metrics"]["score"] == pytest.approx(run["params"]["x"] + run["params"]["y"])
    assert len({r["pid"] for r in runs}) == 2  # both workers ran trials
    by_run = {t.run_id: t.value for t in result.trials}
    assert {r["id"]: r["metrics"]["score"] for r in runs} == pytest.approx(by_run)
    # The sweep run keeps its plan, which `xtrack worker` joins from.
    store = open_store(store_dir)
    assert [a["name"] for a in store.artifacts(result.run_id)] == ["xtrack-sweep-plan.pkl"]
    assert result.best is not None and result.best.value == max(t.value for t in result.trials)


@pytest.mark.parametrize("pruner", ["median", "asha"])
def test_pruning_compares_trials_of_every_worker(store_dir: Path, client: Any, pruner: str) -> None:
    result = sweep(
        steady,
        "x=uniform(0, 1); y=uniform(0, 1)",
        trials=16,
        metric="score",
        pruner=pruner,
        sampler="random",
        seed=1,
        show=False,
        workers=client,
    )
    assert isinstance(result, SweepResult)
    states = [t.state for t in result.trials]
    assert "pruned" in states and "complete" in states
    study = result.study()
    # Each pruned trial reported intermediate values to the shared study, and was compared
    # with trials that other worker processes ran.
    runs = {r["id"]: r for r in _trial_runs(result)}
    for t in result.trials:
        frozen = study.trials[t.number]
        assert frozen.intermediate_values, t
        assert runs[t.run_id]["tags"]["xtrack.trial.state"] == t.state
    pruned_pids = {runs[t.run_id]["pid"] for t in result.trials if t.state == "pruned"}
    all_pids = {r["pid"] for r in runs.values()}
    assert len(all_pids) == 2 and pruned_pids <= all_pids


def test_the_sidebar_stop_stops_every_worker_and_keeps_finished_trials(
    store_dir: Path, client: Any
) -> None:
    job = sweep(
        slow,
        "x=uniform(0, 1)",
        trials=40,
        metric="score",
        seed=0,
        show=False,
        workers=client,
        background=True,
    )
    store = open_store(store_dir)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (
            job.run_id
            and len(
                store.query_runs(
                    f"parent_id = '{job.run_id}' and tags.xtrack.trial.state = 'complete'"
                )
            )
            >= 2
        ):
            break
        time.sleep(0.2)
    assert job.run_id is not None
    store.set_tags(job.run_id, {CANCEL_TAG: "1"})  # what the server's Stop does
    assert job.wait(120)
    assert job.status == "cancelled"
    result = job.result()
    xt.flush()
    states = [t.state for t in result.trials]
    assert states.count("complete") >= 2
    assert "interrupted" in states
    assert len(result.trials) < 40
    runs = store.query_runs(f"parent_id = '{job.run_id}'").to_frame()
    assert "running" not in set(runs["status"])
    assert set(runs["status"]) <= {"finished", "interrupted"}
    study = result.study()
    assert not [t for t in study.trials if t.state.name == "RUNNING"]
    assert store.get_run(job.run_id)["tags"]["xtrack.sweep.state"] == "cancelled"


def test_a_killed_worker_leaves_its_trial_crashed_and_the_sweep_goes_on(
    store_dir: Path, client: Any, tmp_path: Path
) -> None:
    marker = str(tmp_path / "died")
    result = sweep(
        lambda x: dies_once(x, marker),
        "x=uniform(0, 1)",
        trials=4,
        seed=0,
        show=False,
        workers=client,
    )
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed process
    assert isinstance(result, SweepResult) and result.state == "finished"
    assert Path(marker).exists()
    states = sorted(t.state for t in result.trials)
    assert states == ["complete"] * 4 + ["crashed"]
    crashed = next(t for t in result.trials if t.state == "crashed")
    frozen = result.study().trials[crashed.number]
    assert frozen.state.name == "FAIL" and frozen.user_attrs["xtrack_state"] == "crashed"
    run = open_store(store_dir).get_run(crashed.run_id)
    assert run["status"] == "crashed"
    assert run["tags"]["xtrack.trial.state"] == "crashed"


def test_a_cell_ships_only_the_variables_it_reads(shell: Any, client: Any) -> None:
    import threading

    shell.user_ns.update(offset=10.0, scale=lambda v: v * 2, lock=threading.Lock())
    body = "x = 1.0\nscore = scale(x) + offset\nxt.log(score=score)\n"
    shell.user_ns["client"] = client
    result = sweep(body, "x=uniform(0, 1)", trials=3, metric="score", show=False, workers=client)
    assert isinstance(result, SweepResult)
    assert [t.state for t in result.trials] == ["complete"] * 3
    for t in result.trials:
        assert t.value == pytest.approx(t.params["x"] * 2 + 10.0)
    with pytest.raises(SweepError, match="'lock'.*cannot be sent to the workers"):
        sweep(
            "x = 1\nwith lock:\n    score = x\n",
            "x=uniform(0, 1)",
            trials=1,
            show=False,
            workers=client,
        )


def test_the_study_lives_in_postgresql_apart_from_our_tables(
    store_dir: Path, client: Any, pg_url: str
) -> None:
    import psycopg

    result = sweep(
        steady,
        "x=uniform(0, 1); y=uniform(0, 1)",
        trials=6,
        metric="score",
        pruner="median",
        seed=0,
        show=False,
        workers=client,
        storage=pg_url,
    )
    assert isinstance(result, SweepResult)
    assert len(result.trials) == 6 and {t.state for t in result.trials} <= {"complete", "pruned"}
    with psycopg.connect(pg_url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_name IN ('studies', 'trials')"
        ).fetchall()
        assert sorted(tables) == [("optuna", "studies"), ("optuna", "trials")]
        values = conn.execute("SELECT count(*) FROM optuna.trial_intermediate_values").fetchone()
        assert values is not None and values[0] >= 6 * 1
    assert result.study().trials[0].params == result.trials[0].params
    assert len(_trial_runs(result)) == 6  # the runs stay in the (SQLite) run store


def joinable_sweep(store_dir: Path, client: Any, tmp_path: Path, *, trials: int) -> Any:
    """A background sweep on `client` whose plan is stored, so `xtrack worker` can join it:
    (its job, the store)."""
    joined = str(tmp_path / "joined")
    job = sweep(
        lambda x: paced(x, joined),
        "x=uniform(0, 1)",
        trials=trials,
        metric="score",
        seed=0,
        show=False,
        workers=client,
        background=True,
    )
    store = open_store(store_dir)
    deadline = time.monotonic() + 60
    while job.run_id is None or not store.artifacts(job.run_id):
        assert time.monotonic() < deadline and not job.done()
        time.sleep(0.1)
    return job, store


def test_xtrack_worker_joins_a_running_sweep_from_another_process(
    store_dir: Path, client: Any, tmp_path: Path
) -> None:
    job, store = joinable_sweep(store_dir, client, tmp_path, trials=12)
    number = store.get_run(job.run_id)["number"]
    joiner = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_xtrack.cli",
            "worker",
            str(number),
            "--store",
            str(store_dir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=joiner_env(),
    )
    assert joiner.returncode == 0, joiner.stderr
    result = job.result(timeout=300)
    xt.flush()
    assert job.status == "finished"
    assert len(result.trials) == 12
    assert [t.state for t in result.trials] == ["complete"] * 12
    runs = store.query_runs(f"parent_id = '{job.run_id}'").to_frame()
    assert len(runs) == 12
    joined = runs[~runs["tags.xtrack.worker"].str.startswith("tcp://")]
    assert len(joined) >= 1, joiner.stdout
    (name,) = set(joined["tags.xtrack.worker"])
    assert name.startswith(f"{this_host()}:")
    pid = int(name.rpartition(":")[2])
    assert {store.get_run(i)["pid"] for i in joined["id"]} == {pid}
    assert pid != os.getpid()
    assert "complete" in joiner.stdout


def test_a_killed_xtrack_worker_leaves_its_trial_crashed(
    store_dir: Path, client: Any, tmp_path: Path
) -> None:
    job, store = joinable_sweep(store_dir, client, tmp_path, trials=8)
    joiner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_xtrack.cli",
            "worker",
            job.run_id,
            "--store",
            str(store_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=joiner_env(),
    )
    name = f"{this_host()}:{joiner.pid}"
    deadline = time.monotonic() + 120
    while not (tmp_path / "joined").exists():  # made by the joiner's first trial, mid-run
        assert time.monotonic() < deadline and joiner.poll() is None, joiner.communicate()
        time.sleep(0.05)
    joiner.kill()
    joiner.wait()
    result = job.result(timeout=300)
    xt.flush()
    assert job.status == "finished"
    crashed = [t for t in result.trials if t.state == "crashed"]
    assert len(crashed) == 1
    run = store.get_run(crashed[0].run_id)
    assert run["status"] == "crashed" and run["tags"]["xtrack.worker"] == name
    assert result.study().trials[crashed[0].number].state.name == "FAIL"
    assert sorted(t.state for t in result.trials) == ["complete"] * 8 + ["crashed"]


def test_on_a_postgresql_store_the_study_and_the_trials_live_in_that_database(
    workdir: Path, client: Any, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from jupyter_xtrack.tracking.session import CONTEXT

    blobs = workdir / "blobs"
    monkeypatch.setenv("XTRACK_STORE", pg_url)
    monkeypatch.setenv("XTRACK_ARTIFACTS", blobs.as_uri())
    xt.flush()
    CONTEXT.reset()
    try:
        result = sweep(
            steady,
            "x=uniform(0, 1); y=uniform(0, 1)",
            trials=4,
            metric="score",
            pruner="median",
            seed=0,
            show=False,
            workers=client,
        )
        xt.flush()
    finally:
        CONTEXT.reset()
    assert isinstance(result, SweepResult) and len(result.trials) == 4
    assert result.storage_path == pg_url  # no journal file: the study is in the database
    with open_store(pg_url, artifacts=blobs.as_uri()) as store:
        runs = store.query_runs(f"parent_id = '{result.run_id}'").to_frame()
        assert len(runs) == 4
        assert {store.get_run(i)["pid"] for i in runs["id"]} - {os.getpid()}
    with psycopg.connect(pg_url) as conn:
        # Each worker's loop may ask for one trial more than the sweep wants, when another
        # asked meanwhile: told FAIL, marked surplus, never run.
        (count,) = conn.execute(
            "SELECT count(*) FROM optuna.trials t WHERE NOT EXISTS (SELECT 1 FROM "
            "optuna.trial_user_attributes a WHERE a.trial_id = t.trial_id "
            "AND a.key = 'xtrack_state' AND a.value_json = '\"surplus\"')"
        ).fetchone() or (0,)
    assert count == 4


def test_a_cancel_tag_stops_a_sweep_in_the_foreground(store_dir: Path, client: Any) -> None:
    import threading

    store = open_store(store_dir)

    def press_stop() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = store.query_runs("kind = 'trial' and status = 'finished'")
            if len(done) >= 2:
                store.set_tags(
                    store.get_run(done.to_frame()["id"].iloc[0])["parent_id"], {CANCEL_TAG: "1"}
                )
                return
            time.sleep(0.2)

    presser = threading.Thread(target=press_stop)
    presser.start()
    result = sweep(
        slow, "x=uniform(0, 1)", trials=40, metric="score", seed=0, show=False, workers=client
    )
    presser.join()
    assert isinstance(result, SweepResult) and result.state == "interrupted"
    states = [t.state for t in result.trials]
    assert states.count("complete") >= 2 and len(states) < 40
    assert set(states) <= {"complete", "interrupted"}
