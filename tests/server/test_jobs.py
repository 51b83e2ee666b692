"""GET jobs and POST jobs/{id}/cancel: the sidebar's view of background sweeps and AutoML
searches, read from the store, and cancelling one that runs in another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_xtrack.optimize.jobs import CANCEL_TAG
from jupyter_xtrack.store import open_store

from .conftest import API, Populated


def job_run(store: Any, name: str, state: str, progress: str, *, best: str | None = None,
            trials: int = 0, fraction: float | None = None) -> str:
    rid, _ = store.create_run(name=name, kind="sweep")
    tags = {"xtrack.job.id": f"job-{name}", "xtrack.job.kind": "sweep",
            "xtrack.job.state": state, "xtrack.job.progress": progress,
            "xtrack.job.metric": "acc", "xtrack.job.direction": "maximize"}
    if best is not None:
        tags["xtrack.job.best"] = best
    store.set_tags(rid, tags)
    for _ in range(trials):
        child, _ = store.create_run(parent_id=rid, kind="trial")
        store.finish_run(child, status="finished")
    if fraction is not None:
        store.log_metrics([(rid, "job_progress", fraction, None, time.time())])
    return rid


@pytest.fixture
def jobs(populated: Populated) -> dict[str, str]:
    with open_store(populated.root) as store:
        out = {
            "done": job_run(store, "done", "finished", "10/10", best="0.91", trials=2),
            "live": job_run(store, "live", "running", "3/10", best="0.87", trials=3,
                            fraction=0.3),
            "dead": job_run(store, "dead", "running", "1/10"),
        }
        store.finish_run(out["done"], status="finished")
        store.finish_run(out["dead"], status="killed")
    return out


async def post(jp_fetch: Any, *path: str, body: str = "{}",
               ctype: str = "application/json") -> Any:
    return await jp_fetch(*API.split("/"), *path, method="POST", body=body,
                          headers={"Content-Type": ctype})


async def test_no_jobs_is_an_empty_list(api: Any) -> None:
    assert await api("jobs", "JobList") == {"jobs": []}


async def test_jobs_newest_first_with_progress_best_and_trials(
    api: Any, jobs: dict[str, str]
) -> None:
    got = (await api("jobs", "JobList"))["jobs"]
    assert [j["name"] for j in got] == ["dead", "live", "done"]
    by = {j["name"]: j for j in got}
    live = by["live"]
    assert live["run_id"] == jobs["live"] and live["kind"] == "sweep"
    assert live["state"] == "running" and live["status"] == "running"
    assert live["progress"] == {"done": 3, "total": 10, "fraction": 0.3}
    assert live["best"] == 0.87 and live["metric"] == "acc" and live["direction"] == "maximize"
    assert live["trials"] == 3 and live["pid"] == os.getpid() and live["host"]
    assert live["cancel_requested"] is False
    assert by["done"]["state"] == "finished" and by["done"]["progress"]["fraction"] == 1.0
    assert by["done"]["trials"] == 2 and by["done"]["ended_at"] is not None
    # Its kernel died: the run was marked killed while the job still said running.
    assert by["dead"]["state"] == "lost" and by["dead"]["status"] == "killed"
    assert by["dead"]["progress"] == {"done": 1, "total": 10, "fraction": 0.1}
    assert (await api("jobs", "JobList", limit="1"))["jobs"][0]["name"] == "dead"


async def test_cancel_sets_the_flag_the_job_watches(
    jp_fetch: Any, check_schema: Any, populated: Populated, jobs: dict[str, str]
) -> None:
    resp = await post(jp_fetch, "jobs", jobs["live"], "cancel")
    job = check_schema("JobCancelled", json.loads(resp.body))["job"]
    assert job["run_id"] == jobs["live"] and job["cancel_requested"] is True
    with open_store(populated.root) as store:
        assert store.get_tag(jobs["live"], CANCEL_TAG) == "requested"


@pytest.mark.parametrize("which, code, reason", [
    ("done", 409, "job_ended"), ("dead", 409, "job_ended"), ("plain", 404, "unknown_job"),
    ("nothing", 404, "unknown_run"),
])
async def test_cancel_refuses_what_is_not_a_running_job(
    jp_fetch: Any, populated: Populated, jobs: dict[str, str], which: str, code: int,
    reason: str,
) -> None:
    ref = {**jobs, "plain": populated.ids["a"], "nothing": "ffffffffff"}[which]
    with pytest.raises(HTTPClientError) as info:
        await post(jp_fetch, "jobs", ref, "cancel")
    assert info.value.code == code
    assert info.value.response is not None
    body = json.loads(info.value.response.body)
    assert body["reason"] == reason and body["message"]


JOB_SCRIPT = textwrap.dedent('''
    import sys, time
    import jupyter_xtrack as xt
    from jupyter_xtrack.optimize.sweep import sweep

    def objective(x):
        for step in range(100):
            time.sleep(0.02)
            xt.log(score=x, step=step)
        return x

    job = sweep(objective, "x=uniform(0, 1)", trials=200, metric="score",
                background=True, show=False, name="far")
    while job.progress["done"] < 1:
        time.sleep(0.05)
    xt.flush()
    print("started", job.run_id, flush=True)
    job.wait(60)
    xt.flush()
    print("ended", job.status, len(job.result().trials), flush=True)
''')


async def test_cancel_stops_a_job_running_in_another_process(
    api: Any, jp_fetch: Any, populated: Populated, tmp_path: Path
) -> None:
    script = tmp_path / "job.py"
    script.write_text(JOB_SCRIPT)
    env = {**os.environ, "XTRACK_STORE": str(populated.root)}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().split()
        assert first[:1] == ["started"], proc.stderr.read() if proc.stderr else first
        run_id = first[1]
        listed = {j["run_id"]: j for j in (await api("jobs", "JobList"))["jobs"]}
        assert listed[run_id]["state"] == "running" and listed[run_id]["name"] == "far"
        assert listed[run_id]["metric"] == "score"
        await post(jp_fetch, "jobs", run_id, "cancel")
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    ended = out.split()
    assert ended[:2] == ["ended", "cancelled"], err
    assert 1 <= int(ended[2]) < 200  # the finished trials are kept
    after = {j["run_id"]: j for j in (await api("jobs", "JobList"))["jobs"]}[run_id]
    assert after["state"] == "cancelled" and after["trials"] >= 1
