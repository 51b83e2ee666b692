"""Sweeps over real notebook cells (a real IPython shell, and a real kernel via nbclient),
background sweeps and their cancellation, and resuming a sweep in a new process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import jupyter_xtrack as xt
from jupyter_xtrack.optimize.jobs import Job
from jupyter_xtrack.optimize.sweep import SweepResult, best, sweep
from tests.conftest import run_cell

CELL = '''%%track --sweep "a=int(1, 5); kind=choice('x', 'y')" --trials 6 --metric score --maximize --sampler random
a = 100          # replaced by each trial's value
kind = 'z'
bonus = 1 if kind == 'y' else 0
for epoch in range(3):
    xt.log(score=a * 2 + bonus + epoch, step=epoch)
'''


def test_sweeping_a_cell_replaces_its_assignments_with_each_trials_values(shell: Any) -> None:
    result = run_cell(shell, CELL)
    assert result.error_in_exec is None, result.error_in_exec
    sweep_result = result.result
    assert isinstance(sweep_result, SweepResult)
    assert len(sweep_result.trials) == 6
    for t in sweep_result.trials:
        assert 1 <= t.params["a"] <= 5 and t.params["kind"] in ("x", "y")
        assert t.value == t.params["a"] * 2 + (t.params["kind"] == "y") + 2
    frame = xt.runs()
    sweep_run = frame[frame["kind"] == "sweep"].iloc[0]
    trials = frame[frame["parent_id"] == sweep_run["id"]]
    assert len(trials) == 6
    # The sweep run holds the cell's code and the space; the trials their params and history.
    parent = xt.get_run(sweep_run["id"])
    assert "--sweep" in (parent.code or "")
    assert parent.params["sweep.space"].startswith("a=int(1, 5)")
    one = xt.get_run(sweep_result.trials[0].run_id)
    assert list(one.history("score")["step"]) == [0, 1, 2]
    # The namespace keeps the last trial's values, as if the cell had run with them.
    assert shell.user_ns["a"] == sweep_result.trials[-1].params["a"]


def test_a_bad_space_on_the_magic_line_is_a_usage_error_pointing_at_it(shell: Any) -> None:
    result = run_cell(shell, '%%track --sweep "lr=loguniform(0, 1)" --trials 2\nx = 1\n')
    err = result.error_in_exec
    assert err is not None and "positive low bound" in str(err)
    assert "^" in str(err)
    assert len(xt.runs()) == 0


def test_a_cell_without_a_metric_uses_its_result(shell: Any) -> None:
    result = run_cell(shell, '%%track --sweep "x=grid(1, 2, 3)" --trials 3 --minimize\n(x - 2) ** 2\n')
    assert best(result.result).params == {"x": 2}


def test_background_sweep_runs_while_the_notebook_goes_on_and_cancels(store_dir: Path) -> None:
    def objective(x: float) -> float:
        for step in range(150):
            time.sleep(0.01)
            xt.log(loss=x + step, step=step)
        return x

    job = sweep(objective, "x=uniform(0, 1)", trials=50, metric="loss", background=True,
                show=False, name="bg")
    assert isinstance(job, Job)
    deadline = time.monotonic() + 60
    while job.progress["done"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.status == "running" and job.progress["total"] == 50
    assert job.cancel(wait=10)
    assert job.status == "cancelled"
    result = job.result()
    assert result.state == "cancelled"
    done = [t for t in result.trials if t.state == "complete"]
    assert len(done) >= 1
    xt.flush()
    parent = xt.get_run(result.run_id)
    assert parent.tags["xtrack.job.state"] == "cancelled"
    assert parent.tags["xtrack.job.id"] == job.id
    assert parent.tags["xtrack.job.progress"].endswith("/50")
    assert parent.status == "interrupted"


def test_a_background_trial_that_never_logs_is_interrupted_on_cancel(store_dir: Path) -> None:
    def objective(x: float) -> float:
        end = time.monotonic() + 120
        while time.monotonic() < end:  # pure Python, never calls xt.log
            sum(range(1000))
        return x

    job = sweep(objective, "x=uniform(0, 1)", trials=3, background=True, show=False)
    time.sleep(0.5)
    assert job.cancel(wait=10)  # the trial that never logs was interrupted, not waited for
    assert job.result().trials[0].state == "interrupted"



def test_a_cancel_requested_through_the_store_stops_the_job(store_dir: Path) -> None:
    """What the sidebar's Cancel button does: another process sets the tag on the job's
    run; the job notices and stops, keeping its finished trials."""
    from jupyter_xtrack.optimize.jobs import CANCEL_TAG
    from jupyter_xtrack.store import open_store

    def objective(x: float) -> float:
        for step in range(200):
            time.sleep(0.01)
            xt.log(loss=x + step, step=step)
        return x

    job = sweep(objective, "x=uniform(0, 1)", trials=50, metric="loss", direction="minimize",
                background=True, show=False, name="outside")
    deadline = time.monotonic() + 60
    while job.progress["done"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.status == "running" and job.run_id
    xt.flush()
    with open_store(store_dir) as other:  # a second connection, as the server has
        tags = other.get_run(job.run_id)["tags"]
        assert tags["xtrack.job.metric"] == "loss" and tags["xtrack.job.direction"] == "minimize"
        other.set_tags(job.run_id, {CANCEL_TAG: "requested"})
    assert job.wait(15), "the job did not notice the cancel request"
    assert job.status == "cancelled"
    assert any(t.state == "complete" for t in job.result().trials)
    xt.flush()
    assert xt.get_run(job.run_id).tags["xtrack.job.state"] == "cancelled"

RESUME_SCRIPT = '''
import sys
import jupyter_xtrack as xt
from jupyter_xtrack.optimize.sweep import sweep
result = sweep(lambda x: x, "x=uniform(0, 1)", trials=int(sys.argv[1]), name="kept",
               resume=sys.argv[2] == "resume", show=False)
xt.flush()
print(result.name, len(result.trials), result.state)
'''


def test_resume_continues_the_sweep_in_a_new_process(store_dir: Path, tmp_path: Path) -> None:
    script = tmp_path / "resume.py"
    script.write_text(RESUME_SCRIPT)

    def run(*args: str) -> str:
        out = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                             check=True, timeout=120)
        return out.stdout.strip()

    assert run("3", "new") == "kept 3 finished"
    assert run("7", "resume") == "kept 7 finished"
    xt.flush()
    frame = xt.runs()
    sweeps = frame[frame["kind"] == "sweep"]
    assert len(sweeps) == 2
    assert len(frame[frame["kind"] == "trial"]) == 7
    assert len(best("kept").params) == 1


@pytest.mark.slow
def test_sweep_cell_in_a_real_kernel(tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_xtrack"),
        nbformat.v4.new_code_cell(CELL + "None\n"),
        nbformat.v4.new_code_cell(
            "xt.flush()\nr = _\nprint(len(r.trials), r.state, len(xt.runs()))\nprint(xt.best(r) if hasattr(xt, 'best') else r.best)"
        ),
    ]
    env_store = tmp_path / "store"
    import os

    os.environ["XTRACK_STORE"] = str(env_store)
    try:
        client = NotebookClient(nb, timeout=180, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}})
        client.execute()
    finally:
        os.environ.pop("XTRACK_STORE", None)
    text = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert text.startswith("6 finished 7"), text
