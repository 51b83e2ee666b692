"""The layers hold at run time too: what a process loads, a %%track line parsed once, one
run lifecycle with statuses as values, and the one run that records nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cell


def test_a_store_reader_builds_no_tracking_session() -> None:
    # The server and the CLI import the package's readers; the package root must not drag
    # in the API, the tracking session (with its atexit hook), the views or the kernel.
    code = (
        "import sys, atexit\n"
        "import jupyter_xtrack.server.reader, jupyter_xtrack.server.routes\n"
        "import jupyter_xtrack.cli\n"
        "from jupyter_xtrack.records.run import Run\n"
        "print(sorted(m for m in sys.modules if m.startswith(('jupyter_xtrack.api', "
        "'jupyter_xtrack.tracking', 'jupyter_xtrack.kernel', 'jupyter_xtrack.views'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert out.stdout.strip() == "[]"


def test_public_names_load_on_first_use_and_stay() -> None:
    code = (
        "import sys, jupyter_xtrack as xt\n"
        "assert 'jupyter_xtrack.api' not in sys.modules\n"
        "log = xt.log\n"
        "assert 'jupyter_xtrack.api' in sys.modules and xt.__dict__['log'] is log\n"
        "assert 'start_run' in dir(xt)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "ok"


def test_a_track_line_is_parsed_once_per_cell(shell: Any) -> None:
    from jupyter_xtrack.kernel.track_line import parse_track_line

    parse_track_line.cache_clear()
    run_cell(shell, "%%track --name once --tag a=b\nx = 1\n")
    info = parse_track_line.cache_info()
    assert info.misses == 1 and info.hits >= 1  # the transformer parsed; the hook reused it


def test_a_track_request_gives_fresh_options() -> None:
    from jupyter_xtrack.kernel.track_line import parse_track_line

    request = parse_track_line("--name n -t k=v -p lr --data d.csv")
    first = request.options()
    first.tags["other"] = "x"
    assert request.options().tags == {"k": "v"}
    assert (first.name, first.param_names, first.data_paths) == ("n", ["lr"], ["d.csv"])


@pytest.mark.parametrize(("error", "status"), [
    (None, "finished"),
    (ValueError("x"), "failed"),
    (KeyboardInterrupt(), "interrupted"),
    (SystemExit(1), "killed"),
])
def test_status_for(error: BaseException | None, status: str) -> None:
    from jupyter_xtrack.tracking.lifecycle import status_for

    assert status_for(error) == status


def test_an_unknown_search_status_is_stored_as_failed() -> None:
    from jupyter_xtrack.tracking.search_runs import as_status

    assert as_status("interrupted") == "interrupted"
    assert as_status("pruned") == "failed"


def test_end_run_stores_the_status_it_is_given(shell: Any) -> None:
    import jupyter_xtrack as xt

    xt.start_run(name="ended")
    xt.end_run("interrupted")
    xt.flush()
    row = xt.runs().iloc[0]
    assert row["status"] == "interrupted" and row["name"] == "ended"
    assert xt.get_run(int(row["number"])).error is None  # a status, not a made-up exception
    assert xt.active_run() is None


def test_the_run_that_records_nothing(shell: Any, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    import jupyter_xtrack as xt
    from jupyter_xtrack.tracking.active_run import NullRun
    from jupyter_xtrack.tracking.search_runs import open_light
    from jupyter_xtrack.tracking.session import CONTEXT

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store folder should be")
    os.environ["XTRACK_STORE"] = str(blocker / "store")
    try:
        CONTEXT.reset()
        with xt.start_run(name="nowhere", params={"lr": 0.1}) as run:
            assert isinstance(run, NullRun) and not run.recorded
            run.log(loss=0.5)
            assert run.log_artifact(b"bytes") == {}
        trial = open_light("trial", name="t", experiment=None, tags={"k": "v"},
                           params={"lr": 0.2}, parent_id=None, push=True)
        assert isinstance(trial.run, NullRun) and not trial.recorded
        xt.log(acc=0.9)  # goes to the trial, in memory only
        assert trial.run.metrics == {"acc": 0.9} and trial.run.params == {"lr": 0.2}
        trial.close("failed", ValueError("boom"))
        assert trial.run.status == "failed" and trial.run.error["type"] == "ValueError"
        assert xt.active_run() is None
        assert "cannot be used" in capsys.readouterr().err
    finally:
        del os.environ["XTRACK_STORE"]
        CONTEXT.reset()


# Keys only the fact schema may spell: every other module names them through facts.py.
SCHEMA_ONLY_KEYS = ("stdio", "params_flagged", "params_varying", "capture_problems",
                    "diff_hash", "diff_bytes")


@pytest.mark.parametrize("key", SCHEMA_ONLY_KEYS)
def test_a_fact_key_is_spelled_once(key: str) -> None:
    import ast

    import jupyter_xtrack

    package = Path(jupyter_xtrack.__file__).parent
    spelled = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if any(isinstance(node, ast.Constant) and node.value == key
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
    )
    assert spelled == ["facts.py"]


def test_statuses_and_kinds_come_from_the_schema() -> None:
    from jupyter_xtrack import facts, store

    assert store.RUN_STATUSES is facts.STATUSES and store.RUN_KINDS is facts.KINDS


def test_end_run_inside_a_tracked_cell_leaves_the_cell_run_alone(
        shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import jupyter_xtrack as xt

    run_cell(shell, "%%track --name cell\nimport jupyter_xtrack as xt\nxt.end_run()\nx = 1\n")
    assert "end_run() was called with no active run" in capsys.readouterr().err
    row = xt.runs().iloc[0]
    assert row["name"] == "cell" and row["status"] == "finished"
