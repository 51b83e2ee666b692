"""Fixtures for the store tests: real stores (SQLite in tmp_path, and PostgreSQL on the
session's throwaway server), and a way to run Python code in a separate process (for
locking, crashes and concurrency)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_xtrack.store import Store, open_store

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session", autouse=True)
def _local_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """PostgreSQL stores' local folders ($XDG_CACHE_HOME/xtrack/...) under the test run's
    temporary folder, never the user's cache."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(params=BACKENDS)
def store_location(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Where a new, empty store is: a folder (SQLite) or a database URL (PostgreSQL). A
    PostgreSQL store's local folder (its blobs here) goes under tmp_path."""
    if request.param == "sqlite":
        return str(tmp_path / "store")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return str(request.getfixturevalue("pg_url"))


def open_quietly(location: str, **kwargs: object) -> Store:
    """open_store without the warning a PostgreSQL store gives about local blobs."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "store .* keeps its blobs", RuntimeWarning)
        return open_store(location, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def store(store_location: str) -> Iterator[Store]:
    """A new store on each backend."""
    s = open_quietly(store_location)
    yield s
    s.close()


def python(code: str, *args: str) -> subprocess.Popen[str]:
    """Start `code` in a fresh interpreter (stdout/stderr captured as text)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_python(code: str, *args: str, timeout: float = 60) -> str:
    """Run `code` to completion in a fresh interpreter and return its stdout; fail the test
    with its stderr if it exits non-zero."""
    proc = python(code, *args)
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out
