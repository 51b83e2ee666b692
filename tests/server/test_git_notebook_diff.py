"""GET runs/{id}/git/notebook-diff/{path}: nbdime's diff of a notebook of a run's git diff
(HEAD's version -> the working tree's, outputs stripped), from the blobs the git capture
kept, on the diff workers and under their limits. The run's git fact is made by the real
capture (`git_state`) on a real repository, stored as the recorder stores it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_xtrack.capture.git import git_state
from jupyter_xtrack.notebook.gitdiff import strip_for_git_diff
from jupyter_xtrack.store import open_store
from tests.capture.test_git_notebooks import notebook_with_plot
from tests.conftest import git

from .conftest import Populated
from .test_endpoints import error_of
from .test_heavy_pool import SLOW_BYTES, WAIT_S, slow_notebook, worker_processes

NB = "notebooks/analysis.ipynb"


@pytest.fixture
def limits() -> dict[str, Any]:
    """XTrack settings for the test's server (tests parametrize it)."""
    return {}


@pytest.fixture
def jp_server_config(store_path: Any, limits: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_xtrack.server": True}},
        "XTrack": {"store": str(store_path), "events_poll_s": 0.05, **limits},
    }


def store_git_run(root: Path, state: dict[str, Any], name: str = "dirty") -> str:
    """A finished run whose git fact is `state` stored as the recorder stores it (the
    stripped sides as blobs); returns its number."""
    with open_store(root) as store:
        rid, number = store.create_run(name=name, experiment="git")
        notebooks = [
            {
                "path": nb["path"],
                "base_hash": store.put_blob(nb["base"]) if nb["base"] is not None else None,
                "work_hash": store.put_blob(nb["work"]) if nb["work"] is not None else None,
            }
            for nb in state.pop("stripped_notebooks")
        ]
        diff = state.pop("diff")
        store.set_facts(
            rid,
            git={
                **state,
                "diff_hash": store.put_blob(diff.encode()),
                "diff_bytes": len(diff),
                "stripped_notebooks": notebooks,
            },
        )
        store.finish_run(rid, status="finished")
    return str(number)


def dirty_notebook_state(repo: Path, source: str) -> dict[str, Any]:
    """The git capture of a new repository at `repo` whose NB (a plot in its output) and
    train.py were changed since their commit: NB's plot cell now reads `source`."""
    (repo / "notebooks").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / NB).write_text(notebook_with_plot("plot(1)", 0))
    (repo / "train.py").write_text("lr = 0.1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "analysis")
    (repo / NB).write_text(notebook_with_plot(source, 3))
    (repo / "train.py").write_text("lr = 0.2\n")
    state = git_state(str(repo), strip_notebooks=strip_for_git_diff)
    assert [nb["path"] for nb in state["stripped_notebooks"]] == [NB]
    return state


@pytest.fixture
def dirty_run(populated: Populated, tmp_path: Path) -> str:
    """A run made while NB's plot cell had a new line, `save()`."""
    return store_git_run(populated.root, dirty_notebook_state(tmp_path / "repo", "plot(2)\nsave()"))


@pytest.fixture
def slow_run(populated: Populated) -> str:
    """A run whose git notebook takes nbdime minutes to diff (as the lineage tests')."""
    state = {
        "repo": True,
        "commit": "0" * 40,
        "dirty": True,
        "diff": "(a diff)",
        "stripped_notebooks": [
            {"path": "slow.ipynb", "base": slow_notebook("a"), "work": slow_notebook("b")}
        ],
    }
    return store_git_run(populated.root, state)


async def test_a_git_notebook_diff_is_nbdimes_diff_of_the_sources(api: Any, dirty_run: str) -> None:
    detail = await api(f"runs/{dirty_run}", "RunDetail")
    [listed] = detail["git"]["stripped_notebooks"]
    assert listed["path"] == NB and listed["base_hash"] and listed["work_hash"]
    assert "image/png" not in detail["git"]["diff"]

    diff = await api(f"runs/{dirty_run}/git/notebook-diff/{NB}", "NotebookDiff")

    assert diff["kind"] == "git" and diff["path"] == NB and diff["changed"] is True
    assert diff["a"]["number"] == diff["b"]["number"] == int(dirty_run)
    base_cells = diff["base"]["cells"]
    assert [c["source"] for c in base_cells] == ["# Analysis", "plot(1)"]
    assert all(c.get("outputs", []) == [] for c in base_cells)  # stored without outputs
    [cells] = [d for d in diff["diff"] if d["key"] == "cells"]
    [patch] = cells["diff"]
    assert patch["op"] == "patch" and patch["key"] == 1  # the plot cell, by nbdime
    [source] = [d for d in patch["diff"] if d["key"] == "source"]
    assert "save()" in repr(source["diff"])


async def test_a_run_or_file_without_a_git_notebook_is_404(jp_fetch: Any, dirty_run: str) -> None:
    code, body = await error_of(jp_fetch, "runs", dirty_run, "git", "notebook-diff", "other.ipynb")
    assert code == 404 and body["reason"] == "no_notebook"
    assert f"its notebooks: {NB}" in body["message"]
    # run 1 (made without git capture) has no git notebooks at all
    code, body = await error_of(jp_fetch, "runs", "1", "git", "notebook-diff", NB)
    assert code == 404 and body["reason"] == "no_notebook"
    code, _ = await error_of(jp_fetch, "runs", "999", "git", "notebook-diff", NB)
    assert code == 404


@pytest.mark.parametrize("limits", [{"max_diff_bytes": SLOW_BYTES - 1}])
async def test_a_git_notebook_over_the_byte_limit_is_413_before_any_work(
    jp_fetch: Any, slow_run: str
) -> None:
    code, body = await error_of(jp_fetch, "runs", slow_run, "git", "notebook-diff", "slow.ipynb")
    assert code == 413 and body["reason"] == "too_large"
    assert body["message"].startswith(f"run #{slow_run}'s git notebook slow.ipynb snapshot is")
    assert "c.XTrack.max_diff_bytes" in body["message"]
    assert not worker_processes()


@pytest.mark.parametrize("limits", [{"diff_timeout_s": 3.0}])
async def test_a_git_notebook_diff_past_its_time_is_504(jp_fetch: Any, slow_run: str) -> None:
    code, body = await error_of(
        jp_fetch, "runs", slow_run, "git", "notebook-diff", "slow.ipynb", request_timeout=WAIT_S
    )
    assert code == 504 and body["reason"] == "diff_timeout"
    assert (
        "slow.ipynb at HEAD and slow.ipynb in the working tree took longer than 3 s"
        in body["message"]
    )


@pytest.mark.parametrize("limits", [{"diff_workers": 1, "diff_queue": 0, "diff_timeout_s": 60.0}])
async def test_a_git_notebook_diff_beyond_the_pool_is_503(
    jp_serverapp: Any, jp_fetch: Any, slow_run: str
) -> None:
    import asyncio

    from .test_heavy_pool import diff_workers, wait_until

    pool = diff_workers(jp_serverapp)
    first = asyncio.ensure_future(
        error_of(
            jp_fetch, "runs", slow_run, "git", "notebook-diff", "slow.ipynb", request_timeout=WAIT_S
        )
    )
    await wait_until("the first diff running", lambda: len(pool.in_flight()) == 1)
    code, body = await error_of(jp_fetch, "runs", slow_run, "git", "notebook-diff", "slow.ipynb")
    assert code == 503 and body["reason"] == "busy"
    pool.close()  # end the slow one rather than wait a minute for it
    await first
