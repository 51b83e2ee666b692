"""Fixtures shared by the whole suite: a real IPython shell with the extension loaded, and
a fresh store in a temporary folder for every test."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

# Tests compare exact metric sets, and a busy CI machine can make any cell last over a
# second, when system/* samples would start: they are off unless a test turns them on
# (tests/test_overhead_e2e.py does). Kernels the tests start inherit this.
os.environ.setdefault("XTRACK_SYSTEM_METRICS", "off")
# The same for the automatic evaluation (a run that scores on X_test gains its report's
# metrics): off unless a test turns it on (tests/evaluate do).
os.environ.setdefault("XTRACK_AUTO_EVAL", "0")
# Per-user caches (installed distributions' listings) go to a folder of this session, not
# to the home folder of whoever runs the suite.
if "XTRACK_CACHE_DIR" not in os.environ:
    os.environ["XTRACK_CACHE_DIR"] = tempfile.mkdtemp(prefix="xtrack-test-cache-")
    atexit.register(shutil.rmtree, os.environ["XTRACK_CACHE_DIR"], True)


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` with a fixed identity; returns stdout."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout



def python_notebook(*sources: str) -> nbformat.NotebookNode:
    """A notebook of `sources` as code cells, with the python3 kernelspec nbclient runs."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb

@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder (not a git repository) that is the current directory."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("XTRACK_STORE", raising=False)
    return work


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real git repository with one commit, as the current directory."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("hello\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "init")
    monkeypatch.chdir(root)
    monkeypatch.delenv("XTRACK_STORE", raising=False)
    return root


@pytest.fixture(scope="session")
def _ipython() -> Any:
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.run_line_magic("load_ext", "jupyter_xtrack")
    return shell


@pytest.fixture
def shell(_ipython: Any, workdir: Path) -> Iterator[Any]:
    """The session's InteractiveShell with jupyter_xtrack loaded, on a fresh store in `workdir`."""
    from jupyter_xtrack import api
    from jupyter_xtrack.tracking.session import CONTEXT

    api.flush()
    CONTEXT.reset()
    CONTEXT.start_dir = None  # the store follows the current directory, as in a fresh kernel
    for name in ("__session__", "__vsc_ipynb_file__"):
        _ipython.user_ns.pop(name, None)
    yield _ipython
    api.flush()
    CONTEXT.reset()


def run_cell(shell: Any, source: str) -> Any:
    """Run one cell like a front end would and wait until its run is fully stored."""
    from jupyter_xtrack import api

    result = shell.run_cell(source, store_history=True)
    api.flush()
    return result


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """One throwaway PostgreSQL cluster for the session (tests/pgserver.py); skips, saying
    how to get it, where PostgreSQL or psycopg is missing."""
    pytest.importorskip("psycopg", reason="pip install 'jupyter_xtrack[teams]'")
    from tests.pgserver import HOW_TO_GET, pg_bindir, postgres_server

    if pg_bindir() is None:
        pytest.skip(HOW_TO_GET)
    with postgres_server() as server:
        yield server


@pytest.fixture
def pg_url(postgres: Any) -> str:
    """The URL of a new, empty database on the session's PostgreSQL server."""
    return str(postgres.create_database())
