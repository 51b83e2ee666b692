"""A tracked cell's finalisation waits for a quiet kernel (tracking/later.py), in a real
InteractiveShell with the extension's hooks: what it stores is still what the cell left,
and whoever reads the runs gets them whole at once."""

from __future__ import annotations

import queue
import sqlite3
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import pytest

import jupyter_xtrack as xt
from jupyter_xtrack.capture.data import hash_file
from jupyter_xtrack.tracking import later, lifecycle
from jupyter_xtrack.tracking.recorder import Recording
from jupyter_xtrack.tracking.session import CONTEXT


@pytest.fixture
def busy(shell: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The kernel counts as running cells until the test sets the returned event."""
    quiet = threading.Event()
    monkeypatch.setattr(later, "_quiet", lambda timeout, long_cell_s=None: quiet.wait(timeout))
    monkeypatch.setattr(later, "FINALIZE_WAIT_S", 600.0)
    yield quiet
    quiet.set()  # nothing left waiting for the next test


def _db() -> sqlite3.Connection:
    CONTEXT.flush()  # what the writer holds, committed
    return sqlite3.connect(Path(CONTEXT.store().root) / "xtrack.db")


def stored(name: str) -> tuple[str, str, set[str]]:
    """The run's id, status and fact kinds as the database holds them."""
    con = _db()
    try:
        number, run_id, status = con.execute(
            "SELECT number, id, status FROM runs WHERE name = ?", (name,)
        ).fetchone()
        kinds = {k for (k,) in con.execute("SELECT kind FROM facts WHERE run = ?", (number,))}
    finally:
        con.close()
    return run_id, status, kinds


def finalised(name: str) -> xt.Run:
    """The run, once the finalisations pending now (and what they started) are done."""
    for _ in range(3):
        for fut in list(lifecycle._pending):
            fut.result(timeout=60)
    return xt.get_run(stored(name)[0])


def test_the_run_is_finalised_once_the_kernel_is_quiet(shell: Any, busy: threading.Event) -> None:
    assert shell.run_cell("%%track --name first\nlr = 0.1\nacc = 0.9\n").success
    # done in milliseconds when it does not wait; here it waits for as long as cells run
    _, waiting = futures.wait(list(lifecycle._pending), timeout=2.0)
    assert waiting
    run_id, status, kinds = stored("first")
    # the cell's end wrote its params and metrics; its facts wait while cells run
    assert status == "running" and not kinds & {"code", "env", "lineage", "git"}
    con = _db()
    try:
        assert con.execute("SELECT count(*) FROM params p JOIN runs r ON p.run = r.number "
                           "WHERE r.id = ?", (run_id,)).fetchone()[0] == 1
    finally:
        con.close()
    busy.set()
    finalised("first")
    _, status, kinds = stored("first")
    assert status == "finished" and {"code", "env", "lineage", "resources"} <= kinds


def test_reading_the_runs_does_not_wait_for_quiet(shell: Any, busy: threading.Event) -> None:
    assert shell.run_cell("%%track --name read_soon\nacc = 0.5\n").success
    assert shell.run_cell("got = xt.get_run(xt.runs(limit=1)['id'].iloc[0])").success
    got = shell.user_ns["got"]
    assert got.name == "read_soon" and got.status == "finished" and "acc = 0.5" in got.code
    assert got.env is not None and not busy.is_set()


def test_the_environment_is_the_one_the_cell_left(shell: Any, busy: threading.Event) -> None:
    # idna: installed with the project (anyio needs it), imported again by the next cell
    for name in [m for m in sys.modules if m == "idna" or m.startswith("idna.")]:
        del sys.modules[name]
    assert shell.run_cell("%%track --name before_import\nx = 1\n").success
    assert shell.run_cell("import idna\n").success  # before the kernel is ever quiet
    busy.set()
    assert "idna" not in (finalised("before_import").env or {})["imported"]
    assert shell.run_cell("%%track --name after_import\ny = idna.__name__\n").success
    assert "idna" in (finalised("after_import").env or {})["imported"]


def test_files_are_hashed_as_the_cell_left_them(
    shell: Any, busy: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed = threading.Event()
    original = Recording._hash_files_then_wait

    def spy(self: Recording, *args: Any) -> None:
        original(self, *args)
        hashed.set()

    monkeypatch.setattr(Recording, "_hash_files_then_wait", spy)
    Path("data.csv").write_text("a,b\n1,2\n")
    before = hash_file("data.csv")[0]
    assert shell.run_cell(
        "%%track --name reads\nwith open('data.csv') as f:\n    rows = f.read().splitlines()\n"
    ).success
    assert hashed.wait(60)  # hashed while the finalisation still waits for quiet
    assert stored("reads")[1] == "running"
    assert shell.run_cell("open('data.csv', 'w').write('a,b\\n3,4\\n5,6\\n')").success
    busy.set()
    inputs = [f for f in finalised("reads").inputs if f["path"] == "data.csv"]
    assert [f["hash"] for f in inputs] == [before]


def _git_spies(monkeypatch: pytest.MonkeyPatch, busy: threading.Event) -> tuple[
    str, list[bool], queue.Queue[dict[str, Any]]
]:
    """A repository in the work folder; each walk of its tree (whether the kernel was quiet
    then) and each git capture's result, as they happen."""
    from jupyter_xtrack.capture import git as git_capture
    from jupyter_xtrack.capture import tree_watch
    from tests.capture.test_git import git

    root = Path.cwd()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("lr = 0.1\n")
    git(root, "add", "train.py")
    git(root, "commit", "-q", "-m", "first")
    builds: list[bool] = []
    real_build = tree_watch._Watch.build

    def build(self: Any, *args: Any) -> None:
        builds.append(busy.is_set())
        real_build(self, *args)

    captured: queue.Queue[dict[str, Any]] = queue.Queue()
    real_state = git_capture.git_state

    def state(*args: Any, **kwargs: Any) -> dict[str, Any]:
        out = real_state(*args, **kwargs)
        captured.put(out)
        return out

    monkeypatch.setattr(tree_watch._Watch, "build", build)
    monkeypatch.setattr(git_capture, "git_state", state)
    return git(root, "rev-parse", "HEAD"), builds, captured


def test_the_first_cell_leaves_the_git_watch_to_a_pause(
    shell: Any, busy: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first capture in a repository would walk its work tree to watch it, beside the
    kernel's first cell (a notebook's imports): it runs `git status` instead, and the walk
    waits for a pause between cells."""
    from jupyter_xtrack.capture import tree_watch

    head, builds, captured = _git_spies(monkeypatch, busy)
    assert shell.run_cell("%%track --name git_one\nx = 1\n").success
    assert captured.get(timeout=60)["commit"] == head
    assert builds == []  # without the change, the first capture walks the tree at once
    busy.set()
    later.warm_up(lambda: None).result(timeout=60)  # the warm-ups run in order: the build ran
    assert builds == [True] and tree_watch._watches.get(str(Path.cwd())) is not None
    assert finalised("git_one").git["commit"] == head


def test_without_a_pause_the_next_capture_builds_the_git_watch(
    shell: Any, busy: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Run All has no pause between cells: the second capture builds the watch, so that
    the cells after it run no `git status` (what the watch is for in a large repository)."""
    head, builds, captured = _git_spies(monkeypatch, busy)
    assert shell.run_cell("%%track --name git_a\nx = 1\n").success
    assert captured.get(timeout=60)["commit"] == head and builds == []
    assert shell.run_cell("%%track --name git_b\nx = 2\n").success
    assert captured.get(timeout=60)["commit"] == head
    assert builds == [False]  # built while cells run, by the second cell's capture
    busy.set()
    assert finalised("git_b").git["commit"] == head


def test_the_environment_prefetch_waits_for_a_quiet_kernel(
    shell: Any, busy: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`%load_ext` starts reading the installed packages and the hardware (tens of
    milliseconds of Python): in a Run All that would be beside the first cell."""
    from jupyter_xtrack.capture import env
    from jupyter_xtrack.tracking import recorder

    when: list[bool] = []
    real = env.static_environment

    def static() -> dict[str, Any]:
        when.append(busy.is_set())
        return real()

    monkeypatch.setattr(env, "static_environment", static)
    monkeypatch.setattr(recorder, "_static_env", None)
    monkeypatch.setattr(recorder, "_static_env_started", threading.Event())
    recorder.prefetch_environment()
    assert not futures.wait([recorder._static_env], timeout=1.0).done and when == []
    busy.set()
    assert recorder._static_env.result(timeout=60)["packages"] and when == [True]


def test_warm_ups_wait_for_a_pause_between_cells_not_a_long_cell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A finalisation may run beside a cell that has run long; a warm-up waits until no cell
    runs (a notebook's first cell, its imports, often runs seconds: the warm-up would land
    in it), and a reader of the runs neither hurries it nor waits for it."""
    from jupyter_xtrack.views import activity

    kernel = activity.KernelActivity()
    monkeypatch.setattr(activity, "LONG_CELL_S", 0.05)
    monkeypatch.setattr(later, "_quiet", kernel.wait_quiet)
    kernel.cell_started()
    ran: list[str] = []
    finalize = later.submit("xtrack-test-a", 60, ran.append, "finalize")
    warm_up = later.warm_up(ran.append, "warm-up")
    finalize.result(timeout=30)
    lifecycle.wait_pending(CONTEXT, timeout=30)
    assert not futures.wait([warm_up], timeout=0.5).done and ran == ["finalize"]
    kernel.cell_ended()
    warm_up.result(timeout=30)
    assert ran == ["finalize", "warm-up"]
