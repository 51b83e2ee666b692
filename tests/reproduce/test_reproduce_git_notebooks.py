"""Runs made while a notebook with a big plot is dirty store its git diff without outputs
(small, the same blob run after run), and are still rebuilt from commit + diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_xtrack.facts import Fact
from jupyter_xtrack.reproduction import reproduce
from tests.capture.test_git_notebooks import notebook_with_plot
from tests.conftest import git

from .conftest import record, snapshot

pytestmark = pytest.mark.slow


def test_a_dirty_notebook_with_a_plot_is_stored_stripped_and_reproduced(
    repo: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XTRACK_STORE", str(repo / ".xtrack"))
    (repo / ".gitignore").write_text(".xtrack/\n")
    (repo / "analysis.ipynb").write_text(notebook_with_plot("plot(1)", 0))
    (repo / "helpers.py").write_text("SCALE = 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "analysis")
    (repo / "helpers.py").write_text("SCALE = 3\n")
    cells = (
        "%load_ext jupyter_xtrack",
        "from helpers import SCALE",
        "%%track --name scaled\nxt.log(value=SCALE * 2)",
    )
    for seed in (5, 6):  # each session re-ran the notebook: a new 400 KB plot each time
        (repo / "analysis.ipynb").write_text(notebook_with_plot("plot(2)", seed))
        store = record(repo, *cells)

    facts = [store.get_run(n)[Fact.GIT] for n in (1, 2)]
    assert facts[0]["diff_hash"] == facts[1]["diff_hash"]  # one blob, not one per run
    assert facts[0]["stripped_notebooks"] == facts[1]["stripped_notebooks"]
    [entry] = facts[0]["stripped_notebooks"]
    assert entry["path"] == "analysis.ipynb" and entry["base_hash"] and entry["work_hash"]
    diff = store.get_blob(facts[0]["diff_hash"]).decode()
    assert facts[0]["diff_bytes"] == len(diff) < 2_000
    assert "image/png" not in diff and '+    "plot(2)"' in diff and "+SCALE = 3" in diff
    (repo / "helpers.py").write_text("SCALE = 5\n")  # the working tree moved on since
    before = snapshot(repo)

    rep = reproduce(1, store=store)

    assert rep.verdict == "reproduced", rep.text()
    program = next(n for n in rep.notes if n.startswith("program: "))
    assert "git commit" in program and "uncommitted diff" in program
    assert snapshot(repo) == before
