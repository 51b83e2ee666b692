"""Shared fixtures for the hygiene tests: fixture notebooks, isolated git, CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


@pytest.fixture
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An environment where git sees no user/system config (HOME is a fresh folder)."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "XTRACK_ARCHIVE_SYNC": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("XTRACK_STORE", raising=False)
    monkeypatch.delenv("GIT_DIR", raising=False)
    return dict(os.environ)


@pytest.fixture
def repo(tmp_path: Path, git_env: dict[str, str]) -> Path:
    """A fresh git repository (main branch) in tmp_path/repo."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git in cwd, capturing text output."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def xtrack(cwd: Path, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the real `xtrack` command (as `python -m jupyter_xtrack.cli`) in cwd."""
    return subprocess.run(
        [PYTHON, "-m", "jupyter_xtrack.cli", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
    )
