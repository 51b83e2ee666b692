"""The sidebar's side of reproductions: a run's detail gives the `reproduces` link both ways,
and POST runs/{id}/reproduce starts a background job (an `xtrack reproduce --as-job`
process) that the Jobs tab lists with its progress and that its Cancel button stops."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_xtrack.reproduction import reproduce
from jupyter_xtrack.store import open_store

from .conftest import API

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent("""\
    import os, time
    import jupyter_xtrack as xt
    with xt.start_run(name="nap"):
        time.sleep(float(os.environ.get("NAP", "0")))
        xt.log(acc=0.5)
    """)


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store holding one script run (#1), recorded by a real process."""
    root = tmp_path / "store"
    (tmp_path / "train.py").write_text(SCRIPT)
    monkeypatch.delenv("NAP", raising=False)
    subprocess.run(
        [sys.executable, "train.py"],
        cwd=tmp_path,
        check=True,
        timeout=120,
        env={**os.environ, "XTRACK_STORE": str(root)},
    )
    return root


async def _get(jp_fetch: Any, *path: str) -> Any:
    resp = await jp_fetch(*API.split("/"), *path)
    return json.loads(resp.body)


async def _post(jp_fetch: Any, *path: str, body: str) -> Any:
    resp = await jp_fetch(
        *API.split("/"),
        *path,
        method="POST",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    return json.loads(resp.body)


async def _job(jp_fetch: Any, want: str, timeout: float = 120) -> dict[str, Any]:
    """The reproduce job once its state is `want`."""
    for _ in range(int(timeout / 0.25)):
        jobs = (await _get(jp_fetch, "jobs"))["jobs"]
        found = [j for j in jobs if j["kind"] == "reproduce"]
        if found and found[0]["state"] == want:
            return dict(found[0])
        await asyncio.sleep(0.25)
    raise AssertionError(f"no reproduce job reached {want}: {jobs}")


async def test_run_detail_links_a_run_and_its_reproductions(
    jp_fetch: Any, check_schema: Any, store_path: Path
) -> None:
    with open_store(store_path) as store:
        rep = await asyncio.to_thread(reproduce, 1, store=store)
    assert rep.verdict == "reproduced", rep.text()
    original = check_schema("RunDetail", await _get(jp_fetch, "runs", "1"))
    assert original["reproduces"] is None
    assert [(r["number"], r["verdict"], r["is_job"]) for r in original["reproductions"]] == [
        (rep.run_number, "reproduced", False)
    ]
    copy = check_schema("RunDetail", await _get(jp_fetch, "runs", str(rep.run_number)))
    assert copy["reproduces"]["id"] == original["id"] and copy["reproductions"] == []


async def test_the_reproduce_button_runs_a_job_one_at_a_time(
    jp_fetch: Any, check_schema: Any, store_path: Path
) -> None:
    started = check_schema(
        "ReproduceStarted", await _post(jp_fetch, "runs", "1", "reproduce", body="{}")
    )
    assert started["env"] == "current" and started["pid"] > 0
    with pytest.raises(HTTPClientError) as info:  # one at a time: it starts a kernel
        await _post(jp_fetch, "runs", "1", "reproduce", body='{"env": "current"}')
    assert info.value.code == 409
    job = await _job(jp_fetch, "finished")
    assert job["name"] == "reproduce #1" and job["progress"]["fraction"] == 1.0
    detail = await _get(jp_fetch, "runs", "1")
    # the job made a reproduction run: the run is listed, with its verdict, not the job
    assert [(r["verdict"], r["is_job"]) for r in detail["reproductions"]] == [("reproduced", False)]


async def test_a_reproduce_job_is_cancelled_from_the_jobs_tab(
    jp_fetch: Any, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NAP", "120")  # the job's kernel inherits it: its cell runs long
    await _post(jp_fetch, "runs", "1", "reproduce", body='{"env": "current"}')
    job = await _job(jp_fetch, "running")
    await _post(jp_fetch, "jobs", job["run_id"], "cancel", body="{}")
    cancelled = await _job(jp_fetch, "cancelled", timeout=60)
    assert cancelled["run_id"] == job["run_id"] and cancelled["status"] == "interrupted"
    detail = await _get(jp_fetch, "runs", "1")
    # the reproduction run when the kernel got as far as opening it, else the job
    assert [(r["verdict"], r["reason"]) for r in detail["reproductions"]] == [
        ("could not run", "cancelled")
    ]


@pytest.mark.parametrize("body", ['{"env": "docker"}', '{"env": "current", "x": 1}'])
async def test_a_bad_reproduce_body_is_a_400(jp_fetch: Any, store_path: Path, body: str) -> None:
    with pytest.raises(HTTPClientError) as info:
        await _post(jp_fetch, "runs", "1", "reproduce", body=body)
    assert info.value.code == 400
