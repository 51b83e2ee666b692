"""A copied run keeps where it ran: its host, pid and user are the original process's,
not the copier's, and the target's liveness check leaves a copied ended run alone."""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_xtrack.store import open_store
from jupyter_xtrack.store.liveness import this_host
from jupyter_xtrack.store.sync import sync_runs
from tests.store.conftest import open_quietly, run_python

# A process standing in for a teammate's machine: another host name and user, its own pid.
_ELSEWHERE = """
import os, socket, sys, time
socket.gethostname = lambda: "gpu-box-7"
os.environ["XTRACK_USER"] = "carol"
from jupyter_xtrack.store import open_store
with open_store(sys.argv[1]) as store:
    run_id, _ = store.create_run(name=sys.argv[2], experiment="exp")
    store.log_metrics([(run_id, "loss", 0.5, 0, time.time())])
    if sys.argv[3] == "finish":
        store.finish_run(run_id, status="finished")
    print(run_id, os.getpid())
"""


def _run_elsewhere(store: Path, name: str, end: str) -> tuple[str, int]:
    run_id, pid = run_python(_ELSEWHERE, str(store), name, end).split()
    return run_id, int(pid)


def test_a_copy_records_the_host_pid_and_user_it_ran_with(
    tmp_path: Path, team_location: str
) -> None:
    run_id, pid = _run_elsewhere(tmp_path / "local", "far", "finish")
    assert pid != os.getpid() and this_host() != "gpu-box-7"
    with open_store(tmp_path / "local") as local, open_quietly(team_location) as team:
        assert sync_runs(local, team).copied == 1
        copy = team.get_run(run_id)
        assert (copy["host"], copy["pid"], copy["user"]) == ("gpu-box-7", pid, "carol")
        # Liveness reads the copy's own host and pid, which are gone: it stays finished.
        assert team.reconcile() == []
        assert team.get_run(run_id)["status"] == "finished"
        # Pulled back the other way, the second copy still names the first machine.
        with open_store(tmp_path / "laptop") as laptop:
            sync_runs(team, laptop)
            assert laptop.get_run(run_id)["host"] == "gpu-box-7"


def test_a_run_still_running_elsewhere_waits_and_a_dead_one_is_copied_crashed(
    tmp_path: Path, team_location: str
) -> None:
    # Left running by a process on another host: its heartbeat is fresh, so the source
    # reads it as running, and the push leaves it for later rather than copy a run that
    # no heartbeat will reach.
    far, _ = _run_elsewhere(tmp_path / "local", "far", "leave")
    # Left running by a process of this host that has exited: the source reads it crashed.
    here_code = _ELSEWHERE.replace('socket.gethostname = lambda: "gpu-box-7"', "")
    here, here_pid = run_python(here_code, str(tmp_path / "local"), "here", "leave").split()
    with open_store(tmp_path / "local") as local, open_quietly(team_location) as team:
        summary = sync_runs(local, team)
        assert (summary.copied, summary.running) == (1, 1)
        assert team.query_runs().ids == [here]
        copy = team.get_run(here)
        assert (copy["status"], copy["pid"], copy["host"]) == (
            "crashed",
            int(here_pid),
            this_host(),
        )
        assert copy["ended_at"] == local.get_run(here)["ended_at"]
        # The teammate's run ends; the next push copies it, ended, from its own host.
        local.finish_run(far, status="finished")
        assert sync_runs(local, team).copied == 1
        copied = team.get_run(far)
        assert (copied["status"], copied["host"], copied["user"]) == (
            "finished",
            "gpu-box-7",
            "carol",
        )
