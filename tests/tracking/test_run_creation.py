"""When a tracked cell waits for its run's creation by the background writer, in IPython's
InteractiveShell with the extension: the first run of a store is waited for (a store that
takes no runs is found before the cell runs); later runs are not, and their number is
waited for only where something reads it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.tracking import recorder
from jupyter_xtrack.tracking.session import CONTEXT

from ..conftest import run_cell

pytestmark = pytest.mark.slow


def _hold_writer(release: threading.Event) -> dict[str, bool]:
    """Queue an operation that keeps the writer busy until `release` (at most 20 s): every
    creation queued after it waits. Returns what it saw: released or timed out."""
    seen: dict[str, bool] = {}

    def busy(_store: Any) -> None:
        seen["released"] = release.wait(20)

    CONTEXT.writer().submit(busy, wake=True)
    return seen


def test_a_cell_after_the_first_does_not_wait_for_its_runs_creation(
    shell: Any, monkeypatch: pytest.MonkeyPatch, workdir: Path
) -> None:
    """Waiting for the creation cost every cell 1-2 ms of the gallery notebooks' hooks (the
    writer finishing the last cell's facts first). With the wait made as long as the
    writer is held, a cell that waited would only start once the writer gave up on the
    cell: here the cell's body releases the writer itself."""
    run_cell(shell, "%%track --name first\na = 1")
    monkeypatch.setattr(recorder, "CREATE_WAIT_S", 60.0)
    started = threading.Event()
    shell.user_ns["started"] = started
    seen = _hold_writer(started)
    run_cell(shell, "%%track --name second\nstarted.set()\nimport jupyter_xtrack as xt\n"
                    "n = xt.active_run().number\nb = 2")
    assert seen == {"released": True}, "the cell ran before its run was created"
    # the number, read in the cell before the creation, waited for it
    assert shell.user_ns["n"] == 2
    runs = CONTEXT.store().query_runs("name = 'second'", columns=["params.b"])
    assert runs.columns["number"] == [2]
    assert runs.columns["params.b"] == [2]


def test_the_first_run_of_a_store_that_takes_none_runs_the_cell_untracked(
    shell: Any, monkeypatch: pytest.MonkeyPatch, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Until a run was created through the writer, a cell waits for its run's creation: a
    store that refuses it is found before the cell runs, which then runs untracked with one
    warning saying why."""
    from jupyter_xtrack.store.store import Store

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(Store, "create_run", refuse)
    result = run_cell(shell, "%%track --name refused\nc = 3\nc")
    assert result.success and result.result == 3
    said = capsys.readouterr().err
    assert "could not create a run" in said and "this cell runs untracked" in said, said
    assert len(CONTEXT.store().query_runs("", columns=[])) == 0
