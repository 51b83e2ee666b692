"""AutoML with its candidates on Dask workers (`automl(..., workers=...)`), on a real local
cluster of two worker processes: where candidates ran, the result's shape against the
in-kernel search, a candidate that fails on its worker, a worker that dies, and the
budget's end cancelling candidates still running."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import jupyter_xtrack as xt
from jupyter_xtrack.optimize.automl import AutoMLResult, automl
from jupyter_xtrack.optimize.baselines import BASELINES

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """Two single-threaded worker processes, shared by the module: a cluster takes seconds
    to start on a busy machine."""
    from jupyter_xtrack.optimize.cluster import dask_client

    dask, close = dask_client(2)
    dask.wait_for_workers(2, timeout=120)
    dask.run(_import_families)  # seconds in a fresh process on a busy machine: not in a budget
    yield dask
    close()


@pytest.fixture
def broken(client: Any) -> Iterator[Any]:
    """`broken(family, how, marker)` changes how a scikit-learn family builds its model in
    every worker process; the families are restored after the test."""

    def apply(family: str, how: str, marker: str = "") -> None:
        client.run(_break_family, family, how, marker)

    yield apply
    client.run(_restore_families)


def _break_family(name: str, how: str, marker: str) -> None:
    """Run in each worker: family `name` raises when it builds its model (how="raise"),
    sleeps 4 s before building it ("slow"), or kills its worker process, once across the
    cluster (the first to create `marker` writes its address there and dies) ("kill")."""
    import dataclasses
    import os
    import signal
    import time

    from distributed import get_worker

    from jupyter_xtrack.optimize.models import sklearn_models

    table = sklearn_models.SKLEARN
    i = next(i for i, f in enumerate(table) if f.name == name)
    original = table[i]

    def build(params: dict[str, Any], task: str, seed: int, device: str) -> Any:
        if how == "raise":
            raise RuntimeError("broken on purpose on this worker")
        if how == "slow":
            time.sleep(4.0)
        if how == "kill":
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return original.build(params, task, seed, device)
            os.write(fd, get_worker().address.encode())
            os.close(fd)
            time.sleep(1.5)  # dies while running, as a worker out of memory would
            os.kill(os.getpid(), signal.SIGKILL)
        return original.build(params, task, seed, device)

    table[i] = dataclasses.replace(original, build=build)


def _import_families() -> None:
    from jupyter_xtrack.optimize.models import families

    families("binary", 500)


def _restore_families() -> None:
    import importlib

    from jupyter_xtrack.optimize.models import sklearn_models

    importlib.reload(sklearn_models)


def _cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


def _scatters(client: Any) -> list[dict[str, Any]]:
    return [msg for _, msg in client.get_events(client.id) if msg.get("action") == "scatter"]


def _worker_tags(result: AutoMLResult) -> list[dict[str, str]]:
    """The tags of the candidates that came back from a worker (done, failed or out of time)."""
    tags = [xt.get_run(c.run_id).tags for c in result.candidates if c.run_id]
    return [t for t in tags if "xtrack.worker.pid" in t]


def _no_start_after_the_end(result: AutoMLResult) -> None:
    """No candidate began on a worker after the budget's end (the search's clock starts
    before its parent run, so the parent's start plus the budget is a later bound)."""
    parent = xt.get_run(result.run_id)
    assert parent.started_at is not None
    end = parent.started_at.timestamp() + result.budget_s
    starts = [float(t["xtrack.worker.started_at"]) for t in _worker_tags(result)]
    assert starts and all(s <= end for s in starts)


def test_candidates_run_on_the_workers_and_the_result_has_the_in_kernel_shape(
    store_dir: Path, client: Any
) -> None:
    here = automl(_cancer(), target="target", time_budget=4, seed=1, show=False)
    scattered = len(_scatters(client))
    there = automl(_cancer(), target="target", time_budget=12, seed=1, show=False, workers=client)
    assert isinstance(here, AutoMLResult) and isinstance(there, AutoMLResult)
    assert there.state == "finished" and there.task == here.task and there.metric == here.metric
    # The data went out once (broadcast to both workers), not once per candidate.
    new = _scatters(client)[scattered:]
    assert len(new) == 1 and new[0]["count"] == 1
    board, local = there.leaderboard, here.leaderboard
    assert list(board.columns) == list(local.columns)
    assert set(BASELINES) <= set(board["candidate"])
    done = board[(board["kind"] == "model") & (board["status"] == "complete")]
    assert len(done) >= 1 and done["cv_score"].max() > 0.95
    xt.flush()
    runs = xt.runs()
    children = runs[runs["parent_id"] == there.run_id]
    assert set(children["id"]) == set(board["run_id"].dropna())
    # Every model candidate ran on a worker of this cluster, and on both of them.
    tags = _worker_tags(there)
    back = [c for c in there.candidates if c.kind == "model" and c.status != "skipped"]
    assert len(tags) >= len(back)  # all but those cancelled at the budget's end came back
    assert {t["xtrack.worker"] for t in tags} <= set(client.nthreads())
    assert len({t["xtrack.worker.pid"] for t in tags}) == 2
    # A candidate's run holds what an in-kernel candidate's does.
    one = xt.get_run(done.iloc[0]["run_id"])
    twin = xt.get_run(local[local["kind"] == "model"].iloc[0]["run_id"])
    assert set(twin.metrics) <= set(one.metrics)
    assert one.params["family"] == done.iloc[0]["family"]
    parent, parent_here = xt.get_run(there.run_id), xt.get_run(here.run_id)
    assert set(parent.params) == set(parent_here.params)
    assert set(parent_here.metrics) <= set(parent.metrics)
    assert [a["name"] for a in parent.artifacts] == ["model.pkl"]
    stored = pickle.loads(parent.artifact_bytes("model.pkl"))
    X = _cancer().drop(columns="target").head(20)
    assert (stored.predict(X) == there.best_model.predict(X)).all()
    _no_start_after_the_end(there)


def test_a_candidate_that_fails_on_its_worker_is_recorded_with_the_traceback(
    store_dir: Path, client: Any, broken: Any
) -> None:
    broken("linear", "raise")
    result = automl(
        _cancer(),
        target="target",
        time_budget=5,
        models=["linear", "knn"],
        show=False,
        workers=client.scheduler.address,  # a scheduler's address: a client of its own
    )
    assert isinstance(result, AutoMLResult) and result.state == "finished"
    failed = [c for c in result.candidates if c.family == "linear"]
    assert failed and all(c.status == "failed" for c in failed)
    assert "broken on purpose" in (failed[0].error or "")
    # The search went on: the other family's candidates completed on the workers.
    assert any(c.family == "knn" and c.status == "complete" for c in result.candidates)
    xt.flush()
    run = xt.get_run(failed[0].run_id)
    assert run.status == "failed" and run.tags["xtrack.trial.state"] == "failed"
    assert run.tags["xtrack.worker"] in set(client.nthreads())
    error = run.error
    assert error is not None and error["type"] == "RuntimeError"
    # The worker's own frames, and which worker it was.
    assert "in build" in error["traceback"] and "on Dask worker tcp://" in error["traceback"]


def test_a_worker_that_dies_leaves_its_candidate_crashed_and_the_search_goes_on(
    store_dir: Path, client: Any, broken: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "killed"
    broken("linear", "kill", str(marker))
    result = automl(
        _cancer(),
        target="target",
        time_budget=8,
        models=["linear", "knn"],
        show=False,
        workers=client,
    )
    assert isinstance(result, AutoMLResult) and result.state == "finished"
    dead = marker.read_text()
    crashed = [c for c in result.candidates if c.error and "died" in c.error]
    assert len(crashed) == 1 and crashed[0].status == "failed"
    xt.flush()
    run = xt.get_run(crashed[0].run_id)
    assert run.status == "crashed" and run.tags["xtrack.worker"] == dead
    assert run.error is not None and run.error["type"] == "WorkerDied"
    later = [t for t in _worker_tags(result) if t["xtrack.worker"] != dead]
    assert later  # candidates went on running on the workers left (and the restarted one)
    assert sum(c.status == "complete" and c.kind == "model" for c in result.candidates) >= 1


def test_the_budgets_end_cancels_candidates_still_running(
    store_dir: Path, client: Any, broken: Any
) -> None:
    broken("rf", "slow")
    result = automl(
        _cancer(),
        target="target",
        time_budget=3,
        models=["linear", "rf"],
        ensemble=False,
        show=False,
        workers=client,
    )
    assert isinstance(result, AutoMLResult) and result.state == "finished"
    cut = [c for c in result.candidates if c.family == "rf"]
    assert cut and all(c.status == "skipped" for c in cut)
    assert all((c.error or "").startswith("cancelled") for c in cut)
    assert result.best.family != "rf"  # counted for nothing
    xt.flush()
    for c in cut:
        run = xt.get_run(c.run_id)
        assert run.ended_at is not None and run.tags["xtrack.trial.state"] == "skipped"
    _no_start_after_the_end(result)


def test_stop_cancels_the_outstanding_candidates_and_keeps_the_finished_ones(
    store_dir: Path, client: Any, broken: Any
) -> None:
    import time

    from jupyter_xtrack.optimize.jobs import Job

    broken("rf", "slow")
    job = automl(
        _cancer(),
        target="target",
        time_budget=120,
        models=["linear", "rf"],
        background=True,
        workers=client,
    )
    assert isinstance(job, Job)
    waited = time.monotonic() + 60
    while time.monotonic() < waited and job.progress.get("best") is None:
        time.sleep(0.05)
    assert job.cancel(wait=15) and job.status == "cancelled"
    result = job.result()
    assert result.state == "cancelled"
    kept = [c for c in result.candidates if c.kind == "model" and c.status == "complete"]
    assert kept and all(c.family == "linear" for c in kept)
    xt.flush()
    stopped = [xt.get_run(c.run_id) for c in result.candidates if c.family == "rf"]
    assert stopped and all(r.status == "interrupted" for r in stopped)
    # The scheduler holds none of the search's tasks any more.
    waited = time.monotonic() + 10
    while time.monotonic() < waited and _search_tasks(client):
        time.sleep(0.1)
    assert not _search_tasks(client)


def _search_tasks(client: Any) -> list[str]:
    return [
        str(k)
        for keys in client.processing().values()
        for k in keys
        if str(k).startswith("xtrack-automl-")
    ]


def test_workers_n_starts_a_local_cluster_for_the_call(store_dir: Path, client: Any) -> None:
    result = automl(
        _cancer(), target="target", time_budget=20, models=["linear"], show=False, workers=1
    )
    assert isinstance(result, AutoMLResult) and result.state == "finished"
    xt.flush()
    tags = _worker_tags(result)
    assert tags and not {t["xtrack.worker"] for t in tags} & set(client.nthreads())
    assert any(c.kind == "model" and c.status == "complete" for c in result.candidates)


@pytest.mark.parametrize("background", [False, True])
def test_a_wrong_workers_value_fails_at_once_even_for_a_background_search(
    store_dir: Path, background: bool
) -> None:
    from jupyter_xtrack.optimize.cluster import WorkersError

    with pytest.raises(WorkersError, match="number of local"):
        automl(_cancer(), target="target", time_budget=5, workers="nowhere", background=background)
    xt.flush()
    assert xt.runs().empty  # nothing was started


def test_ctrl_c_stops_the_search_and_keeps_the_finished_candidates(
    store_dir: Path, client: Any, broken: Any
) -> None:
    import os
    import signal
    import threading
    import time

    broken("rf", "slow")
    interrupted = threading.Event()

    def interrupt_once_a_model_is_done() -> None:
        waited = time.monotonic() + 60
        while time.monotonic() < waited:
            runs = xt.runs()
            if (
                "tags.xtrack.trial.state" in runs.columns
                and (
                    (runs["params.family"] == "linear")
                    & (runs["tags.xtrack.trial.state"] == "complete")
                ).any()
            ):
                break
            time.sleep(0.2)
        interrupted.set()
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C / the notebook's Stop button sends

    threading.Thread(target=interrupt_once_a_model_is_done, daemon=True).start()
    result = automl(
        _cancer(),
        target="target",
        time_budget=120,
        models=["linear", "rf"],
        show=False,
        workers=client,
    )
    assert interrupted.is_set()
    assert isinstance(result, AutoMLResult) and result.state == "interrupted"
    assert any(c.kind == "model" and c.status == "complete" for c in result.candidates)
    xt.flush()
    assert xt.get_run(result.run_id).status == "interrupted"
    waited = time.monotonic() + 10
    while time.monotonic() < waited and _search_tasks(client):
        time.sleep(0.1)
    assert not _search_tasks(client)
