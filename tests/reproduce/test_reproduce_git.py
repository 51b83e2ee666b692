"""A run in a git repository with uncommitted changes is reproduced from its commit and its
recorded diff, not from the working tree as it is now; the repository, `.git` included, is
left exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_xtrack.reproduction import reproduce
from tests.conftest import git

from .conftest import record, snapshot

pytestmark = pytest.mark.slow


def test_a_dirty_repository_run_is_rebuilt_from_commit_and_diff(
    repo: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XTRACK_STORE", str(repo / ".xtrack"))
    (repo / ".gitignore").write_text(".xtrack/\n")
    (repo / "helpers.py").write_text("SCALE = 1\n")
    git(repo, "add", ".gitignore", "helpers.py")
    git(repo, "commit", "-q", "-m", "helpers")
    (repo / "helpers.py").write_text("SCALE = 3\n")  # uncommitted when the run ran
    store = record(
        repo,
        "%load_ext jupyter_xtrack",
        "from helpers import SCALE",
        "%%track --name scaled\nxt.log(value=SCALE * 2)",
    )
    assert store.get_run(1)["metrics"] == {"value": 6}
    (repo / "helpers.py").write_text("SCALE = 5\n")  # the working tree moved on since
    before = snapshot(repo)

    rep = reproduce(1, store=store)

    assert rep.verdict == "reproduced", rep.text()
    program = next(n for n in rep.notes if n.startswith("program: "))
    assert "git commit" in program and "uncommitted diff" in program
    assert rep.untracked == []  # helpers.py comes with the commit, not as a dependency
    assert snapshot(repo) == before
    assert "scaled" not in git(repo, "worktree", "list")  # no worktree left behind
