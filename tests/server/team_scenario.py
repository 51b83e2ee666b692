"""A team store as the server and browser tests see it: several people's runs, and a sweep
whose trials ran on other machines (Dask workers elsewhere)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from jupyter_xtrack.store import open_store
from jupyter_xtrack.store.liveness import this_host


@contextmanager
def on_host(name: str) -> Iterator[None]:
    """Runs created inside are recorded as made on machine `name` (a Dask worker elsewhere):
    the store takes the host from the system's host name, read once and cached."""
    real = socket.gethostname
    this_host.cache_clear()
    socket.gethostname = lambda: name  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.gethostname = real  # type: ignore[assignment]
        this_host.cache_clear()


def populate_team(location: str) -> dict[str, str]:
    """alice's two runs (#1, #2), bob's one (#3, experiment "other"), and carol's running
    sweep (#4) whose three trials ran on two machines: #5 and #7 on gpu-1, #6 on gpu-2.
    Returns their ids by key (a1, a2, b1, sweep)."""
    ids: dict[str, str] = {}
    now = time.time()
    with open_store(location) as store:
        people = (
            ("a1", "alice", "main", 0.81),
            ("a2", "alice", "main", 0.86),
            ("b1", "bob", "other", 0.79),
        )
        for key, user, exp, acc in people:
            rid, _ = store.create_run(name=key, experiment=exp, user=user)
            store.log_metrics([(rid, "acc", acc, None, now)])
            store.finish_run(rid, status="finished")
            ids[key] = rid
        sweep, _ = store.create_run(name="sweep", kind="sweep", experiment="main", user="carol")
        store.set_tags(
            sweep,
            {
                "xtrack.job.id": "job-1",
                "xtrack.job.kind": "sweep",
                "xtrack.job.state": "running",
                "xtrack.job.progress": "3/10",
                "xtrack.job.metric": "acc",
                "xtrack.job.direction": "maximize",
            },
        )
        ids["sweep"] = sweep
        for i, host in enumerate(["gpu-1", "gpu-2", "gpu-1"]):
            with on_host(host):
                trial, _ = store.create_run(
                    name=f"t{i}", kind="trial", parent_id=sweep, experiment="main", user="carol"
                )
            store.log_metrics([(trial, "acc", 0.7 + 0.05 * i, None, now)])
            store.finish_run(trial, status="finished")
    return ids
