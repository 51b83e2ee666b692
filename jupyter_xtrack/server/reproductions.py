"""Reproductions as the sidebar sees them: the `reproduces` link of a run, both ways, read
from the tags a reproduction writes (facts.REPRODUCES_TAG and friends), and the Reproduce
button's background job, started as an `xtrack reproduce --as-job` process of its own: the
server never imports the reproduction (it runs kernels), the store is the only channel, as
for every job (server/jobs.py)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from typing import Any

from ..facts import REPRODUCE_OF_TAG, REPRODUCE_REASON_TAG, REPRODUCES_TAG, VERDICT_TAG
from ..store.contract import RunStore
from .errors import RequestError

_COLUMNS = [
    f"tags.{REPRODUCES_TAG}",
    f"tags.{VERDICT_TAG}",
    f"tags.{REPRODUCE_REASON_TAG}",
    "tags.xtrack.job.state",
    "tags.xtrack.reproduce.run",
]


def reproduction_links(store: RunStore, record: Mapping[str, Any]) -> dict[str, Any]:
    """`reproduces`: the run this one reproduces (brief), or None; `reproductions`: its
    reproductions, newest first, each a reproduction run or a reproduce job (which holds the
    verdict when no reproduction run was made: it could not run, or it is still running)."""
    tags = record.get("tags") or {}
    original = tags.get(REPRODUCES_TAG) or tags.get(REPRODUCE_OF_TAG)
    reproduces = None
    if original:
        try:
            found = store.get_run(original)
            reproduces = {k: found.get(k) for k in ("id", "number", "name", "experiment", "status")}
        except Exception:  # noqa: BLE001 - an original since deleted: the link is dropped
            reproduces = None
    run_id = str(record["id"])
    table = store.query_runs(
        f"tags.{REPRODUCES_TAG} = '{run_id}' or tags.{REPRODUCE_OF_TAG} = '{run_id}'",
        columns=_COLUMNS,
        order_by="number desc",
        limit=50,
    )
    rows = table.rows()
    # a job whose reproduction run is listed (it got that far) is shown by that run
    listed = {row["id"] for row in rows if row.get(f"tags.{REPRODUCES_TAG}") == run_id}
    items = [_item(row) for row in rows if row.get("tags.xtrack.reproduce.run") not in listed]
    return {"reproduces": reproduces, "reproductions": items}


def _item(row: Mapping[str, Any]) -> dict[str, Any]:
    job_state = row.get("tags.xtrack.job.state")
    return {
        "id": row["id"],
        "number": row["number"],
        "status": row["status"],
        "started_at": row["started_at"],
        "verdict": row.get(f"tags.{VERDICT_TAG}"),
        "reason": row.get(f"tags.{REPRODUCE_REASON_TAG}"),
        "job_state": job_state,
        "is_job": job_state is not None,
    }


def start_reproduction(store: RunStore, ref: str, env: str) -> dict[str, Any]:
    """Start `xtrack reproduce REF --as-job` in its own process and session (it outlives the
    request; the Jobs tab follows it through its job run). One at a time per server: a
    reproduction starts a kernel, and a second request while one runs is a 409."""
    run_id = store.resolve_ref(ref)
    with _LOCK:
        running = [p for p in _STARTED if p.poll() is None]
        _STARTED[:] = running
        if running:
            raise RequestError(
                409,
                f"a reproduction is already running (process "
                f"{running[0].pid}); cancel it in the Jobs tab or wait for it",
                reason="job_running",
            )
        cmd = [
            sys.executable,
            "-m",
            "jupyter_xtrack.cli",
            "reproduce",
            run_id,
            "--store",
            store.location,
            "--env",
            env,
            "--as-job",
        ]
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=tempfile.gettempdir(),
            start_new_session=True,
        )
        _STARTED.append(proc)
    return {"run_id": run_id, "pid": proc.pid, "env": env}


_LOCK = threading.Lock()
_STARTED: list[subprocess.Popen[bytes]] = []
