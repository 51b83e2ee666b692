"""Sweeps and AutoML searches as the sidebar's Jobs tab sees them: read from the store, where
a background job keeps its state on its parent run (tags `xtrack.job.*`, metric
`job_progress`; see optimize/jobs.py), and cancelled by setting the one tag the job's watcher
thread polls. A search run in the foreground has no job tags: it is listed from its parent
run (kind sweep or automl) and the tags and params its search writes (`xtrack.sweep.*`,
`sweep.metric`, `automl.*`), and cannot be cancelled from here.

The server never talks to the kernel that runs a job: the store is the only channel, so a
job can be listed and cancelled whichever kernel started it.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from ..facts import CANCEL_TAG
from ..store.contract import RunStore
from .errors import RequestError
from .facets import field_counts

_ID, _KIND, _STATE = "tags.xtrack.job.id", "tags.xtrack.job.kind", "tags.xtrack.job.state"
_COLUMNS = ["tags.xtrack.job.*", "metrics.job_progress", "tags.xtrack.sweep.*",
            "tags.xtrack.automl.state", "params.sweep.metric", "params.automl.metric",
            "params.automl.time_budget_s", "metrics.best_value", "metrics.best_cv_score"]
# Every search, background or not: a job's tag, or a search's parent run.
_SEARCHES = f"{_ID} != null or kind in ('sweep', 'automl')"
# A run that ended this way had its kernel die under it: the job's own state never got
# written, so "running" there means lost.
_DEAD = ("killed", "crashed")


def list_jobs(store: RunStore, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` sweeps and AutoML searches, newest first."""
    table = store.query_runs(_SEARCHES, columns=_COLUMNS, limit=limit,
                             order_by="number desc")
    rows = table.rows()
    trials = store.child_counts([r["id"] for r in rows])
    jobs = [_job(row, trials.get(row["id"], 0)) for row in rows]
    for job in jobs:
        job["hosts"] = _HOSTS.of(store, job)
        if job["state"] == "running":
            run = store.get_run(job["run_id"])
            job["pid"], job["host"] = run.get("pid"), run.get("host")
            job["notebook_path"] = run.get("notebook_path")
    return jobs


def request_cancel(store: RunStore, ref: str) -> dict[str, Any]:
    """Ask the job of run `ref` to stop: 404 if it is no job, 409 if it is not running."""
    run_id = store.resolve_ref(ref)
    table = store.query_runs(f"id = '{run_id}'", columns=_COLUMNS, limit=1)
    rows = table.rows()
    if not rows or rows[0].get(_ID) is None:
        raise RequestError(404, f"run {ref} is not a background job (it has no {_ID[5:]} tag)",
                           reason="unknown_job")
    job = _job(rows[0], store.child_counts([run_id])[run_id])
    if job["state"] != "running":
        raise RequestError(409, f"job {job['name'] or run_id} is {job['state']}, not running: "
                           "there is nothing to cancel", reason="job_ended")
    store.set_tags(run_id, {CANCEL_TAG: "requested"})
    job["cancel_requested"] = True
    job["hosts"] = _HOSTS.of(store, job)
    return job


class _TrialHosts:
    """The hosts a job's trials ran on, each with its count (server/facets.py): a sweep on
    Dask workers shows the machines it reached. An ended job's answer is kept (its trials
    no longer change), so polling the list reads only the running jobs' trials again."""

    def __init__(self, size: int = 512) -> None:
        self._ended: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self._size = size
        self._lock = threading.Lock()

    def of(self, store: RunStore, job: dict[str, Any]) -> list[dict[str, Any]]:
        if not job["trials"]:
            return []
        key = (job["run_id"], job["trials"])
        with self._lock:
            if key in self._ended:
                return self._ended[key]
        counts, _ = field_counts(store, "host", parent_id=job["run_id"])
        hosts = [{"host": host, "runs": n} for host, n in counts]
        if job["state"] != "running":
            with self._lock:
                if len(self._ended) >= self._size:
                    self._ended.clear()
                self._ended[key] = hosts
        return hosts


_HOSTS = _TrialHosts()


def _job(row: dict[str, Any], trials: int) -> dict[str, Any]:
    status = row["status"]
    kind = row.get(_KIND) or row.get("kind") or "job"
    state = _STATES.get(row.get(_STATE) or row.get(f"tags.xtrack.{kind}.state") or "running",
                        "cancelled")
    if state == "running" and status in _DEAD:
        state = "lost"
    elif state == "running" and status != "running":
        # The run ended but the job's last tag did not make it: say what the run says.
        state = {"finished": "finished", "failed": "failed"}.get(status, "cancelled")
    done, total = _progress(row.get("tags.xtrack.job.progress") or row.get(
        "tags.xtrack.sweep.progress"))
    if kind == "automl" and total is None:
        total = _int(row.get("params.automl.time_budget_s"))
    fraction = row.get("metrics.job_progress")
    if not _finite(fraction):
        fraction = done / total if done is not None and total else None
    if state == "finished":
        fraction = 1.0
    direction = row.get("tags.xtrack.job.direction") or row.get("tags.xtrack.sweep.direction")
    best = _float(row.get("tags.xtrack.job.best"))
    if best is None:
        best = _float(row.get("metrics.best_value" if kind == "sweep" else "metrics.best_cv_score"))
    return {
        "run_id": row["id"],
        "number": row["number"],
        "name": row["name"],
        "kind": kind,
        "state": state,
        "status": status,
        "background": row.get(_ID) is not None,
        "progress": {"done": done, "total": total, "fraction": fraction},
        "best": best,
        "metric": row.get("tags.xtrack.job.metric") or row.get(f"params.{kind}.metric"),
        "direction": direction if direction in ("maximize", "minimize") else None,
        "trials": trials,
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "user": row.get("user"),
        "host": None,
        "pid": None,
        "cancel_requested": bool(row.get(f"tags.{CANCEL_TAG}")),
        "notebook_path": row.get("notebook_path"),
    }


# A search's own end states, as the Jobs tab names them (Ctrl-C in the foreground: cancelled).
_STATES = {"running": "running", "finished": "finished", "failed": "failed",
           "cancelled": "cancelled", "interrupted": "cancelled"}


def _int(value: Any) -> int | None:
    number = _float(value)
    return None if number is None else round(number)


def _progress(text: Any) -> tuple[int | None, int | None]:
    """'3/20' -> (3, 20); '7' -> (7, None); anything else -> (None, None)."""
    if not isinstance(text, str):
        return None, None
    head, _, tail = text.partition("/")
    try:
        return int(head), (int(tail) if tail else None)
    except ValueError:
        return None, None


def _float(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
