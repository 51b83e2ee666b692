"""git_state runs one `git status` per capture (none while the watched work tree is
unchanged) and reuses the last diff exactly: a git on PATH that logs its commands before
running the real one shows which ran, and every change a user can make (commit, stage, edit,
edit keeping the mtime, remote) shows in the state."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from jupyter_xtrack.capture import git as git_capture
from jupyter_xtrack.capture.git import git_state
from tests.capture.test_git import GIT_ENV, git

OLD = time.time() - 3600  # an mtime older than any racy window
SETTLE_S = 0.05  # the racy window these tests use, so a test need not wait 2 s


@pytest.fixture(autouse=True)
def short_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(git_capture, "RACY_S", SETTLE_S)


@pytest.fixture(autouse=True, params=["watched", "unwatched"])
def watched(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both ways a capture runs: with the work tree watch (Linux) and without it."""
    on = bool(request.param == "watched")
    monkeypatch.setenv("XTRACK_GIT_WATCH", "1" if on else "0")
    return on


@pytest.fixture
def logged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file that lists the git subcommands run from now on (one a line)."""
    log = tmp_path / "git.log"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    real = shutil.which("git")
    assert real is not None
    wrapper = bindir / "git"
    # the subcommand is the first argument after the `-c key=value` options
    wrapper.write_text(
        "#!/bin/sh\n"
        f'a="$*"; echo "${{a#-c core.quotepath=off }}" | cut -d" " -f1 >> "{log}"\n'
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    return log


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("lr = 0.1\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


def commands(log: Path) -> list[str]:
    ran = log.read_text().split() if log.exists() else []
    log.write_text("")
    return ran


def edit(path: Path, text: str, mtime: float | None = OLD) -> None:
    """Write `text`, set the mtime (None: leave it at now), and let the change's ctime age
    past the racy window."""
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    time.sleep(2 * SETTLE_S)


def test_clean_tree_runs_status_only(repo: Path, logged: Path, watched: bool) -> None:
    first = git_state(str(repo))
    assert first["dirty"] is False and first["diff"] == ""
    assert set(commands(logged)) == {"config", "status"}  # (the watch lists ignored folders)
    again = git_state(str(repo))
    # no diff of a clean tree; remotes unchanged; a watched, unchanged tree: no status either
    assert commands(logged) == ([] if watched else ["status"])
    assert again == first


def test_unchanged_dirty_tree_reuses_its_diff(repo: Path, logged: Path, watched: bool) -> None:
    edit(repo / "train.py", "lr = 0.2\n")
    first = git_state(str(repo))
    assert "+lr = 0.2" in first["diff"]
    assert "diff" in commands(logged)
    again = git_state(str(repo))
    assert commands(logged) == ([] if watched else ["status"])
    assert again == first


def test_edit_from_outside_is_seen(repo: Path, logged: Path) -> None:
    edit(repo / "train.py", "lr = 0.2\n")
    git_state(str(repo))
    # same size, same mtime (as `cp -p` or an editor restoring it): the ctime still moves
    edit(repo / "train.py", "lr = 0.3\n")
    state = git_state(str(repo))
    assert "+lr = 0.3" in state["diff"] and "diff" in commands(logged)


def test_recent_change_is_never_reused(
    repo: Path, logged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(git_capture, "RACY_S", 60.0)  # the write below is inside it
    edit(repo / "train.py", "lr = 0.2\n", mtime=None)
    git_state(str(repo))
    commands(logged)
    state = git_state(str(repo))
    assert "diff" in commands(logged) and "+lr = 0.2" in state["diff"]


def test_commit_stage_and_remote_are_seen(repo: Path, logged: Path) -> None:
    edit(repo / "train.py", "lr = 0.2\n")
    before = git_state(str(repo))
    git(repo, "add", "train.py")
    staged = git_state(str(repo))  # the index entry changed: the status line holds its blob
    assert staged["diff"] == before["diff"] and "diff" in commands(logged)
    git(repo, "commit", "-q", "-m", "second")
    committed = git_state(str(repo))
    assert committed["commit"] != before["commit"]
    assert committed["dirty"] is False and committed["diff"] == ""
    git(repo, "remote", "add", "origin", "https://user:secret@example.com/r.git")
    commands(logged)
    remote = git_state(str(repo))
    assert remote["remote"] == "https://example.com/r.git"
    assert "config" in commands(logged)


def test_untracked_gitattributes_changes_the_diff(repo: Path, logged: Path) -> None:
    edit(repo / "train.py", "lr = 0.2\n")
    assert "+lr = 0.2" in git_state(str(repo))["diff"]
    edit(repo / ".gitattributes", "*.py -diff\n")
    state = git_state(str(repo))
    assert "Binary files" in state["diff"] and "diff" in commands(logged)
