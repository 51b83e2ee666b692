"""`%%track` stacks with other cell magics in either order (`%%time`, `%%capture`,
`%%writefile`, `%%timeit`): the other magic does its work and the run is recorded, in a
real InteractiveShell and in a real kernel through nbclient."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

import jupyter_xtrack as xt
from jupyter_xtrack import api
from jupyter_xtrack.facts import Fact
from jupyter_xtrack.records.run import Run
from tests.conftest import run_cell

BODY = "x = 1\nacc = 0.5\nprint('hello from the body')\n"


def _cell(first: str, second: str, body: str = BODY) -> str:
    return f"{first}\n{second}\n{body}"


def _only_run() -> Run:
    frame = xt.runs()
    assert len(frame) == 1, frame
    return xt.get_run(frame["id"].iloc[0])


@pytest.mark.parametrize("track_first", [True, False], ids=["track-first", "track-second"])
def test_time_and_track_in_either_order(
    shell: Any, capsys: pytest.CaptureFixture[str], track_first: bool
) -> None:
    magics = (
        ("%%track --name timed", "%%time") if track_first else ("%%time", "%%track --name timed")
    )
    result = run_cell(shell, _cell(*magics))
    assert result.error_before_exec is None and result.error_in_exec is None
    out = capsys.readouterr().out
    assert "Wall time" in out and "hello from the body" in out
    run = _only_run()
    assert (run.name, run.status) == ("timed", "finished")
    assert run.params["x"] == 1 and run.metrics["acc"] == 0.5
    assert shell.user_ns["x"] == 1


@pytest.mark.parametrize("track_first", [True, False], ids=["track-first", "track-second"])
def test_capture_and_track_in_either_order(shell: Any, track_first: bool) -> None:
    magics = (
        ("%%track --name cap", "%%capture captured")
        if track_first
        else ("%%capture captured", "%%track --name cap")
    )
    result = run_cell(shell, _cell(*magics))
    assert result.error_in_exec is None
    assert "hello from the body" in shell.user_ns["captured"].stdout
    run = _only_run()
    assert (run.name, run.status) == ("cap", "finished")
    assert run.params["x"] == 1 and run.metrics["acc"] == 0.5


@pytest.mark.parametrize("track_first", [True, False], ids=["track-first", "track-second"])
def test_writefile_and_track_in_either_order(shell: Any, workdir: Path, track_first: bool) -> None:
    magics = (
        ("%%track --name write", "%%writefile settings.ini")
        if track_first
        else ("%%writefile settings.ini", "%%track --name write")
    )
    result = run_cell(shell, _cell(*magics, body="[train]\nname = my model\n"))
    assert result.error_in_exec is None
    # The file holds the body only: the %%track line is the tracker's, not the file's.
    assert (workdir / "settings.ini").read_text() == "[train]\nname = my model\n"
    run = _only_run()
    assert (run.name, run.status) == ("write", "finished")
    assert [o["path"] for o in run.outputs] == ["settings.ini"]
    assert "%%writefile settings.ini" in (run.code or "")
    assert not run.fact(Fact.CAPTURE_PROBLEMS)  # the INI body is not read as Python


def test_timeit_under_track(shell: Any) -> None:
    result = run_cell(shell, "%%track --name t\n%%timeit -n1 -r1\ny = sum(range(10))\n")
    assert result.error_in_exec is None
    assert _only_run().status == "finished"


def test_an_error_under_a_stacked_magic_fails_the_run_and_reaches_the_user(shell: Any) -> None:
    result = run_cell(shell, "%%time\n%%track\nraise ValueError('boom')\n")
    assert isinstance(result.error_in_exec, ValueError)
    run = _only_run()
    assert run.status == "failed" and run.error is not None and "boom" in run.error["message"]


def test_bad_arguments_after_another_magic_are_still_a_usage_error(shell: Any) -> None:
    result = run_cell(shell, "%%time\n%%track --no-such-flag\nx = 1\n")
    assert result.error_in_exec is not None and "unrecognized" in str(result.error_in_exec)
    assert len(xt.runs()) == 0


def test_a_cell_run_by_a_magic_keeps_its_cell_id(shell: Any) -> None:
    shell.run_cell(
        "%%capture c\n%%track\nx = 2\n", store_history=True, cell_id="cell-with-a-capture"
    )
    api.flush()
    assert _only_run().cell_id == "cell-with-a-capture"


def test_a_magic_given_a_tracked_body_records_it_once(shell: Any) -> None:
    # A %%track body a running magic transforms itself: the %%track magic records it.
    source = (
        "get_ipython().run_cell_magic('time', '', '%%track --name inner\\nz = 3\\nacc = 0.9\\n')"
    )
    result = run_cell(shell, source)
    assert result.error_in_exec is None
    run = _only_run()
    assert (run.name, run.status) == ("inner", "finished")
    assert run.params["z"] == 3 and run.metrics["acc"] == 0.9


def test_other_magics_alone_record_nothing(shell: Any) -> None:
    run_cell(shell, "%%time\nx = 1\n")
    run_cell(shell, "%%capture c\nx = 1\n")
    assert len(xt.runs()) == 0


@pytest.mark.slow
def test_stacked_magics_in_a_real_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient

    from jupyter_xtrack.store import open_store

    cells = [
        "%%track --name a\n%%time\nx = 1",
        "%%time\n%%track --name b\ny = 2",
        "%%track --name c\n%%capture out\nprint('hidden')",
        "%%capture out2\n%%track --name d\nprint('hidden')",
        "%%track --name e\n%%writefile one.txt\nfirst",
        "%%writefile two.txt\n%%track --name f\nsecond",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in ["%load_ext jupyter_xtrack", *cells]]
    store_dir = tmp_path / "store"
    monkeypatch.setenv("XTRACK_STORE", str(store_dir))
    NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    for cell in nb.cells:
        assert not [o for o in cell.outputs if o.get("output_type") == "error"], cell.source
    assert (tmp_path / "one.txt").read_text() == "first\n"
    assert (tmp_path / "two.txt").read_text() == "second\n"
    store = open_store(store_dir)
    table = store.query_runs(order_by="number")
    assert table.columns["name"] == ["a", "b", "c", "d", "e", "f"]
    assert set(table.columns["status"]) == {"finished"}
    assert store.get_run("1")["params"]["x"] == 1 and store.get_run("2")["params"]["y"] == 2
    assert [o["path"] for o in store.get_run("6")["outputs"]] == ["two.txt"]
