"""git_head and git_state against real repositories built in tmp_path."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from jupyter_xtrack.capture.git import git_head, git_state

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("lr = 0.1\n")
    (root / "sub").mkdir()
    (root / "sub" / "data.csv").write_text("a,b\n1,2\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_outside_a_repo(tmp_path: Path) -> None:
    assert git_head(str(tmp_path)) is None
    assert git_state(str(tmp_path)) == {"repo": False}


def test_clean_repo(repo: Path) -> None:
    sha = git(repo, "rev-parse", "HEAD")
    head = git_head(str(repo / "sub"))
    assert head == {"root": str(repo), "commit": sha, "branch": "main"}
    state = git_state(str(repo / "sub"))
    assert state["repo"] is True and state["root"] == str(repo)
    assert state["commit"] == sha and state["branch"] == "main"
    assert state["dirty"] is False and state["diff"] == "" and state["untracked"] == []
    assert state["timed_out"] is False and "error" not in state
    assert state["remote"] is None


def test_dirty_staged_and_untracked(repo: Path) -> None:
    (repo / "train.py").write_text('lr = 0.2\npassword = "hunter2"\n')
    (repo / "sub" / "data.csv").write_text("a,b\n1,3\n")
    git(repo, "add", "sub/data.csv")  # staged changes count too
    (repo / "new file ü.txt").write_text("x")
    state = git_state(str(repo))
    assert state["dirty"] is True
    assert "+lr = 0.2" in state["diff"] and "+1,3" in state["diff"]
    assert "hunter2" not in state["diff"] and '[REDACTED]' in state["diff"]
    assert state["untracked"] == ["new file ü.txt"]  # quotepath off: real names
    assert state["untracked_truncated"] is False


def test_untracked_only_is_not_dirty(repo: Path) -> None:
    (repo / "scratch.txt").write_text("x")
    state = git_state(str(repo))
    assert state["dirty"] is False and state["untracked"] == ["scratch.txt"]


def test_caps_on_diff_and_untracked(repo: Path) -> None:
    (repo / "train.py").write_text("".join(f"line {i}\n" for i in range(5000)))
    for i in range(7):
        (repo / f"u{i}.txt").write_text("x")
    state = git_state(str(repo), diff_cap=1000, untracked_cap=3)
    assert state["diff_truncated"] is True
    assert 0 < len(state["diff"].encode()) <= 1000 and state["diff"].endswith("\n")
    assert len(state["untracked"]) == 3 and state["untracked_truncated"] is True


def test_detached_head(repo: Path) -> None:
    sha = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach")
    assert git_head(str(repo)) == {"root": str(repo), "commit": sha, "branch": None}
    state = git_state(str(repo))
    assert state["branch"] is None and state["commit"] == sha


def test_empty_repo(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "trunk")
    (tmp_path / "a.py").write_text("x = 1\n")
    git(tmp_path, "add", "a.py")
    assert git_head(str(tmp_path)) == {"root": str(tmp_path), "commit": None, "branch": "trunk"}
    state = git_state(str(tmp_path))
    assert state["commit"] is None and state["branch"] == "trunk"
    assert state["dirty"] is True and "+x = 1" in state["diff"]
    assert "error" not in state


def test_packed_refs(repo: Path) -> None:
    sha = git(repo, "rev-parse", "HEAD")
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert git_head(str(repo)) == {"root": str(repo), "commit": sha, "branch": "main"}


def test_worktree(repo: Path, tmp_path: Path) -> None:
    git(repo, "branch", "feature")
    (repo / "train.py").write_text("lr = 0.3\n")
    git(repo, "commit", "-q", "-am", "main moves on")
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(wt), "feature")
    assert (wt / ".git").is_file()
    feature_sha = git(repo, "rev-parse", "feature")
    assert git_head(str(wt)) == {"root": str(wt), "commit": feature_sha, "branch": "feature"}
    state = git_state(str(wt))
    assert state["branch"] == "feature" and state["commit"] == feature_sha
    assert state["dirty"] is False


def test_submodule(repo: Path, tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q", "-b", "main")
    git(outer, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(repo), "lib")
    sub = outer / "lib"
    assert (sub / ".git").is_file()
    head = git_head(str(sub))
    assert head is not None
    assert head["root"] == str(sub) and head["commit"] == git(repo, "rev-parse", "HEAD")


def test_remote_credentials_removed(repo: Path) -> None:
    git(repo, "remote", "add", "upstream", "https://someone:s3cr3t@example.com/x.git")
    git(repo, "remote", "add", "origin", "https://ghp_abc@github.com/org/repo.git")
    assert git_state(str(repo))["remote"] == "https://github.com/org/repo.git"


def test_first_remote_when_no_origin(repo: Path) -> None:
    git(repo, "remote", "add", "upstream", "git@github.com:org/repo.git")
    assert git_state(str(repo))["remote"] == "git@github.com:org/repo.git"


def test_timeout_reports_instead_of_blocking(repo: Path, tmp_path: Path, monkeypatch) -> None:
    # a fake git that hangs, found first on PATH: the capture must give up, not wait
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "git"
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    state = git_state(str(repo), timeout=0.3)
    assert state["repo"] is True and state["timed_out"] is True
    assert "timeout" in state["error"]
    # the fast, subprocess-free facts are still there
    assert state["commit"] == git_head(str(repo))["commit"]  # type: ignore[index]


def test_failing_git_is_reported(repo: Path, tmp_path: Path, monkeypatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "git"
    fake.write_text("#!/bin/sh\necho 'fatal: broken' >&2\nexit 128\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    state = git_state(str(repo))
    assert state["timed_out"] is False and "fatal: broken" in state["error"]


def test_git_state_does_not_take_the_index_lock(repo: Path) -> None:
    # another process holding index.lock (a user mid-commit) must not make capture fail
    (repo / ".git" / "index.lock").write_text("")
    (repo / "train.py").write_text("lr = 0.5\n")
    state = git_state(str(repo))
    assert "error" not in state and state["dirty"] is True
