"""Fixtures for the store tests: real stores in tmp_path, and a way to run Python code in
a separate process (for locking, crashes and concurrency)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_xtrack.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "store")
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
