"""%%track in a real InteractiveShell: what a run captures, and that the cell behaves exactly
as it would untracked."""

from __future__ import annotations

import math
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import jupyter_xtrack as xt
from tests.conftest import git, run_cell


def last_run() -> xt.Run:
    frame = xt.runs(limit=1)
    assert len(frame) == 1, "expected a run to be recorded"
    return xt.get_run(frame["id"].iloc[0])


def test_tracked_cell_records_code_params_metrics_and_prints_summary(
    shell: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    cell = (
        "%%track --name baseline --tag stage=dev --experiment exp1\n"
        "lr = 0.05\n"
        "layers = [64, 32]\n"
        "opts = {'a': 1, 'b': None}\n"
        "for epoch in range(5):\n"
        "    xt.log(loss=1.0 / (epoch + 1), step=epoch)\n"
        "acc = 0.875\n"
        "helper = len(layers)\n"
    )
    result = run_cell(shell, cell)
    assert result.success
    assert shell.user_ns["acc"] == 0.875  # the body really ran in the user namespace
    run = last_run()
    assert run.name == "baseline" and run.experiment == "exp1" and run.status == "finished"
    assert run.tags == {"stage": "dev"}
    assert run.params["lr"] == 0.05
    assert run.params["layers"] == [64, 32]
    assert run.params["opts"] == {"a": 1, "b": None}
    assert "helper" not in run.params  # not a literal
    assert run.metrics["acc"] == 0.875
    assert run.metrics["loss"] == pytest.approx(0.2)
    hist = run.history("loss")
    assert list(hist["step"]) == [0, 1, 2, 3, 4]
    assert list(hist["value"]) == pytest.approx([1.0, 0.5, 1 / 3, 0.25, 0.2])
    assert run.code == cell.rstrip("\n") or run.code == cell
    out = capsys.readouterr().out
    assert f"xtrack #{run.number} baseline" in out and "finished" in out and "acc=0.875" in out


def test_summary_shows_git_state_inside_a_repository(shell: Any, repo: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    (repo / "README.md").write_text("changed\n")
    run_cell(shell, "%%track\nx = 1\n")
    out = capsys.readouterr().out
    assert f"git {head[:7]}" in out and "(main)" in out
    run = last_run()
    assert run.git is not None
    assert run.git["commit"] == head and run.git["branch"] == "main" and run.git["dirty"] is True
    assert "changed" in (run.git.get("diff") or "")
    # the store lives at the repository root and ignores itself for git
    assert (repo / ".xtrack" / ".gitignore").exists()
    assert ".xtrack" not in git(repo, "status", "--porcelain")


def test_outside_a_repository_git_is_recorded_as_no_git(shell: Any) -> None:
    run_cell(shell, "%%track\nx = 1\n")
    assert last_run().git == {"repo": False} or last_run().git.get("repo") is False


def test_result_value_becomes_a_metric_and_is_still_displayed(shell: Any) -> None:
    result = run_cell(shell, "%%track\n{'f1': 0.5, 'auc': 0.75}\n")
    assert result.result == {"f1": 0.5, "auc": 0.75}  # Out[n] as without tracking
    assert last_run().metrics == {"f1": 0.5, "auc": 0.75}
    result = run_cell(shell, "%%track\n40 + 2\n")
    assert result.result == 42
    assert last_run().metrics["result"] == 42


def test_exception_reaches_the_user_unchanged_and_marks_the_run_failed(shell: Any) -> None:
    cell = "%%track\nbefore = 1\nraise ValueError('boom 42')\n"
    result = run_cell(shell, cell)
    assert not result.success
    assert isinstance(result.error_in_exec, ValueError)
    assert str(result.error_in_exec) == "boom 42"
    assert shell.user_ns["before"] == 1
    run = last_run()
    assert run.status == "failed"
    assert run.error["type"] == "ValueError" and "boom 42" in run.error["traceback"]


def test_traceback_points_at_the_cell_line(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run_cell(shell, "%%track\nx = 1\n1 / 0\n")
    out = capsys.readouterr()
    text = out.out + out.err
    assert "ZeroDivisionError" in text
    assert "----> 3 1 / 0" in text  # line numbers are those of the cell as the user sees it


def test_keyboard_interrupt_marks_the_run_interrupted(shell: Any) -> None:
    result = run_cell(shell, "%%track\nraise KeyboardInterrupt\n")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert last_run().status == "interrupted"


def test_param_data_and_sklearn_estimator_params(shell: Any, workdir: Path) -> None:
    (workdir / "extra.bin").write_bytes(b"abc" * 100)
    cell = (
        "%%track --param n_rows --data extra.bin\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "import numpy as np\n"
        "n_rows = int('30')\n"
        "X = np.arange(60, dtype=float).reshape(30, 2); y = (X[:, 0] > 30).astype(int)\n"
        "model = LogisticRegression(C=20.0, max_iter=500).fit(X, y)\n"
    )
    assert run_cell(shell, cell).success
    run = last_run()
    assert run.params["n_rows"] == 30
    assert run.params["model.C"] == 20.0 and run.params["model.max_iter"] == 500
    assert "model.penalty" not in run.params  # defaults are not params
    inputs = {f["path"]: f for f in run.inputs}
    assert inputs["extra.bin"]["hash"].startswith("xxh3_128:")
    datasets = {d["name"]: d for d in run.datasets}
    assert datasets["X"]["shape"] == [30, 2] and datasets["X"]["hash"].startswith("xxh3_128:")


def test_files_read_and_written_are_hashed_and_linked(shell: Any, workdir: Path) -> None:
    import pandas as pd

    pd.DataFrame({"a": [1, 2, 3], "b": [4.0, 5.0, 6.0]}).to_csv(workdir / "train.csv", index=False)
    run_cell(
        shell,
        "%%track --name prep\nimport pandas as pd\n"
        "df = pd.read_csv('train.csv')\ndf['c'] = df.a * 2\ndf.to_csv('features.csv', index=False)\n",
    )
    prep = last_run()
    assert [f["path"] for f in prep.inputs] == ["train.csv"]
    assert [f["path"] for f in prep.outputs] == ["features.csv"]
    import xxhash

    expected = xxhash.xxh3_128_hexdigest((workdir / "train.csv").read_bytes())
    assert prep.inputs[0]["hash"] == f"xxh3_128:{expected}"
    df_fp = {d["name"]: d for d in prep.datasets}["df"]
    assert df_fp["shape"] == [3, 3]
    run_cell(shell, "%%track --name train\nfeats = open('features.csv').read()\n")
    train = last_run()
    assert train.inputs[0]["path"] == "features.csv"
    assert train.inputs[0]["produced_by"] == prep.id  # lineage back to the writer


def test_unreadable_data_file_is_recorded_not_fatal(shell: Any) -> None:
    result = run_cell(shell, "%%track --data missing.csv\nx = 1\n")
    assert result.success
    rec = last_run().inputs[0]
    assert rec["path"] == "missing.csv" and rec["hash"] is None and rec["status"] != "ok"


def test_lineage_is_the_executed_session_as_a_notebook(shell: Any) -> None:
    run_cell(shell, "a_value = 10")
    run_cell(shell, "b_value = a_value + 1")
    run_cell(shell, "%%track\nc_value = b_value * 2\n")
    nb = last_run().lineage
    assert nb is not None and nb["nbformat"] == 4
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
               for c in nb["cells"]]
    assert sources[-3:] == ["a_value = 10", "b_value = a_value + 1", "%%track\nc_value = b_value * 2\n"]
    counts = [c["execution_count"] for c in nb["cells"]]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)


def test_notebook_snapshot_from_session_path(shell: Any, workdir: Path) -> None:
    nb_path = workdir / "analysis.ipynb"
    nb_path.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n')
    shell.user_ns["__session__"] = str(nb_path)
    run_cell(shell, "%%track\nx = 1\n")
    run = last_run()
    assert run.notebook_path and run.notebook_path.endswith("analysis.ipynb")
    assert run.notebook == {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_environment_is_captured(shell: Any) -> None:
    import platform

    run_cell(shell, "%%track\nimport numpy\nx = 1\n")
    env = last_run().env
    assert env is not None
    assert env["python"]["version"] == platform.python_version()
    assert "numpy" in {k.lower() for k in env["packages"]}
    assert "numpy" in {k.lower() for k in env["imported"]}
    assert env["hardware"]["cores_logical"] >= 1


def test_secrets_never_reach_the_store(shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "s3cr3t-value-123")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    token = "ghp_" + "a1B2" * 9
    run_cell(shell, f"%%track\napi_key = '{token}'\nprint('token is {token}')\n")
    run = last_run()
    assert token not in (run.code or "")
    assert token not in (run.stdout or "")
    env_vars = (run.env or {})["env_vars"]
    assert "MY_SERVICE_TOKEN" not in env_vars and env_vars.get("OMP_NUM_THREADS") == "1"
    blobs = Path(xt.open_store().root, "blobs")
    for blob in blobs.rglob("*"):
        if blob.is_file():
            assert token.encode() not in blob.read_bytes()
            assert b"s3cr3t-value-123" not in blob.read_bytes()


def test_stdout_is_captured_and_capped(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run_cell(shell, "%%track\nprint('hello from the cell')\n")
    assert last_run().stdout == "hello from the cell\n"
    assert "hello from the cell" in capsys.readouterr().out  # still shown to the user
    run_cell(shell, "%%track\nfor i in range(30000): print('x' * 60)\n")
    run = last_run()
    assert run.fact("stdio")["stdout_truncated"] is True
    assert len(run.stdout or "") <= 1_000_000


def test_figures_left_open_become_png_artifacts(shell: Any) -> None:
    # (figures the inline backend displays are covered in a real kernel, test_kernel_e2e)
    cell = (
        "%%track\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "fig = plt.figure(); plt.plot([1, 2, 3])\n"
    )
    assert run_cell(shell, cell).success
    run = last_run()
    pngs = [a for a in run.artifacts if a["name"].endswith(".png")]
    assert pngs, run.artifacts
    assert run.artifact_bytes(pngs[0]["name"]).startswith(b"\x89PNG")
    shell.run_cell("plt.close('all')")


def test_resources_are_measured(shell: Any) -> None:
    run_cell(shell, "%%track\nblock = bytearray(64 * 1024 * 1024)\nsum(range(10**5))\n")
    res = last_run().resources
    assert res["wall_s"] >= 0 and res["cpu_s"] >= 0
    assert res["peak_rss_bytes"] >= 64 * 1024 * 1024


def test_nan_and_inf_metrics_and_unserializable_params(shell: Any) -> None:
    cell = (
        "%%track\nxt.log(loss=float('nan'), gain=float('inf'))\n"
        "xt.log_params(fn=len, ok=3)\nxt.log(bad='not a number')\n"
    )
    assert run_cell(shell, cell).success
    run = last_run()
    assert math.isnan(run.metrics["loss"]) and run.metrics["gain"] == math.inf
    assert "bad" not in run.metrics
    assert run.params["ok"] == 3 and "built-in function len" in run.params["fn"]
    assert run.fact("params_flagged") == ["fn"]


def test_log_artifact_file_and_objects(shell: Any, workdir: Path) -> None:
    (workdir / "model.txt").write_text("weights")
    cell = (
        "%%track\nimport pandas as pd\n"
        "xt.log_artifact('model.txt')\n"
        "xt.log_artifact('model.txt', name='renamed.txt')\n"
        "xt.log_artifact(pd.DataFrame({'a': [1, 2]}), name='frame.parquet')\n"
        "xt.log_artifact({'k': 1})\n"
    )
    assert run_cell(shell, cell).success
    run = last_run()
    names = {a["name"] for a in run.artifacts}
    assert {"model.txt", "renamed.txt", "frame.parquet", "dict.json"} <= names
    assert run.artifact_bytes("renamed.txt") == b"weights"
    import io

    import pandas as pd

    assert pd.read_parquet(io.BytesIO(run.artifact_bytes("frame.parquet")))["a"].tolist() == [1, 2]


def test_metric_pattern_is_configurable(shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    run_cell(shell, "%%track\nval_acc = 0.9\nthroughput = 12.5\n")
    assert set(last_run().metrics) == {"val_acc"}
    monkeypatch.setenv("XTRACK_METRIC_PATTERN", r"^throughput$")
    run_cell(shell, "%%track\nval_acc = 0.9\nthroughput = 12.5\n")
    assert set(last_run().metrics) == {"throughput"}


def test_nested_start_run_is_a_child_run(shell: Any) -> None:
    cell = (
        "%%track --name parent\n"
        "for lr in (0.1, 0.2):\n"
        "    with xt.start_run(name=f'child-{lr}', params={'lr': lr}):\n"
        "        xt.log(score=lr * 2)\n"
    )
    assert run_cell(shell, cell).success
    frame = xt.runs()
    parent = xt.get_run(frame[frame["name"] == "parent"]["id"].iloc[0])
    children = [xt.get_run(c) for c in parent.children]
    assert sorted(c.name for c in children) == ["child-0.1", "child-0.2"]
    assert all(c.parent_id == parent.id and c.status == "finished" for c in children)
    assert sorted(c.metrics["score"] for c in children) == [0.2, 0.4]


def test_bad_track_arguments_give_a_usage_error_and_do_not_run(shell: Any,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cell(shell, "%%track --tag novalue\nran_anyway = True\n")
    assert not result.success
    assert "--tag wants KEY=VALUE" in (capsys.readouterr().err + capsys.readouterr().out + str(result.error_in_exec))
    assert "ran_anyway" not in shell.user_ns


def test_store_that_cannot_be_written_never_breaks_the_cell(
    shell: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from jupyter_xtrack.tracking.session import CONTEXT

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store folder should be")
    os.environ["XTRACK_STORE"] = str(blocker / "store")
    try:
        CONTEXT.reset()
        result = run_cell(shell, "%%track\nvalue = 6 * 7\nvalue\n")
        assert result.success and result.result == 42
        err = capsys.readouterr().err
        assert err.count("xtrack: warning") == 1 and "untracked" in err
        run_cell(shell, "%%track\nvalue = 1\n")
        assert "xtrack: warning" not in capsys.readouterr().err  # said once, not every cell
    finally:
        del os.environ["XTRACK_STORE"]
        CONTEXT.reset()


def test_magic_fallback_path_tracks_and_returns_value(shell: Any) -> None:
    value = shell.run_cell_magic("track", "--name direct", "zz = 5\nzz * 2\n")
    from jupyter_xtrack import api

    api.flush()
    assert value == 10
    run = last_run()
    assert run.name == "direct" and run.status == "finished"


def test_xtrack_line_magic(shell: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    run_cell(shell, "%%track --name one\nacc = 0.5\n")
    run_cell(shell, "%%track --name two\nacc = 0.7\n")
    view = shell.run_line_magic("xtrack", "runs metrics.acc > 0.6")
    assert list(view.frame["name"]) == ["two"]  # the interactive table, over the filtered runs
    monkeypatch.setenv("XTRACK_WIDGETS", "0")
    frame = shell.run_line_magic("xtrack", "runs metrics.acc > 0.6")
    assert list(frame["name"]) == ["two"]  # without views: the DataFrame itself
    detail = shell.run_line_magic("xtrack", "show #1")
    assert "one" in repr(detail) and "acc" in repr(detail)
    comp = shell.run_line_magic("xtrack", "compare 1 2")
    assert comp.metrics["acc"] == [0.5, 0.7]


def test_store_is_a_valid_sqlite_database(shell: Any) -> None:
    run_cell(shell, "%%track\nx = 1\n")
    root = xt.open_store().root
    con = sqlite3.connect(Path(root) / "xtrack.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_runs_frame_columns_follow_the_documented_order(shell: Any) -> None:
    run_cell(shell, "%%track --tag team=a\nlr = 0.1\nacc = 0.5\n")
    cols = list(xt.runs().columns)
    assert cols[:9] == ["id", "number", "name", "experiment", "status", "started_at",
                        "duration_s", "git.commit", "git.dirty"]
    assert cols[9:12] == ["params.lr", "metrics.acc", "tags.team"]


def test_store_locked_by_another_process_neither_delays_nor_loses_the_cell(
    shell: Any, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """R3: a cell that starts while another process holds the store's lock used to run
    untracked after 2 s, its run stored as failed. Now it runs at once, recorded: its run
    is created and its points written as soon as the lock frees."""
    import subprocess
    import sys

    run_cell(shell, "%%track\nx = 1\n")  # the store exists
    db = Path(xt.open_store().root) / "xtrack.db"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys\n"
         f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
         "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); sys.stdin.readline()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        result = shell.run_cell("%%track\nfor i in range(1000):\n    xt.log(loss=i)\n"
                                "value = 6 * 7\nvalue\n", store_history=True)
        assert result.success and result.result == 42
        # The lock is held until this test lets go: the cell finished without waiting for it.
        assert holder.poll() is None, "the lock was released before the cell finished"
        assert "untracked" not in capsys.readouterr().err
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    xt.flush()
    from jupyter_xtrack.tracking.recorder import wait_pending

    wait_pending()
    run = last_run()
    assert run.status == "finished" and run.metrics["result"] == 42 and run.not_stored is None
    assert len(run.history("loss")) == 1000


FULL_SCRIPT = """
import os, resource, signal, sys
import jupyter_xtrack as xt
with xt.start_run(name="warm"):
    xt.log(a=1.0)
xt.flush()
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # EFBIG instead of death, like a full disk
# The limit is per file: room for the database to grow by a run, none for a 3 MB blob.
largest = max(f.stat().st_size for f in __import__('pathlib').Path(sys.argv[1]).rglob('*') if f.is_file())
resource.setrlimit(resource.RLIMIT_FSIZE, (largest + 200_000, largest + 200_000))
with xt.start_run(name="full"):
    xt.log_artifact(os.urandom(3_000_000), name="big.bin")
    for i in range(50_000):
        xt.log(m=float(i), step=i)
    result = sum(range(10))
print("cell result", result)
"""


def test_full_disk_never_breaks_the_code_and_says_so(tmp_path: Path) -> None:
    import subprocess
    import sys

    store = tmp_path / "store"
    script = tmp_path / "full.py"
    script.write_text(FULL_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(store)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "XTRACK_STORE": str(store)})
    assert proc.returncode == 0, proc.stderr
    assert "cell result 45" in proc.stdout
    assert "big.bin" in proc.stderr and "could not be stored" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_capture_failures_never_break_the_cell_and_are_recorded(
    shell: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import jupyter_xtrack.capture.git as capture_git
    import jupyter_xtrack.capture.params as capture_params

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("capture exploded")

    monkeypatch.setattr(capture_git, "git_state", broken)
    monkeypatch.setattr(capture_params, "analyze_cell", broken)
    result = run_cell(shell, "%%track\nvalue = 6 * 7\nvalue\n")
    assert result.success and result.result == 42 and shell.user_ns["value"] == 42
    err = capsys.readouterr().err
    assert err.count("xtrack: warning") == 1 and "capture exploded" in err
    run = last_run()
    assert run.status == "finished" and run.metrics["result"] == 42
    problems = " ".join(run.fact("capture_problems") or [])
    assert "git" in problems and "read the namespace" in problems


def test_a_thread_with_its_own_run_stack_logs_to_its_runs_only(shell: Any) -> None:
    import threading

    from jupyter_xtrack.tracking.session import CONTEXT

    ready, go = threading.Event(), threading.Event()

    def job() -> None:
        CONTEXT.bind_thread_stack([])
        with xt.start_run(name="background-trial", kind="trial"):
            ready.set()
            go.wait(10)
            xt.log(job_metric=1.0)

    thread = threading.Thread(target=job)
    thread.start()
    ready.wait(10)
    run_cell(shell, "%%track --name foreground\nxt.log(cell_metric=2.0)\n")
    go.set()
    thread.join(10)
    xt.flush()
    frame = xt.runs()
    by_name = {n: xt.get_run(i) for n, i in zip(frame["name"], frame["id"], strict=True)}
    assert by_name["foreground"].metrics == {"cell_metric": 2.0}
    assert by_name["background-trial"].metrics == {"job_metric": 1.0}
    assert CONTEXT.stack == []  # the main thread's stack is untouched


def test_the_hooks_run_with_a_short_switch_interval_and_give_the_cell_its_own(
    shell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a tracked cell's hooks run, the tracker's busy threads are made to drop the GIL
    within HOOK_SWITCH_S, not the user's interval; the cell's code, and what follows the
    cell, run with the user's."""
    import sys

    from jupyter_xtrack.kernel.hooks import HOOK_SWITCH_S
    from jupyter_xtrack.tracking.recorder import Recording

    seen: list[float] = []
    end = Recording.end

    def ending(self: Recording, *args: Any, **kwargs: Any) -> Any:
        seen.append(sys.getswitchinterval())
        return end(self, *args, **kwargs)

    monkeypatch.setattr(Recording, "end", ending)
    users = sys.getswitchinterval()
    sys.setswitchinterval(0.01)
    try:
        run_cell(shell, "%%track\nimport sys\ninside = sys.getswitchinterval()")
        after = sys.getswitchinterval()
    finally:
        sys.setswitchinterval(users)
    assert seen == [HOOK_SWITCH_S]
    assert shell.user_ns["inside"] == 0.01
    assert after == 0.01


def test_a_cell_whose_git_capture_is_done_reads_no_git_files_at_its_end(
    shell: Any, repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The run's commit and branch shown as the cell ends come from its git capture once
    that is done, as the stored fact does, not from reading `.git` again on the cell's
    thread (each read lets the GIL go while the tracker's threads are busy)."""
    from jupyter_xtrack.tracking import recorder

    reads: list[str] = []
    quick_git = recorder._quick_git
    monkeypatch.setattr(recorder, "_quick_git", lambda path: reads.append(path) or quick_git(path))
    head = git(repo, "rev-parse", "HEAD").strip()
    # The cell waits for its own git capture, as a longer cell would.
    run_cell(
        shell,
        "%%track\nrecording = get_ipython()._xtrack_hooks._frames[-1][0]\n"
        "recording._git.result(timeout=60)\nx = 1\n",
    )
    assert f"git {head[:7]}" in capsys.readouterr().out
    assert reads == []
    run = last_run()
    assert run.git is not None and run.git["commit"] == head and run.git["branch"] == "main"
